import JSON
import Foundation
import Logging
import Testing

@testable import Ingest

#if canImport(Glibc)
import Glibc
#endif

/// An application's log as the rotation tests play it: numbered JSON lines (`{"seq":N,…}`, each
/// generation starting with different bytes, as real logs with timestamps do) appended through the
/// writer's own descriptor, which it reopens when told, and the rotations tools perform on it.
final class NumberedLog {
    /// The path the agent is configured with (a symlink for `.symlink`).
    let path: String
    let rotation: LogRotation
    /// How many rotated generations are kept (logrotate's `rotate`).
    let keep: Int
    private(set) var next = 0
    private var fd: Int32 = -1
    private var target = 0

    init(path: String, rotation: LogRotation, keep: Int = 5) {
        self.path = path
        self.rotation = rotation
        self.keep = keep
        if rotation == .symlink {
            mkdir(dataDirectory, 0o755)
            pointSymlink()
        }
        reopen()
    }

    deinit { close(fd) }

    var dataDirectory: String { LogDirectory.directory(of: path) + "/data" }
    private var targetPath: String { dataDirectory + "/app-\(20_240_101 + target).log" }

    /// Appends `count` lines, the next numbers.
    func write(_ count: Int) {
        var text = ""
        for _ in 0..<count {
            text += #"{"seq":\#(next),"pad":"\#(String(repeating: "p", count: next % 37))"}"# + "\n"
            next += 1
        }
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { precondition(Glibc.write(fd, $0.baseAddress!, $0.count) == $0.count) }
    }

    /// Appends the first `count` bytes of the next line (its number is not used up).
    func writeHalfLine() {
        let bytes = Array(#"{"seq":"#.utf8)
        bytes.withUnsafeBytes { precondition(Glibc.write(fd, $0.baseAddress!, $0.count) == $0.count) }
    }

    /// Closes the log and opens its path again, as an application does after a rotation.
    func reopen() {
        if fd >= 0 { close(fd) }
        fd = open(rotation == .symlink ? targetPath : path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        precondition(fd >= 0)
    }

    /// The name of generation `n` (0 is the live file) and whether it is compressed.
    private func generation(_ n: Int) -> String { n == 0 ? path : path + ".\(n)" }

    private func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Moves generations up by one (`.1` → `.2` …), dropping the one past `keep`.
    private func shiftGenerations() {
        for suffix in ["", ".gz"] {
            unlink(generation(keep) + suffix)
            for n in stride(from: keep - 1, through: 1, by: -1) where exists(generation(n) + suffix) {
                precondition(rename(generation(n) + suffix, generation(n + 1) + suffix) == 0)
            }
        }
    }

    private func gzip(_ file: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-f", file]
        try! process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "gzip \(file)")
    }

    private func pointSymlink() {
        let temporary = path + ".tmp"
        unlink(temporary)
        precondition(symlink(targetPath, temporary) == 0)
        precondition(rename(temporary, path) == 0)
    }

    /// One rotation of this log's kind.
    func rotate() {
        switch rotation {
        case .rename:
            shiftGenerations()
            precondition(rename(path, generation(1)) == 0)
            reopen()
        case .renameDelayCompress:
            // logrotate's `compress` + `delaycompress`: `.1` stays plain, older ones are gzipped.
            shiftGenerations()
            if exists(generation(2)) { gzip(generation(2)) }
            precondition(rename(path, generation(1)) == 0)
            reopen()
        case .renameCompress:
            shiftGenerations()
            precondition(rename(path, generation(1)) == 0)
            reopen()
            gzip(generation(1))
        case .copytruncate:
            shiftGenerations()
            LogFiles.copyTruncate(path, to: generation(1))
        case .truncateInPlace:
            precondition(truncate(path, 0) == 0)
        case .deleteAndRecreate:
            precondition(unlink(path) == 0)
            reopen()
        case .symlink:
            target += 1
            reopen()
            pointSymlink()
        }
    }
}

/// The ways a log is rotated.
enum LogRotation: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case rename, renameDelayCompress, renameCompress, copytruncate, truncateInPlace, deleteAndRecreate, symlink
    var testDescription: String { rawValue }
}

