public import TimeSeries

/// One run of a gate: its timings (with any override), every check's counts and values, and its
/// verdict once it has one. A value type: the daemon persists it after every evaluation and a
/// restart resumes it as it was (see `Gate` for the rules it follows).
public struct GateRun: Sendable, Equatable, Codable {
    /// `<gate>-<start in ms>`: unique per gate and start.
    public var id: String
    /// The gate as the run started it (overrides applied); a later reload does not change a run.
    public var gate: Gate
    public var startedAt: Timestamp
    public var endedAt: Timestamp?
    public var verdict: GateVerdict?
    /// Why the verdict, in one sentence.
    public var reason: String?
    /// Evaluations taken so far.
    public var evaluations: Int
    /// The index of the last evaluation taken (evaluation *k* is due at `startedAt + k × interval`);
    /// -1 before the first. Indices skipped while the agent was down are missing from `times`.
    public var lastIndex: Int
    /// When each evaluation was taken.
    public var times: [Timestamp]
    /// Must-checks, then should-checks, in the gate's order.
    public var checks: [CheckRecord]

    /// A check's outcome at one evaluation.
    public enum Outcome: String, Sendable, Codable, CaseIterable {
        /// The expression returned a sample (or no blocking alert fired).
        case pass
        /// The data is there and the condition filtered all of it out (or a blocking alert fired).
        case fail
        /// The measured expression returned nothing.
        case noData = "no_data"
        /// The expression could not be evaluated.
        case error
    }

    /// One check of the run: counts, streak and the value at every evaluation.
    public struct CheckRecord: Sendable, Equatable, Codable {
        public var check: Gate.Check
        /// A must-check (or must-blocker); false for a should-check.
        public var must: Bool
        public var passed = 0, failed = 0, noData = 0, errors = 0
        /// Holding evaluations in a row (no data counts as holding with `no_data: pass`).
        public var streak = 0
        public var consecutiveErrors = 0
        public var last: Outcome?
        /// The measured value at each evaluation (NaN: no data or an error; a blocker's is the number of firing alerts).
        public var values: [Double] = []
        /// The last error or the alerts a blocker saw, for the table.
        public var message: String?

        public init(check: Gate.Check, must: Bool) {
            self.check = check
            self.must = must
        }

        /// Failures as `failure_limit` counts them.
        func failures(_ noData: Gate.NoData) -> Int { failed + (noData == .fail ? self.noData : 0) }
        /// No-data evaluations as `no_data_limit` counts them.
        func inconclusive(_ noData: Gate.NoData) -> Int { noData == .inconclusive ? self.noData : 0 }
    }

    /// One check's measurement at an evaluation.
    public struct Measurement: Sendable, Equatable {
        public var outcome: Outcome
        /// The measured value (NaN when none).
        public var value: Double
        /// An error's text, or what a blocker saw.
        public var message: String?

        public init(_ outcome: Outcome, value: Double = .nan, message: String? = nil) {
            self.outcome = outcome
            self.value = value
            self.message = message
        }
    }

    /// A run of `gate` starting at `startedAt`.
    public init(gate: Gate, startedAt: Timestamp) {
        id = "\(gate.name)-\(startedAt)"
        self.gate = gate
        self.startedAt = startedAt
        evaluations = 0
        lastIndex = -1
        times = []
        checks = gate.must.map { CheckRecord(check: $0, must: true) } + gate.should.map { CheckRecord(check: $0, must: false) }
    }

    public var isRunning: Bool { verdict == nil }

    /// When evaluation `index` is due.
    public func dueTime(ofIndex index: Int) -> Timestamp { startedAt + Int64(index) * gate.interval }

    /// What a run has to do at `now`.
    public enum Due: Sendable, Equatable {
        /// Nothing yet (or the run has ended).
        case nothing
        /// Take evaluation `index`: the next one, or after a pause (the agent was down) the latest
        /// one due — evaluations missed count as nothing, neither held nor failed.
        case evaluate(index: Int)
        /// The last evaluation within the timeout was missed (the agent was down): inconclusive.
        case expired
    }

    /// What is due at `now`.
    public func due(now: Timestamp) -> Due {
        guard isRunning, now >= startedAt else { return .nothing }
        let k = Int((now - startedAt) / gate.interval)
        if k <= lastIndex { return .nothing }
        return k < gate.evaluationLimit ? .evaluate(index: k) : .expired
    }

