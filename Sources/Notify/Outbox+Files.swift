import Dispatch
import Logging
import TimeSeries

/// The outbox's files: loading what a previous run left, writing segments, marking entries done,
/// the state snapshot. Writes with fsync run on `writer`; `.done` appends on `queue`.
extension Outbox {
    /// Creates the directory and loads what a previous run left: undelivered entries (queued for
    /// delivery), the notification-log records (see `journalRecords()`) and the firing ledger. Call
    /// once before `start`. Returns how many entries were loaded.
    @discardableResult
    public func open() throws(OutboxError) -> Int {
        let dir = configuration.directory
        do {
            try DurableFiles.createDirectory(dir)
            var names = try DurableFiles.list(dir)
            names.sort()
            var state: (records: [LogRecord], ledger: FiringLedger) = ([], FiringLedger())
            if names.contains(OutboxState.fileName) {
                do {
                    state = try OutboxState.decode(try DurableFiles.read(dir + "/" + OutboxState.fileName, limit: OutboxState.maxFileBytes))
                } catch {
                    setAside(OutboxState.fileName)
                    counters.withLock { $0.corrupt += 1 }
                    logger.error("outbox state \(dir)/\(OutboxState.fileName) unreadable (\(error)); a copy is in \(dir)/corrupt; pending notifications are still sent")
                }
            }
            let integrations = queue.sync { table }
            var records: [String: LogRecord] = [:]
            for r in state.records { Outbox.merge(r, into: &records) }
            var ledger = state.ledger
            var loaded: [(entry: OutboxEntry, segment: String, index: Int)] = []
            var counts: [String: Int] = [:]
            var retiredNow: Set<String> = []
            var maxSequence: UInt64 = 0
            for name in names {
                if name.hasPrefix(".tmp-") {
                    DurableFiles.remove(dir + "/" + name)  // an unfinished write from a crash
                    continue
                }
                guard name.hasSuffix(OutboxSegment.suffix) else { continue }
                let stem = String(name.dropLast(OutboxSegment.suffix.count))
                if let seq = UInt64(stem.dropFirst(14).prefix(10)) { maxSequence = max(maxSequence, seq) }
                let marks = OutboxSegment.doneMarks((try? DurableFiles.read(dir + "/" + stem + OutboxSegment.doneSuffix, limit: 1 << 22)) ?? [])
                let contents: OutboxSegment.Contents
                do {
                    contents = try OutboxSegment.decode(try DurableFiles.read(dir + "/" + name, limit: OutboxSegment.maxFileBytes), name: stem)
                } catch {
                    contents = OutboxSegment.Contents(entries: [nil], records: [])
                }
                for r in contents.records { Outbox.merge(r, into: &records) }
                let entries = contents.entries
                // Entries not delivered before the restart withhold their alerts' resolutions.
                for i in marks.notDelivered where i < entries.count {
                    guard let e = entries[i] else { continue }
                    let id = integrations.resolve(e.target, legacyIndex: e.legacyIndex)?.name ?? e.target.id
                    ledger.notDelivered(FiringLedger.lane(id, e.groupKey), firing: e.alerts.filter(\.firing).map(\.fingerprint), at: e.createdAt)
                }
                let damaged = entries.enumerated().filter { $0.element == nil && !marks.done.contains($0.offset) }.count
                if damaged > 0 {
                    setAside(name)
                    counters.withLock { $0.corrupt += UInt64(damaged) }
                    logger.error("outbox segment \(name): \(damaged) damaged notifications cannot be sent; a copy is in \(dir)/corrupt")
                }
                var live = 0
                for (i, entry) in entries.enumerated() where !marks.done.contains(i) {
                    guard let entry else { continue }
                    loaded.append((entry, stem, i))
                    live += 1
                }
                if live == 0 {
                    retiredNow.insert(stem)
                } else {
                    counts[stem] = live
                    // Damaged entries count as done, so the segment goes once the others are delivered.
                    if damaged > 0 {
                        let lines = entries.indices.filter { entries[$0] == nil && !marks.done.contains($0) }.map { "\($0)\n" }.joined()
                        try? DurableFiles.append(Array(lines.utf8), to: dir + "/" + stem + OutboxSegment.doneSuffix)
                    }
                }
            }
            sequence.store(maxSequence, ordering: .relaxed)
            journal.withLock { j in
                for r in records.values { Outbox.merge(r, into: &j) }
            }
            ledger.prune(now: clock())
            let fromDisk = ledger
            self.ledger.withLock { $0 = fromDisk }
            let now = clock()
            var pendingNow = 0
            queue.sync {
                remaining = counts
                for l in loaded {
                    if let item = makeItem(l.entry, segment: l.segment, index: l.index, now: now) {
                        append(item)
                        pendingNow += 1
                    } else {
                        // Its receiver or integration is not in this configuration: dropped and counted.
                        let orphan = Item(id: 0, entry: l.entry, lane: "", integration: l.entry.target.id, nextAttempt: now, segment: l.segment, index: l.index)
                        markDone(orphan, notDelivered: false)
                        counters.withLock { $0.removed += 1 }
                        logger.warning("outbox: a notification for \(l.entry.target.id) from the previous run is dropped: the configuration no longer has that integration")
                    }
                }
            }
            counters.withLock { $0.pending += pendingNow }
            writer.sync {
                retired.formUnion(retiredNow)
                if !retired.isEmpty { snapshotOnWriter() }
            }
            if pendingNow > 0 { logger.info("outbox: \(pendingNow) undelivered notifications from the previous run will be sent") }
            return pendingNow
        } catch {
            throw OutboxError(message: "cannot use the outbox directory: \(error); check state_dir and its permissions")
        }
    }

