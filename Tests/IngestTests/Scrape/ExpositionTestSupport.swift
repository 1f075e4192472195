import Testing
@testable import Ingest

/// One entry as the tests see it: everything the parser hands out, as plain values.
enum ParsedEntry: Equatable, CustomStringConvertible {
    case sample(ParsedSample)
    case help(String, String)
    case type(String, MetricType)
    case unit(String, String)
    case comment

    var description: String {
        switch self {
        case .sample(let s): "sample \(s)"
        case .help(let n, let t): "help \(n) \(t.debugDescription)"
        case .type(let n, let t): "type \(n) \(t)"
        case .unit(let n, let u): "unit \(n) \(u)"
        case .comment: "comment"
        }
    }
}

/// A sample: its name, labels in written order (unescaped), value, timestamp and family.
struct ParsedSample: Equatable, CustomStringConvertible {
    var name: String
    var labels: [String] = []
    var value: Double
    var timestamp: Int64? = nil
    var type: MetricType = .unknown
    var suffix: SampleSuffix = .none
    var exemplar = false

    init(
        _ name: String, _ labels: [String] = [], _ value: Double, ts timestamp: Int64? = nil,
        type: MetricType = .unknown, suffix: SampleSuffix = .none, exemplar: Bool = false
    ) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
        self.type = type
        self.suffix = suffix
        self.exemplar = exemplar
    }

    static func == (a: ParsedSample, b: ParsedSample) -> Bool {
        a.name == b.name && a.labels == b.labels
            && (a.value.bitPattern == b.value.bitPattern || (a.value == b.value))
            && a.timestamp == b.timestamp && a.type == b.type && a.suffix == b.suffix && a.exemplar == b.exemplar
    }

    var description: String {
        "\(name)\(labels) \(value) ts=\(timestamp.map(String.init) ?? "-") \(type)/\(suffix)\(exemplar ? " exemplar" : "")"
    }
}

/// Parses `text` completely, returning every entry or the error that stopped the parser.
func parseAll(_ text: String, _ format: ExpositionFormat) -> Result<[ParsedEntry], ExpositionError> {
    parseAll(Array(text.utf8), format)
}

func parseAll(_ bytes: [UInt8], _ format: ExpositionFormat) -> Result<[ParsedEntry], ExpositionError> {
    ExpositionParser.withParser(bytes, format: format) { parser in
        var entries: [ParsedEntry] = []
        var scratch: [UInt8] = []
        do throws(ExpositionError) {
            while let entry = try parser.next() {
                let name = String(decoding: parser.metricName, as: UTF8.self)
                switch entry {
                case .sample:
                    var labels: [String] = []
                    parser.forEachLabel(scratch: &scratch) { n, v in
                        labels.append(String(decoding: n, as: UTF8.self) + "=" + String(decoding: v, as: UTF8.self))
                    }
                    #expect(labels.count == parser.labelCount)
                    entries.append(
                        .sample(
                            ParsedSample(
                                name, labels, parser.value, ts: parser.timestamp, type: parser.sampleType,
                                suffix: parser.sampleSuffix, exemplar: parser.hasExemplar)))
                case .help: entries.append(.help(name, parser.helpText))
                case .type: entries.append(.type(name, parser.metricType))
                case .unit: entries.append(.unit(name, String(decoding: parser.text, as: UTF8.self)))
                case .comment: entries.append(.comment)
                }
            }
            return .success(entries)
        } catch {
            return .failure(error)
        }
    }
}

/// Only the samples of a successful parse (empty on failure).
func samples(_ text: String, _ format: ExpositionFormat) -> [ParsedSample] {
    guard case .success(let entries) = parseAll(text, format) else { return [] }
    return entries.compactMap { if case .sample(let s) = $0 { s } else { nil } }
}

/// The error message of a failed parse, or nil when it succeeded.
func parseError(_ text: String, _ format: ExpositionFormat) -> String? {
    if case .failure(let e) = parseAll(text, format) { return e.description }
    return nil
}
