import Dispatch
import Notify
import TimeSeries

/// The notifier's loop: its delivery (the outbox's own queue) and its tick, which flushes the
/// notification groups that are due, every second on a queue of its own (a slow outbox write
/// never holds up the daemon's queue, and a stuck one shows as the `notify` loop making no
/// progress).
///
/// `stop()` cancels the tick (one under way finishes first), then stops delivery, which goes on
/// for up to `drainTimeout` with what is pending; undelivered entries stay in the outbox on disk.
/// Ownership: the tick timer belongs to `queue`; the notifier is thread-safe.
final class NotificationsComponent: Component, @unchecked Sendable {
    let notifier: Notifier
    let heartbeat: Heartbeat?
    let queue = DispatchQueue(label: "agent.notify")
    private var timer: (any DispatchSourceTimer)?
    /// How often due groups are flushed.
    static let tickInterval: Milliseconds = 1_000
    /// How long `stop()` lets delivery go on: well inside systemd's default stop timeout (90 s)
    /// and the unit's.
    static let drainTimeout: Duration = .seconds(5)

    init(notifier: Notifier, heartbeat: Heartbeat?) {
        self.notifier = notifier
        self.heartbeat = heartbeat
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
        notifier.stop(timeout: Self.drainTimeout)
    }
}