/// When the agent stops, relative to a rotation.
enum CrashPoint: String, CaseIterable, CustomTestStringConvertible, Sendable {
    /// No crash at all.
    case none
    /// `kill -9` after a poll saw the rotation, before a checkpoint recorded it.
    case beforeCheckpoint
    /// `kill -9` right after a checkpoint that recorded the rotation.
    case afterCheckpoint
    /// `kill -9` with lines unread since the last checkpoint; the rotation happens while it is down.
    case whileDown
    /// As `whileDown`, with two rotations while it is down.
    case twiceWhileDown
    var testDescription: String { rawValue }
}

/// A log handler that keeps messages with their level, for asserting what was (not) logged.
final class TailLogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(level: Logger.Level, message: String)] = []

    var logger: Logger {
        var logger = Logger(label: "test", factory: { _ in Handler(capture: self) })
        logger.logLevel = .trace
        return logger
    }

    func messages(_ level: Logger.Level) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return entries.filter { $0.level == level }.map(\.message)
    }

    struct Handler: LogHandler {
        let capture: TailLogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.lock.lock()
            capture.entries.append((event.level, event.message.description))
            capture.lock.unlock()
        }
    }
}

/// The daemon's tailing cycle with `kill -9`: a tailer, a "store" (how often each numbered line was
/// counted), and checkpoints that capture the tail offsets (through their encoding) and the store
/// together, as `LogsComponent.checkpointSections` does. A crash loses everything since the last
/// checkpoint; a restart restores both from it.
final class CrashingAgent {
    let patterns: [String]
    let clock = TailClock()
    let log = TailLogCapture()
    private(set) var tailer: LogTailer?
    private var counted: [Int: Int] = [:]
    private var checkpoint: (offsets: [UInt8], counted: [Int: Int])?
    private(set) var losses: [String: LogLoss] = [:]

    init(patterns: [String]) {
        self.patterns = patterns
        tailer = makeTailer()
    }

    private func makeTailer() -> LogTailer {
        LogTailer(
            patterns: patterns, options: LogTailerOptions(startAt: .beginning), logger: log.logger, now: { [clock] in clock.now },
            openFile: LogTailer.openReadOnly)
    }

    /// One poll, one second after the last.
    func poll() {
        clock.advance(1_000)
        let sink = LineRecorder()
        tailer!.poll(into: sink)
        for line in sink.lines {
            let digits = line.dropFirst(7).prefix { $0.isNumber }
            counted[Int(digits) ?? -1, default: 0] += 1
        }
    }

    func takeCheckpoint() {
        checkpoint = (tailer!.offsets().encoded(), counted)
    }

    /// `kill -9`: the tailer is gone.
    func crash() {
        if let tailer { losses.merge(tailer.losses) { a, b in LogLoss(bytes: a.bytes + b.bytes, lines: a.lines + b.lines, events: a.events + b.events) } }
        tailer = nil
    }

    /// A start after a crash: the store and the offsets of the last checkpoint.
    func restart() throws {
        let tailer = makeTailer()
        counted = checkpoint?.counted ?? [:]
        if let checkpoint { tailer.restore(try TailOffsets(decoding: checkpoint.offsets)) }
        self.tailer = tailer
    }

    /// Polls until every rotated file has been finished (idle for `rotatedIdleMilliseconds`).
    func drain() {
        for _ in 0..<8 { poll() }
    }

    /// Known losses of every tailer so far.
    var allLosses: LogLoss {
        var total = LogLoss()
        for loss in losses.values.map({ $0 }) + (tailer?.losses.values.map { $0 } ?? []) {
            total.bytes += loss.bytes
            total.lines += loss.lines
            total.events += loss.events
        }
        return total
    }

    /// The numbers below `written` never counted, and those counted more than once.
    func check(written: Int) -> (lost: [Int], duplicated: [Int]) {
        let lost = (0..<written).filter { counted[$0, default: 0] == 0 }
        let duplicated = counted.filter { $0.value > 1 }.map(\.key).sorted()
        return (lost, duplicated)
    }
}
