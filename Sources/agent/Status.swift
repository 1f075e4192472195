import AgentClient
import ArgumentParser
import TextRendering

extension Agent {
    /// `agent status`: what the running daemon is doing.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the running agent's targets, logs, rule groups, outbox and store.")

        @OptionGroup var client: ClientOptions

        func run() throws {
            let data = try client.get("/api/v1/status")
            if client.output == .json {
                printJSON(data)
                return
            }
            guard case .object = data else { throw CLIError("unexpected status document") }
            let status = data
            print("agent \(status["version"]?.text ?? "?")  config: \(status["config"]?.text ?? "?")  ready: \(status["ready"]?.bool == true ? "yes" : "no")")
            if let series = status["series"], case .object = series {
                print("series: \(series["total"]?.text ?? "0") of \(series["limit"]?.text ?? "0") (gauges \(series["gauges"]?.text ?? "0"), counters \(series["counters"]?.text ?? "0"), distributions \(series["distributions"]?.text ?? "0")); dropped at the limit: \(series["dropped_limit"]?.text ?? "0")")
            }
            if let cp = status["checkpoint"], case .object = cp {
                var line = "checkpoint: \(cp["path"]?.text ?? "?"), \(cp["written"]?.text ?? "0") written, \(cp["failed"]?.text ?? "0") failed, last \(cp["last_bytes"]?.text ?? "0") bytes"
                if let e = cp["last_error"] { line += ", last error: \(e.text)" }
                print(line)
            }
            for target in status["targets"]?.array ?? [] {
                var line = "target \(target["job"]?.text ?? "?") \(target["url"]?.text ?? "?"): "
                if let up = target["up"]?.bool {
                    line += up ? "up" : "DOWN"
                    line += ", " + CFormat.printf("%.1f", (target["duration_seconds"]?.double ?? 0) * 1000) + " ms, " + "\(target["samples"]?.text ?? "0") samples"
                } else {
                    line += "not scraped yet"
                }
                if let e = target["last_error"] { line += ", last error: \(e.text)" }
                if let f = target["consecutive_failures"]?.int, f > 0 { line += ", \(f) consecutive failures" }
                print(line)
            }
            for log in status["logs"]?.array ?? [] {
                let paths = (log["paths"]?.array ?? []).compactMap(\.string).joined(separator: ", ")
                let files = (log["files"]?.array ?? []).map { "\($0["path"]?.text ?? "?") @ \($0["offset"]?.text ?? "0")" }.joined(separator: ", ")
                let malformed = (log["malformed"]?.object ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.text)" }.joined(separator: ", ")
                print("log \(paths): \(files.isEmpty ? "no file yet" : files)\(malformed.isEmpty ? "" : "; malformed: \(malformed)")")
            }
            for group in status["rule_groups"]?.array ?? [] {
                var line = "rule group \(group["name"]?.text ?? "?") (\(group["file"]?.text ?? "?")): \(group["rules"]?.text ?? "0") rules, every \(group["interval_seconds"]?.text ?? "0") s, \(group["evaluations"]?.text ?? "0") evaluations, last took \(CFormat.printf("%.1f", (group["last_duration_seconds"]?.double ?? 0) * 1000)) ms, \(group["active_alerts"]?.text ?? "0") active alerts"
                if let e = group["last_error"] { line += ", last error: \(e.text)" }
                print(line)
            }
            for endpoint in status["remote_write"]?.array ?? [] {
                var line = "remote_write \(endpoint["name"]?.text ?? "?") \(endpoint["url"]?.text ?? "?"): \(endpoint["samples_sent"]?.text ?? "0") samples sent (\(endpoint["bytes_sent"]?.text ?? "0") bytes)"
                if let lag = endpoint["lag_seconds"]?.double { line += ", " + CFormat.printf("%.1f", lag) + " s behind" } else { line += ", nothing acknowledged yet" }
                for (key, label) in [("samples_failed", "failed"), ("samples_retried", "retried"), ("samples_dropped_relabel", "dropped by relabelling"),
                                     ("samples_dropped_retention", "lost to retention")] {
                    if let n = endpoint[key]?.int, n > 0 { line += ", \(n) \(label)" }
                }
                if let e = endpoint["last_error"] { line += ", last error: \(e.text)" }
                print(line)
            }
            if let n = status["notifications"], n["pending"] != nil {
                print("notifications: \(n["pending"]?.text ?? "0") pending, \(n["delivered"]?.text ?? "0") delivered, \(n["refused"]?.text ?? "0") refused, \(n["gave_up"]?.text ?? "0") given up")
                for i in n["integrations"]?.array ?? [] {
                    var line = "  \(i["receiver"]?.text ?? "?")/\(i["integration"]?.text ?? "?"): \(i["delivered"]?.text ?? "0") delivered, \(i["pending"]?.text ?? "0") pending"
                    if let refused = i["refused"]?.int, refused > 0 { line += ", \(refused) refused" }
                    if let withheld = i["withheld_resolutions"]?.int, withheld > 0 { line += ", \(withheld) resolutions withheld" }
                    if let unheard = i["unheard_firings"]?.int, unheard > 0 { line += ", \(unheard) alert(s) whose firing it never accepted (no resolution will follow)" }
                    if let r = i["last_refusal"], case .object = r {
                        let code = r["status"].map { "HTTP \($0.text)" } ?? (r["reason"]?.text ?? "?")
                        line += "; last refused \(r["age_seconds"]?.text ?? "?") s ago (\(code)): \(r["answer"]?.text ?? "")"
                    }
                    print(line)
                }
            }
            if let p = status["process"], let rss = p["resident_bytes"]?.int {
                print("process: \(rss / 1_048_576) MiB resident, \(p["cpu_seconds"]?.text ?? "0") s CPU, \(p["threads"]?.text ?? "0") threads")
            }
        }
    }
}
