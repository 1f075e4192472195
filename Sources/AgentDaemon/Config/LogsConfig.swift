import Alerting
import TextRendering
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Ingest
import RE2
public import YAMLSupport

/// The `logs:` section of the configuration: YAML → `LogMapping`s, with every error at its
/// `file:line:column` and unknown keys rejected (with a suggestion when one is close).
///
/// ```yaml
/// logs:
///   - path: /var/log/api/access.jsonl     # or a list of paths; globs allowed
///     job: api
///     start_at: end                        # or beginning
///     max_line_bytes: 64KiB                # bytes, or with KB/KiB/MB/MiB
///     timestamp: {field: ts, format: auto} # auto | rfc3339 | unix_seconds | unix_milliseconds
///     filter: {field: level, in: [error, fatal]}   # or not_in
///     labels: [route, method, {field: http.status, name: status, map: {"200": ok},
///              regex: '(\d)\d\d', replacement: '${1}xx', max_values: 100}]
///     metrics:
///       - {name: http_requests_total, type: counter, labels: [route, status]}
///       - {name: http_request_duration_ms, type: distribution, field: latency_s, unit: {from: s, to: ms}}
///       - {name: http_response_bytes_total, type: counter, field: bytes, help: "Bytes sent."}
///       - {name: queue_depth, type: gauge, field: depth, scale: 1}
/// ```
public enum LogsConfig {
    /// Reads the `logs:` section of the configuration file at `path`; the file's other sections
    /// are left to their own decoders. No `logs:` key gives an empty list.
    /// - Throws: `LogsConfigError` with every problem found, each at its position.
    public static func load(file path: String) throws(LogsConfigError) -> [LogMapping] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LogsConfigError(problems: [.init(file: path, line: 0, column: 0, message: "cannot read the configuration file: \(RuleFile.describe(error))")])
        }
        return try decode(yaml: text, file: path)
    }

    /// Decodes the `logs:` section of a whole configuration document, read by the configuration's
    /// `YAMLReader` (the one YAML reader: same syntax errors, same repeated-key errors).
    public static func decode(yaml: String, file: String) throws(LogsConfigError) -> [LogMapping] {
        var reader = YAMLReader(file: file)
        guard let root = reader.parse(yaml) else { throw LogsConfigError(problems: reader.errors) }
        guard case .mapping(let top) = root else {
            throw LogsConfigError(problems: [.init(file: file, mark: root.mark, message: "the configuration must be a mapping of sections (global:, scrape:, logs:, ...)")])
        }
        guard let logs = top["logs"] else { return [] }
        return try decode(logs: logs, file: file)
    }

    /// Decodes the node of a `logs:` key, from a document already composed.
    public static func decode(logs: Node, file: String) throws(LogsConfigError) -> [LogMapping] {
        var decoder = LogsConfigDecoder(file: file)
        let mappings = decoder.logs(logs)
        guard decoder.problems.isEmpty else { throw LogsConfigError(problems: decoder.problems) }
        return mappings
    }
}

