public import Logging
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
            var tm = tm()
            var seconds = ts.tv_sec
            gmtime_r(&seconds, &tm)
            let stamp = zeroPadded(Int(tm.tm_year) + 1900, 4) + "-" + zeroPadded(Int(tm.tm_mon) + 1, 2) + "-" + zeroPadded(Int(tm.tm_mday), 2)
                + "T" + zeroPadded(Int(tm.tm_hour), 2) + ":" + zeroPadded(Int(tm.tm_min), 2) + ":" + zeroPadded(Int(tm.tm_sec), 2) + "Z"
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

/// `n` with at least `width` digits, zero-padded.
func zeroPadded(_ n: Int, _ width: Int) -> String {
    let digits = String(n)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