    /// Copies a damaged file to `corrupt/` for a human to look at.
    func setAside(_ name: String) {
        let dir = configuration.directory
        try? DurableFiles.createDirectory(dir + "/corrupt")
        if let bytes = try? DurableFiles.read(dir + "/" + name, limit: OutboxSegment.maxFileBytes) {
            try? DurableFiles.write(bytes, directory: dir + "/corrupt", name: name)
        }
    }

    /// Writes one segment durably, records its notifications' log records, then queues its entries.
    func writeSegment(_ notices: [Notice], now: Timestamp) {
        dispatchPrecondition(condition: .onQueue(writer))
        let entries = notices.flatMap(\.entries)
        let records = notices.compactMap(\.record)
        var segment: String?
        if !entries.isEmpty {
            let name = nextName(createdAt: now)
            do {
                try DurableFiles.write(OutboxSegment.encode(entries, records: records), directory: configuration.directory, name: name + OutboxSegment.suffix)
                try DurableFiles.syncDirectory(configuration.directory)
                segment = name
            } catch {
                logger.error("outbox: \(entries.count) notifications could not be written durably (\(error)); sending them from memory")
                counters.withLock { $0.writeErrors += UInt64(entries.count) }
            }
        }
        if segment != nil || entries.isEmpty {
            // Only what is on disk (or has nothing to send) enters the durable notification log.
            journal.withLock { j in
                for r in records { Outbox.merge(r, into: &j) }
            }
            if entries.isEmpty { stateDirty = true }
        }
        guard !entries.isEmpty else { return }
        let written = segment
        queue.async {
            if let written { self.remaining[written] = entries.count }
            var orphans = 0
            for (i, entry) in entries.enumerated() {
                if let item = self.makeItem(entry, segment: written, index: i, now: now) {
                    self.append(item)
                } else {
                    let orphan = Item(id: 0, entry: entry, lane: "", integration: entry.target.id, nextAttempt: now, segment: written, index: i)
                    self.markDone(orphan, notDelivered: false)
                    orphans += 1
                }
            }
            if orphans > 0 {
                self.counters.withLock {
                    $0.removed += UInt64(orphans)
                    $0.pending -= orphans
                }
                self.logger.error("outbox: \(orphans) notifications rendered for integrations the configuration no longer has were dropped")
            }
            self.enforceLimit()
            self.pumpOnQueue()
        }
    }

    /// Records that an entry is finished (`notDelivered`: refused, given up or dropped, which a
    /// restart must know to withhold resolutions; that mark is flushed). The segment is retired
    /// when it was its last entry.
    func markDone(_ item: Item, notDelivered: Bool) {
        guard let segment = item.segment else { return }
        let dir = configuration.directory
        do {
            let line = (notDelivered ? "r \(item.index)\n" : "") + "\(item.index)\n"
            try DurableFiles.append(Array(line.utf8), to: dir + "/" + segment + OutboxSegment.doneSuffix, sync: notDelivered)
        } catch {
            logger.warning("outbox: cannot record a finished notification (\(error)); it may be sent again after a restart")
        }
        let left = (remaining[segment] ?? 1) - 1
        if left <= 0 {
            remaining[segment] = nil
            writer.async {
                self.retired.insert(segment)
                self.scheduleSnapshot()
            }
        } else {
            remaining[segment] = left
        }
    }

    func scheduleSnapshot() {
        guard !snapshotScheduled else { return }
        snapshotScheduled = true
        let delay = Int(configuration.snapshotInterval.milliseconds)
        writer.asyncAfter(deadline: .now() + .milliseconds(delay)) { [weak self] in
            guard let self else { return }
            self.snapshotScheduled = false
            self.snapshotOnWriter()
        }
    }

    /// Writes the state file (records and ledger) when something changed, then removes the
    /// retired segments, whose records it now holds.
    func snapshotOnWriter() {
        dispatchPrecondition(condition: .onQueue(writer))
        guard !retired.isEmpty || stateDirty else { return }
        let now = clock()
        let records = journal.withLock { j -> [LogRecord] in
            j = j.filter { now - $0.value.at < Dispatcher.logRetention }
            if j.count > Outbox.maxJournal {
                for victim in j.values.sorted(by: { $0.at < $1.at }).prefix(j.count - Outbox.maxJournal) {
                    j[victim.groupKey + "\u{1}" + victim.receiver] = nil
                }
            }
            return Array(j.values)
        }
        let ledgerNow = ledger.withLock { l -> FiringLedger in
            l.prune(now: now)
            return l
        }
        let dir = configuration.directory
        do {
            try DurableFiles.write(OutboxState.encode(records: records, ledger: ledgerNow), directory: dir, name: OutboxState.fileName)
            try DurableFiles.syncDirectory(dir)
        } catch {
            counters.withLock { $0.snapshotErrors += 1 }
            logger.error("outbox: the state snapshot could not be written (\(error)); finished segments stay until it can")
            return
        }
        stateDirty = false
        for stem in retired {
            DurableFiles.remove(dir + "/" + stem + OutboxSegment.suffix)
            DurableFiles.remove(dir + "/" + stem + OutboxSegment.doneSuffix)
        }
        retired = []
    }

    /// Records the journal keeps at most (the oldest go first); a week's groups of a busy agent.
    static let maxJournal = 100_000

    /// Runs the pending writes and the snapshot now (tests; `stop` does it too).
    func syncState() {
        writer.sync { snapshotOnWriter() }
    }
}
