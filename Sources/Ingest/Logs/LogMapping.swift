import RE2

/// One `logs:` entry of the configuration: which files to follow and how their lines become series.
///
/// A plain value: the YAML decoding (with positions in its errors) lives in AgentDaemon; tests and
/// `agent replay` build it directly too. `validate()` reports what no YAML schema can (names,
/// regexes, field paths), all problems at once.
public struct LogMapping: Sendable, Equatable {
    /// Path globs of the files (`path:` in the configuration).
    public var paths: [String]
    /// The `job` label of every series of this log; omitted when nil.
    public var job: String?
    public var startAt: TailStartPosition = .end
    public var maxLineBytes: Int = 64 * 1024
    /// Where a line's time comes from; arrival time when nil or when the field is absent.
    public var timestamp: LogTimestampSpec?
    /// Labels of every metric that does not give its own.
    public var labels: [LogLabelSpec] = []
    /// Lines that do not pass are not counted at all (counted as `filtered`).
    public var filter: LogLineFilter?
    public var metrics: [LogMetricSpec] = []

    public init(paths: [String], job: String? = nil, metrics: [LogMetricSpec] = []) {
        self.paths = paths
        self.job = job
        self.metrics = metrics
    }
}

/// The timestamp field of a log and how to read it.
public struct LogTimestampSpec: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// RFC 3339 for strings; epoch seconds, milliseconds, microseconds or nanoseconds for
        /// numbers, told apart by magnitude.
        case auto
        /// `2024-05-01T12:00:00.123+02:00` (also with a space for `T`; no zone means UTC).
        case rfc3339
        /// Epoch seconds, fractions allowed (`1714564800.123`).
        case unixSeconds = "unix_seconds"
        /// Epoch milliseconds.
        case unixMilliseconds = "unix_milliseconds"
    }

    public var field: String
    public var format: Format = .auto

    public init(field: String, format: Format = .auto) {
        self.field = field
        self.format = format
    }
}

/// A label taken from a field, optionally rewritten and capped.
public struct LogLabelSpec: Sendable, Equatable {
    /// The label name (defaults to the field path with dots as underscores).
    public var name: String
    /// The field path (`route`, `http.status`).
    public var field: String
    /// Exact rewrites of a value (`"200": ok`), applied first.
    public var valueMap: [String: String] = [:]
    /// An RE2 regular expression the whole value must match to be rewritten to `replacement`
    /// (anchored as Prometheus's relabelling: `^(?s:regex)$`).
    public var regex: String?
    /// `$1`, `${1}`, `$name` and `${name}` refer to the regex's groups, as Go's `Regexp.Expand`
    /// (`$1x` names group "1x": write `${1}x`); default `$1`, or `$0` without groups.
    public var replacement: String?
    /// At most this many distinct values; further values become `__other__` (counted).
    public var maxValues: Int = LogLabelSpec.defaultMaxValues

    /// The value that stands for every value past `maxValues`.
    public static let overflowValue = "__other__"
    public static let defaultMaxValues = 500

    public init(field: String, name: String? = nil) {
        self.field = field
        self.name = name ?? field.replacingDots()
    }
}

/// Keeps only the lines whose field value is (or is not) one of a list.
public struct LogLineFilter: Sendable, Equatable {
    public var field: String
    public var values: [String]
    /// `not_in` instead of `in`. An absent field is in no list.
    public var negated: Bool = false

    public init(field: String, in values: [String], negated: Bool = false) {
        self.field = field
        self.values = values
        self.negated = negated
    }
}

/// One metric made from a log's lines.
public struct LogMetricSpec: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Lines (no `field`), or the sum of a numeric field.
        case counter
        /// Observations of a numeric field into a quantile sketch.
        case distribution
        /// The last value of a numeric field.
        case gauge
    }

    public var name: String
    public var kind: Kind
    /// The numeric field; required for distributions and gauges.
    public var field: String?
    /// Replaces the log's labels for this metric when given.
    public var labels: [LogLabelSpec]?
    /// Applies after the log's filter.
    public var filter: LogLineFilter?
    /// Values are multiplied by this (unit scaling: seconds → milliseconds is 1000).
    public var scale: Double = 1
    /// `# HELP` text.
    public var help: String?

    public init(name: String, kind: Kind, field: String? = nil, labels: [LogLabelSpec]? = nil) {
        self.name = name
        self.kind = kind
        self.field = field
        self.labels = labels
    }
}

