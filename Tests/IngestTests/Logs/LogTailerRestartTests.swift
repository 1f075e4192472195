import Foundation
import Logging
import Testing

@testable import Ingest

#if canImport(Glibc)
import Glibc
#endif

/// Every kind of rotation, with the agent stopped (`kill -9`) at every point that matters, against
/// the guarantee docs/logs.md states: each line counted exactly once, except the lines a rotation
/// destroyed before they were read — and those, where they can still be counted, are reported.
@Suite struct LogTailerRestartTests {
    /// How a scenario must end: the line numbers never counted, and how many of them the tailer
    /// counts as lost (only those it could still count: in a gzip file, or a held partial line).
    struct Expected {
        var lost: Range<Int>? = nil
        var countedLost = 0
    }

    /// Lines 0..<100 are read and checkpointed; 100..<150 are written after that checkpoint; a
    /// rotation; 150..<180; for `twiceWhileDown` a second rotation; 180..<200 after the restart.
    static func expected(_ rotation: LogRotation, _ point: CrashPoint) -> Expected {
        let afterTheCheckpoint = 100..<150
        let both = 100..<180
        switch (rotation, point) {
        case (_, .none), (_, .afterCheckpoint), (.rename, _), (.copytruncate, _), (.symlink, _):
            return Expected()
        case (.renameDelayCompress, .twiceWhileDown):
            return Expected(lost: afterTheCheckpoint, countedLost: 50)  // compressed at the second rotation
        case (.renameDelayCompress, _):
            return Expected()
        case (.renameCompress, .twiceWhileDown):
            // The second generation was compressed before anyone read it: lost, and not seen.
            return Expected(lost: both, countedLost: 50)
        case (.renameCompress, _):
            return Expected(lost: afterTheCheckpoint, countedLost: 50)
        case (.truncateInPlace, .twiceWhileDown), (.deleteAndRecreate, .twiceWhileDown):
            return Expected(lost: both)
        case (.truncateInPlace, _), (.deleteAndRecreate, _):
            // The checkpoint had read all there was: what came after it is unknown, not counted.
            return Expected(lost: afterTheCheckpoint)
        }
    }

    static let singlePathCases = LogRotation.allCases.flatMap { r in CrashPoint.allCases.map { (r, $0) } }
    static let globCases = singlePathCases.filter { $0.0 != .symlink }

    @Test(arguments: singlePathCases)
    func aSinglePathCountsEachLineOnceAcrossRotationAndCrash(rotation: LogRotation, point: CrashPoint) throws {
        try run(rotation, point, glob: false)
    }

    @Test(arguments: globCases)
    func aGlobMatchingTheGenerationsCountsEachLineOnceAcrossRotationAndCrash(rotation: LogRotation, point: CrashPoint) throws {
        try run(rotation, point, glob: true)
    }

