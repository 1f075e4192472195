import Foundation
import Logging
import Testing

@testable import Ingest

#if canImport(Glibc)
import Glibc
#endif

/// A tailer on `patterns` driven by a manual clock.
private func makeTailer(
    _ patterns: [String], clock: TailClock, startAt: TailStartPosition = .beginning, maxLineBytes: Int = 64 * 1024,
    configure: (inout LogTailerOptions) -> Void = { _ in },
    openFile: ((String) -> Result<Int32, TailerErrno>)? = nil
) -> LogTailer {
    var options = LogTailerOptions(startAt: startAt, maxLineBytes: maxLineBytes)
    configure(&options)
    return LogTailer(
        patterns: patterns, options: options, logger: Logger(label: "test"), now: { clock.now },
        openFile: openFile ?? LogTailer.openReadOnly)
}

@Suite struct LogTailerTests {
    @Test func aFileThatDoesNotExistYetIsReadFromItsStartOnceItAppears() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let clock = TailClock()
        let tailer = makeTailer([dir.file("app.jsonl")], clock: clock, startAt: .end)
        let sink = LineRecorder()
        #expect(tailer.poll(into: sink) == LogPollSummary())
        #expect(sink.flushes == 1, "every poll ends with a flush")
        LogFiles.append("a\nb\n", to: dir.file("app.jsonl"))
        tailer.poll(into: sink)
        #expect(sink.take() == ["a", "b"], "a file that appears after the first poll is new: read from 0 whatever start_at says")
    }

    @Test func anExistingFileStartsAtItsEndByDefaultSkippingAPartialLine() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        LogFiles.append("old 1\nold 2\nhalf of a li", to: path)
        let clock = TailClock()
        let tailer = makeTailer([path], clock: clock, startAt: .end)
        let sink = LineRecorder()
        tailer.poll(into: sink)
        #expect(sink.take() == [])
        LogFiles.append("ne\nnew 1\nnew 2\n", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == ["new 1", "new 2"], "the rest of a line begun before we started is not a line")
        #expect(sink.skipped == [])
    }

    @Test func startAtBeginningReadsAnExistingFileWhole() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        LogFiles.append("old 1\nold 2\n", to: path)
        let tailer = makeTailer([path], clock: TailClock(), startAt: .beginning)
        let sink = LineRecorder()
        tailer.poll(into: sink)
        #expect(sink.take() == ["old 1", "old 2"])
    }

    @Test func aPartialLineIsHeldUntilItsNewlineArrivesAndIsNotInTheOffsets() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let tailer = makeTailer([path], clock: TailClock())
        let sink = LineRecorder()
        LogFiles.append("one\n{\"half\":", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == ["one"])
        #expect(tailer.offsets().files.map(\.offset) == [4], "the offset stops before the partial line")
        LogFiles.append("1", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == [])
        LogFiles.append("}\r\nthree\n", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == ["{\"half\":1}\r", "three"])
        #expect(tailer.offsets().files.map(\.offset) == [22])
    }

    @Test func renameAndCreateFinishesTheOldFileBeforeTheNewOne() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let clock = TailClock()
        let tailer = makeTailer([path], clock: clock)
        let sink = LineRecorder()
        LogFiles.append("g1 a\n", to: path)
        tailer.poll(into: sink)
        LogFiles.append("g1 b\ng1 c", to: path)  // "g1 c" still partial at rotation
        #expect(rename(path, path + ".1") == 0)
        LogFiles.append("g2 a\n", to: path)
        LogFiles.append("\n", to: path + ".1")  // the writer finishes its line before reopening
        tailer.poll(into: sink)
        #expect(sink.take() == ["g1 a", "g1 b", "g1 c", "g2 a"])
        #expect(tailer.fileStats[0].rotations == 1)
        #expect(tailer.openFileCount == 2, "the rotated file stays open while it may still grow")
        LogFiles.append("g1 late\n", to: path + ".1")
        clock.advance(4_000)
        tailer.poll(into: sink)
        #expect(sink.take() == ["g1 late"], "a writer that has not reopened yet still writes to the renamed file")
        clock.advance(5_000)
        tailer.poll(into: sink)
        #expect(tailer.openFileCount == 1, "closed after not growing for rotatedIdleMilliseconds")
        LogFiles.append("g2 b\n", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == ["g2 b"])
        #expect(Set(sink.files) == [LogFileID(index: 0)], "every generation counts under the log's path")
    }

    @Test func aRotatedFileEndingWithoutNewlineDeliversItsLastLineWhenClosed() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let clock = TailClock()
        let tailer = makeTailer([path], clock: clock)
        let sink = LineRecorder()
        LogFiles.append("a\nlast", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == ["a"])
        #expect(rename(path, path + ".1") == 0)
        tailer.poll(into: sink)
        clock.advance(10_000)
        tailer.poll(into: sink)
        #expect(sink.take() == ["last"])
        #expect(tailer.openFileCount == 0)
    }

    @Test func aGlobMatchingRotatedNamesNeverReadsAFileTwice() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let tailer = makeTailer([dir.file("app.jsonl*")], clock: TailClock())
        let sink = LineRecorder()
        LogFiles.append(LogFiles.jsonLines(0, 3), to: path)
        tailer.poll(into: sink)
        #expect(rename(path, path + ".1") == 0)
        LogFiles.append(LogFiles.jsonLines(3, 2), to: path + ".1")
        LogFiles.append(LogFiles.jsonLines(5, 2), to: path)
        tailer.poll(into: sink)
        #expect(sink.take().count == 7)
        #expect(tailer.fileStats[0].rotations == 0, "still at a followed path: not rotated")
    }

    @Test func copytruncateStartsAgainFromZero() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let tailer = makeTailer([path], clock: TailClock())
        let sink = LineRecorder()
        LogFiles.append(LogFiles.jsonLines(0, 5), to: path)
        tailer.poll(into: sink)
        #expect(sink.take().count == 5)
        LogFiles.copyTruncate(path, to: path + ".1")
        LogFiles.append(LogFiles.jsonLines(5, 3), to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == LogFiles.jsonLines(5, 3).split(separator: "\n").map(String.init))
        #expect(tailer.fileStats[0].truncations == 1)
    }

    @Test func copytruncateIsDetectedEvenWhenTheFileRegrewPastTheOldOffset() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let tailer = makeTailer([path], clock: TailClock())
        let sink = LineRecorder()
        LogFiles.append(LogFiles.jsonLines(0, 2), to: path)
        tailer.poll(into: sink)
        LogFiles.copyTruncate(path, to: path + ".1")
        LogFiles.append(LogFiles.jsonLines(100, 10), to: path)  // larger than before the truncation
        tailer.poll(into: sink)
        #expect(sink.take().count == 12, "the changed first bytes reveal the truncation")
        #expect(tailer.fileStats[0].truncations == 1)
    }

    @Test func copytruncateWithAGlobMatchingTheCopyRecoversTheLinesWrittenBeforeTheTruncation() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let clock = TailClock()
        let tailer = makeTailer([dir.file("app.jsonl*")], clock: clock)
        let sink = LineRecorder()
        LogFiles.append(LogFiles.jsonLines(0, 5), to: path)
        tailer.poll(into: sink)
        LogFiles.append(LogFiles.jsonLines(5, 2), to: path)  // written, not yet read...
        LogFiles.copyTruncate(path, to: path + ".1")  // ...when logrotate copies and truncates
        LogFiles.append(LogFiles.jsonLines(7, 3), to: path)
        for _ in 0..<3 {
            tailer.poll(into: sink)
            clock.advance(1_000)
        }
        let seqs = sink.take().map { $0.split(separator: ",")[0] }
        #expect(seqs.count == 10)
        #expect(Set(seqs).count == 10, "each line once: the copy is read from where the original was")
    }

    @Test func aCopySeenBeforeTheTruncationIsHeldNotReadTwice() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let clock = TailClock()
        let tailer = makeTailer([dir.file("app.jsonl*")], clock: clock)
        let sink = LineRecorder()
        LogFiles.append(LogFiles.jsonLines(0, 5), to: path)
        tailer.poll(into: sink)
        LogFiles.append(LogFiles.jsonLines(5, 2), to: path)
        _ = FileManager.default.createFile(atPath: path + ".1", contents: FileManager.default.contents(atPath: path))
        tailer.poll(into: sink)  // sees the copy, not yet the truncation
        #expect(sink.take().count == 7)
        #expect(truncate(path, 0) == 0)
        LogFiles.append(LogFiles.jsonLines(7, 1), to: path)
        clock.advance(1_000)
        tailer.poll(into: sink)
        clock.advance(1_000)
        tailer.poll(into: sink)
        #expect(sink.take() == [#"{"seq":7,"pad":""}"#])
        clock.advance(10_000)
        tailer.poll(into: sink)
        #expect(sink.take() == [], "after the grace the copy is followed from where it stands")
    }

    @Test func deletionAndRecreationReadsTheNewFileFromZero() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let clock = TailClock()
        let tailer = makeTailer([path], clock: clock)
        let sink = LineRecorder()
        LogFiles.append("a\n", to: path)
        tailer.poll(into: sink)
        LogFiles.append("b\n", to: path)
        #expect(unlink(path) == 0)
        tailer.poll(into: sink)
        #expect(sink.take() == ["a", "b"], "the deleted file is read to its end through the open descriptor")
        clock.advance(10_000)
        tailer.poll(into: sink)
        #expect(tailer.openFileCount == 0)
        LogFiles.append("c\n", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == ["c"])
    }

    @Test func compressedRotationsAreNeverRead() {
        let dir = TailDirectory()
        defer { dir.remove() }
        for name in ["app.jsonl.1.gz", "app.jsonl.2.bz2", "app.jsonl.3.xz", "app.jsonl.4.zst"] {
            LogFiles.append("compressed\n", to: dir.file(name))
        }
        LogFiles.append("plain\n", to: dir.file("app.jsonl"))
        let tailer = makeTailer([dir.file("app.jsonl*")], clock: TailClock())
        let sink = LineRecorder()
        tailer.poll(into: sink)
        #expect(sink.take() == ["plain"])
    }

    @Test(arguments: [100, 5_000, 300_000])
    func aLineLongerThanMaxLineBytesIsSkippedAndCounted(length: Int) {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let tailer = makeTailer([path], clock: TailClock(), maxLineBytes: 64) { $0.readChunkBytes = 4096 }
        let sink = LineRecorder()
        LogFiles.append("before\n" + String(repeating: "y", count: length / 2), to: path)
        tailer.poll(into: sink)
        LogFiles.append(String(repeating: "y", count: length - length / 2) + "\nafter\n", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == ["before", "after"])
        #expect(sink.skipped == [.tooLong])
        #expect(tailer.offsets().files[0].offset == Int64(7 + length + 1 + 6))
    }

    @Test func aTenMegabyteLineIsSkippedByDefaultAndReadWholeWhenAllowed() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let big = #"{"blob":""# + String(repeating: "z", count: 10 << 20) + #""}"#
        LogFiles.append("a\n" + big + "\nb\n", to: path)

        let sink = LineRecorder()
        makeTailer([path], clock: TailClock()).poll(into: sink)
        #expect(sink.take() == ["a", "b"])
        #expect(sink.skipped == [.tooLong])

        let wide = LineRecorder()
        makeTailer([path], clock: TailClock(), maxLineBytes: 16 << 20).poll(into: wide)
        #expect(wide.lines.map(\.utf8.count) == [1, big.utf8.count, 1])
        #expect(wide.skipped == [])
    }

    @Test func aDirectoryInPlaceOfTheFileIsReportedAndOtherFilesGoOn() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("a.jsonl")
        let clock = TailClock()
        let tailer = makeTailer([path, dir.file("b.jsonl")], clock: clock)
        let sink = LineRecorder()
        LogFiles.append("a1\n", to: path)
        LogFiles.append("b1\n", to: dir.file("b.jsonl"))
        tailer.poll(into: sink)
        #expect(Set(sink.take()) == ["a1", "b1"])
        #expect(unlink(path) == 0)
        #expect(mkdir(path, 0o755) == 0)
        LogFiles.append("b2\n", to: dir.file("b.jsonl"))
        tailer.poll(into: sink)
        #expect(sink.take() == ["b2"])
        #expect(tailer.problems[path]?.contains("is a directory") == true)
        #expect(rmdir(path) == 0)
        LogFiles.append("a2\n", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == ["a2"])
        #expect(tailer.problems[path] == nil, "the problem clears when the path works again")
    }

    @Test func anUnreadableFileIsReportedRetriedAndOtherFilesGoOn() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let locked = dir.file("locked.jsonl")
        LogFiles.append("secret\n", to: locked)
        LogFiles.append("open\n", to: dir.file("open.jsonl"))
        // A root test process reads any file, so the permission error is the kernel's answer played back.
        var denied = true
        let tailer = makeTailer([dir.file("*.jsonl")], clock: TailClock()) { _ in } openFile: { path in
            if denied && path == locked { return .failure(TailerErrno(code: EACCES)) }
            return LogTailer.openReadOnly(path)
        }
        let sink = LineRecorder()
        tailer.poll(into: sink)
        #expect(sink.take() == ["open"])
        #expect(tailer.problems[locked]?.hasPrefix("permission denied") == true)
        denied = false
        tailer.poll(into: sink)
        #expect(sink.take() == ["secret"])
        #expect(tailer.problems.isEmpty)
    }

    @Test func aRealPermissionErrorIsReportedWhenNotRunningAsRoot() throws {
        guard geteuid() != 0 else { return }  // root reads any file: covered by the test above
        let dir = TailDirectory()
        defer { dir.remove() }
        let locked = dir.file("locked.jsonl")
        LogFiles.append("secret\n", to: locked)
        chmod(locked, 0)
        let tailer = makeTailer([locked], clock: TailClock())
        tailer.poll(into: LineRecorder())
        #expect(tailer.problems[locked]?.hasPrefix("permission denied") == true)
    }

    @Test func pollingIsBoundedPerFileAndSaysWhenMoreIsPending() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        LogFiles.append(LogFiles.jsonLines(0, 1000, pad: 100), to: path)
        let tailer = makeTailer([path], clock: TailClock()) {
            $0.readChunkBytes = 4096
            $0.maxBytesPerPoll = 16384
        }
        let sink = LineRecorder()
        var polls = 0
        while tailer.poll(into: sink).morePending { polls += 1 }
        #expect(polls > 5)
        #expect(sink.lines.count == 1000)
    }

    @Test func readingThroughAMappingDeliversTheSameLinesAsReadingWithPread() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        // Lines of many lengths, a too-long one, a blank one, and a partial last line.
        var text = ""
        for i in 0..<3000 { text += String(repeating: "x", count: i % 97) + "\(i)\n" }
        text += String(repeating: "y", count: 300) + "\n\n" + "tail"
        LogFiles.append(text, to: path)
        func lines(mapped: Bool) -> ([String], [MalformedLineReason], Int) {
            let tailer = makeTailer([path], clock: TailClock(), startAt: .beginning, maxLineBytes: 200) {
                $0.readChunkBytes = 4096
                $0.maxBytesPerPoll = 5000  // polls end inside lines: the partial line is held across them
                $0.mapFiles = mapped
            }
            let sink = LineRecorder()
            var polls = 1
            while tailer.poll(into: sink).morePending { polls += 1 }
            tailer.finish(into: sink)
            return (sink.lines, sink.skipped, polls)
        }
        let (plain, plainSkipped, plainPolls) = lines(mapped: false)
        let (mapped, mappedSkipped, mappedPolls) = lines(mapped: true)
        #expect(plain.count == 3002)
        #expect(plain.last == "tail")
        #expect(plainSkipped == [.tooLong])
        #expect(mapped == plain)
        #expect(mappedSkipped == plainSkipped)
        #expect(mappedPolls > 10 && plainPolls > 10)
    }

    @Test func aMappedFileThatGrowsBetweenPollsIsReadOnFromItsHeldPartialLine() {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let tailer = makeTailer([path], clock: TailClock(), startAt: .beginning) { $0.mapFiles = true }
        let sink = LineRecorder()
        LogFiles.append("one\ntw", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == ["one"])
        LogFiles.append("o\nthree\n", to: path)
        tailer.poll(into: sink)
        #expect(sink.take() == ["two", "three"])
    }
}