/// Unit conversion factors for `unit: {from: s, to: ms}`.
public enum LogUnit {
    static let time: [String: Double] = ["ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "min": 60, "h": 3600]
    static let size: [String: Double] = [
        "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024, "MiB": 1_048_576, "GiB": 1_073_741_824,
    ]

    /// The factor that converts a value in `from` into `to`, or nil when they are not both time or both size units.
    public static func factor(from: String, to: String) -> Double? {
        if let f = time[from], let t = time[to] { return f / t }
        if let f = size[from], let t = size[to] { return f / t }
        return nil
    }

    /// Every unit name, for error messages.
    public static var names: [String] { time.keys.sorted() + size.keys.sorted() }
}

extension String {
    func replacingDots() -> String {
        String(map { $0 == "." ? "_" : $0 })
    }
}

extension LogMapping {
    /// Problems no YAML schema catches: invalid names, field paths and regexes, missing fields.
    /// Each names the metric or label it is about; empty when the mapping is usable.
    public func validate() -> [String] {
        var problems: [String] = []
        if paths.isEmpty || paths.contains(where: \.isEmpty) { problems.append("path: must name a file or a glob") }
        if maxLineBytes < 1 { problems.append("max_line_bytes: must be positive") }
        if let timestamp, !LogMapping.isFieldPath(timestamp.field) {
            problems.append("timestamp.field: \"\(timestamp.field)\" is not a field path (names separated by single dots)")
        }
        func check(_ labels: [LogLabelSpec], at context: String) {
            var names = Set<String>()
            for label in labels {
                if !LogMapping.isFieldPath(label.field) {
                    problems.append("\(context): field \"\(label.field)\" is not a field path (names separated by single dots)")
                }
                if !LogMapping.isLabelName(label.name) {
                    problems.append("\(context): \"\(label.name)\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)")
                } else if label.name == "job" && job != nil {
                    problems.append("\(context): label \"job\" clashes with the log's job")
                } else if !names.insert(label.name).inserted {
                    problems.append("\(context): label \"\(label.name)\" is given twice")
                }
                if let regex = label.regex {
                    do { _ = try RegularExpression(regex, options: .prometheus) } catch {
                        problems.append("\(context): label \"\(label.name)\": invalid regex \"\(regex)\": \(error.message)")
                    }
                }
                if label.maxValues < 1 { problems.append("\(context): label \"\(label.name)\": max_values must be positive") }
            }
        }
        check(labels, at: "labels")
        if let filter, !LogMapping.isFieldPath(filter.field) { problems.append("filter.field: \"\(filter.field)\" is not a field path") }
        if metrics.isEmpty { problems.append("metrics: at least one metric is needed") }
        var metricNames = Set<String>()
        for (i, metric) in metrics.enumerated() {
            let context = "metrics[\(i)] \"\(metric.name)\""
            if !LogMapping.isMetricName(metric.name) {
                problems.append("\(context): not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
            } else if !metricNames.insert(metric.name).inserted {
                problems.append("\(context): a metric of this name is already defined for this log")
            }
            if let field = metric.field, !LogMapping.isFieldPath(field) {
                problems.append("\(context): field \"\(field)\" is not a field path")
            }
            if metric.kind != .counter && metric.field == nil {
                problems.append("\(context): a \(metric.kind.rawValue) needs `field:` (the numeric field it reads)")
            }
            if !(metric.scale.isFinite && metric.scale != 0) { problems.append("\(context): scale must be a finite, non-zero number") }
            if metric.kind == .counter && metric.scale < 0 { problems.append("\(context): a counter's scale must be positive") }
            if let labels = metric.labels { check(labels, at: "\(context) labels") }
            if let filter = metric.filter, !LogMapping.isFieldPath(filter.field) {
                problems.append("\(context): filter.field \"\(filter.field)\" is not a field path")
            }
        }
        return problems
    }

    static func isFieldPath(_ s: String) -> Bool {
        !s.isEmpty && !s.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty)
    }

    static func isLabelName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !s.hasPrefix("__") else { return false }
        func letter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") || c == UInt8(ascii: "_") }
        return letter(first) && s.utf8.allSatisfy { letter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }
    }

    static func isMetricName(_ s: String) -> Bool {
        guard let first = s.utf8.first else { return false }
        func letter(_ c: UInt8) -> Bool {
            (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") || c == UInt8(ascii: "_") || c == UInt8(ascii: ":")
        }
        return letter(first) && s.utf8.allSatisfy { letter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }
    }
}
