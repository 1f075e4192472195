public import Logging
public import TimeSeries

/// One configured log: the tailer that follows its files and the mapper that turns their lines
/// into series. The daemon drives `poll()` from a Dispatch timer; `agent replay` polls to the end.
///
/// Ownership: not thread-safe; one owner (a serial queue) calls every method.
public final class LogPipeline {
    public let tailer: LogTailer
    public let mapper: LogMapper

    /// A pipeline for `mapping` writing into `store`; `mapFiles` reads through `mmap` (one-shot
    /// reading of files that do not change, see `LogTailerOptions.mapFiles`).
    /// - Throws: `LogMappingError` with every problem of the mapping.
    public init(
        mapping: LogMapping, store: SeriesStore, time: LogMapper.TimeSource = .lineTimestamps,
        logger: Logger = Logger(label: "agent.logs"),
        clock: @escaping @Sendable () -> Timestamp = SeriesStore.systemClock,
        monotonic: @escaping () -> Int64 = LogTailer.monotonicMilliseconds, mapFiles: Bool = false
    ) throws(LogMappingError) {
        mapper = try LogMapper(mapping: mapping, store: store, time: time, logger: logger, clock: clock)
        var options = LogTailerOptions(startAt: mapping.startAt, maxLineBytes: mapping.maxLineBytes)
        options.mapFiles = mapFiles
        tailer = LogTailer(patterns: mapping.paths, options: options, logger: logger, now: monotonic)
        let tailer = self.tailer
        mapper.fileName = { [unowned tailer] file in
            file.index < tailer.filePaths.count ? tailer.filePaths[file.index] : "file #\(file.index)"
        }
    }

    /// One round: read what the files gained and write the samples into the store.
    @discardableResult
    public func poll() -> LogPollSummary {
        tailer.poll(into: mapper)
    }

    /// Reads every file to its end, treats each file's end as the end of its last line, and closes
    /// them: the one-shot mode of `agent replay`.
    public func readToEnd() {
        while poll().morePending {}
        tailer.finish(into: mapper)
    }

    /// Malformed-line counts by file path and reason.
    public func malformedCounts() -> [(path: String, reason: MalformedLineReason, count: Int)] {
        mapper.malformedCounts().map { (mapper.fileName($0.file), $0.reason, $0.count) }
    }
}