@Suite struct TailOffsetsTests {
    @Test func aRestartResumesAtTheSavedOffsetWithNoLineLostOrRepeated() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let first = makeTailer([path], clock: TailClock(), startAt: .end)
        let sink = LineRecorder()
        first.poll(into: sink)
        LogFiles.append("a\nb\nhal", to: path)
        first.poll(into: sink)
        let saved = try TailOffsets(decoding: first.offsets().encoded())
        // kill -9: the first tailer is gone; lines keep arriving meanwhile.
        LogFiles.append("f\nc\n", to: path)
        let second = makeTailer([path], clock: TailClock(), startAt: .end)
        second.restore(saved)
        second.poll(into: sink)
        #expect(sink.take() == ["a", "b", "half", "c"])
    }

    @Test func aFileRotatedWhileTheAgentWasDownIsFinishedThenItsSuccessorReadFromZero() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let clock = TailClock()
        let first = makeTailer([path], clock: clock)
        let sink = LineRecorder()
        LogFiles.append("g1 a\n", to: path)
        first.poll(into: sink)
        let saved = first.offsets()
        LogFiles.append("g1 b\n", to: path)
        #expect(rename(path, path + ".1") == 0)
        LogFiles.append("g2 a\n", to: path)
        let second = makeTailer([path], clock: clock)
        second.restore(saved)
        second.poll(into: sink)
        #expect(sink.take() == ["g1 a", "g1 b", "g2 a"])
        clock.advance(10_000)
        second.poll(into: sink)
        #expect(second.openFileCount == 1)
    }

    @Test func aRewrittenFileUnderTheSameInodeIsReadFromZero() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let first = makeTailer([path], clock: TailClock())
        let sink = LineRecorder()
        LogFiles.append(LogFiles.jsonLines(0, 3), to: path)
        first.poll(into: sink)
        let saved = first.offsets()
        #expect(truncate(path, 0) == 0)
        LogFiles.append(LogFiles.jsonLines(100, 10), to: path)  // longer than the old offset
        let second = makeTailer([path], clock: TailClock())
        second.restore(saved)
        sink.lines.removeAll()
        second.poll(into: sink)
        #expect(sink.lines.count == 10, "the fingerprint differs: not the file the offset belongs to")
    }

    @Test func aFileShorterThanItsSavedOffsetIsReadFromZero() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let first = makeTailer([path], clock: TailClock())
        LogFiles.append(LogFiles.jsonLines(0, 3), to: path)
        first.poll(into: LineRecorder())
        let saved = first.offsets()
        #expect(truncate(path, 10) == 0)
        let second = makeTailer([path], clock: TailClock())
        second.restore(saved)
        let sink = LineRecorder()
        second.poll(into: sink)
        LogFiles.append("\n", to: path)
        second.poll(into: sink)
        #expect(sink.lines == [#"{"seq":0,""#])
    }

    @Test func filesTheCheckpointDoesNotKnowAreNewAndReadFromZero() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let first = makeTailer([dir.file("*.jsonl")], clock: TailClock(), startAt: .end)
        LogFiles.append("a1\n", to: dir.file("a.jsonl"))
        first.poll(into: LineRecorder())
        let saved = first.offsets()
        LogFiles.append("b1\n", to: dir.file("b.jsonl"))
        let second = makeTailer([dir.file("*.jsonl")], clock: TailClock(), startAt: .end)
        second.restore(saved)
        let sink = LineRecorder()
        second.poll(into: sink)
        #expect(sink.lines == ["b1"])
    }

    /// The checkpoint was taken before the log's file existed: after a restart the file is new
    /// (read from 0), not a file present at the start of a log never followed (start_at: end).
    @Test func aLogFollowedBeforeItsFileExistedReadsTheFileFromZeroAfterARestart() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let first = makeTailer([path], clock: TailClock(), startAt: .end)
        first.poll(into: LineRecorder())
        let saved = try TailOffsets(decoding: first.offsets().encoded())
        #expect(saved.files.isEmpty && saved.patterns == [path])
        LogFiles.append("a\nb\n", to: path)
        let second = makeTailer([path], clock: TailClock(), startAt: .end)
        second.restore(saved)
        let sink = LineRecorder()
        second.poll(into: sink)
        #expect(sink.lines == ["a", "b"])
    }

    @Test func offsetsRoundTripThroughTheirEncoding() throws {
        let offsets = TailOffsets(files: [
            .init(path: "/var/log/a.jsonl", device: 2049, inode: 1 << 40, offset: 123_456_789_012, fingerprintLength: 256, fingerprint: .max, rotated: false),
            .init(path: "/var/log/a.jsonl", location: "/var/log/a.jsonl.1", device: 0, inode: 7, offset: 0, fingerprintLength: 0, fingerprint: 0, rotated: true),
            .init(path: "/var/log/é ü.jsonl", device: .max, inode: .max, offset: .max, fingerprintLength: .max, fingerprint: 1, rotated: false),
            .init(
                path: "/var/log/b.jsonl", location: "/var/log/b.jsonl.3", device: 1, inode: 2, offset: 10, size: 99, modified: -5,
                fingerprintLength: 256, fingerprint: 3, rotated: true, finished: true),
            .init(path: "/var/log/c.jsonl", device: 1, inode: 3, offset: 0, size: 1 << 40, modified: .max, fingerprintLength: 0, fingerprint: 0, rotated: false),
        ], patterns: ["/var/log/*.jsonl", "/var/log/c.jsonl"], taken: 1_796_618_048_153_951_076)
        #expect(try TailOffsets(decoding: offsets.encoded()) == offsets)
        #expect(try TailOffsets(decoding: TailOffsets().encoded()) == TailOffsets())
    }

    @Test func damagedOffsetsAreRejectedWithThePositionNeverACrash() {
        let bytes = TailOffsets(files: [
            .init(path: "/var/log/a.jsonl", device: 1, inode: 2, offset: 3, fingerprintLength: 4, fingerprint: 5, rotated: true)
        ]).encoded()
        for length in 0..<bytes.count {
            #expect(throws: TailOffsetsDecodingError.self) { try TailOffsets(decoding: Array(bytes[..<length])) }
        }
        #expect(throws: TailOffsetsDecodingError.self) { try TailOffsets(decoding: bytes + [0]) }
        var rng = LogsTestRandom(seed: 3)
        for _ in 0..<20_000 {
            var damaged = bytes
            damaged[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            _ = try? TailOffsets(decoding: damaged)
        }
        let error = #expect(throws: TailOffsetsDecodingError.self) { try TailOffsets(decoding: Array("JUNK".utf8)) }
        #expect(error?.description.contains("byte 0") == true)
    }
}