/// Problems in the `logs:` section, each with its position.
public struct LogsConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One problem: `file:line:column: message`.
    public typealias Problem = ConfigError

    public var problems: [Problem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

extension ConfigError {
    init(file: String, mark: Mark?, message: String) {
        self.init(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, message: message)
    }
}

/// Walks the YAML nodes of `logs:`, collecting every problem instead of stopping at the first.
struct LogsConfigDecoder {
    let file: String
    var problems: [LogsConfigError.Problem] = []

    static let logKeys = ["path", "job", "start_at", "max_line_bytes", "timestamp", "labels", "filter", "metrics"]
    static let metricKeys = ["name", "type", "field", "labels", "filter", "scale", "unit", "help"]
    static let labelKeys = ["field", "name", "map", "regex", "replacement", "max_values"]

    mutating func fail(_ node: Node?, _ message: String) {
        problems.append(.init(file: file, mark: node?.mark, message: message))
    }

    mutating func logs(_ node: Node) -> [LogMapping] {
        guard case .sequence(let items) = node else {
            fail(node, "logs: expected a list of logs (each starting with `- path:`)")
            return []
        }
        var out: [LogMapping] = []
        for (i, item) in items.enumerated() {
            if let mapping = log(item, index: i) { out.append(mapping) }
        }
        return out
    }

    /// The entries of a mapping, after checking its keys; nil (with a problem) when `node` is not a mapping.
    mutating func entries(_ node: Node, allowed: [String], context: String) -> [String: (key: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            fail(node, "\(context): expected a mapping (key: value)")
            return nil
        }
        var out: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard let name = key.string else {
                fail(key, "\(context): keys must be strings")
                continue
            }
            if out[name] != nil {
                fail(key, "\(context): key \"\(name)\" is given twice")
                continue
            }
            guard allowed.contains(name) else {
                let hint = Suggestion.closest(to: name, among: allowed).map { " (did you mean \"\($0)\"?)" } ?? ""
                fail(key, "\(context): unknown key \"\(name)\"\(hint); expected one of \(allowed.joined(separator: ", "))")
                continue
            }
            out[name] = (key, value)
        }
        return out
    }

    mutating func log(_ node: Node, index: Int) -> LogMapping? {
        let context = "logs[\(index)]"
        guard let e = entries(node, allowed: LogsConfigDecoder.logKeys, context: context) else { return nil }
        let before = problems.count
        var paths: [String] = []
        if let path = e["path"]?.value {
            switch path {
            case .sequence(let items):
                for item in items { if let s = string(item, "\(context).path") { paths.append(s) } }
                if items.isEmpty { fail(path, "\(context).path: expected at least one path") }
            default:
                if let s = string(path, "\(context).path") { paths.append(s) }
            }
        } else {
            fail(node, "\(context): missing `path:` (the log file or a glob, e.g. /var/log/api/*.jsonl)")
        }
        var mapping = LogMapping(paths: paths)
        if let job = e["job"]?.value { mapping.job = string(job, "\(context).job") }
        if let start = e["start_at"]?.value, let s = string(start, "\(context).start_at") {
            if let position = TailStartPosition(rawValue: s) {
                mapping.startAt = position
            } else {
                fail(start, "\(context).start_at: expected end or beginning, got \"\(s)\"")
            }
        }
        if let size = e["max_line_bytes"]?.value {
            if let bytes = byteSize(size, "\(context).max_line_bytes") { mapping.maxLineBytes = bytes }
        }
        if let ts = e["timestamp"]?.value { mapping.timestamp = timestamp(ts, "\(context).timestamp") }
        if let labels = e["labels"]?.value { mapping.labels = self.labels(labels, "\(context).labels") }
        if let filter = e["filter"]?.value { mapping.filter = self.filter(filter, "\(context).filter") }
        if let metrics = e["metrics"]?.value {
            guard case .sequence(let items) = metrics, !items.isEmpty else {
                fail(metrics, "\(context).metrics: expected a non-empty list of metrics")
                return nil
            }
            for (i, item) in items.enumerated() {
                if let metric = metric(item, "\(context).metrics[\(i)]") { mapping.metrics.append(metric) }
            }
        } else {
            fail(node, "\(context): missing `metrics:` (what to count, e.g. - {name: requests_total, type: counter})")
        }
        guard problems.count == before else { return nil }
        // What needs the whole entry (a distribution without field, duplicate names, ...).
        for problem in mapping.validate() { fail(node, "\(context): \(problem)") }
        return problems.count == before ? mapping : nil
    }

    mutating func metric(_ node: Node, _ context: String) -> LogMetricSpec? {
        guard let e = entries(node, allowed: LogsConfigDecoder.metricKeys, context: context) else { return nil }
        guard let nameNode = e["name"]?.value else {
            fail(node, "\(context): missing `name:`")
            return nil
        }
        guard let name = string(nameNode, "\(context).name") else { return nil }
        if !LogsConfigDecoder.isMetricName(name) {
            fail(nameNode, "\(context).name: \"\(name)\" is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
        }
        guard let typeNode = e["type"]?.value else {
            fail(node, "\(context): missing `type:` (counter, distribution or gauge)")
            return nil
        }
        guard let typeName = string(typeNode, "\(context).type") else { return nil }
        guard let kind = LogMetricSpec.Kind(rawValue: typeName) else {
            let hint = typeName == "histogram" || typeName == "summary" ? " (a distribution serves as both)" : ""
            fail(typeNode, "\(context).type: expected counter, distribution or gauge, got \"\(typeName)\"\(hint)")
            return nil
        }
        var metric = LogMetricSpec(name: name, kind: kind)
        if let field = e["field"]?.value { metric.field = fieldPath(field, "\(context).field") }
        if let labels = e["labels"]?.value { metric.labels = self.labels(labels, "\(context).labels") }
        if let filter = e["filter"]?.value { metric.filter = self.filter(filter, "\(context).filter") }
        if let help = e["help"]?.value { metric.help = string(help, "\(context).help") }
        if let scale = e["scale"]?.value {
            if let value = scale.float, value.isFinite, value != 0 {
                metric.scale = value
            } else {
                fail(scale, "\(context).scale: expected a non-zero number")
            }
        }
        if let unit = e["unit"]?.value {
            if e["scale"] != nil { fail(unit, "\(context): give either `unit:` or `scale:`, not both") }
            if let u = entries(unit, allowed: ["from", "to"], context: "\(context).unit"),
                let fromNode = u["from"]?.value, let toNode = u["to"]?.value,
                let from = string(fromNode, "\(context).unit.from"), let to = string(toNode, "\(context).unit.to")
            {
                if let factor = LogUnit.factor(from: from, to: to) {
                    metric.scale = factor
                } else {
                    fail(unit, "\(context).unit: cannot convert \"\(from)\" to \"\(to)\"; units: \(LogUnit.names.joined(separator: ", "))")
                }
            } else if case .mapping = unit {
                fail(unit, "\(context).unit: expected {from: UNIT, to: UNIT}, e.g. {from: s, to: ms}")
            }
        }
        return metric
    }

    mutating func labels(_ node: Node, _ context: String) -> [LogLabelSpec] {
        guard case .sequence(let items) = node else {
            fail(node, "\(context): expected a list of fields, e.g. [route, method]")
            return []
        }
        var out: [LogLabelSpec] = []
        for (i, item) in items.enumerated() {
            let itemContext = "\(context)[\(i)]"
            if case .scalar = item {
                if let field = fieldPath(item, itemContext) { out.append(LogLabelSpec(field: field)) }
                continue
            }
            guard let e = entries(item, allowed: LogsConfigDecoder.labelKeys, context: itemContext) else { continue }
            guard let fieldNode = e["field"]?.value, let field = fieldPath(fieldNode, "\(itemContext).field") else {
                if e["field"] == nil { fail(item, "\(itemContext): missing `field:`") }
                continue
            }
            var label = LogLabelSpec(field: field)
            if let nameNode = e["name"]?.value, let name = string(nameNode, "\(itemContext).name") {
                label.name = name
                if !LogsConfigDecoder.isLabelName(name) {
                    fail(nameNode, "\(itemContext).name: \"\(name)\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)")
                }
            }
            if let map = e["map"]?.value {
                if case .mapping(let pairs) = map {
                    for (k, v) in pairs {
                        if let from = k.string, let to = string(v, "\(itemContext).map") { label.valueMap[from] = to }
                    }
                } else {
                    fail(map, "\(itemContext).map: expected a mapping of values, e.g. {\"200\": ok}")
                }
            }
            if let regexNode = e["regex"]?.value, let regex = string(regexNode, "\(itemContext).regex") {
                do {
                    _ = try RegularExpression(regex, options: .prometheus)
                    label.regex = regex
                } catch {
                    fail(regexNode, "\(itemContext).regex: invalid regular expression: \(error.message)")
                }
            }
            if let replacement = e["replacement"]?.value {
                label.replacement = string(replacement, "\(itemContext).replacement")
                if label.regex == nil && e["regex"] == nil { fail(replacement, "\(itemContext).replacement: needs `regex:`") }
            }
            if let max = e["max_values"]?.value {
                if let n = max.int, n > 0 { label.maxValues = n } else { fail(max, "\(itemContext).max_values: expected a positive integer") }
            }
            out.append(label)
        }
        return out
    }

    mutating func filter(_ node: Node, _ context: String) -> LogLineFilter? {
        guard let e = entries(node, allowed: ["field", "in", "not_in"], context: context) else { return nil }
        guard let fieldNode = e["field"]?.value, let field = fieldPath(fieldNode, "\(context).field") else {
            if e["field"] == nil { fail(node, "\(context): missing `field:`") }
            return nil
        }
        let list = e["in"] ?? e["not_in"]
        guard let list, (e["in"] == nil) != (e["not_in"] == nil) else {
            fail(node, "\(context): expected exactly one of `in:` or `not_in:` (a list of values)")
            return nil
        }
        guard case .sequence(let items) = list.value else {
            fail(list.value, "\(context): expected a list of values, e.g. [error, fatal]")
            return nil
        }
        var values: [String] = []
        for item in items { if let s = string(item, context) { values.append(s) } }
        return LogLineFilter(field: field, in: values, negated: e["not_in"] != nil)
    }

    mutating func timestamp(_ node: Node, _ context: String) -> LogTimestampSpec? {
        guard let e = entries(node, allowed: ["field", "format"], context: context) else { return nil }
        guard let fieldNode = e["field"]?.value, let field = fieldPath(fieldNode, "\(context).field") else {
            if e["field"] == nil { fail(node, "\(context): missing `field:` (the field holding the line's time)") }
            return nil
        }
        var spec = LogTimestampSpec(field: field)
        if let formatNode = e["format"]?.value, let format = string(formatNode, "\(context).format") {
            if let f = LogTimestampSpec.Format(rawValue: format) {
                spec.format = f
            } else {
                fail(formatNode, "\(context).format: expected one of \(LogTimestampSpec.Format.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(format)\"")
            }
        }
        return spec
    }

    mutating func string(_ node: Node, _ context: String) -> String? {
        guard case .scalar(let scalar) = node else {
            fail(node, "\(context): expected a single value, not a list or mapping")
            return nil
        }
        return scalar.string
    }

    mutating func fieldPath(_ node: Node, _ context: String) -> String? {
        guard let s = string(node, context) else { return nil }
        guard !s.isEmpty, !s.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
            fail(node, "\(context): \"\(s)\" is not a field path (names separated by single dots, e.g. http.status)")
            return nil
        }
        return s
    }

    /// `65536`, `64KiB`, `1 MB`.
    mutating func byteSize(_ node: Node, _ context: String) -> Int? {
        guard let s = string(node, context) else { return nil }
        let trimmed = s.replacingScalars(of: " ", with: "")
        let digits = trimmed.prefix { $0.isNumber }
        let unit = String(trimmed.dropFirst(digits.count))
        let factors: [String: Int] = ["": 1, "B": 1, "KB": 1000, "KiB": 1024, "MB": 1_000_000, "MiB": 1 << 20, "GB": 1_000_000_000, "GiB": 1 << 30]
        guard let n = Int(digits), n > 0, let factor = factors[unit], n <= Int.max / factor else {
            fail(node, "\(context): expected a positive size in bytes, e.g. 65536 or 64KiB, got \"\(s)\"")
            return nil
        }
        return n * factor
    }

    static func isMetricName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_" || first == ":" else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0 == "_" || $0 == ":" || ("0"..."9").contains($0)) }
    }

    static func isLabelName(_ s: String) -> Bool {
        guard !s.hasPrefix("__"), let first = s.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_" else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0 == "_" || ("0"..."9").contains($0)) }
    }
}
