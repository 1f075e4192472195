import HTTPServing

/// The pages' handlers (their routes are in `Daemon+Routes.swift`): each reads a snapshot of
/// what it shows (`Daemon+WebData.swift`), then renders it outside every lock.
extension Daemon {
    /// A page handler around `body`, which renders the page's bytes; the time it took (wall and
    /// this thread's CPU) goes into `Server-Timing`. Holds the daemon weakly, as `endpoint` does.
    func page(_ body: @escaping @Sendable (Daemon, Request) -> [UInt8]) -> Handler {
        page { d, r in (body(d, r), nil) }
    }

    /// As `page(_:)`, for a page that also says how long its queries took (the graph).
    func page(_ body: @escaping @Sendable (Daemon, Request) -> (bytes: [UInt8], query: Duration?)) -> Handler {
        { [weak self] request in
            guard let self else { return .text(503, "The agent is stopping.\n") }
            let started = ContinuousClock.now, cpu = WebPage.threadCPUTime()
            let (bytes, query) = body(self, request)
            let timing = WebPage.Timing(wall: ContinuousClock.now - started, cpu: WebPage.threadCPUTime() - cpu, query: query)
            return WebPage.response(bytes, timing: timing)
        }
    }

    func overviewPage() -> [UInt8] { OverviewPage.render(overviewSnapshot()) }

    func alertsPage() -> (bytes: [UInt8], query: Duration?) {
        let snapshot = alertsSnapshot()
        return (AlertsPage.render(snapshot, healthy: isHealthy()), snapshot.queryTime)
    }

    func rulesPage() -> [UInt8] { RulesPage.render(rulesSnapshot(), now: clock(), healthy: isHealthy()) }

    func targetsPage() -> [UInt8] { TargetsPage.render(targetsSnapshot(), now: clock(), healthy: isHealthy()) }

    func logsPage() -> [UInt8] {
        let (logs, activity) = logsSnapshot()
        return LogsPage.render(logs, activity: activity, now: clock(), healthy: isHealthy())
    }

    func graphPage(_ request: Request) -> (bytes: [UInt8], query: Duration?) {
        let snapshot = graphSnapshot(request)
        return (GraphPage.render(snapshot, healthy: isHealthy()), snapshot.queryTime)
    }

    func statusPage() -> [UInt8] { StatusPage.render(running, startedAt: startedAt, now: clock(), healthy: isHealthy()) }
}
