import ArgumentParser
import Foundation

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
            guard let status = data as? [String: Any] else { throw CLIError("unexpected status document") }
            print("agent \(status["version"] ?? "?")  config: \(status["config"] ?? "?")  ready: \((status["ready"] as? Bool) == true ? "yes" : "no")")
            if let series = status["series"] as? [String: Any] {
                print("series: \(series["total"] ?? 0) of \(series["limit"] ?? 0) (gauges \(series["gauges"] ?? 0), counters \(series["counters"] ?? 0), distributions \(series["distributions"] ?? 0)); dropped at the limit: \(series["dropped_limit"] ?? 0)")
            }
            if let cp = status["checkpoint"] as? [String: Any] {
                var line = "checkpoint: \(cp["path"] ?? "?"), \(cp["written"] ?? 0) written, \(cp["failed"] ?? 0) failed, last \(cp["last_bytes"] ?? 0) bytes"
                if let e = cp["last_error"] { line += ", last error: \(e)" }
                print(line)
            }
            for log in status["logs"] as? [[String: Any]] ?? [] {
                let paths = (log["paths"] as? [String] ?? []).joined(separator: ", ")
                let files = (log["files"] as? [[String: Any]] ?? []).map { "\($0["path"] ?? "?") @ \($0["offset"] ?? 0)" }.joined(separator: ", ")
                let malformed = (log["malformed"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                print("log \(paths): \(files.isEmpty ? "no file yet" : files)\(malformed.isEmpty ? "" : "; malformed: \(malformed)")")
            }
            for group in status["rule_groups"] as? [[String: Any]] ?? [] {
                var line = "rule group \(group["name"] ?? "?") (\(group["file"] ?? "?")): \(group["rules"] ?? 0) rules, every \(group["interval_seconds"] ?? 0) s, \(group["evaluations"] ?? 0) evaluations, last took \(String(format: "%.1f", ((group["last_duration_seconds"] as? Double) ?? 0) * 1000)) ms, \(group["active_alerts"] ?? 0) active alerts"
                if let e = group["last_error"] { line += ", last error: \(e)" }
                print(line)
            }
            if let p = status["process"] as? [String: Any], let rss = p["resident_bytes"] as? Int {
                print("process: \(rss / 1_048_576) MiB resident, \(p["cpu_seconds"] ?? 0) s CPU, \(p["threads"] ?? 0) threads")
            }
        }
    }
}
