/// A part of the agent that runs a loop of its own (scrapes, logs, rules, notifications).
///
/// The daemon is their composition root: it builds them, starts them once, and stops them once on
/// its one serial path (`Daemon+Lifecycle.swift`), never while a reload runs.
protocol Component: AnyObject {
    /// Starts the component's loop.
    func start()
    /// Stops the loop and returns once the work in flight is done: after it returns the component
    /// writes nothing into the store and hands nothing on.
    func stop()
}
