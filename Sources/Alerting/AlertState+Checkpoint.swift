public import TimeSeries

/// The alert states of every alerting rule, as the daemon keeps them in its checkpoint (section
/// `alerts`), so that a restart neither fires an alert again nor forgets how long one was pending.
///
/// Rules are keyed by file, group and alert name (with the rule's constant labels when rules of a
/// group share a name, see `RuleGroup.checkpointNames`), so the states survive edits that reorder rules. Layout (little-endian varints, see `ByteWriter`): format
/// version, `savedAt`, rule count, then per rule its key and its alerts.
public struct AlertStateCheckpoint: Sendable, Equatable {
    /// The checkpoint section the daemon stores this in.
    public static let sectionName = "alerts"
    static let version: UInt64 = 1
    /// Most alerts accepted per rule when decoding (a corrupt count must not allocate without bound).
    static let maxAlertsPerRule = 1 << 20

    /// When the states were taken (the last evaluation's time): the restore uses it to leave the
    /// time the agent was down out of pending durations.
    public var savedAt: Timestamp
    /// States by rule key (`RuleKey.string`).
    var rules: [String: [AlertStateMachine.Tracked]]

    /// An empty checkpoint taken at `savedAt`.
    public init(savedAt: Timestamp) {
        self.savedAt = savedAt
        rules = [:]
    }

    /// Adds the states of one rule.
    public mutating func add(_ machine: AlertStateMachine, key: RuleKey) {
        rules[key.string] = Array(machine.tracked.values).sorted { $0.identity.encoded.lexicographicallyPrecedes($1.identity.encoded) }
    }

    /// Number of rules with states.
    public var ruleCount: Int { rules.count }

    /// Restores the states saved for `key` into `machine` at time `now` (see `AlertStateMachine.restore`).
    /// Returns the number of alerts restored.
    @discardableResult
    public func restore(into machine: inout AlertStateMachine, key: RuleKey, now: Timestamp,
                        forGracePeriod: Milliseconds = AlertStateMachine.defaultForGracePeriod) -> Int {
        guard let saved = rules[key.string] else { return 0 }
        return machine.restore(saved, savedAt: savedAt, now: now, forGracePeriod: forGracePeriod)
    }

    /// The checkpoint's bytes.
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.varint(Self.version)
        w.signed(savedAt)
        w.varint(rules.count)
        for key in rules.keys.sorted() {
            w.string(key)
            let alerts = rules[key]!
            w.varint(alerts.count)
            for a in alerts { a.encode(into: &w) }
        }
        return w.bytes
    }

    /// Decodes what `encoded()` wrote; throws on truncated, corrupt or newer-format bytes.
    public init(decoding bytes: [UInt8]) throws(CheckpointError) {
        var r = ByteReader(bytes)
        let version = try r.varint()
        guard version == Self.version else { throw .malformed("alert states have format version \(version); this agent reads \(Self.version)") }
        savedAt = try r.signed()
        // Counts are bounded by their limits and by the bytes left, before anything is reserved.
        let n = try r.count(limit: 1 << 20, each: 2)
        rules = [:]
        for _ in 0..<n {
            let key = try r.string()
            let count = try r.count(limit: Self.maxAlertsPerRule, each: AlertStateMachine.Tracked.minimumEncodedBytes)
            var alerts: [AlertStateMachine.Tracked] = []
            alerts.reserveCapacity(min(count, 1024))
            for _ in 0..<count { alerts.append(try AlertStateMachine.Tracked(decoding: &r)) }
            rules[key] = alerts
        }
        guard r.atEnd else { throw .malformed("trailing bytes after the alert states") }
    }
}

/// A rule's stable name across restarts: its file, group and name (`RuleGroup.checkpointNames`).
public struct RuleKey: Sendable, Hashable {
    public var file: String
    public var group: String
    public var rule: String
    public init(file: String, group: String, rule: String) {
        self.file = file
        self.group = group
        self.rule = rule
    }
    var string: String { "\(file)\u{0}\(group)\u{0}\(rule)" }
}

extension AlertStateMachine {
    /// Prometheus's `rules.alert.for-grace-period` default: a restored pending alert gets at least
    /// this long before it may fire, so that it does not fire on the first evaluation after a restart
    /// with only seconds of evidence.
    public static let defaultForGracePeriod: Milliseconds = 10 * 60_000

