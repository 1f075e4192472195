import AgentClient
import ArgumentParser

extension Agent {
    /// `agent alerts`: the active alerts of the running daemon.
    struct Alerts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List active alerts: name, tier, labels, since, value.")

        @OptionGroup var client: ClientOptions

        func run() throws {
            let data = try client.get("/api/v1/alerts")
            if client.output == .json {
                printJSON(data)
                return
            }
            let alerts = data["alerts"]?.array ?? []
            if alerts.isEmpty {
                print("no active alerts")
                return
            }
            let rows: [[String]] = alerts.map { alert in
                let labels = (alert["labels"]?.object ?? [:]).compactMapValues(\.string)
                let rest = labels.filter { $0.key != "alertname" && $0.key != "severity" }.sorted { $0.key < $1.key }
                    .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                return [labels["alertname"] ?? "?", alert["severity"]?.string ?? "-", alert["state"]?.string ?? "?",
                        (alert["firedAt"] ?? alert["activeAt"])?.string ?? "", ResultTable.format(alert["value"]?.string ?? ""), rest]
            }
            let header = ["ALERT", "TIER", "STATE", "SINCE", "VALUE", "LABELS"]
            let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
            for row in [header] + rows {
                print(row.indices.map { i in i == row.count - 1 ? row[i] : row[i].padded(to: widths[i]) }.joined(separator: "  "))
            }
        }
    }
}
