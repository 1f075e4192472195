import JSON
import Foundation
import Ingest

#if canImport(Glibc)
import Glibc
#endif

/// A small deterministic generator (SplitMix64) so random tests repeat exactly.
struct LogsTestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A sink that records every line a tailer delivers.
final class LineRecorder: LogLineSink {
    var lines: [String] = []
    var files: [LogFileID] = []
    var skipped: [MalformedLineReason] = []
    var flushes = 0

    func consume(line: UnsafeRawBufferPointer, file: LogFileID) {
        lines.append(String(decoding: line, as: UTF8.self))
        files.append(file)
    }

    func skipped(reason: MalformedLineReason, file: LogFileID) {
        skipped.append(reason)
    }

    func flush() {
        flushes += 1
    }

    /// The lines recorded since the last call.
    func take() -> [String] {
        defer { lines.removeAll() }
        return lines
    }
}

/// A clock the test moves by hand.
final class TailClock {
    var now: Int64 = 1_000_000
    func advance(_ milliseconds: Int64) { now += milliseconds }
}

/// A fresh directory under /tmp, removed by `remove()`.
struct TailDirectory {
    let path: String

    init() {
        var template = Array("/tmp/agent-logs-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// File operations of log writers and rotators, as the tests play them.
enum LogFiles {
    /// Appends `text` to the file at `path` (creating it), as a writer with O_APPEND does.
    static func append(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        precondition(fd >= 0, "open \(path): \(errno)")
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            precondition(n > 0)
            done += n
        }
        close(fd)
    }

    /// copytruncate as logrotate does it: copy the content to `copy`, then truncate the original.
    static func copyTruncate(_ path: String, to copy: String) {
        let data = FileManager.default.contents(atPath: path) ?? Data()
        _ = FileManager.default.createFile(atPath: copy, contents: data)
        precondition(truncate(path, 0) == 0)
    }

    /// `count` JSON lines numbered from `first`.
    static func jsonLines(_ first: Int, _ count: Int, pad: Int = 0) -> String {
        (first..<(first + count)).map { #"{"seq":\#($0),"pad":"\#(String(repeating: "x", count: pad))"}"# + "\n" }.joined()
    }
}
