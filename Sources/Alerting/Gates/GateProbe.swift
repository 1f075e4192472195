public import Query
public import TimeSeries

/// Measures a gate's checks at one time: what an evaluation of a run records.
///
/// An `expr` check holds when its expression returns at least one sample, the way an alert rule
/// fires. To tell a failing condition from missing data, the expression's *measured* part is
/// evaluated too: the expression with its top-level filtering comparison taken off (`A < 0.01`
/// measures `A`; `A > B` measures both sides; `A and B` measures what `A` measures; anything else
/// measures itself). The measured part empty is no data; present but filtered out is a failure.
/// The value shown is the measured sample that decides: the largest for `<`/`<=`, the smallest
/// for `>`/`>=`, otherwise the first by labels.
///
/// A `no_alerts` blocker fails while a firing alert carries all its labels; its value is how many do.
public struct GateProbe: Sendable {
    let engine: Engine
    /// Parsed expressions by text (checks are parsed once per probe).
    let parsed: [String: Parsed]

    struct Parsed: Sendable {
        var expr: Expr
        /// The parts whose emptiness means no data.
        var measured: [Expr]
        /// How the value is chosen among the first measured part's samples.
        var pick: Pick
    }

    enum Pick: Sendable { case largest, smallest, first }

    /// A probe for `gate`'s checks against `engine`; throws the first expression that does not parse
    /// (a gate file's expressions were validated when it loaded, so only a corrupted run file can).
    public init(gate: Gate, engine: Engine) throws(GateError) {
        self.engine = engine
        var parsed: [String: Parsed] = [:]
        for check in gate.must + gate.should {
            guard case .expr(let text) = check.kind, parsed[text] == nil else { continue }
            do {
                parsed[text] = GateProbe.analyse(try PromQL.parse(text))
            } catch {
                throw GateError("check \"\(check.name)\": \(error.message)")
            }
        }
        self.parsed = parsed
    }

    /// Measures every check of `run` at `time`; `firing` are the alerts firing now.
    public func measure(_ run: GateRun, at time: Timestamp, firing: [Alert]) -> [GateRun.Measurement] {
        run.checks.map { measure($0.check, at: time, firing: firing) }
    }

    /// One check at `time`.
    public func measure(_ check: Gate.Check, at time: Timestamp, firing: [Alert]) -> GateRun.Measurement {
        switch check.kind {
        case .noAlerts(let labels):
            let matching = firing.filter { alert in
                alert.state == .firing && labels.allSatisfy { alert.labels[$0.key] == $0.value }
            }
            guard !matching.isEmpty else { return GateRun.Measurement(.pass, value: 0) }
            let names = Set(matching.map(\.name)).sorted()
            return GateRun.Measurement(.fail, value: Double(matching.count), message: names.joined(separator: ", ") + " firing")
        case .expr(let text):
            guard let p = parsed[text] else { return GateRun.Measurement(.error, message: "expression not prepared") }
            do {
                var sides: [[VectorSample]] = []
                for part in p.measured { sides.append(try samples(part, at: time)) }
                if sides.contains(where: \.isEmpty) { return GateRun.Measurement(.noData) }
                let value = GateProbe.pick(p.pick, from: sides[0])
                let holds = !(try samples(p.expr, at: time)).isEmpty
                return GateRun.Measurement(holds ? .pass : .fail, value: value)
            } catch {
                return GateRun.Measurement(.error, message: error.message)
            }
        }
    }

    func samples(_ expr: Expr, at time: Timestamp) throws(QueryError) -> [VectorSample] {
        switch try engine.instant(expr, at: time) {
        case .vector(let v, _): return v
        case .scalar(let v, _): return [VectorSample(labels: Labels(), value: v)]
        case .string, .matrix: throw QueryError(kind: .evaluation, message: "a check must give an instant vector")
        }
    }

    static func pick(_ pick: Pick, from samples: [VectorSample]) -> Double {
        switch pick {
        case .largest: return samples.map(\.value).max { a, b in a < b || (a.isNaN && !b.isNaN) } ?? .nan
        case .smallest: return samples.map(\.value).min { a, b in a < b || (b.isNaN && !a.isNaN) } ?? .nan
        case .first: return samples.min { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }?.value ?? .nan
        }
    }

    /// The measured parts of `expr` and how its value is picked.
    static func analyse(_ expr: Expr) -> Parsed {
        var measured: [Expr] = [expr]
        var pick = Pick.first
        var top = expr
        while case .parenthesized(let p) = top { top = p.expr }
        if case .binary(let b) = top {
            switch b.op {
            case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual:
                // With `bool` nothing is filtered: the expression measures itself.
                guard !b.returnBool else { break }
                let vectors = [b.lhs, b.rhs].filter { $0.type == .instantVector }
                if !vectors.isEmpty { measured = vectors }
                let lhsMeasured = b.lhs.type == .instantVector
                switch b.op {
                case .less, .lessEqual: pick = lhsMeasured ? .largest : .smallest
                case .greater, .greaterEqual: pick = lhsMeasured ? .smallest : .largest
                default: pick = .first
                }
            case .and, .unless:
                let inner = analyse(b.lhs)
                measured = inner.measured
                pick = inner.pick
            default:
                break
            }
        }
        return Parsed(expr: expr, measured: measured, pick: pick)
    }
}