/// The writer and the tailer run at once, across every kind of rotation: every line is counted
/// exactly once.
@Suite struct LogTailerConcurrencyTests {
    final class Progress: @unchecked Sendable {
        let lock = NSLock()
        var polls = 0
        var writerDone = false
        func read<T>(_ body: (Progress) -> T) -> T {
            lock.lock()
            defer { lock.unlock() }
            return body(self)
        }
    }

    @Test func linesWrittenAcrossRotationsAreEachCountedExactlyOnce() throws {
        let dir = TailDirectory()
        defer { dir.remove() }
        let path = dir.file("app.jsonl")
        let total = 24_000
        let generations = 12
        let progress = Progress()
        let writer = Thread { [path] in
            var rng = LogsTestRandom(seed: 11)
            var fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            func waitForTwoPolls() {
                let start = progress.read { $0.polls }
                while progress.read({ $0.polls }) < start + 2 { usleep(200) }
            }
            for seq in 0..<total {
                let line = Array(#"{"seq":\#(seq),"pad":"\#(String(repeating: "p", count: Int(rng.next() % 120)))"}"#.utf8) + [0x0A]
                // Sometimes a line goes out in two writes, so the tailer sees partial lines.
                let cut = rng.next() % 4 == 0 ? Int(rng.next() % UInt64(line.count)) : line.count
                line.withUnsafeBytes { b in
                    _ = write(fd, b.baseAddress!, cut)
                    if cut < line.count { _ = write(fd, b.baseAddress! + cut, line.count - cut) }
                }
                if seq % 500 == 0 { usleep(1000) }
                if (seq + 1) % (total / generations) == 0, seq + 1 < total {
                    let generation = (seq + 1) / (total / generations)
                    switch generation % 3 {
                    case 0:  // rename and create; the writer reopens a little later
                        rename(path, path + ".\(generation)")
                        for _ in 0..<10 { _ = write(fd, #"{"late":1}"#.appending("\n"), 11) }
                        close(fd)
                        fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                    case 1:  // copytruncate, the copy matched by the glob
                        LogFiles.copyTruncate(path, to: path + ".\(generation)")
                    default:  // delete and re-create, once the tailer has seen the last line
                        waitForTwoPolls()
                        unlink(path)
                        close(fd)
                        fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                    }
                }
            }
            close(fd)
            progress.read { $0.writerDone = true }
        }
        let tailer = LogTailer(patterns: [dir.file("app.jsonl*")], options: LogTailerOptions(startAt: .beginning))
        let sink = LineRecorder()
        writer.start()
        var idleAfterDone = 0
        while idleAfterDone < 3 {
            let summary = tailer.poll(into: sink)
            let done = progress.read { p -> Bool in
                p.polls += 1
                return p.writerDone
            }
            if done { idleAfterDone = summary.lines == 0 ? idleAfterDone + 1 : 0 }
            usleep(500)
        }
        var seen = [Int](repeating: 0, count: total)
        var late = 0
        for line in sink.lines {
            if line == #"{"late":1}"# {
                late += 1
                continue
            }
            let digits = line.dropFirst(7).prefix { $0.isNumber }
            let seq = try #require(Int(digits), "\(line)")
            seen[seq] += 1
        }
        #expect(seen.allSatisfy { $0 == 1 }, "lost: \(seen.indices.filter { seen[$0] == 0 }.prefix(10)), twice: \(seen.indices.filter { seen[$0] > 1 }.prefix(10))")
        #expect(late == 10 * (1...generations - 1).filter { $0 % 3 == 0 }.count)
        #expect(sink.skipped.isEmpty)
        #expect(tailer.fileStats[0].truncations == 4, "generations 1, 4, 7, 10: copytruncate")
        #expect(tailer.fileStats[0].rotations == 4, "generations 2, 5, 8, 11: deleted; renamed files stay matched by the glob")
    }
}
