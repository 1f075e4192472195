import AgentClient
import JSON
import ArgumentParser
import TextRendering
import FoundationEssentials

extension Agent {
    /// `agent query`: ask the running daemon.
    struct QueryCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "query",
            abstract: "Query the running agent: a statistic of a metric, or any PromQL expression.",
            discussion: """
                agent query p95 http_request_duration_ms --window 5m --by route
                agent query 'sum by (route) (rate(http_requests_total[5m]))'
                agent query p99 http_request_duration_ms --range 1h     (a sparkline per series)

                Statistics: pNN (p50, p90, p95, p99, p999, …), avg, min, max, count, rate. For a \
                distribution (a log field) the percentile merges the sketches of each group, so it is \
                within the sketch's accuracy (1 % by default) of the exact value; for gauges and \
                counters it is computed per series with PromQL and then combined.
                """)

        @Argument(help: "A statistic (p95, avg, …) followed by a metric name, or a PromQL expression.")
        var words: [String]

        @Option(name: .long, help: "Window of a statistic (default 5m).")
        var window: String = "5m"

        @Option(name: .long, help: "Group a statistic by these labels (comma-separated).")
        var by: String?

        @Option(name: .long, help: "Evaluation time: Unix seconds or RFC 3339 (default now).")
        var at: String?

        @Option(name: .long, help: "Show the last RANGE (e.g. 1h) as a sparkline per series.")
        var range: String?

        @Option(name: .long, help: "Step of --range (default: range/60).")
        var step: String?

        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard !words.isEmpty else { throw ValidationError("give a statistic and a metric (p95 latency_ms) or an expression") }
            if words.count > 2 { throw ValidationError("too many arguments: quote the expression ('sum(rate(x[5m]))')") }
        }

        func run() throws {
            let data: JSON
            if words.count == 2 {
                var form = ["stat": words[0], "metric": words[1], "window": window]
                if let by { form["by"] = by }
                if let at { form["time"] = at }
                if let range {
                    form["range"] = range
                    if let step { form["step"] = step }
                }
                data = try client.get("/api/v1/summary", form: form, method: "POST")
            } else if let range {
                guard let seconds = Self.seconds(range) else { throw ValidationError("--range must be a duration such as 1h") }
                let end = at.flatMap(Double.init) ?? Date().timeIntervalSince1970
                let stepSeconds = step.flatMap(Self.seconds) ?? max(seconds / 60, 1)
                data = try client.get("/api/v1/query_range", form: ["query": words[0], "start": "\(end - seconds)", "end": "\(end)", "step": "\(stepSeconds)"], method: "POST")
            } else {
                var form = ["query": words[0]]
                if let at { form["time"] = at }
                data = try client.get("/api/v1/query", form: form, method: "POST")
            }
            if client.output == .json {
                printJSON(data)
                return
            }
            print(ResultTable.render(data), terminator: "")
        }

        static func seconds(_ text: String) -> Double? {
            if let s = Double(text) { return s }
            var total = 0.0
            var number = ""
            for ch in text {
                if ch.isNumber { number.append(ch); continue }
                guard let n = Double(number) else { return nil }
                switch ch {
                case "s": total += n
                case "m": total += n * 60
                case "h": total += n * 3600
                case "d": total += n * 86400
                case "w": total += n * 604_800
                default: return nil
                }
                number = ""
            }
            return number.isEmpty ? total : nil
        }
    }
}

/// Renders a Prometheus `data` field as a table (vectors, scalars) or sparklines (matrices).
enum ResultTable {
    static func render(_ data: JSON) -> String {
        guard let type = data["resultType"]?.string else { return "\(data.json)\n" }
        switch type {
        case "scalar", "string":
            let pair = data["result"]?.array ?? []
            return "\(pair.count > 1 ? pair[1].text : "")\n"
        case "vector":
            let rows = (data["result"]?.array ?? []).map { item -> (String, String) in
                let value = item["value"]?.array.last?.string ?? ""
                return (labelText(item["metric"]), format(value))
            }
            if rows.isEmpty { return "(no data)\n" }
            let width = rows.map(\.0.count).max() ?? 0
            return rows.map { $0.0.padded(to: width) + "  " + $0.1 }.joined(separator: "\n") + "\n"
        case "matrix":
            let series = data["result"]?.array ?? []
            if series.isEmpty { return "(no data)\n" }
            let rows = series.map { item -> (String, String) in
                let values = (item["values"]?.array ?? []).compactMap { $0.array.last?.string.flatMap(Double.init) }
                return (labelText(item["metric"]), sparkline(values))
            }
            let width = rows.map(\.0.count).max() ?? 0
            return rows.map { $0.0.padded(to: width) + "  " + $0.1 }.joined(separator: "\n") + "\n"
        default:
            return "\(data.json)\n"
        }
    }

    static func labelText(_ metric: JSON?) -> String {
        guard let metric, case .object = metric else { return "{}" }
        let labels = metric.object.compactMapValues(\.string)
        let name = labels["__name__"] ?? ""
        let rest = labels.filter { $0.key != "__name__" }.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }
        if rest.isEmpty { return name.isEmpty ? "{}" : name }
        return name + "{" + rest.joined(separator: ", ") + "}"
    }

    /// Numbers as Prometheus prints them, shortened to 6 significant digits for reading.
    static func format(_ text: String) -> String {
        guard let v = Double(text) else { return text }
        return format(v)
    }

    static func format(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "+Inf" : "-Inf") }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return CFormat.printf("%.6g", v)
    }

    /// ▁▂▃▄▅▆▇█ scaled between the series' min and max, with min, max and last beside it (the
    /// same `Sparkline` chat notifications show for a firing alert).
    static func sparkline(_ values: [Double]) -> String {
        guard let line = Sparkline(values) else { return "(no data)" }
        return line.bars + "  min \(format(line.min))  max \(format(line.max))  last \(format(line.last))"
    }
}
