import Testing
import TimeSeries
@testable import Notify

@Suite struct InhibitorTests {
    let inhibitor = Inhibitor(rules: [InhibitRule.severityDefault])

    func source(_ l: Labels, _ fp: UInt64) -> (labels: Labels, fingerprint: UInt64) { (l, fp) }

    func labels(_ name: String, _ severity: String, _ extra: [String: String] = [:]) -> Labels {
        var l = extra
        l["alertname"] = name
        l["severity"] = severity
        return Labels(l)
    }

    @Test func aCriticalAlertMutesLowerTiersOfTheSameName() {
        let index = inhibitor.index(firing: [source(labels("Latency", "critical", ["instance": "a"]), 1)])
        #expect(index.mutes(labels("Latency", "high", ["instance": "b"]), fingerprint: 2))
        #expect(index.mutes(labels("Latency", "low"), fingerprint: 3))
        #expect(!index.mutes(labels("Errors", "high"), fingerprint: 4), "other alertname")
        #expect(!index.mutes(labels("Latency", "critical", ["instance": "b"]), fingerprint: 5), "not a target")
    }

    @Test func equalLabelsMustMatchAndMissingOnesAreEqual() {
        let rule = InhibitRule(source: [m("severity=\"critical\"")], target: [m("severity=\"high\"")], equal: ["cluster", "zone"])
        let index = Inhibitor(rules: [rule]).index(firing: [source(labels("A", "critical", ["cluster": "eu"]), 1)])
        #expect(index.mutes(labels("B", "high", ["cluster": "eu"]), fingerprint: 2))
        #expect(!index.mutes(labels("B", "high", ["cluster": "us"]), fingerprint: 3))
        #expect(!index.mutes(labels("B", "high", ["cluster": "eu", "zone": "1"]), fingerprint: 4))
    }

    @Test func anAlertMatchingBothSidesIsNotMutedByItself() {
        let rule = InhibitRule(source: [m("team=\"db\"")], target: [m("team=\"db\"")], equal: ["alertname"])
        let one = Inhibitor(rules: [rule]).index(firing: [source(labels("A", "high", ["team": "db"]), 1)])
        #expect(!one.mutes(labels("A", "high", ["team": "db"]), fingerprint: 1))
        let two = Inhibitor(rules: [rule]).index(firing: [
            source(labels("A", "high", ["team": "db"]), 1),
            source(labels("A", "high", ["team": "db", "i": "2"]), 2),
        ])
        #expect(two.mutes(labels("A", "high", ["team": "db"]), fingerprint: 1))
    }

    @Test func withoutSourcesNothingIsMuted() {
        let index = inhibitor.index(firing: [source(labels("A", "high"), 1)])
        #expect(!index.mutes(labels("A", "low"), fingerprint: 2))
    }
}