    /// Takes over alerts saved at `savedAt`, at time `now`, the way Prometheus's `RestoreForState` does:
    /// - firing alerts stay firing with their `firedAt`, so the next evaluation that still sees them
    ///   does not fire them again (and one that no longer sees them resolves them, as usual);
    /// - pending alerts keep the time they had spent pending; the outage (`now − savedAt`) does not
    ///   count, since nobody saw the condition hold meanwhile. If less than `forGracePeriod` would be
    ///   left, and the rule's `for` is at least that long, the alert gets `forGracePeriod` more;
    /// - resolved alerts are kept until their 15 minutes of retention are over.
    /// Alerts already tracked (evaluated since the start) are left as they are.
    @discardableResult
    mutating func restore(_ saved: [Tracked], savedAt: Timestamp, now: Timestamp, forGracePeriod: Milliseconds) -> Int {
        let downtime = max(0, now - savedAt)
        var restored = 0
        for var a in saved {
            // Checkpoints before duplicate alert names were allowed kept `severity` out of every
            // identity; a rule without tiers now has it in (as Prometheus does).
            if tiers.isEmpty, let severity = a.severity, a.identity[Alert.severityLabel] == nil {
                a.identity = a.identity.setting(Alert.severityLabel, to: severity)
            }
            guard tracked[a.identity] == nil else { continue }
            if a.tierSince.count != tierCount {
                a.tierSince = Array(repeating: a.activeAt, count: tierCount)
            }
            switch a.state {
            case .resolved:
                guard let resolvedAt = a.resolvedAt, now - resolvedAt <= Self.resolvedRetention else { continue }
            case .firing:
                a.tierSince = a.tierSince.map { $0.map { $0 + downtime } }
                a.keepFiringSince = a.keepFiringSince.map { $0 + downtime }
                a.tierKeepSince = a.tierKeepSince.map { $0 + downtime }
            case .pending:
                a.activeAt += downtime
                for i in 0..<tierCount {
                    guard var since = a.tierSince[i].map({ $0 + downtime }) else { continue }
                    let hold = hold(ofTier: i)
                    let remaining = hold - (now - since)
                    if hold >= forGracePeriod, remaining < forGracePeriod { since = now + forGracePeriod - hold }
                    a.tierSince[i] = since
                }
                a.activeAt = a.tierSince.compactMap { $0 }.min() ?? a.activeAt
            }
            tracked[a.identity] = a
            restored += 1
        }
        return restored
    }
}

extension AlertStateMachine.Tracked {
    /// The least bytes an encoded alert takes: identity length, state, severity flag, value,
    /// active time, four time flags, tier count, previous severity and change flags, annotation
    /// count, last evaluation.
    static let minimumEncodedBytes = 1 + 1 + 1 + 8 + 1 + 4 + 1 + 2 + 1 + 1

    func encode(into w: inout ByteWriter) {
        w.blob(identity.encoded)
        w.byte(state == .pending ? 0 : state == .firing ? 1 : 2)
        w.optionalString(severity)
        w.double(value)
        w.signed(activeAt)
        for t in [firedAt, resolvedAt, keepFiringSince, tierKeepSince] { w.optionalSigned(t) }
        w.varint(tierSince.count)
        for t in tierSince { w.optionalSigned(t) }
        w.optionalString(previousSeverity)
        w.optionalSigned(severityChangedAt)
        w.varint(annotations.count)
        for key in annotations.keys.sorted() {
            w.string(key)
            w.string(annotations[key]!)
        }
        w.signed(lastEvaluatedAt)
    }

    init(decoding r: inout ByteReader) throws(CheckpointError) {
        guard let identity = Labels(encoded: try r.blob()) else { throw .malformed("an alert's labels are not a valid label set") }
        self.identity = identity
        switch try r.byte() {
        case 0: state = .pending
        case 1: state = .firing
        case 2: state = .resolved
        case let b: throw .malformed("unknown alert state \(b)")
        }
        severity = try r.optionalString()
        value = try r.double()
        activeAt = try r.signed()
        firedAt = try r.optionalSigned()
        resolvedAt = try r.optionalSigned()
        keepFiringSince = try r.optionalSigned()
        tierKeepSince = try r.optionalSigned()
        let n = try r.count(limit: 1024, each: 1)
        var since: [Timestamp?] = []
        for _ in 0..<n { since.append(try r.optionalSigned()) }
        tierSince = since
        previousSeverity = try r.optionalString()
        severityChangedAt = try r.optionalSigned()
        let m = try r.count(limit: 4096, each: 2)
        var annotations: [String: String] = [:]
        for _ in 0..<m {
            let key = try r.string()
            annotations[key] = try r.string()
        }
        self.annotations = annotations
        lastEvaluatedAt = try r.signed()
        if state == .firing, firedAt == nil { throw .malformed("a firing alert without its firing time") }
        if state == .resolved, resolvedAt == nil { throw .malformed("a resolved alert without its resolution time") }
    }
}
