public import Logging
import TextRendering
#if canImport(Glibc)
import Glibc
#endif

/// Logs one line per message to stderr. Under journald (`$JOURNAL_STREAM` set) each line is
/// prefixed with its syslog priority (`<3>`) and carries no timestamp, since the journal adds one.
public struct ConsoleLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let journald: Bool

    public init(label: String, level: Logger.Level, journald: Bool) {
        self.label = label
        self.logLevel = level
        self.journald = journald
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        var line: String
        if journald {
            line = "<\(ConsoleLogHandler.priority(event.level))>\(event.message)"
        } else {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            // Whole seconds: RFC3339.format writes no fraction for them.
            let stamp = RFC3339.format(Int64(ts.tv_sec) * 1000)
            line = "\(stamp) \(event.level) \(event.message)"
        }
        if !fields.isEmpty { line += " " + fields }
        line += "\n"
        // write(2) on fd 2: one syscall per line, so concurrent lines do not interleave.
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// syslog priority of a level.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
