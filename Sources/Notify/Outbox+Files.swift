import Dispatch
import Logging
import TimeSeries

/// The outbox's files: loading what a previous run left, writing segments, marking entries done,
/// the journal and the state snapshot. Everything that touches them runs on `writer`, so segment
/// writes, done marks, journal appends and snapshots happen in the order they were asked for.
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
            var records: [String: LogRecord] = [:]
            var ledger = FiringLedger()
            var compactNow = false
            if names.contains(OutboxState.fileName) {
                do {
                    let state = try OutboxState.decode(try DurableFiles.read(dir + "/" + OutboxState.fileName, limit: OutboxState.maxFileBytes))
                    for r in state.records { Outbox.merge(r, into: &records) }
                    ledger = state.ledger
                } catch {
                    setAside(OutboxState.fileName)
                    compactNow = true
                    counters.withLock { $0.corrupt += 1 }
                    logger.error("outbox state \(dir)/\(OutboxState.fileName) unreadable (\(error)); a copy is in \(dir)/corrupt; pending notifications are still sent")
                }
            }
            var journalSize = 0
            if names.contains(OutboxJournal.fileName) {
                let bytes = try DurableFiles.read(dir + "/" + OutboxJournal.fileName, limit: OutboxState.maxFileBytes)
                journalSize = bytes.count
                let (events, intact) = OutboxJournal.decode(bytes)
                for event in events {
                    if case .records(let list) = event {
                        for r in list { Outbox.merge(r, into: &records) }
                    }
                    ledger.apply(event)
                }
                // A torn last frame is what a crash mid-append leaves; anything more is damage.
                if !intact {
                    setAside(OutboxJournal.fileName)
                    logger.warning("outbox journal: \(events.count) events read, the rest is damaged or torn; a copy is in \(dir)/corrupt")
                    compactNow = true  // appending after a torn frame would hide what follows it
                }
            }
            var loaded: [(entry: OutboxEntry, segment: String, index: Int)] = []
            var counts: [String: Int] = [:]
            var segmentRecords: [String: [LogRecord]] = [:]
            var finished: [String] = []
            var maxSequence: UInt64 = 0
            for name in names {
                if name.hasPrefix(".tmp-") {
                    DurableFiles.remove(dir + "/" + name)  // an unfinished write from a crash
                    continue
                }
                guard name.hasSuffix(OutboxSegment.suffix) else { continue }
                let stem = String(name.dropLast(OutboxSegment.suffix.count))
                if let seq = UInt64(stem.dropFirst(14).prefix(10)) { maxSequence = max(maxSequence, seq) }
                let done = OutboxSegment.doneIndexes((try? DurableFiles.read(dir + "/" + stem + OutboxSegment.doneSuffix, limit: 1 << 22)) ?? [])
                let contents: OutboxSegment.Contents
                do {
                    contents = try OutboxSegment.decode(try DurableFiles.read(dir + "/" + name, limit: OutboxSegment.maxFileBytes), name: stem)
                } catch {
                    contents = OutboxSegment.Contents(entries: [nil], records: [])
                }
                for r in contents.records { Outbox.merge(r, into: &records) }
                let entries = contents.entries
                let damaged = entries.enumerated().filter { $0.element == nil && !done.contains($0.offset) }.count
                if damaged > 0 {
                    setAside(name)
                    counters.withLock { $0.corrupt += UInt64(damaged) }
                    logger.error("outbox segment \(name): \(damaged) damaged notifications cannot be sent; a copy is in \(dir)/corrupt")
                }
                var live = 0
                for (i, entry) in entries.enumerated() where !done.contains(i) {
                    guard let entry else { continue }
                    loaded.append((entry, stem, i))
                    live += 1
                }
                segmentRecords[stem] = contents.records
                if live == 0 {
                    finished.append(stem)
                } else {
                    counts[stem] = live
                    // Damaged entries count as done, so the segment goes once the others are delivered.
                    if damaged > 0 {
                        let lines = entries.indices.filter { entries[$0] == nil && !done.contains($0) }.map { "\($0)\n" }.joined()
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
            var orphans: [(entry: OutboxEntry, segment: String, index: Int)] = []
            queue.sync {
                remaining = counts
                for l in loaded {
                    if let item = makeItem(l.entry, segment: l.segment, index: l.index, now: now) {
                        append(item)
                        pendingNow += 1
                    } else {
                        orphans.append(l)
                    }
                }
            }
            counters.withLock { $0.pending += pendingNow }
            writer.sync {
                self.segmentRecords = segmentRecords
                journalBytes = journalSize
                // Segments a crash left finished: their records to the journal, their files gone.
                for stem in finished { finishSegment(stem) }
                if compactNow {
                    stateDirty = true
                    snapshotOnWriter()
                } else {
                    flushJournal(sync: false)
                }
            }
            // Entries for integrations this configuration does not have: dropped and counted.
            if !orphans.isEmpty {
                queue.sync {
                    for o in orphans {
                        markDone(Item(id: 0, entry: o.entry, lane: "", integration: o.entry.target.id, nextAttempt: now, segment: o.segment, index: o.index))
                    }
                }
                counters.withLock { $0.removed += UInt64(orphans.count) }
                let names = Set(orphans.map(\.entry.target.id)).sorted().joined(separator: ", ")
                logger.warning("outbox: \(orphans.count) notifications from the previous run are dropped: the configuration no longer has \(names)")
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
                segmentRecords[name] = records
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
            if entries.isEmpty, !records.isEmpty {
                journalBuffer += OutboxJournal.frame(.records(records))
                scheduleJournalFlush()
            }
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
                    self.markDone(Item(id: 0, entry: entry, lane: "", integration: entry.target.id, nextAttempt: now, segment: written, index: i))
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

    /// Records that an entry is finished. When it was the last of its segment, the segment's
    /// records go to the journal and its files are removed; otherwise its index is appended to the
    /// segment's `.done` file. Runs on `queue`; the files are touched on `writer`.
    func markDone(_ item: Item) {
        guard let segment = item.segment else { return }
        let left = (remaining[segment] ?? 1) - 1
        if left <= 0 {
            remaining[segment] = nil
            writer.async { self.finishSegment(segment) }
        } else {
            remaining[segment] = left
            // Batched with the journal's next write, one append per segment.
            let line = "\(item.index)\n"
            let first = pendingDone.withLock { marks -> Bool in
                let wasEmpty = marks.isEmpty
                marks[segment, default: ""] += line
                return wasEmpty
            }
            if first { writer.async { self.scheduleJournalFlush() } }
        }
    }

    /// A ledger event: applied now (the delivery queue decides with it), then buffered in
    /// `pendingEvents` for the journal, without a hop to the writer per delivery. An event is
    /// noted before its entry is marked done, and `flushJournal` takes done marks before events
    /// and writes events first, so no done mark reaches the disk ahead of its event. A
    /// not-delivered event is not scheduled here: its caller marks the entry done, then calls
    /// `flushJournalNow()`.
    func note(_ event: OutboxJournal.Event) {
        ledger.withLock { $0.apply(event) }
        let frame = OutboxJournal.frame(event)
        let first = pendingEvents.withLock { buffer -> Bool in
            buffer += frame
            return buffer.count == frame.count
        }
        if case .notDelivered = event { return }
        if first { writer.async { self.scheduleJournalFlush() } }
    }

    /// Writes and flushes what the journal buffers at once, on `writer`: after a not-delivered
    /// event (it is what withholds a resolution) and its entry's done mark.
    func flushJournalNow() {
        writer.async { self.flushJournal(sync: true) }
    }

    /// A segment whose entries are all done: its records go to the journal, then its files go.
    func finishSegment(_ segment: String) {
        dispatchPrecondition(condition: .onQueue(writer))
        if let records = segmentRecords.removeValue(forKey: segment), !records.isEmpty {
            journalBuffer += OutboxJournal.frame(.records(records))
        }
        // Removed once its records are in the journal file: a crash before that finds the segment
        // and sends its last entry again, under its key.
        finishedSegments.append(segment)
        scheduleJournalFlush()
    }

    /// Appends are batched: one write per `journalBatch` at most, however many deliveries, so the
    /// journal adds no I/O of its own to each notification's fsyncs.
    static let journalBatch = 200

    func scheduleJournalFlush() {
        guard !journalFlushScheduled else { return }
        journalFlushScheduled = true
        writer.asyncAfter(deadline: .now() + .milliseconds(Outbox.journalBatch)) { [weak self] in
            guard let self else { return }
            self.journalFlushScheduled = false
            self.flushJournal(sync: false)
        }
    }

    /// Writes the buffered events, then the done marks, then removes the segments they finished.
    /// The marks are taken before the events: an entry's event was buffered before its mark
    /// (see `note`), so the events written here include the event of every mark written here.
    func flushJournal(sync: Bool) {
        dispatchPrecondition(condition: .onQueue(writer))
        let dir = configuration.directory
        let marks = pendingDone.withLock { marks -> [String: String] in
            defer { marks = [:] }
            return marks
        }
        journalBuffer += pendingEvents.withLock { buffer -> [UInt8] in
            defer { buffer = [] }
            return buffer
        }
        var journaled = true
        // A synced flush also syncs what batched writes left unsynced: a refusal that a batch took
        // before its done mark was noted must be on disk before that mark is written.
        if !journalBuffer.isEmpty || (sync && journalUnsynced) {
            do {
                try DurableFiles.append(journalBuffer, to: dir + "/" + OutboxJournal.fileName, sync: sync)
                journalBytes += journalBuffer.count
                journalUnsynced = !sync
                journalBuffer = []
            } catch {
                logger.warning("outbox: cannot append to the journal (\(error)); a state snapshot follows")
                journaled = false
            }
        }
        let finishing = Set(finishedSegments)
        if !journaled {
            // A snapshot holds the ledger with every event taken above (and removes the finished
            // segments). If it fails too, the marks wait: entries sent again after a crash carry
            // their keys, while a mark without its event could let a resolution through.
            snapshotOnWriter()
            guard journalBuffer.isEmpty else {
                pendingDone.withLock { pending in
                    for (segment, lines) in marks { pending[segment] = lines + (pending[segment] ?? "") }
                }
                return
            }
        }
        for (segment, lines) in marks where !finishing.contains(segment) {
            do {
                try DurableFiles.append(Array(lines.utf8), to: dir + "/" + segment + OutboxSegment.doneSuffix)
            } catch {
                logger.warning("outbox: cannot record finished notifications (\(error)); they may be sent again after a restart")
            }
        }
        if !journaled { return }
        for segment in finishedSegments {
            DurableFiles.remove(dir + "/" + segment + OutboxSegment.suffix)
            DurableFiles.remove(dir + "/" + segment + OutboxSegment.doneSuffix)
        }
        finishedSegments = []
        if journalBytes >= OutboxJournal.compactBytes || stateDirty { scheduleSnapshot() }
    }

    /// A snapshot in a second (reloads and imports come in bursts), or at once when the journal is large.
    func scheduleSnapshot() {
        if journalBytes >= OutboxJournal.compactBytes {
            snapshotOnWriter()
            return
        }
        guard !snapshotScheduled else { return }
        snapshotScheduled = true
        writer.asyncAfter(deadline: .now() + .seconds(1)) { [weak self] in
            guard let self else { return }
            self.snapshotScheduled = false
            self.snapshotOnWriter()
        }
    }

    /// Writes the state file (records and ledger) when the journal holds anything or the state
    /// changed otherwise, then empties the journal.
    func snapshotOnWriter() {
        dispatchPrecondition(condition: .onQueue(writer))
        guard journalBytes > 0 || stateDirty || !journalBuffer.isEmpty || !finishedSegments.isEmpty || pendingEvents.withLock({ !$0.isEmpty })
        else { return }
        let now = clock()
        // Events noted so far are in the ledger read below (a note applies, then buffers): drop
        // their frames; later ones stay buffered and are replayed on top of this snapshot.
        pendingEvents.withLock { $0 = [] }
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
            logger.error("outbox: the state snapshot could not be written (\(error)); the journal keeps growing until it can")
            return
        }
        stateDirty = false
        // The snapshot holds what the buffer held. Ledger events noted before it but journaled
        // after it are replayed on top of it at the next open: replaying an event twice is harmless.
        DurableFiles.remove(dir + "/" + OutboxJournal.fileName)
        journalBytes = 0
        journalUnsynced = false
        journalBuffer = []
        for segment in finishedSegments {
            DurableFiles.remove(dir + "/" + segment + OutboxSegment.suffix)
            DurableFiles.remove(dir + "/" + segment + OutboxSegment.doneSuffix)
        }
        finishedSegments = []
    }

    /// Records the journal keeps at most (the oldest go first); a week's groups of a busy agent.
    static let maxJournal = 100_000

    /// Writes what the journal buffers, and a snapshot when the state changed in a way the journal
    /// does not record (`stop` does this).
    func flushOnWriter() {
        dispatchPrecondition(condition: .onQueue(writer))
        flushJournal(sync: false)
        if stateDirty { snapshotOnWriter() }
    }

    /// Compacts now: a snapshot, the journal emptied, finished segments gone (tests).
    func syncState() {
        writer.sync {
            stateDirty = true
            snapshotOnWriter()
        }
    }
}