    private func run(_ rotation: LogRotation, _ point: CrashPoint, glob: Bool) throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: rotation)
        let agent = CrashingAgent(patterns: [glob ? path + "*" : path])
        log.write(100)
        agent.poll()
        agent.takeCheckpoint()
        log.write(50)
        switch point {
        case .none:
            agent.poll()
            log.rotate()
            log.write(30)
            agent.poll()
        case .beforeCheckpoint, .afterCheckpoint:
            agent.poll()
            log.rotate()
            log.write(30)
            agent.poll()
            if point == .afterCheckpoint { agent.takeCheckpoint() }
            agent.crash()
            try agent.restart()
        case .whileDown, .twiceWhileDown:
            agent.crash()
            log.rotate()
            log.write(30)
            if point == .twiceWhileDown { log.rotate() }
            try agent.restart()
        }
        log.write(20)
        agent.drain()

        let expected = Self.expected(rotation, point)
        let (lost, duplicated) = agent.check(written: log.next)
        #expect(duplicated == [], "counted twice")
        #expect(lost == expected.lost.map(Array.init) ?? [], "lost")
        #expect(agent.allLosses.lines == expected.countedLost, "lines reported lost")
        let warnings = agent.log.messages(.warning)
        if expected.countedLost == 0 {
            #expect(warnings == [], "no loss reported where none can be counted")
        } else {
            #expect(warnings.count == 1 && warnings.allSatisfy { $0.contains("lost \(expected.countedLost) lines") }, "\(warnings)")
        }
        if !glob { #expect(agent.tailer!.openFileCount == 1, "every rotated generation finished and closed") }
    }

    // MARK: - The reproductions of issue #12

    /// 1 000 lines, stop, copytruncate, 10 new lines, start: 1 010 lines, not 2 010.
    @Test(arguments: [false, true])
    func copytruncateWhileTheAgentIsDownResumesTheCopyAtItsOffset(glob: Bool) throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .copytruncate)
        let agent = CrashingAgent(patterns: [glob ? path + "*" : path])
        log.write(1000)
        agent.poll()
        agent.takeCheckpoint()  // a clean stop checkpoints
        agent.crash()
        log.rotate()
        log.write(10)
        try agent.restart()
        agent.drain()
        let (lost, duplicated) = agent.check(written: log.next)
        #expect(lost == [] && duplicated == [], "lost \(lost.count), counted twice \(duplicated.count)")
        #expect(agent.log.messages(.warning) == [])
    }

    /// deploy/agent.yaml's shape (one path, no glob): files renamed away while the agent is down,
    /// more than one of them, are found again by identity and by their rotation names.
    @Test func aSinglePathFindsEveryGenerationRenamedAwayWhileTheAgentWasDown() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("access.jsonl")
        let log = NumberedLog(path: path, rotation: .rename, keep: 5)
        let agent = CrashingAgent(patterns: [path])
        log.write(100)
        agent.poll()
        agent.takeCheckpoint()
        log.write(40)
        agent.crash()
        for _ in 0..<4 {
            log.rotate()
            log.write(25)
        }
        try agent.restart()
        agent.drain()
        let (lost, duplicated) = agent.check(written: log.next)
        #expect(lost == [] && duplicated == [], "lost \(lost.count), counted twice \(duplicated.count)")
        #expect(agent.tailer!.finishedFileCount == 4, "the generations read are remembered while on disk")
    }

    /// A run that loses nothing says nothing about losses: rotated files read to their end and then
    /// deleted (the oldest generation dropped) while the agent is down.
    @Test(arguments: [false, true])
    func generationsReadToTheirEndAndDeletedWhileDownAreNotReportedLost(glob: Bool) throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .rename)
        let agent = CrashingAgent(patterns: [glob ? path + "*" : path])
        log.write(10)
        agent.poll()
        log.rotate()
        log.write(10)
        agent.poll()
        agent.takeCheckpoint()  // the rotated file is still open, read to its end
        agent.crash()
        // A rotation that drops it, the oldest generation deleted last: no file made after its
        // deletion can get its inode number and pass for it.
        #expect(rename(path, path + ".2") == 0)
        log.reopen()
        #expect(unlink(path + ".1") == 0)
        #expect(rename(path + ".2", path + ".1") == 0)
        log.write(10)
        try agent.restart()
        agent.drain()
        let (lost, duplicated) = agent.check(written: log.next)
        #expect(lost == [] && duplicated == [])
        #expect(agent.log.messages(.warning) == [])
        #expect(agent.log.messages(.notice) == [])
        #expect(agent.allLosses == LogLoss())
    }

    /// Lines the checkpoint knew were there and unread, in a file deleted while the agent was down,
    /// are reported with their byte count (their lines cannot be counted any more).
    @Test func unreadBytesOfAFileDeletedWhileDownAreReported() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .rename, keep: 1)
        let agent = CrashingAgent(patterns: [path])
        log.write(10)
        log.writeHalfLine()  // held: the checkpoint knows these bytes exist, unread
        agent.poll()
        agent.takeCheckpoint()
        agent.crash()
        log.rotate()
        log.rotate()
        try agent.restart()
        agent.drain()
        #expect(agent.allLosses == LogLoss(bytes: 7, lines: 0, events: 1))
        #expect(agent.log.messages(.warning).count == 1)
        #expect(agent.log.messages(.warning).first?.contains("lost at least 7 bytes") == true)
    }

    // MARK: - While running

    /// copytruncate with a single path and no glob: the lines written between the last poll and the
    /// truncation are only in the copy beside it, which is read from the old offset.
    @Test func copytruncateWithASinglePathReadsTheLinesOnlyTheCopyHolds() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .copytruncate)
        let agent = CrashingAgent(patterns: [path])
        log.write(10)
        agent.poll()
        log.write(5)  // not read before the rotation
        log.rotate()
        log.write(3)
        agent.poll()
        agent.drain()
        let (lost, duplicated) = agent.check(written: log.next)
        #expect(lost == [] && duplicated == [])
        #expect(agent.tailer!.fileStats[0].truncations == 1)
        #expect(agent.log.messages(.notice) == [], "the copy was found: nothing to say")
    }

    /// Rotations faster than polls: a generation is born, written and renamed away between two
    /// polls. No configured path ever matches it; it is found beside the log by its rotation name.
    @Test(arguments: [LogRotation.rename, .renameDelayCompress, .copytruncate], [false, true])
    func aGenerationBornAndRotatedAwayBetweenTwoPollsIsRead(rotation: LogRotation, glob: Bool) {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: rotation)
        let agent = CrashingAgent(patterns: [glob ? path + "*" : path])
        log.write(10)
        agent.poll()
        for _ in 0..<3 {
            log.write(10)
            log.rotate()
        }
        log.write(10)
        agent.drain()
        // With delaycompress, the generation of lines 20..<30 was compressed (at the third rotation)
        // before anyone could read it: lost, and never seen, so not reported.
        let lost = rotation == .renameDelayCompress ? Array(20..<30) : []
        #expect(agent.check(written: log.next) == (lost, []))
        #expect(agent.log.messages(.warning) == [] && agent.log.messages(.notice) == [])
    }

    /// copytruncate left the log empty at a poll; before the next one it filled and was copied
    /// away again: nothing about the file itself shows it, the copy beside it does.
    @Test(arguments: [false, true])
    func anEmptyLogThatFillsAndIsCopiedAwayBetweenTwoPollsIsRead(glob: Bool) {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .copytruncate)
        let agent = CrashingAgent(patterns: [glob ? path + "*" : path])
        log.write(10)
        agent.poll()
        log.rotate()
        agent.poll()  // empty now
        log.write(10)
        log.rotate()
        log.write(10)
        agent.drain()
        #expect(agent.check(written: log.next) == ([], []))
    }

    /// After a restart finds the log truncated (copytruncate while down), it is copied away and
    /// truncated once more before the first poll.
    @Test(arguments: [false, true])
    func copytruncateAgainBeforeTheFirstPollAfterARestartIsSeen(glob: Bool) throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .copytruncate)
        let agent = CrashingAgent(patterns: [glob ? path + "*" : path])
        log.write(10)
        agent.poll()
        agent.takeCheckpoint()
        agent.crash()
        log.rotate()
        log.write(10)
        try agent.restart()
        log.write(5)
        log.rotate()
        log.write(10)
        agent.drain()
        #expect(agent.check(written: log.next) == ([], []))
    }

    /// The log's first file is written and renamed away before the first poll that could see it.
    @Test func aFirstGenerationRotatedAwayBeforeAnyPollSawItIsRead() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let agent = CrashingAgent(patterns: [path])
        agent.poll()  // no file yet
        let log = NumberedLog(path: path, rotation: .rename)
        log.write(10)
        log.rotate()
        log.write(10)
        agent.drain()
        #expect(agent.check(written: log.next) == ([], []))
    }

    /// Between the `stat` that found a new file at the log's path and the `open`, that file was
    /// renamed away and another took its place: the first is a generation to read, before the second.
    @Test func aFileRotatedAwayBetweenStatAndOpenIsStillRead() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .rename)
        var rotateOnOpen = false
        let clock = TailClock()
        let sink = LineRecorder()
        let tailer = LogTailer(
            patterns: [path], options: LogTailerOptions(startAt: .beginning), logger: Logger(label: "test"), now: { clock.now },
            openFile: { opened in
                if rotateOnOpen {
                    rotateOnOpen = false
                    log.write(5)
                    log.rotate()
                    log.write(5)
                }
                return LogTailer.openReadOnly(opened)
            })
        log.write(10)
        tailer.poll(into: sink)
        log.rotate()
        log.write(10)  // a new file the next poll finds, and is rotated away as it is opened
        rotateOnOpen = true
        for _ in 0..<8 {
            clock.advance(1_000)
            tailer.poll(into: sink)
        }
        let seqs = sink.lines.map { Int($0.dropFirst(7).prefix { $0.isNumber })! }
        #expect(seqs == Array(0..<log.next), "each line once, in order")
    }

    /// copytruncate while a poll is reading the log, between the size and fingerprint it checked
    /// and the bytes it reads (a writer racing with the poll, or a poll preempted there): the bytes
    /// read are the new content's at the old position; they must not pass for the old content's.
    /// With a short first generation the fingerprint is still growing (a check of its own).
    @Test(arguments: [10, 30])
    func copytruncateWhileAPollReadsIsNotMistakenForTheOldContent(firstLines: Int) {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .copytruncate)
        let agent = CrashingAgent(patterns: [path])
        log.write(firstLines)
        agent.poll()
        log.write(5)
        var armed = true
        agent.tailer!.willRead = { reading in
            guard armed, reading == path else { return }
            armed = false
            log.write(3)
            log.rotate()
            log.write(40)  // more than the size the poll saw: it reads new lines from where it was
        }
        agent.poll()
        agent.drain()
        #expect(agent.check(written: log.next) == ([], []))
    }

    /// A finished generation is deleted and a new generation, born and rotated away between two
    /// polls, gets its inode number (ext4 hands a freed number out again at once): the new file is
    /// told from the finished one by its first bytes, and read.
    @Test func aGenerationWithTheInodeNumberOfADeletedFinishedFileIsRead() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .rename, keep: 2)
        let agent = CrashingAgent(patterns: [path])
        log.write(10)
        agent.poll()
        log.rotate()
        log.write(10)
        agent.drain()  // the first generation is finished: closed, remembered
        #expect(agent.tailer!.finishedFileCount == 1)
        log.rotate()
        log.write(5)
        log.rotate()  // deletes the finished file; the file created next may take its number
        log.write(5)
        log.rotate()
        log.write(5)
        agent.drain()
        #expect(agent.check(written: log.next) == ([], []))
    }

    @Test func truncationInPlaceWithNoCopyIsANoticeNotALoss() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .truncateInPlace)
        let agent = CrashingAgent(patterns: [path])
        log.write(10)
        agent.poll()
        log.rotate()
        log.write(3)
        agent.poll()
        #expect(agent.check(written: log.next) == ([], []))
        #expect(agent.log.messages(.warning) == [])
        #expect(agent.log.messages(.notice).count == 1)
    }

    /// copytruncate whose copy is compressed at once (logrotate's `compress` without
    /// `delaycompress`) before the tailer read it: the lines it missed are counted from the gzip file.
    @Test func aCopyCompressedBeforeItWasReadIsCountedLostWithItsLines() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .copytruncate)
        let agent = CrashingAgent(patterns: [path])
        log.write(10)
        agent.poll()
        log.write(6)
        log.rotate()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = [path + ".1"]
        try! process.run()
        process.waitUntilExit()
        agent.poll()
        #expect(agent.check(written: log.next).lost == Array(10..<16))
        #expect(agent.allLosses.lines == 6)
        #expect(agent.log.messages(.warning).first?.contains("lost 6 lines") == true)
    }

    /// A glob matches a backup copy of a followed file that is never truncated: its lines are the
    /// original's, delivered once through the original; the copy is followed from its end.
    @Test func aCopyThatIsNeverTruncatedIsAnotherNameForLinesAlreadyRead() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .rename)
        let agent = CrashingAgent(patterns: [path + "*"])
        log.write(10)
        agent.poll()
        _ = FileManager.default.createFile(atPath: path + ".1", contents: FileManager.default.contents(atPath: path))
        log.write(5)
        agent.drain()
        LogFiles.append(#"{"seq":15,"pad":"appended to the copy"}"# + "\n", to: path + ".1")
        agent.poll()
        #expect(agent.check(written: 16) == ([], []), "the copy's own new line is read, its old ones not")
    }

    /// A finished file renamed back to a followed name is resumed where it ended, not read again.
    @Test func aFinishedFileThatReappearsAtAFollowedPathIsNotReadAgain() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .rename)
        let agent = CrashingAgent(patterns: [path, dir.file("archive.log")])
        log.write(10)
        agent.poll()
        log.rotate()
        log.write(5)
        agent.drain()
        #expect(agent.tailer!.finishedFileCount == 1)
        #expect(rename(path + ".1", dir.file("archive.log")) == 0)
        agent.drain()
        #expect(agent.check(written: log.next) == ([], []))
        #expect(agent.tailer!.finishedFileCount == 0, "followed again, at its offset")
    }

    // MARK: - Bounded state

    @Test func finishedFilesAreForgottenOnceGoneAndAtMostACapAreKept() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        let log = NumberedLog(path: path, rotation: .rename, keep: LogTailer.maxFinishedFiles + 10)
        let agent = CrashingAgent(patterns: [path])
        for _ in 0..<(LogTailer.maxFinishedFiles + 5) {
            log.write(2)
            agent.poll()
            log.rotate()
            agent.drain()
        }
        #expect(agent.tailer!.finishedFileCount == LogTailer.maxFinishedFiles)
        for n in 1...(LogTailer.maxFinishedFiles + 5) { unlink(path + ".\(n)") }
        agent.clock.advance(LogTailer.finishedCheckInterval)
        agent.poll()
        #expect(agent.tailer!.finishedFileCount == 0)
        #expect(agent.tailer!.offsets().files.count == 1)
    }

    /// Date-named files come and go under a glob: a path's slot is reused once nothing at or from it
    /// is followed, so the per-path state stays as large as what is on disk.
    @Test func pathSlotsOfFilesGoneAreReused() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let clock = TailClock()
        let tailer = LogTailer(patterns: [dir.file("app-*.log")], options: LogTailerOptions(startAt: .beginning), now: { clock.now })
        let sink = LineRecorder()
        for day in 0..<50 {
            LogFiles.append("day \(day)\n", to: dir.file("app-\(day).log"))
            if day >= 2 { unlink(dir.file("app-\(day - 2).log")) }
            for _ in 0..<7 {
                clock.advance(1_000)
                tailer.poll(into: sink)
            }
        }
        #expect(sink.lines.count == 50)
        #expect(tailer.filePaths.count <= 4)
    }

    // MARK: - Checkpoint format

    /// A version 1 checkpoint (before size, modification time and finished files) still resumes.
    @Test func aVersionOneCheckpointStillResumes() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.log")
        LogFiles.append("a\nb\n", to: path)
        var st = stat()
        #expect(stat(path, &st) == 0)
        var v1: [UInt8] = Array("TAIL".utf8) + [1, 1]
        for name in [path, path] { v1 += [UInt8(name.utf8.count)] + Array(name.utf8) }
        for value in [UInt64(st.st_dev), UInt64(st.st_ino)] { v1 += (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        v1 += [2, 4]  // offset 2, fingerprint over 4 bytes
        let fingerprint = FileFingerprint.hashOf(Array("a\nb\n".utf8))
        v1 += (0..<8).map { UInt8(truncatingIfNeeded: fingerprint >> (8 * $0)) }
        v1 += [0]
        let offsets = try TailOffsets(decoding: v1)
        #expect(offsets.files.first?.offset == 2 && offsets.files.first?.size == 2 && offsets.files.first?.modified == 0)
        let tailer = LogTailer(patterns: [path], options: LogTailerOptions(startAt: .end))
        tailer.restore(offsets)
        let sink = LineRecorder()
        LogFiles.append("c\n", to: path)
        tailer.poll(into: sink)
        #expect(sink.lines == ["b", "c"])
    }
}

