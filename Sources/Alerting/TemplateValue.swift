/// A value inside a template: the Go values Prometheus's template data and functions produce,
/// with the Go type each one has (error messages and `printf` name it) and Go's truth rules.
///
/// Maps keep their entries sorted by key, as Go prints and ranges over them.
indirect enum TemplateValue: Sendable, Equatable {
    /// Go's invalid value: a nil interface (a missing key of `args`, a `nil` argument), printed
    /// by an action as `<no value>`.
    case invalid
    case bool(Bool)
    /// Go `int`: integer constants, `len`, range indexes.
    case int(Int)
    /// Go `uint8`: a byte of a string (`index "abc" 0`).
    case byte(UInt8)
    case float(Double)
    case string(String)
    /// `html/template.HTML`, what `safeHtml` returns: a string of another type.
    case html(String)
    /// `map[string]string`: `$labels`, `$externalLabels`, a sample's `.Labels`.
    case labels([(name: String, value: String)])
    /// `map[string]interface {}`: what `args` returns.
    case map([(key: String, value: TemplateValue)])
    /// The data of an alert's template (`.`): its labels, external labels, external URL and value.
    case alert(AlertData)
    /// `*template.sample`: one element of a query result (nil only as a zero value).
    case sample(QuerySample?)
    /// `template.queryResult`: what `query` returns.
    case samples([QuerySample])
    /// `*time.Time` (what `toTime` returns), as nanoseconds since the Unix epoch, UTC.
    case time(Int64)
    /// `*time.Duration` (what `toDuration` returns), in nanoseconds.
    case duration(Int64)

    static func == (a: TemplateValue, b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.invalid, .invalid): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.byte(let x), .byte(let y)): x == y
        case (.float(let x), .float(let y)): x == y || (x.isNaN && y.isNaN)
        case (.string(let x), .string(let y)), (.html(let x), .html(let y)): x == y
        case (.labels(let x), .labels(let y)): x.elementsEqual(y, by: ==)
        case (.map(let x), .map(let y)): x.elementsEqual(y, by: { $0.key == $1.key && $0.value == $1.value })
        case (.alert(let x), .alert(let y)): x == y
        case (.sample(let x), .sample(let y)): x == y
        case (.samples(let x), .samples(let y)): x == y
        case (.time(let x), .time(let y)), (.duration(let x), .duration(let y)): x == y
        default: false
        }
    }

    /// The Go type's name, as Go's messages print it.
    var goType: String {
        switch self {
        case .invalid: "<nil>"
        case .bool: "bool"
        case .int: "int"
        case .byte: "uint8"
        case .float: "float64"
        case .string: "string"
        case .html: "template.HTML"
        case .labels: "map[string]string"
        case .map: "map[string]interface {}"
        case .alert: AlertData.goType
        case .sample: "*template.sample"
        case .samples: "template.queryResult"
        case .time: "*time.Time"
        case .duration: "*time.Duration"
        }
    }

    /// Go's `template.IsTrue`: false, 0, nil, and empty strings, maps and slices are false.
    var isTrue: Bool {
        switch self {
        case .invalid: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .byte(let b): b != 0
        case .float(let f): f != 0
        case .string(let s), .html(let s): !s.isEmpty
        case .labels(let l): !l.isEmpty
        case .map(let m): !m.isEmpty
        case .alert: true
        case .sample(let s): s != nil
        case .samples(let s): !s.isEmpty
        case .time, .duration: true
        }
    }

    /// True for Go values of string kind (`string` and `template.HTML`).
    var isStringKind: Bool {
        switch self {
        case .string, .html: true
        default: false
        }
    }

    /// A map of labels from name–value pairs, sorted by name.
    static func labels<S: Sequence>(_ pairs: S) -> TemplateValue where S.Element == (String, String) {
        .labels(pairs.map { (name: $0.0, value: $0.1) }.sorted { $0.name < $1.name })
    }
}

/// What an alert's template sees as `.` (Prometheus's `AlertTemplateData`).
struct AlertData: Sendable, Equatable {
    var labels: [(name: String, value: String)]
    var externalLabels: [(name: String, value: String)]
    var externalURL: String
    var value: TemplateValue

    static let goType = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }"

    static func == (a: AlertData, b: AlertData) -> Bool {
        a.labels.elementsEqual(b.labels, by: ==) && a.externalLabels.elementsEqual(b.externalLabels, by: ==)
            && a.externalURL == b.externalURL && a.value == b.value
    }
}

/// One sample of a `query` result: its labels (`__name__` included) and value.
public struct QuerySample: Sendable, Equatable {
    /// Labels sorted by name.
    public var labels: [(name: String, value: String)]
    public var value: Double

    public init(labels: [(name: String, value: String)], value: Double) {
        self.labels = labels.sorted { $0.name < $1.name }
        self.value = value
    }

    public static func == (a: QuerySample, b: QuerySample) -> Bool {
        a.labels.elementsEqual(b.labels, by: ==) && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
    }

    func label(_ name: String) -> String { labels.first { $0.name == name }?.value ?? "" }

    /// Prometheus's `labels.Compare` order: pair by pair, name then value; a prefix first.
    static func precedes(_ a: [(name: String, value: String)], _ b: [(name: String, value: String)]) -> Bool {
        for (x, y) in zip(a, b) {
            if x.name != y.name { return x.name < y.name }
            if x.value != y.value { return x.value < y.value }
        }
        return a.count < b.count
    }
}
