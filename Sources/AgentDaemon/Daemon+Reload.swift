import Alerting
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Ingest
import Logging
import Notify
import TimeSeries

extension Daemon {
    /// SIGHUP or a file change (on `queue`, through `requestReload`): re-reads the configuration and
    /// the rule files. Anything invalid — an empty file included — is refused with its errors
    /// logged and the running configuration kept; nothing is half-applied (everything is read and
    /// built before anything is replaced). Applied in place: rule groups (alert states carry over;
    /// the old groups are stopped, an evaluation under way included, before the new ones start, so
    /// no old group pushes alerts after the reload), notification routing (what was last sent
    /// carries over), scrape targets (see `ScrapeComponent`), logs (unchanged ones keep their files
    /// and offsets, see `LogsComponent`), external labels and `/metrics` exposure. Changes to
    /// storage, listeners, the state folder and the timers' intervals are reported as needing a
    /// restart. The outcome is `agent_config_last_reload_successful` (and the time of the last
    /// success), as Prometheus reports its own. Returns the errors of a refused configuration (nil
    /// when it was applied, or when there is no file to reload).
    @discardableResult
    func reload(trigger: String = "SIGHUP") -> String? {
        dispatchPrecondition(condition: .onQueue(queue))
        guard isReloadable else {
            logger.info("\(trigger): running on the built-in configuration; nothing to reload")
            return nil
        }
        let current = running
        // Each file's state is taken before it is read, so a write during the read is seen by the
        // next check; a state is recorded whatever the outcome, so it is not tried again.
        let before = fileWatcher.snapshot()
        fileWatcher.loaded(before)
        let next: AgentConfig
        let files: [(file: String, rules: RuleFile)]
        let gateDefinitions: [Gate]
        let logPlan: LogsComponent.Plan?
        var notifierConfiguration: Notifier.Configuration?
        do {
            next = try AgentConfig.load(path: current.source)
            // The new configuration's rule globs may name other files: those are the ones to watch.
            let ruleFiles = RulesComponent.files(globs: next.ruleFiles + next.gateFiles, relativeTo: next.baseDirectory)
            fileWatcher.loaded(before.prefix(1) + ruleFiles.map(ConfigFileWatcher.state(of:)), ruleGlobs: next.ruleFiles + next.gateFiles, base: next.baseDirectory)
            files = try RulesComponent.load(globs: next.ruleFiles, relativeTo: next.baseDirectory)
            gateDefinitions = try GatesComponent.load(globs: next.gateFiles, relativeTo: next.baseDirectory)
            logPlan = try logs?.plan(next.logs)
            if notifier != nil, next.notify.isEnabled {
                notifierConfiguration = try next.notify.notifierConfiguration(stateDir: config.global.stateDir)
            }
        } catch {
            let now = clock()
            reloads.withLock {
                $0.lastSuccessful = false
                $0.lastAttemptAt = now
                $0.lastError = "\(error)"
            }
            logger.error("\(trigger): \(current.source) refused; the running configuration stays:\n\(error)")
            return "\(error)"
        }
        systemd.reloading()
        defer {
            systemd.ready(status: "reloaded")
            // Reading YAML and building the new rules touched start-up code again.
            releaseStartupPages(after: 5_000)
        }

        if let notifier, let notifierConfiguration { notifier.reload(notifierConfiguration) }
        let newRules = makeRules(files: files, config: next)
        if let old = rules {
            // Waits for an evaluation under way; after it, the old groups push nothing.
            old.stop()
            // Carry alert states (pending 'for' times, firing alerts) over to the new groups.
            newRules.restore(from: old.checkpointSection(now: clock()), now: clock(), logger: logger)
        }
        rules = newRules
        latestAlerts.withLock { $0 = [:] }
        newRules.start()
        gates?.apply(gates: gateDefinitions, externalLabels: next.global.externalLabels)
        let targetChanges = scrapes?.apply(next.scrape) ?? ScrapeComponent.Changes()
        let remoteWriteChanges = remoteWrite?.apply(next.remoteWrite, externalLabels: next.global.externalLabels)
        if let logs, let logPlan { logs.apply(logPlan) }
        var kept = next
        // What only a restart changes stays as the process has it, so the next reload compares alike.
        kept.global.store = config.global.store
        kept.global.stateDir = config.global.stateDir
        kept.listen.socket = config.listen.socket
        kept.listen.http = config.listen.http
        kept.global.checkpointInterval = config.global.checkpointInterval
        kept.global.reloadCheckInterval = config.global.reloadCheckInterval
        runningBox.withLock { $0 = kept }
        let now = clock()
        reloads.withLock {
            $0.lastSuccessful = true
            $0.lastSuccessAt = now
            $0.lastAttemptAt = now
            $0.lastError = nil
        }

        var applied: [String] = ["\(newRules.groups.count) rule groups from \(files.count) files"]
        if !next.gateFiles.isEmpty { applied.append("\(gateDefinitions.count) gates") }
        func describe(_ what: String, _ c: (added: [String], changed: [String], removed: [String])) {
            if !c.added.isEmpty { applied.append("\(what) added: \(c.added.joined(separator: " "))") }
            if !c.changed.isEmpty { applied.append("\(what) changed: \(c.changed.joined(separator: " "))") }
            if !c.removed.isEmpty { applied.append("\(what) removed: \(c.removed.joined(separator: " "))") }
        }
        describe("targets", (targetChanges.added, targetChanges.changed, targetChanges.removed))
        if let remoteWriteChanges { describe("remote_write", remoteWriteChanges) }
        if let logPlan { describe("logs", (logPlan.added, logPlan.changed, logPlan.removed)) }
        var restartNeeded: [String] = []
        if next.global.store != config.global.store { restartNeeded.append("global storage settings") }
        if next.global.stateDir != config.global.stateDir { restartNeeded.append("global.state_dir") }
        if next.global.checkpointInterval != config.global.checkpointInterval { restartNeeded.append("global.checkpoint_interval") }
        if next.global.reloadCheckInterval != config.global.reloadCheckInterval { restartNeeded.append("global.reload_check_interval") }
        if next.listen.socket != config.listen.socket || next.listen.http != config.listen.http { restartNeeded.append("listen addresses") }
        if (notifier != nil) != next.notify.isEnabled { restartNeeded.append("turning notifications on or off") }
        let note = restartNeeded.isEmpty ? "" : "; changes to \(restartNeeded.joined(separator: ", ")) take effect at the next restart"
        logger.info("\(trigger): reloaded \(applied.joined(separator: "; "))\(note)")
        return nil
    }
}