    /// When the next evaluation is due, or nil when the run has ended.
    public var nextEvaluation: Timestamp? {
        guard isRunning else { return nil }
        return dueTime(ofIndex: lastIndex + 1)
    }

    /// Records the measurements of evaluation `index` (one per check, in `checks` order) taken at
    /// `time`, and decides. Returns the verdict when the run ends with this evaluation.
    @discardableResult
    public mutating func record(_ measurements: [Measurement], index: Int, at time: Timestamp) -> GateVerdict? {
        precondition(measurements.count == checks.count, "one measurement per check")
        guard isRunning else { return verdict }
        evaluations += 1
        lastIndex = index
        times.append(time)
        let mode = gate.noData
        for (i, m) in measurements.enumerated() {
            var c = checks[i]
            c.last = m.outcome
            c.values.append(m.value)
            c.message = m.message
            switch m.outcome {
            case .pass:
                c.passed += 1
                c.streak += 1
                c.consecutiveErrors = 0
            case .fail:
                c.failed += 1
                c.streak = 0
                c.consecutiveErrors = 0
            case .noData:
                c.noData += 1
                c.streak = mode == .pass ? c.streak + 1 : 0
                c.consecutiveErrors = 0
            case .error:
                c.errors += 1
                c.consecutiveErrors += 1
                c.streak = 0
            }
            checks[i] = c
        }
        if let (verdict, reason) = decide(index: index) {
            self.verdict = verdict
            self.reason = reason
            endedAt = time
        }
        return verdict
    }

    /// Ends a run without evaluating: the agent was down past the timeout.
    public mutating func expire(at time: Timestamp) {
        guard isRunning else { return }
        verdict = .inconclusive
        reason = "timeout \(PrometheusDuration.format(gate.timeout)) passed while the agent was not running (\(evaluations) of \(gate.evaluationLimit) evaluations taken)"
        endedAt = time
    }

    /// The verdict after evaluation `index`, in Argo's order: failure and errors first, then too
    /// little data, then success, then the count (timeout).
    func decide(index: Int) -> (GateVerdict, String)? {
        let mode = gate.noData
        for (n, c) in checks.enumerated() where c.must {
            if c.check.isBlocker, c.last == .fail {
                return (.abort, "blocker \(label(n)) fired: \(c.message ?? "a matching alert is firing")")
            }
            if c.failures(mode) > gate.failureLimit {
                return (.abort, "\(label(n)) failed \(c.failures(mode)) times (failure_limit \(gate.failureLimit))")
            }
            if c.consecutiveErrors > gate.errorLimit {
                return (.abort, "\(label(n)) could not be evaluated \(c.consecutiveErrors) times in a row (error_limit \(gate.errorLimit)): \(c.message ?? "")")
            }
        }
        for (n, c) in checks.enumerated() where c.must && c.inconclusive(mode) > gate.noDataLimit {
            return (.inconclusive, "\(label(n)) had no data \(c.inconclusive(mode)) times (no_data_limit \(gate.noDataLimit))")
        }
        let required = gate.requiredStreak
        let short = checks.enumerated().filter { $0.element.must && $0.element.streak < required }
        let holding = holdingShould
        if short.isEmpty && holding >= gate.minShould {
            var reason = "every must-check held for \(PrometheusDuration.format(gate.duration)) (\(required) evaluations in a row)"
            if !gate.should.isEmpty { reason += "; \(holding) of \(gate.should.count) should-checks hold (min_should \(gate.minShould))" }
            return (.promote, reason)
        }
        if index >= gate.evaluationLimit - 1 {
            var why: [String] = short.map { "\(label($0.offset)) held \($0.element.streak) of \(required) evaluations in a row" }
            if holding < gate.minShould { why.append("\(holding) of \(gate.should.count) should-checks hold (min_should \(gate.minShould))") }
            return (.inconclusive, "timeout \(PrometheusDuration.format(gate.timeout)): " + why.joined(separator: "; "))
        }
        return nil
    }

    /// Should-checks whose last evaluation held.
    public var holdingShould: Int {
        checks.filter { !$0.must && ($0.last == .pass || ($0.last == .noData && gate.noData == .pass)) }.count
    }

    /// `must-check 2 "p95"` / `should-check 1 "cache"`.
    func label(_ index: Int) -> String {
        let c = checks[index]
        let position = c.must ? index + 1 : index - gate.must.count + 1
        return "\(c.must ? "must" : "should")-check \(position) \"\(c.check.name)\""
    }
}
