import Dispatch
import Logging
import Synchronization
import TimeSeries

/// Pings systemd's watchdog (`WATCHDOG=1`) only while every loop of the agent makes progress
/// (`LoopProgress`): a loop stuck past its bound stops the pings, and systemd restarts the agent
/// after `WatchdogSec`. The pings come from a queue of their own, so a stuck daemon queue cannot
/// keep them going, and a stuck loop cannot stop the check from running.
///
/// The stale loops are logged when they change (not at every check), and again when every loop
/// progresses once more. Owner: `queue`; `check()` may also be called directly (tests).
final class Watchdog: Sendable {
    let progress: LoopProgress
    let interval: Milliseconds
    let ping: @Sendable () -> Void
    let logger: Logger
    let queue = DispatchQueue(label: "agent.watchdog")
    /// The stale loops of the last check, to log changes only.
    let lastStale = Mutex<[String]>([])
    nonisolated(unsafe) let timer: any DispatchSourceTimer
    let started = Mutex(false)

    /// A watchdog checking `progress` every `interval` ms; `ping` sends `WATCHDOG=1`.
    init(progress: LoopProgress, interval: Milliseconds, logger: Logger, ping: @escaping @Sendable () -> Void) {
        self.progress = progress
        self.interval = interval
        self.ping = ping
        self.logger = logger
        timer = DispatchSource.makeTimerSource(queue: queue)
    }

    /// Pings when no loop is stale; returns whether it pinged.
    @discardableResult
    func check() -> Bool {
        let stale = progress.stale()
        let names = stale.map(\.loop)
        let previous = lastStale.withLock { last -> [String] in
            defer { last = names }
            return last
        }
        if names != previous {
            if stale.isEmpty {
                logger.notice("watchdog: every loop makes progress again; pinging systemd")
            } else {
                logger.error("watchdog: not pinging systemd (it restarts the agent after WatchdogSec): \(stale.map(\.description).joined(separator: "; "))")
            }
        }
        guard stale.isEmpty else { return false }
        ping()
        return true
    }

    /// Checks every `interval` ms from now on.
    func start() {
        guard started.withLock({ s in defer { s = true }; return !s }) else { return }
        timer.schedule(deadline: .now(), repeating: .milliseconds(Int(interval)), leeway: .milliseconds(Int(min(interval / 10, 1000))))
        timer.setEventHandler { [weak self] in self?.check() }
        timer.resume()
    }

    /// Stops checking; a check under way finishes first.
    func stop() {
        timer.cancel()
        queue.sync {}
    }

    deinit {
        timer.setEventHandler {}
        timer.cancel()
        if !started.withLock({ $0 }) { timer.resume() }
    }
}
