import Alerting
import JSON
import HTTPServing
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Query
import TimeSeries

/// Rollout gates in the daemon: the component's construction and the API's handlers.
///
/// The handlers validate their parameters first (routes in `Daemon+Routes.swift`: GET
/// `/api/v1/gates`, GET and POST `/api/v1/gates/{name}`).
extension Daemon {
    /// The gates component of `gate_files:`; throws every error of every gate file.
    func buildGates() throws -> GatesComponent {
        let gates = try GatesComponent.load(globs: config.gateFiles, relativeTo: config.baseDirectory)
        if !gates.isEmpty { logger.info("loaded \(gates.count) gates") }
        return GatesComponent(
            gates: gates, store: store, stateDir: config.global.stateDir, externalLabels: config.global.externalLabels, logger: logger, clock: clock,
            firing: { [weak self] in self?.rules?.alerts().filter { $0.state == .firing } ?? [] },
            onAlertsChanged: { [weak self] in self?.forwardAlerts() })
    }

    /// `points`: a positive whole number, or nil.
    static func points(_ p: FormValues) throws(APIError) -> Int? {
        guard let text = p["points"] else { return nil }
        guard let n = Int(text), n > 0, n <= 100_000 else { throw APIError(.badData, "points must be a whole number from 1 to 100000") }
        return n
    }

    /// GET `/api/v1/gates`: each gate with its timings and checks and its latest run, and the
    /// remembered runs (without their values).
    func listGates(_ request: Request, _ p: FormValues) throws(APIError) -> HTTPResponse {
        guard let gates else { return .apiSuccess(["gates": [Any](), "runs": [Any]()]) }
        let runs = gates.runs()
        return .apiSuccess([
            "gates": gates.definitions().map { gate -> [String: Any] in
                var doc = Daemon.gateDocument(gate)
                if let latest = runs.first(where: { $0.gate.name == gate.name }) { doc["latest_run"] = Daemon.runDocument(latest, points: 0) }
                return doc
            },
            "runs": runs.map { Daemon.runDocument($0, points: 0) },
        ])
    }

    /// GET `/api/v1/gates/{name}`: the latest run of the gate, or run `run`; each check's values
    /// averaged down to `points` when given.
    func gateRun(_ request: Request, _ p: FormValues) throws(APIError) -> HTTPResponse {
        let name = request.pathParameters["name"] ?? ""
        let points = try Daemon.points(p)
        guard let gates else { throw APIError(.notFound, "no gates are configured (gate_files: in the configuration)") }
        let found = p["run"].map { gates.run(id: $0) } ?? gates.latestRun(of: name)
        guard let run = found, run.gate.name == name else {
            let known = gates.definitions().contains { $0.name == name }
            throw APIError(.notFound, p["run"].map { "gate \(name) has no run \($0)" }
                           ?? (known ? "gate \(name) has not run yet; start it with agent gate \(name)" : "no gate named \(name)"))
        }
        return .apiSuccess(Daemon.runDocument(run, points: points))
    }

    /// POST `/api/v1/gates/{name}`: starts a run (409 while one is going); `interval`, `duration`
    /// and `timeout` override the file's.
    func startGate(_ request: Request, _ p: FormValues) throws(APIError) -> HTTPResponse {
        let name = request.pathParameters["name"] ?? ""
        let points = try Daemon.points(p)
        var overrides: [String: Milliseconds] = [:]
        for key in ["interval", "duration", "timeout"] {
            guard let d = try APIParameters.duration(p, key) else { continue }
            guard d > 0 else { throw APIError.invalidParameter(key, "must be a positive duration such as 30s, 10m or 1h") }
            overrides[key] = d
        }
        guard let gates else { throw APIError(.notFound, "no gates are configured (gate_files: in the configuration)") }
        do {
            return .apiSuccess(Daemon.runDocument(try gates.startRun(name, interval: overrides["interval"], duration: overrides["duration"],
                                                                     timeout: overrides["timeout"]), points: points))
        } catch {
            switch error {
            case .unknown(let m): throw APIError(.notFound, m)
            case .invalid(let m): throw APIError(.badData, m)
            case .running(let m, _): throw APIError(.conflict, m)
            }
        }
    }

