/// A log file as the tailer names it: the index of the path a stream was first opened at, so
/// every generation of a rotated log counts under one name.
public struct LogFileID: Hashable, Sendable, Comparable {
    /// Index into `LogTailer.filePaths`.
    public let index: Int
    public init(index: Int) { self.index = index }
    public static func < (a: LogFileID, b: LogFileID) -> Bool { a.index < b.index }
}

/// Receives what a `LogTailer` reads: complete lines and the lines it had to skip.
///
/// Called on the tailer owner's thread only. `flush()` ends every `poll()`: after it returns,
/// everything delivered so far must be applied (in the store), so that the tailer's offsets and
/// the store describe the same moment when the daemon takes a checkpoint between polls.
public protocol LogLineSink: AnyObject {
    /// One complete line, without its `\n`. The bytes are valid only during the call.
    func consume(line: UnsafeRawBufferPointer, file: LogFileID)
    /// A line that was skipped without being delivered (`.tooLong`).
    func skipped(reason: MalformedLineReason, file: LogFileID)
    /// The end of a poll: apply what was delivered.
    func flush()
    /// The tailer stopped following `file` (gone, read to its end) and will reuse its id for
    /// another path: drop what is kept per file.
    func forget(file: LogFileID)
}

extension LogLineSink {
    /// Keeps nothing per file.
    public func forget(file: LogFileID) {}
}