extension FileFingerprint {
    /// The hash of `bytes` (tests build checkpoints by hand).
    static func hashOf(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { hash($0.baseAddress!, count: $0.count) }
    }
}

@Suite struct RotationNamesTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var base: String
        var expected: Bool?
        var testDescription: String { "\(name) of \(base)" }
    }

    static let cases: [Case] = [
        Case(name: "access.jsonl.1", base: "access.jsonl", expected: false),
        Case(name: "access.jsonl.12", base: "access.jsonl", expected: false),
        Case(name: "access.jsonl-20240131", base: "access.jsonl", expected: false),
        Case(name: "access.jsonl.2024-01-31", base: "access.jsonl", expected: false),
        Case(name: "access.jsonl.1.gz", base: "access.jsonl", expected: true),
        Case(name: "access.jsonl.gz", base: "access.jsonl", expected: true),
        Case(name: "access-20240131.jsonl", base: "access.jsonl", expected: false),
        Case(name: "access.1.jsonl", base: "access.jsonl", expected: false),
        Case(name: "access.1.jsonl.xz", base: "access.jsonl", expected: true),
        Case(name: "app-20240131.log", base: "app-20240130.log", expected: false),
        Case(name: "app-20240131.log.gz", base: "app-20240130.log", expected: true),
        Case(name: "access.jsonl", base: "access.jsonl", expected: nil),
        Case(name: "access.jsonl.bak", base: "access.jsonl", expected: nil),
        Case(name: "access.jsonl.lock", base: "access.jsonl", expected: nil),
        Case(name: "access.jsonl.", base: "access.jsonl", expected: nil),
        Case(name: "access.jsonl.-", base: "access.jsonl", expected: nil),
        Case(name: "access-error.jsonl", base: "access.jsonl", expected: nil),
        Case(name: "access.jsonl2", base: "access.jsonl", expected: nil),
        Case(name: "app2.log", base: "app1.log", expected: nil),
        Case(name: "web.jsonl.1", base: "access.jsonl", expected: nil),
        Case(name: ".jsonl.1", base: ".jsonl", expected: false),
        Case(name: "", base: "access.jsonl", expected: nil),
    ]

    @Test(arguments: cases)
    func rotationNamesAreRecognised(_ c: Case) {
        #expect(RotationNames.generation(c.name, of: c.base) == c.expected)
    }
}

