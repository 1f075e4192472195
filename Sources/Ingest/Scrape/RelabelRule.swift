import RE2

/// One `metric_relabel_configs` rule, with Prometheus's semantics and defaults.
///
/// The regular expression is RE2, anchored at both ends as Prometheus compiles it (`^(?s:regex)$`,
/// so `.` also matches a newline) and matched against the values of `sourceLabels` joined by
/// `separator`. Replacements expand `$1`, `${1}`, `$name` and `${name}` as Go's `Regexp.Expand`
/// does (`$1x` names the group `1x`, so write `${1}x`).
/// Rules run only when a series is first seen (the scrape cache remembers the outcome), so their
/// cost does not recur on every scrape.
public struct RelabelRule: Sendable, Equatable {
    /// What a rule does.
    public enum Action: String, Sendable, CaseIterable {
        /// Set `targetLabel` to the expanded `replacement` when the regex matches.
        case replace
        /// Keep the series only when the regex matches.
        case keep
        /// Drop the series when the regex matches.
        case drop
        /// Remove every label whose name matches.
        case labeldrop
        /// Remove every label whose name does not match.
        case labelkeep
        /// Copy every label whose name matches to the name the replacement gives.
        case labelmap
        /// Set `targetLabel` to the lower-cased source value.
        case lowercase
        /// Set `targetLabel` to the upper-cased source value.
        case uppercase
        /// Keep the series when the source value equals `targetLabel`'s value.
        case keepequal
        /// Drop the series when the source value equals `targetLabel`'s value.
        case dropequal
    }

    public var sourceLabels: [String]
    public var separator: String
    public var targetLabel: String
    public var replacement: String
    public var action: Action
    /// The pattern as written (unanchored).
    public let pattern: String
    let regex: RegularExpression

    /// A rule; throws `RelabelRuleError` when the pattern does not compile or a field the action
    /// needs is missing.
    public init(
        sourceLabels: [String] = [], separator: String = ";", regex: String = "(.*)", targetLabel: String = "",
        replacement: String = "$1", action: Action = .replace
    ) throws {
        self.sourceLabels = sourceLabels
        self.separator = separator
        self.targetLabel = targetLabel
        self.replacement = replacement
        self.action = action
        self.pattern = regex
        do {
            self.regex = try RegularExpression(regex, options: .prometheus)
        } catch {
            throw RelabelRuleError(message: "invalid regex \"\(regex)\": \(error.message)")
        }
        switch action {
        case .replace, .lowercase, .uppercase, .keepequal, .dropequal:
            if targetLabel.isEmpty { throw RelabelRuleError(message: "relabel action \(action.rawValue) needs target_label") }
        case .keep, .drop:
            if sourceLabels.isEmpty { throw RelabelRuleError(message: "relabel action \(action.rawValue) needs source_labels") }
        case .labeldrop, .labelkeep, .labelmap:
            break
        }
        if (action == .keepequal || action == .dropequal) && sourceLabels.isEmpty {
            throw RelabelRuleError(message: "relabel action \(action.rawValue) needs source_labels")
        }
    }

    /// Equal when written the same (the compiled regex follows from the pattern).
    public static func == (a: RelabelRule, b: RelabelRule) -> Bool {
        a.sourceLabels == b.sourceLabels && a.separator == b.separator && a.targetLabel == b.targetLabel
            && a.replacement == b.replacement && a.action == b.action && a.pattern == b.pattern
    }

    /// Applies the rules in order; false when the series is dropped.
    public static func apply(_ rules: [RelabelRule], to labels: inout [String: String]) -> Bool {
        for rule in rules where !rule.apply(to: &labels) { return false }
        return true
    }

    /// Applies this rule; false when it drops the series.
    func apply(to labels: inout [String: String]) -> Bool {
        let source = sourceLabels.map { labels[$0] ?? "" }.joined(separator: separator)
        switch action {
        case .keep:
            return matches(source)
        case .drop:
            return !matches(source)
        case .keepequal:
            return source == (labels[targetLabel] ?? "")
        case .dropequal:
            return source != (labels[targetLabel] ?? "")
        case .replace:
            guard let match = firstMatch(source) else { return true }
            let target = expand(targetLabel, match: match, in: source)
            guard isValidLabelName(target) else { return true }
            let value = expand(replacement, match: match, in: source)
            labels[target] = value.isEmpty ? nil : value
        case .lowercase:
            labels[targetLabel] = source.isEmpty ? nil : source.lowercased()
        case .uppercase:
            labels[targetLabel] = source.isEmpty ? nil : source.uppercased()
        case .labeldrop:
            for name in labels.keys where matches(name) { labels[name] = nil }
        case .labelkeep:
            for name in labels.keys where !matches(name) { labels[name] = nil }
        case .labelmap:
            for (name, value) in labels {
                guard let match = firstMatch(name) else { continue }
                let newName = expand(replacement, match: match, in: name)
                if isValidLabelName(newName) { labels[newName] = value }
            }
        }
        return true
    }

    func matches(_ text: String) -> Bool { regex.matches(text) }

    func firstMatch(_ text: String) -> RegularExpression.Match? { regex.firstMatch(in: text) }

    /// Go's `Regexp.ExpandString`, as Prometheus's relabelling uses it: `$n`, `${n}`, `$name`,
    /// `${name}`, `$$`; unknown groups expand to nothing.
    func expand(_ template: String, match: RegularExpression.Match, in text: String) -> String {
        guard template.utf8.contains(UInt8(ascii: "$")) else { return template }
        return regex.expand(template, match, in: text)
    }
}

/// A relabel rule that cannot work as written.
public struct RelabelRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
func isValidLabelName(_ name: String) -> Bool {
    guard let first = name.utf8.first, isLabelNameStart(first) else { return false }
    return name.utf8.allSatisfy(isLabelNameChar)
}
