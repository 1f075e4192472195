import Dispatch
import Foundation
import Ingest
import Logging
@testable import RemoteWrite
import TimeSeries

/// A clock the test moves.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Timestamp
    init(_ start: Timestamp) { value = start }
    var now: Timestamp { lock.withLock { value } }
    func advance(_ ms: Milliseconds) { lock.withLock { value += ms } }
    func set(_ t: Timestamp) { lock.withLock { value = t } }
}

/// A receiver with Prometheus's rules for what it stores: per series, samples in time order; an
/// older sample makes the whole request fail with 400 "out of order sample" (nothing of it is
/// kept), a repeat of the newest with the same value is accepted silently. How it answers is
/// scripted (`answer`); it can hold answers back to test requests in flight.
final class FakeReceiver: RemoteWriteTransport, @unchecked Sendable {
    enum Answer {
        case store, status(Int, String), error(HTTPError.Kind), storeButLoseTheAnswer
    }

    private let lock = NSLock()
    private var _answer: (Int) -> Answer = { _ in .store }
    private var _series: [String: [Sample]] = [:]
    private var _requests: [[DecodedSeries]] = []
    private var _headers: [[HTTPHeader]] = []
    private var _held: [@Sendable () -> Void] = []
    private var _hold = false
    private var _refusedOutOfOrder = 0
    private var _maxInFlight = 0, _inFlight = 0

    /// How to answer the n-th request (0-based).
    func answer(_ script: @escaping (Int) -> Answer) { lock.withLock { _answer = script } }
    /// Holds answers until `release()`.
    func hold(_ on: Bool) { lock.withLock { _hold = on } }

    var series: [String: [Sample]] { lock.withLock { _series } }
    var requests: [[DecodedSeries]] { lock.withLock { _requests } }
    var headers: [[HTTPHeader]] { lock.withLock { _headers } }
    var refusedOutOfOrder: Int { lock.withLock { _refusedOutOfOrder } }
    var maxInFlight: Int { lock.withLock { _maxInFlight } }
    var heldCount: Int { lock.withLock { _held.count } }

    func release() {
        let held = lock.withLock { () -> [@Sendable () -> Void] in
            defer { _held.removeAll() }
            return _held
        }
        for answer in held { answer() }
    }

    /// The key a series is stored under: its labels, sorted, as text.
    static func key(_ labels: [(String, String)]) -> String { labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") }

    func send(_ request: HTTPRequest, completion: @escaping @Sendable (Result<HTTPResponse, HTTPError>) -> Void) {
        let decoded = (try? decodeBody(request.body ?? [])) ?? []
        let result: Result<HTTPResponse, HTTPError> = lock.withLock {
            let n = _requests.count
            _requests.append(decoded)
            _headers.append(request.headers)
            switch _answer(n) {
            case .status(let code, let body):
                return .success(HTTPResponse(status: code, body: Array(body.utf8)))
            case .error(let kind):
                return .failure(HTTPError(kind, "\(kind)"))
            case .store, .storeButLoseTheAnswer:
                // All or nothing, as Prometheus's appender commits or rolls back.
                var next = _series
                for s in decoded {
                    let key = Self.key(s.labels)
                    for sample in s.samples {
                        if let last = next[key]?.last, sample.timestamp <= last.timestamp {
                            if sample == last { continue }
                            _refusedOutOfOrder += 1
                            return .success(HTTPResponse(status: 400, body: Array("out of order sample".utf8)))
                        }
                        next[key, default: []].append(sample)
                    }
                }
                _series = next
                if case .storeButLoseTheAnswer = _answer(n) { return .failure(HTTPError(.timeout, "the answer was lost")) }
                return .success(HTTPResponse(status: 204))
            }
        }
        let deliver: @Sendable () -> Void = { [self] in
            lock.withLock { _inFlight -= 1 }
            completion(result)
        }
        let holding = lock.withLock { () -> Bool in
            _inFlight += 1
            _maxInFlight = max(_maxInFlight, _inFlight)
            if _hold { _held.append(deliver) }
            return _hold
        }
        if !holding { deliver() }
    }
}

/// A writer over `store` and `receiver` whose progress is kept in `saved` (its "file").
final class WriterHarness: @unchecked Sendable {
    let store: SeriesStore
    let clock: TestClock
    let receiver: FakeReceiver
    let endpoint: RemoteWriteEndpoint
    let mapping: SeriesMapping
    let settle: Milliseconds
    private let lock = NSLock()
    private var _saved: RemoteWriteProgress?
    private(set) var writer: RemoteWriter!
    /// How many times the progress was written.
    private(set) var saves = 0

