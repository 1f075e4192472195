import Synchronization
public import TimeSeries
#if canImport(Glibc)
import Glibc
#endif

/// When each of the agent's loops last made progress: what the systemd watchdog and `/-/healthy`
/// go by (see docs/health.md).
///
/// The model: every loop that does the agent's work (scrapes, logs, rules, notifications, the API
/// listeners, the daemon's own timers) holds a `Heartbeat` and beats after each round. A loop is
/// *stale* when it has not beaten for longer than its bound, which comes from the loop's interval
/// (`bound(forInterval:)`: three intervals plus 30 s), so one slow round is not a failure but a
/// loop stuck for minutes is. A loop with nothing to do (no targets, no rules, stopped) is paused
/// and never stale. The agent is healthy while no loop is stale.
///
/// Time is monotonic milliseconds from an injected clock, so tests drive it and a change of the
/// wall clock changes nothing. Owner: a `Mutex`; beats are cheap (one lock round trip, no I/O).
public final class LoopProgress: Sendable {
    /// A loop that has made no progress within its bound.
    public struct Stale: Sendable, Equatable, CustomStringConvertible {
        /// The loop's name (`scrape`, `logs`, `rules`, `notify`, `api`, `daemon`).
        public var loop: String
        /// How long since its last progress.
        public var silentFor: Milliseconds
        /// How long it may go without progress.
        public var bound: Milliseconds

        public var description: String {
            "\(loop) made no progress for \(silentFor / 1000) s (bound \(bound / 1000) s)"
        }
    }

    struct Loop {
        /// nil: paused.
        var bound: Milliseconds?
        var last: Milliseconds
    }

    let loops = Mutex<[String: Loop]>([:])
    /// Loops that keep their own record of progress (the HTTP server's event loop stamps an atomic
    /// at each turn): read at each check instead of beating. Name → (bound, last progress).
    let watched = Mutex<[String: (bound: Milliseconds, last: @Sendable () -> Milliseconds)]>([:])
    let clock: @Sendable () -> Milliseconds

    /// A tracker reading time from `clock` (monotonic milliseconds).
    public init(clock: @escaping @Sendable () -> Milliseconds = LoopProgress.monotonicClock) {
        self.clock = clock
    }

    /// Milliseconds of `CLOCK_MONOTONIC`.
    public static let monotonicClock: @Sendable () -> Milliseconds = {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// How long a loop that runs every `interval` may go without progress: three intervals and
    /// 30 s more (a round may take a scrape timeout, a slow disk, a long evaluation).
    public static func bound(forInterval interval: Milliseconds) -> Milliseconds {
        3 * max(interval, 0) + 30_000
    }

    /// The handle of the loop `name` (paused until it says how often it runs).
    public func heartbeat(_ name: String) -> Heartbeat {
        loops.withLock { if $0[name] == nil { $0[name] = Loop(bound: nil, last: clock()) } }
        return Heartbeat(progress: self, name: name)
    }

    /// Follows the loop `name`, which records its own last progress (monotonic milliseconds, on this
    /// tracker's clock) and may go `bound` ms without it; `nil` stops following it.
    public func watch(_ name: String, bound: Milliseconds, lastProgress: (@Sendable () -> Milliseconds)?) {
        watched.withLock { $0[name] = lastProgress.map { (bound, $0) } }
    }

    /// Every loop as (bound, last progress) now: the beating ones and the watched ones.
    private func current() -> [String: Loop] {
        var all = loops.withLock { $0 }
        for (name, w) in watched.withLock({ $0 }) { all[name] = Loop(bound: w.bound, last: w.last()) }
        return all
    }

    func beat(_ name: String) {
        let now = clock()
        loops.withLock { $0[name]?.last = now }
    }

    func expect(_ name: String, every interval: Milliseconds?) {
        let now = clock()
        loops.withLock { $0[name] = Loop(bound: interval.map(LoopProgress.bound(forInterval:)), last: now) }
    }

    /// The loops that are stale now, by name.
    public func stale() -> [Stale] {
        let loops = current()
        let now = clock()
        return loops.compactMap { name, loop -> Stale? in
            guard let bound = loop.bound, now - loop.last > bound else { return nil }
            return Stale(loop: name, silentFor: now - loop.last, bound: bound)
        }.sorted { $0.loop < $1.loop }
    }

    /// Every loop with its state, for `agent status`: name → seconds since progress (nil: paused).
    public func snapshot() -> [(loop: String, secondsSinceProgress: Double?, boundSeconds: Double?)] {
        let loops = current()
        let now = clock()
        return loops.map { name, loop in
            (name, loop.bound == nil ? nil : Double(max(now - loop.last, 0)) / 1000, loop.bound.map { Double($0) / 1000 })
        }.sorted { $0.loop < $1.loop }
    }
}

/// One loop's handle on `LoopProgress`: `beat()` after each round of work, `expect(every:)` when
/// the loop starts or its interval changes (that counts as progress), `pause()` when it has
/// nothing to do or stops. A server, a timer or a thread can hold one; it is a value.
public struct Heartbeat: Sendable {
    let progress: LoopProgress
    /// The loop's name.
    public let name: String

    /// The loop made progress now.
    public func beat() { progress.beat(name) }

    /// The loop runs every `interval` from now on (its bound follows, see `LoopProgress.bound`).
    public func expect(every interval: Milliseconds) { progress.expect(name, every: interval) }

    /// The loop has nothing to do: never stale until `expect(every:)` again.
    public func pause() { progress.expect(name, every: nil) }
}
