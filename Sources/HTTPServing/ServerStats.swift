public import Synchronization

/// What the server did and refused, for the agent's own metrics. Written by the loop thread,
/// read from any thread.
public final class ServerStats: Sendable {
    /// Why an `accept` failed.
    public enum AcceptError: Int, Sendable, CaseIterable {
        /// `EMFILE`/`ENFILE`: out of file descriptors.
        case descriptors
        /// `ENOBUFS`/`ENOMEM`.
        case memory
        /// Anything else.
        case other

        public var label: String {
            switch self {
            case .descriptors: "descriptors"
            case .memory: "memory"
            case .other: "other"
            }
        }
    }

    /// Connections accepted.
    public let accepted = Atomic<Int>(0)
    /// Connections open now.
    public let open = Atomic<Int>(0)
    /// Idle connections closed to make room for a new one (at the cap, or out of descriptors).
    public let evicted = Atomic<Int>(0)
    /// Connections refused with 503 because every open one was busy.
    public let rejected = Atomic<Int>(0)
    /// Connections closed by a timeout (header, request, idle or write).
    public let timeouts = Atomic<Int>(0)
    /// Times a listener paused after an accept error.
    public let listenerPauses = Atomic<Int>(0)
    /// Requests parsed and routed.
    public let requests = Atomic<Int>(0)
    public let bytesRead = Atomic<Int>(0)
    public let bytesWritten = Atomic<Int>(0)
    let acceptErrorsLogged = Atomic<Int>(0)
    private let acceptErrors = Mutex([Int](repeating: 0, count: AcceptError.allCases.count))
    private let refusedByStatus = Mutex([Int: Int]())
    private let responsesByClass = Mutex([Int](repeating: 0, count: 6))

    public init() {}

    func count(acceptError: AcceptError) { acceptErrors.withLock { $0[acceptError.rawValue] += 1 } }
    func count(refused status: Int) { refusedByStatus.withLock { $0[status, default: 0] += 1 } }
    func count(status: Int) { responsesByClass.withLock { $0[min(max(status / 100, 0), 5)] += 1 } }

    /// Accept errors by kind.
    public var acceptErrorCounts: [(AcceptError, Int)] { acceptErrors.withLock { c in AcceptError.allCases.map { ($0, c[$0.rawValue]) } } }
    /// Requests refused before reaching a handler (malformed, too large, timed out), by status.
    public var refused: [(status: Int, count: Int)] { refusedByStatus.withLock { $0.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } } }
    /// Answers by status class (`2` for 2xx …).
    public var responses: [(statusClass: Int, count: Int)] { responsesByClass.withLock { c in (1...5).map { ($0, c[$0]) } } }
}
