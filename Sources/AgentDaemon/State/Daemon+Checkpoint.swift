import Alerting
import Dispatch
import Ingest
import Logging
import Notify
import TimeSeries

/// Checkpoints (on `queue`): every component's state into the state files (`StateFiles`), at the
/// checkpoint interval, after a silence changes and at shutdown; restored once at start.
extension Daemon {
    /// The sections of a checkpoint: the store's and every component's.
    func checkpointSections() -> [String: [UInt8]] {
        // With logs, the store is captured together with the tail offsets (see LogsComponent).
        var sections = logs?.checkpointSections(store: store) ?? [SeriesStore.checkpointSection: store.encodedState()]
        if let rules { sections[AlertStateCheckpoint.sectionName] = rules.checkpointSection(now: clock()) }
        sections.merge(notifierSections()) { $1 }
        return sections
    }

    /// Writes every state file; failures are logged and counted, never fatal (a file that fails
    /// keeps its last good version and does not stop the others).
    func checkpoint(reason: String) {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = stateFiles.save(checkpointSections())
        let now = clock()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        checkpoints.withLock {
            $0.lastDurationSeconds = seconds
            if result.failures.isEmpty {
                $0.written += 1
                $0.lastBytes = result.bytes
                $0.lastSuccess = now
                $0.lastError = nil
            } else {
                $0.failed += 1
                $0.lastError = result.failures.map { "\($0.error)" }.joined(separator: "; ")
            }
        }
        for failure in result.failures { logger.error("checkpoint (\(reason)) failed: \(failure.error)") }
    }

    /// Restores what the state files hold. Each file stands alone: a corrupt one is set aside and
    /// the others are restored. The series and the tail offsets are restored together or not at
    /// all: offsets without the samples they account for would skip lines.
    func restore() {
        let (sections, events) = stateFiles.load(now: clock())
        var found = false
        for event in events {
            switch event {
            case .missing:
                break
            case .loaded(let path, let names):
                found = true
                logger.debug("checkpoint \(path): sections \(names.joined(separator: ", "))")
            case .corrupt(let path, let reason, let aside):
                found = true
                logger.error("checkpoint unreadable (\(reason)); set aside as \(aside); what \(path) held starts empty, the other state files are restored")
            case .unreadable(let path, let error):
                found = true
                logger.error("cannot read the checkpoint \(path): \(error); what it holds starts empty")
            }
        }
        if !found { logger.info("no checkpoint in \(config.global.stateDir): starting empty") }
        var storeRestored = false
        if let series = sections[SeriesStore.checkpointSection] {
            do {
                try store.restore(fromEncodedState: series)
                storeRestored = true
                logger.info("restored \(store.stats.series) series from \(stateFiles.seriesPath)")
            } catch {
                logger.error("series in the checkpoint not restored: \(error); starting with an empty store")
            }
        }
        // Offsets without the samples they account for would skip lines: only together.
        if storeRestored, let logs, let bytes = sections[LogsComponent.offsetsSection] {
            do {
                logs.restore(try TailOffsets(decoding: bytes))
            } catch {
                logger.error("tail offsets in the checkpoint not restored: \(error); logs start from their configured position")
            }
        }
        if let rules, let bytes = sections[AlertStateCheckpoint.sectionName] {
            rules.restore(from: bytes, now: clock(), logger: logger)
        }
        if let notifier {
            if let bytes = sections[Silences.checkpointSection] {
                do {
                    try notifier.silences.restore(from: bytes)
                    let count = notifier.silences.list().count
                    if count > 0 { logger.info("restored \(count) silences") }
                } catch {
                    logger.error("silences in the checkpoint not restored: \(error)")
                }
            }
            if let bytes = sections[Dispatcher.checkpointSection] {
                do {
                    try notifier.restoreLog(from: bytes)
                } catch {
                    logger.error("notification log in the checkpoint not restored (the outbox's own copy is used): \(error)")
                }
            }
        }
    }
}
