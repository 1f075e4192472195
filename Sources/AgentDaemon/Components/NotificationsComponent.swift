import Dispatch
import Logging
import Notify
import Synchronization
import TimeSeries

/// The notifier's loop: its delivery (the outbox's own queue) and its tick, which flushes the
/// notification groups that are due, every second on a queue of its own.
///
/// The outbox writes and flushes on a writer queue of its own, so a slow or wedged disk holds up
/// neither the rules nor the tick: each tick sends a probe through that queue (one at a time), and
/// the `outbox` loop makes progress only when the probe comes out, so a stuck write shows in
/// `/-/healthy` and stops the watchdog as a stuck loop does.
///
/// `stop()` cancels the tick (one under way finishes first), then drains: what is pending is tried
/// at once and delivery goes on for up to the outbox's `drainTimeout` (10 s, inside the unit's
/// `TimeoutStopSec=20s`); what is left stays in the outbox on disk for the next start.
///
/// Ownership: the tick timer belongs to `queue`; the notifier is thread-safe; `probing` is atomic.
final class NotificationsComponent: Component, @unchecked Sendable {
    let notifier: Notifier
    let heartbeat: Heartbeat?
    /// The outbox writer's progress (see above).
    let writerHeartbeat: Heartbeat?
    /// A probe is in the writer queue: no second one while it is stuck.
    private let probing = Atomic<Bool>(false)
    let logger: Logger
    let queue = DispatchQueue(label: "agent.notify")
    private var timer: (any DispatchSourceTimer)?
    /// How often due groups are flushed.
    static let tickInterval: Milliseconds = 1_000

    init(notifier: Notifier, heartbeat: Heartbeat?, writerHeartbeat: Heartbeat? = nil, logger: Logger) {
        self.notifier = notifier
        self.heartbeat = heartbeat
        self.writerHeartbeat = writerHeartbeat
        self.logger = logger
    }

    func start() {
        notifier.start()
        queue.sync {
            guard timer == nil else { return }
            heartbeat?.expect(every: Self.tickInterval)
            writerHeartbeat?.expect(every: Self.tickInterval)
            let t = DispatchSource.makeTimerSource(queue: queue)
            t.schedule(deadline: .now() + .milliseconds(Int(Self.tickInterval)), repeating: .milliseconds(Int(Self.tickInterval)), leeway: .milliseconds(100))
            t.setEventHandler { [weak self] in
                guard let self else { return }
                notifier.tick()
                heartbeat?.beat()
                probeWriter()
            }
            t.resume()
            timer = t
        }
    }

    /// Sends a probe through the outbox's writer queue unless one is still in it.
    private func probeWriter() {
        guard let writerHeartbeat, !probing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        notifier.outbox.afterWrites { [weak self] in
            writerHeartbeat.beat()
            self?.probing.store(false, ordering: .releasing)
        }
    }

    func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
        heartbeat?.pause()
        writerHeartbeat?.pause()
        let pending = notifier.outbox.stats.pending
        let result = notifier.drain()
        if pending > 0 || result.left > 0 {
            logger.info("outbox: \(result.delivered) notifications delivered while stopping; \(result.left) left for the next start")
        }
    }
}
