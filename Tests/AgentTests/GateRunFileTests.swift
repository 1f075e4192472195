import Alerting
import Foundation
import JSON
import Testing
@testable import AgentDaemon

/// Gate run files are written by our JSON writer now, in the layout `JSONEncoder` gave them, so a
/// run saved before an upgrade resumes after it (and the other way round).
@Suite struct GateRunFileTests {
    static func run() -> GateRun {
        let gate = Gate(name: "canary", interval: 30_000, duration: 300_000, timeout: 900_000, failureLimit: 1, noData: .fail,
                        must: [Gate.Check(name: "errors", kind: .expr("rate(errors[5m]) < 0.01")),
                               Gate.Check(name: "no pages", kind: .noAlerts(["severity": "page", "team": "a\"b"]))],
                        should: [Gate.Check(name: "latency", kind: .expr("p99 < 0.3"))], minShould: 1, notify: [.abort, .promote],
                        labels: ["team": "web", "é": "🚨"], source: "gates/web.yaml:3:5")
        var run = GateRun(gate: gate, startedAt: 1_714_564_800_123)
        run.evaluations = 4
        run.lastIndex = 5
        run.times = [1_714_564_800_123, 1_714_564_830_123, 1_714_564_890_123]
        run.checks[0].values = [0.001, .nan, .infinity, -.infinity, 1e-7, 3]
        run.checks[0].passed = 2
        run.checks[0].last = .noData
        run.checks[0].message = "line\nbreak"
        run.checks[1].errors = 1
        run.checks[1].consecutiveErrors = 1
        run.endedAt = 1_714_565_000_000
        run.verdict = .abort
        run.reason = "errors failed twice"
        return run
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return d
    }()

    /// NaN is not equal to itself: compare the values' bit patterns.
    static func same(_ a: GateRun, _ b: GateRun) -> Bool {
        var a = a, b = b
        let bits = { (r: GateRun) in r.checks.map { $0.values.map(\.bitPattern) } }
        guard bits(a) == bits(b) else { return false }
        for i in a.checks.indices { a.checks[i].values = [] }
        for i in b.checks.indices { b.checks[i].values = [] }
        return a == b
    }

    @Test(arguments: [true, false])
    func filesWrittenByJSONEncoderReadAndOursReadByJSONDecoder(_ finished: Bool) throws {
        var run = Self.run()
        if !finished {
            run.endedAt = nil
            run.verdict = nil
            run.reason = nil
            run.checks[0].last = nil
            run.checks[0].message = nil
        }
        let old = try Self.encoder.encode(run)
        #expect(Self.same(try GateRun(json: try JSON(parsing: old)), run))
        let ours = run.json.encoded()
        #expect(Self.same(try Self.decoder.decode(GateRun.self, from: Data(ours)), run))
        // The same members with the same values (the text differs only where JSONEncoder escapes
        // `/` and writes `1e-07`).
        #expect(try JSON(parsing: ours).json == JSON(parsing: old).json)
    }

    @Test(arguments: [
        #"{}"#, #"[]"#, #"{"id":1}"#, #"{"checks":[],"evaluations":"4"}"#,
    ])
    func damagedFilesAreRefused(_ text: String) {
        #expect(throws: GateRunFileError.self) { try GateRun(json: try JSON(parsing: text)) }
    }

    @Test func everyMissingKeyIsRefused() throws {
        guard case .object(let members) = Self.run().json else { Issue.record("not an object"); return }
        for k in members.indices where !["endedAt", "verdict", "reason"].contains(members[k].0) {
            var damaged = members
            damaged.remove(at: k)
            #expect(throws: GateRunFileError.self, "\(members[k].0)") { try GateRun(json: .object(damaged)) }
        }
    }
}
