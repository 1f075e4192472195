import Alerting
import TextRendering
import JSON
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Ingest

extension Daemon {
    /// Builds the components from the configuration, each with its heartbeat; throws every problem found.
    func buildComponents() throws {
        logs = try LogsComponent(mappings: config.logs, store: store, logger: logger, clock: clock)
        logs?.heartbeat = progress.heartbeat("logs")
        scrapes = ScrapeComponent(targets: config.scrape, store: store, logger: logger, clock: clock, heartbeat: progress.heartbeat("scrape"))
        let files = try RulesComponent.load(globs: config.ruleFiles, relativeTo: config.baseDirectory)
        rules = makeRules(files: files, config: config)
        if !files.isEmpty {
            logger.info("loaded \(rules!.groups.count) rule groups from \(files.count) files")
        }
        notifications = try buildNotifier().map { NotificationsComponent(notifier: $0, heartbeat: progress.heartbeat("notify"),
                                                                      writerHeartbeat: progress.heartbeat("outbox"), logger: logger) }
        remoteWrite = RemoteWriteComponent(endpoints: config.remoteWrite, externalLabels: config.global.externalLabels,
                                           settle: RemoteWriteComponent.settle(scrape: config.scrape), store: store,
                                           stateDir: config.global.stateDir, logger: logger, clock: clock)
    }

    /// The rule groups of `files` under `config` (at start and at each reload), handing each
    /// group's alerts to the notifier.
    func makeRules(files: [(file: String, rules: RuleFile)], config: AgentConfig) -> RulesComponent {
        RulesComponent(files: files, store: store, evaluationInterval: config.global.evaluationInterval,
                       externalLabels: config.global.externalLabels, externalURL: config.notify.externalURL,
                       clock: clock, heartbeat: progress.heartbeat("rules")) { [weak self] group, alerts in
            self?.latestAlerts.withLock { $0[group.source] = alerts }
            self?.forwardAlerts()
        }
    }
}
