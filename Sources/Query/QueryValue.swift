public import TimeSeries
import JSON

/// One element of an instant vector: a label set and its value at the evaluation time.
public struct VectorSample: Sendable, Equatable {
    public var labels: Labels
    public var value: Double

    public init(labels: Labels, value: Double) {
        self.labels = labels
        self.value = value
    }

    public static func == (a: VectorSample, b: VectorSample) -> Bool {
        a.labels == b.labels && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
    }
}

/// One series of a range vector (matrix): a label set and its samples, oldest first.
public struct SeriesSamples: Sendable, Equatable {
    public var labels: Labels
    public var samples: [Sample]

    public init(labels: Labels, samples: [Sample]) {
        self.labels = labels
        self.samples = samples
    }
}

/// The result of evaluating an expression: Prometheus's four result types.
public enum QueryValue: Sendable, Equatable {
    case scalar(Double, at: Timestamp)
    case string(String, at: Timestamp)
    /// An instant vector; every sample is at `at`.
    case vector([VectorSample], at: Timestamp)
    /// A range vector, or the result of a range query.
    case matrix([SeriesSamples])

    /// `scalar`, `string`, `vector` or `matrix`, as Prometheus's `resultType`.
    public var resultType: String {
        switch self {
        case .scalar: "scalar"
        case .string: "string"
        case .vector: "vector"
        case .matrix: "matrix"
        }
    }

    /// The `data` field of Prometheus's `/api/v1/query` (and `query_range`) response:
    /// `{"resultType":"vector","result":[{"metric":{…},"value":[<unix seconds>,"<value>"]}]}`.
    public var json: String {
        var out = "{\"resultType\":\"\(resultType)\",\"result\":"
        switch self {
        case .scalar(let v, let t):
            out += "[\(PrometheusFormat.timestamp(t)),\"\(PrometheusFormat.sampleValue(v))\"]"
        case .string(let s, let t):
            out += "[\(PrometheusFormat.timestamp(t)),"
            JSONString.append(s, to: &out)
            out += "]"
        case .vector(let samples, let t):
            out += "["
            for (i, s) in samples.enumerated() {
                if i > 0 { out += "," }
                out += "{\"metric\":"
                QueryJSON.appendLabels(s.labels, to: &out)
                out += ",\"value\":[\(PrometheusFormat.timestamp(t)),\"\(PrometheusFormat.sampleValue(s.value))\"]}"
            }
            out += "]"
        case .matrix(let series):
            out += "["
            for (i, s) in series.enumerated() {
                if i > 0 { out += "," }
                out += "{\"metric\":"
                QueryJSON.appendLabels(s.labels, to: &out)
                out += ",\"values\":["
                for (k, p) in s.samples.enumerated() {
                    if k > 0 { out += "," }
                    out += "[\(PrometheusFormat.timestamp(p.timestamp)),\"\(PrometheusFormat.sampleValue(p.value))\"]"
                }
                out += "]}"
            }
            out += "]"
        }
        return out + "}"
    }
}

/// JSON writing for the query result.
enum QueryJSON {
    static func appendLabels(_ labels: Labels, to out: inout String) {
        out += "{"
        for (i, label) in labels.labels.enumerated() {
            if i > 0 { out += "," }
            JSONString.append(label.name, to: &out)
            out += ":"
            JSONString.append(label.value, to: &out)
        }
        out += "}"
    }
}
