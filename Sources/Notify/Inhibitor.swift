public import TimeSeries

/// One inhibition rule: while an alert matching `source` fires, alerts matching `target` with
/// the same values of the `equal` labels are muted (a missing label counts as the empty value).
public struct InhibitRule: Sendable, Equatable {
    public var source: [Matcher]
    public var target: [Matcher]
    public var equal: [String]

    public init(source: [Matcher], target: [Matcher], equal: [String]) {
        self.source = source
        self.target = target
        self.equal = equal
    }

    /// The default for severity tiers: a critical alert mutes the high, medium and low alerts of
    /// the same `alertname`.
    public static let severityDefault = InhibitRule(
        source: [try! Matcher(name: "severity", .equal, "critical")],
        target: [try! Matcher(name: "severity", .regexMatch, "high|medium|low")],
        equal: ["alertname"])
}

/// Decides which alerts are muted by which firing alerts, as Alertmanager's inhibitor does.
///
/// Built from the rules once; `index(firing:)` indexes the firing alerts that act as sources,
/// by rule and by the values of the `equal` labels, so each check is a hash lookup per rule.
/// An alert that matches both sides of a rule is never muted by itself, only by another alert.
public struct Inhibitor: Sendable {
    public let rules: [InhibitRule]
    let equal: [Set<String>]

    public init(rules: [InhibitRule]) {
        self.rules = rules
        equal = rules.map { Set($0.equal) }
    }

    /// The sources among `firing` (labels and fingerprint of each firing alert), indexed for `mutes`.
    public func index<S: Sequence>(firing: S) -> Index where S.Element == (labels: Labels, fingerprint: UInt64) {
        var sources: [[Labels: Set<UInt64>]] = Array(repeating: [:], count: rules.count)
        for alert in firing {
            for (i, rule) in rules.enumerated() where rule.source.matches(alert.labels) {
                sources[i][alert.labels.keeping(equal[i]), default: []].insert(alert.fingerprint)
            }
        }
        return Index(rules: rules, equal: equal, sources: sources)
    }

    /// The firing sources of each rule, by the values of its `equal` labels.
    public struct Index: Sendable {
        let rules: [InhibitRule]
        let equal: [Set<String>]
        let sources: [[Labels: Set<UInt64>]]

        /// True when an alert with these labels and fingerprint is muted.
        public func mutes(_ labels: Labels, fingerprint: UInt64) -> Bool {
            for (i, rule) in rules.enumerated() where !sources[i].isEmpty && rule.target.matches(labels) {
                guard let fingerprints = sources[i][labels.keeping(equal[i])] else { continue }
                if fingerprints.count > 1 || !fingerprints.contains(fingerprint) { return true }
            }
            return false
        }

        /// The fingerprint of a firing source that mutes this alert, or nil. Like Alertmanager's
        /// inhibitor, which marks an alert with one source (`inhibitedBy`), it names the first
        /// rule's source with the lowest fingerprint (deterministic across calls).
        public func inhibitor(of labels: Labels, fingerprint: UInt64) -> UInt64? {
            for (i, rule) in rules.enumerated() where !sources[i].isEmpty && rule.target.matches(labels) {
                guard let fingerprints = sources[i][labels.keeping(equal[i])] else { continue }
                if let source = fingerprints.filter({ $0 != fingerprint }).min() { return source }
            }
            return nil
        }
    }
}