    var saved: RemoteWriteProgress? { lock.withLock { _saved } }

    init(store: SeriesStore, clock: TestClock, receiver: FakeReceiver = FakeReceiver(), endpoint: RemoteWriteEndpoint = RemoteWriteEndpoint(url: "http://receiver/api/v1/write", name: "test"),
         externalLabels: [String: String] = [:], settle: Milliseconds = 2_000, saved: RemoteWriteProgress? = nil) {
        self.store = store
        self.clock = clock
        self.receiver = receiver
        self.endpoint = endpoint
        self.settle = settle
        self.mapping = SeriesMapping(externalLabels: Labels(externalLabels), quantiles: [("0.5", 0.5), ("0.99", 0.99)], quantileWindow: 300_000)
        _saved = saved
        restart()
    }

    /// A new writer from the saved progress, as after a crash (the old one is abandoned).
    func restart() {
        let progress = saved
        writer = RemoteWriter(
            endpoint: endpoint, store: store, mapping: mapping, transport: receiver, progress: progress, settle: settle,
            userAgent: "agent/test", logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            clock: { [clock] in clock.now },
            onProgress: { [self] p in
                lock.withLock {
                    _saved = p
                    saves += 1
                }
            },
            wakeUp: { _ in })
    }

    /// Polls once and waits until nothing is in flight (answers the receiver holds aside).
    func poll() {
        writer.queue.sync { writer.poll() }
        for _ in 0..<100_000 {
            writer.queue.sync {}
            if receiver.heldCount == writer.statistics.inFlight { return }
        }
    }

    /// Polls, moving the clock by `step` each time, until `done` holds (at most `limit` polls).
    @discardableResult
    func run(step: Milliseconds = 100, limit: Int = 1000, until done: () -> Bool) -> Bool {
        for _ in 0..<limit {
            poll()
            if done() { return true }
            clock.advance(step)
        }
        return done()
    }

    var stats: RemoteWriteStats { writer.statistics }
}

extension SeriesStore {
    /// A store of fine slots `resolution` wide covering `retention`, on `clock`.
    static func forTests(resolution: Milliseconds = 1_000, retention: Milliseconds = 60_000, clock: TestClock) -> SeriesStore {
        SeriesStore(config: StoreConfig(resolution: resolution, retention: retention), clock: { clock.now })
    }

    /// Every sample of every gauge/counter series, keyed as the receiver keys them (with `extra` labels).
    func scalarSamples(adding extra: [String: String] = [:]) -> [String: [Sample]] {
        read { reader in
            var out: [String: [Sample]] = [:]
            for ref in reader.allSeries() where reader.kind(of: ref) != .distribution {
                var labels = reader.labels(of: ref)!
                for (n, v) in extra where labels[n] == nil { labels = labels.setting(n, to: v) }
                var samples: [Sample] = []
                reader.samples(of: ref, from: .min + 1, through: .max, into: &samples)
                if !samples.isEmpty { out[FakeReceiver.key(labels.labels.map { ($0.name, $0.value) })] = samples }
            }
            return out
        }
    }
}

/// What differs between the series a receiver holds and those it should, in a few words (nil:
/// nothing), so that a failing test prints a sentence rather than every sample.
func difference(_ got: [String: [Sample]], _ want: [String: [Sample]]) -> String? {
    var notes: [String] = []
    let missing = want.keys.filter { got[$0] == nil }.sorted()
    let extra = got.keys.filter { want[$0] == nil }.sorted()
    if !missing.isEmpty { notes.append("\(missing.count) series missing, e.g. \(missing[0])") }
    if !extra.isEmpty { notes.append("\(extra.count) series unexpected, e.g. \(extra[0])") }
    let differing = want.keys.sorted().filter { got[$0] != nil && got[$0] != want[$0] }
    if let key = differing.first, let g = got[key], let w = want[key] {
        let at = Array(zip(g, w)).firstIndex { $0.0 != $0.1 } ?? min(g.count, w.count)
        notes.append("\(differing.count) series differ, e.g. \(key): \(g.count) samples for \(w.count), first difference at #\(at)")
    }
    return notes.isEmpty ? nil : notes.joined(separator: "; ")
}