/// gzip generations are decompressed only to recognise them and count what was lost in them; bad,
/// truncated and odd files must give an answer or nil, never a crash.
@Suite struct GzipLogTests {
    static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try! process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try! input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }

    private func file(_ dir: TailDirectory, _ bytes: [UInt8]) -> GzipLog {
        let path = dir.file("x.gz")
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return GzipLog(path: path)
    }

    @Test func theTailAfterAnOffsetIsCountedInBytesAndLines() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let text = Array(LogFiles.jsonLines(0, 5000, pad: 40).utf8)
        let log = file(dir, Self.gzip(text + Array("partial".utf8)))
        let offset = Array(LogFiles.jsonLines(0, 1000, pad: 40).utf8).count
        let tail = log.tail(after: Int64(offset))
        #expect(tail?.bytes == Int64(text.count - offset + 7))
        #expect(tail?.lines == 4001, "4 000 lines and a last one without its newline")
        #expect(tail?.exact == true)
        #expect(log.prefix(10) == Array(text.prefix(10)))
        #expect(log.prefix(1 << 30) == text + Array("partial".utf8), "a prefix longer than the content is the content")
        #expect(log.tail(after: Int64(text.count + 7)).map { $0.bytes } == 0)
    }

    @Test func concatenatedMembersAndTrailingPaddingAreReadAsGzipDoes() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let log = file(dir, Self.gzip(Array("a\nb\n".utf8)) + Self.gzip(Array("c\n".utf8)) + [0, 0, 0, 0])
        #expect(log.prefix(100) == Array("a\nb\nc\n".utf8))
        #expect(log.tail(after: 2)?.lines == 2)
    }

    @Test func damagedEmptyAndForeignFilesGiveNilOrWhatWasReadable() {
        let dir = TailDirectory()
        defer { dir.remove() }
        #expect(file(dir, []).prefix(4) == nil)
        #expect(file(dir, Array("not gzip at all\n".utf8)).prefix(4) == nil)
        #expect(file(dir, Array("not gzip at all\n".utf8)).tail(after: 0) == nil)
        #expect(GzipLog(path: dir.file("missing.gz")).prefix(4) == nil)
        let whole = Self.gzip(Array(LogFiles.jsonLines(0, 20_000).utf8))
        // Cut anywhere: whatever was decompressed before the cut, or nil; never a trap.
        var rng = LogsTestRandom(seed: 5)
        for _ in 0..<40 {
            let cut = Int(rng.next() % UInt64(whole.count))
            _ = file(dir, Array(whole.prefix(cut))).tail(after: 100)
            var damaged = whole
            damaged[Int(rng.next() % UInt64(whole.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            _ = file(dir, damaged).tail(after: 100)
            _ = file(dir, damaged).prefix(256)
        }
        let half = file(dir, Array(whole.prefix(whole.count / 2))).tail(after: 0)
        #expect(half.map { $0.lines > 0 && $0.lines < 20_000 } == true, "a truncated file counts what it holds")
    }
}
