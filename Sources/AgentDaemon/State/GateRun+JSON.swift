import Alerting
import JSON

/// A gate run's file (`state_dir/gates/<id>.json`): the layout Swift's synthesized `Codable`
/// gave it when `JSONEncoder` wrote it (camelCase keys, sorted; absent optionals left out; an
/// enum with a payload as `{"expr":{"_0":…}}`; NaN and infinities as the strings `"NaN"`,
/// `"+Inf"`, `"-Inf"`), so files written by earlier versions resume after an upgrade.
extension GateRun {
    /// The run as its file holds it.
    var json: JSON {
        var members: [(String, JSON)] = [
            ("checks", .array(checks.map(\.json))),
            ("evaluations", .int(Int64(evaluations))),
            ("gate", gate.json),
            ("id", .string(id)),
            ("lastIndex", .int(Int64(lastIndex))),
        ]
        if let reason { members.append(("reason", .string(reason))) }
        members.append(("startedAt", .int(startedAt)))
        members.append(("times", .array(times.map(JSON.int))))
        if let verdict { members.append(("verdict", .string(verdict.rawValue))) }
        if let endedAt { members.insert(("endedAt", .int(endedAt)), at: 1) }
        return .object(members)
    }

    /// The run a file holds.
    init(json: JSON) throws(GateRunFileError) {
        let o = try GateRunFileError.object(json, "the run")
        let endedAt = try o.optional("endedAt") { v throws(GateRunFileError) in try GateRunFileError.int64(v, "endedAt") }
        let verdict = try o.optional("verdict") { v throws(GateRunFileError) in try GateRunFileError.enumeration(GateVerdict.self, v, "verdict") }
        let reason = try o.optional("reason") { v throws(GateRunFileError) in try GateRunFileError.string(v, "reason") }
        var run = GateRun(gate: try Gate(json: try o.required("gate")), startedAt: try GateRunFileError.int64(try o.required("startedAt"), "startedAt"))
        run.id = try GateRunFileError.string(try o.required("id"), "id")
        run.endedAt = endedAt
        run.verdict = verdict
        run.reason = reason
        run.evaluations = try GateRunFileError.int(try o.required("evaluations"), "evaluations")
        run.lastIndex = try GateRunFileError.int(try o.required("lastIndex"), "lastIndex")
        run.times = try GateRunFileError.array(try o.required("times"), "times").map { v throws(GateRunFileError) in try GateRunFileError.int64(v, "times") }
        run.checks = try GateRunFileError.array(try o.required("checks"), "checks").map { v throws(GateRunFileError) in try CheckRecord(json: v) }
        self = run
    }
}

extension GateRun.CheckRecord {
    var json: JSON {
        var members: [(String, JSON)] = [
            ("check", check.json),
            ("consecutiveErrors", .int(Int64(consecutiveErrors))),
            ("errors", .int(Int64(errors))),
            ("failed", .int(Int64(failed))),
        ]
        if let last { members.append(("last", .string(last.rawValue))) }
        if let message { members.append(("message", .string(message))) }
        members.append(("must", .bool(must)))
        members.append(("noData", .int(Int64(noData))))
        members.append(("passed", .int(Int64(passed))))
        members.append(("streak", .int(Int64(streak))))
        members.append(("values", .array(values.map(GateRunFileError.number))))
        return .object(members)
    }

    init(json: JSON) throws(GateRunFileError) {
        let o = try GateRunFileError.object(json, "a check record")
        self.init(check: try Gate.Check(json: try o.required("check")), must: try GateRunFileError.bool(try o.required("must"), "must"))
        passed = try GateRunFileError.int(try o.required("passed"), "passed")
        failed = try GateRunFileError.int(try o.required("failed"), "failed")
        noData = try GateRunFileError.int(try o.required("noData"), "noData")
        errors = try GateRunFileError.int(try o.required("errors"), "errors")
        streak = try GateRunFileError.int(try o.required("streak"), "streak")
        consecutiveErrors = try GateRunFileError.int(try o.required("consecutiveErrors"), "consecutiveErrors")
        last = try o.optional("last") { v throws(GateRunFileError) in try GateRunFileError.enumeration(GateRun.Outcome.self, v, "last") }
        values = try GateRunFileError.array(try o.required("values"), "values").map { v throws(GateRunFileError) in try GateRunFileError.double(v, "values") }
        message = try o.optional("message") { v throws(GateRunFileError) in try GateRunFileError.string(v, "message") }
    }
}

extension Gate {
    var json: JSON {
        .object([
            ("duration", .int(duration)),
            ("errorLimit", .int(Int64(errorLimit))),
            ("failureLimit", .int(Int64(failureLimit))),
            ("interval", .int(interval)),
            ("labels", .sortedObject(labels)),
            ("minShould", .int(Int64(minShould))),
            ("must", .array(must.map(\.json))),
            ("name", .string(name)),
            ("noData", .string(noData.rawValue)),
            ("noDataLimit", .int(Int64(noDataLimit))),
            ("notify", .array(notify.map { .string($0.rawValue) })),
            ("should", .array(should.map(\.json))),
            ("source", .string(source)),
            ("timeout", .int(timeout)),
        ])
    }

