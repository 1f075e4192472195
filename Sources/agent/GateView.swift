import AgentClient
import JSON
import TextRendering
#if canImport(Glibc)
import Glibc
#endif

/// What `agent gate` shows of a run: a table redrawn in place in a terminal (each check, its
/// value, its counts and a sparkline since the start), one line per evaluation otherwise, or
/// the final run as one JSON line with `--output json`.
final class GateView {
    let output: ClientOptions.OutputFormat
    let terminal: Bool
    let width: Int
    /// Lines the table took last time (to draw over them).
    private var drawn = 0
    /// Evaluations already printed as lines.
    private var printed = 0

    init(output: ClientOptions.OutputFormat, terminal: Bool, width: Int) {
        self.output = output
        self.terminal = terminal
        self.width = max(width, 60)
    }

    /// Sparkline width in a terminal; one point (the last value) otherwise; every value for JSON.
    var points: Int {
        if output == .json { return 100_000 }
        return terminal ? sparklineWidth : 1
    }

    var sparklineWidth: Int { max(10, min(60, width - 84)) }

    /// The terminal's width (COLUMNS, else the tty's, else 100).
    static func terminalWidth() -> Int {
        if let c = getenv("COLUMNS"), let n = Int(String(cString: c)), n > 0 { return n }
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 100
    }

    func started(_ run: JSON, attached: Bool) {
        guard output == .text else { return }
        if terminal {
            emit("\u{1B}[?25l")
            return
        }
        let verb = attached ? "following" : "started"
        line("gate \(run["gate"]?.text ?? "?"): \(verb) run \(run["id"]?.text ?? "?") — \(Self.plan(run))")
    }

    func update(_ run: JSON) {
        guard output == .text else { return }
        if terminal { redraw(run) } else { evaluationLines(run) }
    }

    /// A remark between updates (the agent unreachable and back).
    func note(_ text: String) {
        guard output == .text else { return printError("agent gate: \(text)") }
        if terminal {
            drawn = 0
            emit("\(text)\n")
        } else {
            line(text)
        }
    }

    func finished(_ run: JSON) {
        switch output {
        case .json:
            print(run.json)
        case .text:
            if terminal {
                redraw(run)
                emit("\u{1B}[?25h")
            } else {
                evaluationLines(run)
            }
            line("\(run["gate"]?.text ?? "?"): \(run["verdict"]?.text.uppercased() ?? "?") — \(run["reason"]?.text ?? "")")
        }
    }

    // MARK: Plain lines

    func evaluationLines(_ run: JSON) {
        let evaluations = run["evaluations"]?.int ?? 0
        guard evaluations > printed else { return }
        printed = evaluations
        let checks = (run["checks"]?.array ?? []).map { c in
            "\(c["kind"]?.text ?? "?") \(c["name"]?.text ?? "?") \(c["last"]?.text ?? "-") \(Self.value(c["value"]))"
        }
        line("evaluation \(evaluations)/\(run["evaluation_limit"]?.text ?? "?"): " + checks.joined(separator: " | "))
    }

    // MARK: The table

    func redraw(_ run: JSON) {
        var lines: [String] = []
        let state = run["state"]?.text ?? "?"
        var head = "gate \(run["gate"]?.text ?? "?")  run \(run["id"]?.text ?? "?")  \(state.uppercased())"
        head += "  evaluation \(run["evaluations"]?.text ?? "0") of \(run["evaluation_limit"]?.text ?? "?")"
        if run["verdict"] == nil, let next = run["next_evaluation"]?.double {
            head += "  next in \(max(0, Int((next - Self.now()).rounded(.up)))) s"
        }
        lines.append(head)
        lines.append(Self.plan(run))
        lines.append("")
        let required = run["required_streak"]?.int ?? 0
        let header = ["", "KIND", "CHECK", "VALUE", "PASS", "FAIL", "NO DATA", "ERR", "STREAK", "SINCE START"]
        var rows: [[String]] = []
        for c in run["checks"]?.array ?? [] {
            let values = (c["values"]?.array ?? []).map(Self.number)
            let spark = Sparkline(values, maxWidth: sparklineWidth).map { $0.bars } ?? ""
            let must = c["kind"]?.text == "must"
            rows.append([Self.symbol(c["last"]?.string), c["kind"]?.text ?? "", Self.cut(c["name"]?.text ?? "", 40), Self.value(c["value"]),
                         c["passed"]?.text ?? "0", c["failed"]?.text ?? "0", c["no_data"]?.text ?? "0", c["errors"]?.text ?? "0",
                         must ? "\(c["streak"]?.text ?? "0")/\(required)" : "", spark])
        }
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        for row in [header] + rows {
            lines.append(row.indices.map { i in i == row.count - 1 ? row[i] : row[i].padded(to: widths[i]) }.joined(separator: "  "))
        }
        for c in run["checks"]?.array ?? [] where c["message"] != nil && (c["last"]?.string == "error" || c["last"]?.string == "fail") {
            lines.append("  \(c["kind"]?.text ?? "") \(Self.cut(c["name"]?.text ?? "", 40)): \(c["message"]?.text ?? "")")
        }
        var text = drawn > 0 ? "\u{1B}[\(drawn)F\u{1B}[J" : ""
        for l in lines { text += Self.cut(l, width) + "\n" }
        emit(text)
        drawn = lines.count
    }

    // MARK: Formatting

    static func plan(_ run: JSON) -> String {
        func d(_ key: String) -> String { duration(run[key]?.double ?? 0) }
        var s = "promote when held \(d("duration_seconds")) (\(run["required_streak"]?.text ?? "?") in a row, every \(d("interval_seconds")))"
        s += " · failure_limit \(run["failure_limit"]?.text ?? "0") · no data \(run["no_data"]?.text ?? "?") (limit \(run["no_data_limit"]?.text ?? "0"))"
        if let m = run["min_should"]?.int, m > 0 { s += " · min_should \(m)" }
        return s + " · timeout \(d("timeout_seconds"))"
    }

    static func duration(_ seconds: Double) -> String {
        var rest = Int(seconds.rounded())
        if rest == 0 { return "0s" }
        var out = ""
        for (unit, size) in [("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }

    static func symbol(_ outcome: String?) -> String {
        switch outcome {
        case "pass": "✓"
        case "fail": "✗"
        case "no_data": "?"
        case "error": "!"
        default: "·"
        }
    }

    static func number(_ v: JSON) -> Double {
        if let d = v.double { return d }
        switch v.string {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        default: return .nan
        }
    }

    static func value(_ v: JSON?) -> String {
        guard let v, v != .null else { return "-" }
        if let s = v.string { return s }
        return ResultTable.format(number(v))
    }

    static func cut(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(max(n - 1, 0))) + "…" }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func line(_ text: String) { emit(text + "\n") }

    /// One write(2), so lines arrive whole through a pipe.
    func emit(_ text: String) {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + written, $0.count - written) }
            if n <= 0 { return }
            written += n
        }
    }
}