    static func seconds(_ ms: Milliseconds) -> Double { Double(ms) / 1000 }

    static func gateDocument(_ gate: Gate) -> [String: Any] {
        func checks(_ list: [Gate.Check]) -> [[String: Any]] {
            list.map { c in
                var doc: [String: Any] = ["name": c.name, "text": c.text]
                switch c.kind {
                case .expr(let e): doc["expr"] = e
                case .noAlerts(let labels): doc["no_alerts"] = labels
                }
                return doc
            }
        }
        return ["name": gate.name, "source": gate.source, "interval_seconds": seconds(gate.interval), "duration_seconds": seconds(gate.duration),
                "timeout_seconds": seconds(gate.timeout), "failure_limit": gate.failureLimit, "no_data": gate.noData.rawValue,
                "no_data_limit": gate.noDataLimit, "error_limit": gate.errorLimit, "min_should": gate.minShould,
                "required_streak": gate.requiredStreak, "evaluation_limit": gate.evaluationLimit,
                "notify": gate.notify.map(\.rawValue), "labels": gate.labels, "must": checks(gate.must), "should": checks(gate.should)]
    }

    /// A run as the API shows it; `points` 0 leaves the values out, nil gives all of them.
    static func runDocument(_ run: GateRun, points: Int?) -> [String: Any] {
        var doc = gateDocument(run.gate)
        doc["gate"] = run.gate.name
        doc["name"] = nil
        doc["id"] = run.id
        doc["state"] = run.verdict?.rawValue ?? "running"
        doc["started_at"] = seconds(run.startedAt)
        doc["evaluations"] = run.evaluations
        doc["holding_should"] = run.holdingShould
        if let v = run.verdict { doc["verdict"] = v.rawValue; doc["exit_status"] = Int(v.exitStatus) }
        if let r = run.reason { doc["reason"] = r }
        if let e = run.endedAt { doc["ended_at"] = seconds(e) }
        if let n = run.nextEvaluation { doc["next_evaluation"] = seconds(n) }
        if let t = run.times.last { doc["last_evaluation"] = seconds(t) }
        var checks: [[String: Any]] = []
        for (i, c) in run.checks.enumerated() {
            var d: [String: Any] = ["name": c.check.name, "text": c.check.text, "kind": c.must ? "must" : "should", "blocker": c.check.isBlocker,
                                    "index": c.must ? i + 1 : i - run.gate.must.count + 1,
                                    "passed": c.passed, "failed": c.failed, "no_data": c.noData, "errors": c.errors,
                                    "streak": c.streak, "consecutive_errors": c.consecutiveErrors]
            if let last = c.last { d["last"] = last.rawValue }
            if let v = c.values.last { d["value"] = jsonNumber(v) }
            if let m = c.message { d["message"] = m }
            if points != 0 { d["values"] = downsample(c.values, to: points).map(jsonNumber) }
            checks.append(d)
        }
        doc["checks"] = checks
        return doc
    }

    /// JSON has no NaN or infinities: no value is null, infinities are strings as Prometheus writes them.
    static func jsonNumber(_ v: Double) -> Any {
        if v.isNaN { return JSON.null }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        return v
    }

    /// `values` averaged into at most `points` consecutive buckets (NaN where a bucket has no value).
    static func downsample(_ values: [Double], to points: Int?) -> [Double] {
        guard let points, values.count > points else { return values }
        return (0..<points).map { i in
            let bucket = values[(i * values.count / points)..<((i + 1) * values.count / points)].filter { !$0.isNaN }
            return bucket.isEmpty ? .nan : bucket.reduce(0, +) / Double(bucket.count)
        }
    }
}