    init(json: JSON) throws(GateRunFileError) {
        let o = try GateRunFileError.object(json, "the gate")
        func checks(_ key: String) throws(GateRunFileError) -> [Check] {
            try GateRunFileError.array(try o.required(key), key).map { v throws(GateRunFileError) in try Check(json: v) }
        }
        self.init(
            name: try GateRunFileError.string(try o.required("name"), "name"),
            interval: try GateRunFileError.int64(try o.required("interval"), "interval"),
            duration: try GateRunFileError.int64(try o.required("duration"), "duration"),
            timeout: try GateRunFileError.int64(try o.required("timeout"), "timeout"),
            failureLimit: try GateRunFileError.int(try o.required("failureLimit"), "failureLimit"),
            noData: try GateRunFileError.enumeration(NoData.self, try o.required("noData"), "noData"),
            noDataLimit: try GateRunFileError.int(try o.required("noDataLimit"), "noDataLimit"),
            errorLimit: try GateRunFileError.int(try o.required("errorLimit"), "errorLimit"),
            must: try checks("must"),
            should: try checks("should"),
            minShould: try GateRunFileError.int(try o.required("minShould"), "minShould"),
            notify: try GateRunFileError.array(try o.required("notify"), "notify").map { v throws(GateRunFileError) in
                try GateRunFileError.enumeration(GateVerdict.self, v, "notify")
            },
            labels: try GateRunFileError.labels(try o.required("labels"), "labels"),
            source: try GateRunFileError.string(try o.required("source"), "source"))
    }
}

extension Gate.Check {
    var json: JSON {
        let kind: JSON = switch self.kind {
        case .expr(let e): .object([("expr", .object([("_0", .string(e))]))])
        case .noAlerts(let labels): .object([("noAlerts", .object([("_0", .sortedObject(labels))]))])
        }
        return .object([("kind", kind), ("name", .string(name))])
    }

    init(json: JSON) throws(GateRunFileError) {
        let o = try GateRunFileError.object(json, "a check")
        let name = try GateRunFileError.string(try o.required("name"), "name")
        let kind = try GateRunFileError.object(try o.required("kind"), "kind")
        if let e = kind.members["expr"] {
            let payload = try GateRunFileError.object(e, "kind.expr")
            self.init(name: name, kind: .expr(try GateRunFileError.string(try payload.required("_0"), "kind.expr")))
        } else if let n = kind.members["noAlerts"] {
            let payload = try GateRunFileError.object(n, "kind.noAlerts")
            self.init(name: name, kind: .noAlerts(try GateRunFileError.labels(try payload.required("_0"), "kind.noAlerts")))
        } else {
            throw GateRunFileError("kind is neither expr nor noAlerts")
        }
    }
}

/// Why a gate run's file could not be read.
struct GateRunFileError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }

    /// An object's members by key, for the readers above.
    struct Members {
        let members: [String: JSON]
        func required(_ key: String) throws(GateRunFileError) -> JSON {
            guard let v = members[key] else { throw GateRunFileError("key \"\(key)\" missing") }
            return v
        }
        func optional<T>(_ key: String, _ read: (JSON) throws(GateRunFileError) -> T) throws(GateRunFileError) -> T? {
            guard let v = members[key], !v.isNull else { return nil }
            return try read(v)
        }
    }

    static func object(_ v: JSON, _ what: String) throws(GateRunFileError) -> Members {
        guard case .object = v else { throw GateRunFileError("\(what) is not an object") }
        return Members(members: v.object)
    }
    static func array(_ v: JSON, _ key: String) throws(GateRunFileError) -> [JSON] {
        guard case .array(let a) = v else { throw GateRunFileError("\(key) is not an array") }
        return a
    }
    static func string(_ v: JSON, _ key: String) throws(GateRunFileError) -> String {
        guard let s = v.string else { throw GateRunFileError("\(key) is not a string") }
        return s
    }
    static func bool(_ v: JSON, _ key: String) throws(GateRunFileError) -> Bool {
        guard let b = v.bool else { throw GateRunFileError("\(key) is not a boolean") }
        return b
    }
    static func int64(_ v: JSON, _ key: String) throws(GateRunFileError) -> Int64 {
        guard case .int(let i) = v else { throw GateRunFileError("\(key) is not an integer") }
        return i
    }
    static func int(_ v: JSON, _ key: String) throws(GateRunFileError) -> Int {
        guard let i = v.int else { throw GateRunFileError("\(key) is not an integer") }
        return i
    }
    /// A double, or one of the strings JSON's missing numbers are written as.
    static func double(_ v: JSON, _ key: String) throws(GateRunFileError) -> Double {
        switch v {
        case .string("NaN"): return .nan
        case .string("+Inf"): return .infinity
        case .string("-Inf"): return -.infinity
        default:
            guard let d = v.double else { throw GateRunFileError("\(key) is not a number") }
            return d
        }
    }
    static func number(_ d: Double) -> JSON {
        if d.isNaN { return .string("NaN") }
        if d.isInfinite { return .string(d > 0 ? "+Inf" : "-Inf") }
        return .double(d)
    }
    static func labels(_ v: JSON, _ key: String) throws(GateRunFileError) -> [String: String] {
        guard case .object(let members) = v else { throw GateRunFileError("\(key) is not an object") }
        var out: [String: String] = [:]
        for (k, value) in members {
            guard let s = value.string else { throw GateRunFileError("\(key).\(k) is not a string") }
            out[k] = s
        }
        return out
    }
    static func enumeration<E: RawRepresentable>(_ type: E.Type, _ v: JSON, _ key: String) throws(GateRunFileError) -> E where E.RawValue == String {
        guard let s = v.string, let e = E(rawValue: s) else { throw GateRunFileError("\(key) is not one of the known values") }
        return e
    }
}
