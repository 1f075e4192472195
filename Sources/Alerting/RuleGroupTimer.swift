public import Dispatch
import Synchronization
public import TimeSeries

/// Evaluates a `RuleGroup` on its interval from a Dispatch timer; all logic stays in `RuleGroup`.
///
/// As in Prometheus, evaluation times are aligned to the interval with a per-group offset (from a
/// stable hash of file and group name), so that groups spread over the interval instead of all
/// evaluating at once, and each evaluation's time is the aligned tick, not whenever the timer
/// happened to fire. A tick that comes late (the process was stopped, the machine suspended) is
/// evaluated once at the latest aligned time; missed ticks are not replayed. The timer's handler
/// runs on `queue`, which must be serial; the last evaluated time is lock-protected.
public final class RuleGroupTimer: Sendable {
    public let group: RuleGroup
    let queue: DispatchQueue
    let clock: @Sendable () -> Timestamp
    let onEvaluation: @Sendable (GroupEvaluation, [Alert]) -> Void
    /// Dispatch sources are thread-safe; the source is created once and only started or cancelled.
    nonisolated(unsafe) let source: any DispatchSourceTimer
    let started = Mutex(false)
    let lastTick: Mutex<Timestamp?> = Mutex(nil)

    /// A timer for `group`; `onEvaluation` receives each evaluation and the group's alerts after it
    /// (the notification pipeline's input).
    public init(group: RuleGroup, queue: DispatchQueue, clock: @escaping @Sendable () -> Timestamp = SeriesStore.systemClock,
                onEvaluation: @escaping @Sendable (GroupEvaluation, [Alert]) -> Void) {
        self.group = group
        self.queue = queue
        self.clock = clock
        self.onEvaluation = onEvaluation
        source = DispatchSource.makeTimerSource(queue: queue)
    }

    /// The group's offset within its interval.
    var offset: Milliseconds {
        Milliseconds(Labels(["file": group.file, "group": group.name]).stableHash % UInt64(group.interval))
    }

    /// The latest aligned evaluation time at or before `now`.
    public func tick(atOrBefore now: Timestamp) -> Timestamp {
        let i = group.interval
        let phase = ((now - offset) % i + i) % i
        return now - phase
    }

    /// Starts evaluating at the next aligned time (once; a stopped timer stays stopped).
    public func start() {
        guard started.withLock({ s in
            defer { s = true }
            return !s
        }) else { return }
        let now = clock()
        let first = tick(atOrBefore: now) + group.interval
        source.schedule(deadline: .now() + .milliseconds(Int(first - now)), repeating: .milliseconds(Int(group.interval)),
                        leeway: .milliseconds(Int(min(group.interval / 20, 1_000))))
        source.setEventHandler { [weak self] in self?.fire() }
        source.resume()
    }

    /// Evaluates the group at the current aligned time, unless that time was already evaluated.
    public func fire() {
        let t = tick(atOrBefore: clock() + 50)  // a timer firing a hair early still belongs to its tick
        let isNew = lastTick.withLock { last -> Bool in
            if let last, last >= t { return false }
            last = t
            return true
        }
        guard isNew else { return }
        let evaluation = group.evaluate(at: t)
        onEvaluation(evaluation, group.alerts())
    }

    /// Stops the timer; an evaluation under way finishes.
    public func stop() {
        source.cancel()
    }

    deinit {
        source.setEventHandler {}
        source.cancel()
        // A never-started source must be resumed once before it may be released.
        if !started.withLock({ $0 }) { source.resume() }
    }
}
