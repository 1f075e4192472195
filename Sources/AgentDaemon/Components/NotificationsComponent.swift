import Dispatch
import Logging
import Notify
import TimeSeries

/// The notifier's loop: its delivery (the outbox's own queue) and its tick, which flushes the
/// notification groups that are due, every second on a queue of its own (a slow outbox write
/// never holds up the daemon's queue, and a stuck one shows as the `notify` loop making no
/// progress).
///
/// `stop()` cancels the tick (one under way finishes first), then drains: what is pending is tried
/// at once and delivery goes on for up to the outbox's `drainTimeout` (10 s, inside the unit's
/// `TimeoutStopSec=20s`); what is left stays in the outbox on disk for the next start.
/// Ownership: the tick timer belongs to `queue`; the notifier is thread-safe.
final class NotificationsComponent: Component, @unchecked Sendable {
    let notifier: Notifier
    let heartbeat: Heartbeat?
    let logger: Logger
    let queue = DispatchQueue(label: "agent.notify")
    private var timer: (any DispatchSourceTimer)?
    /// How often due groups are flushed.
    static let tickInterval: Milliseconds = 1_000

    init(notifier: Notifier, heartbeat: Heartbeat?, logger: Logger) {
        self.notifier = notifier
        self.heartbeat = heartbeat
        self.logger = logger
    }

    func start() {
        notifier.start()
        queue.sync {
            guard timer == nil else { return }
            heartbeat?.expect(every: Self.tickInterval)
            let t = DispatchSource.makeTimerSource(queue: queue)
            t.schedule(deadline: .now() + .milliseconds(Int(Self.tickInterval)), repeating: .milliseconds(Int(Self.tickInterval)), leeway: .milliseconds(100))
            t.setEventHandler { [weak self] in
                guard let self else { return }
                notifier.tick()
                heartbeat?.beat()
            }
            t.resume()
            timer = t
        }
    }

    func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
        heartbeat?.pause()
        let pending = notifier.outbox.stats.pending
        let result = notifier.drain()
        if pending > 0 || result.left > 0 {
            logger.info("outbox: \(result.delivered) notifications delivered while stopping; \(result.left) left for the next start")
        }
    }
}
