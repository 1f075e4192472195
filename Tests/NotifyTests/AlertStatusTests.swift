import Testing
import TextRendering
import TimeSeries
@testable import Notify

@Suite struct AlertStatusTests {
    let clock = ManualClock()

    func tree() throws -> Route {
        try Route(root: .init(
            receiver: "chat", groupBy: .labels(["alertname"]),
            routes: [.init(receiver: "pager", matchers: [m("severity=\"critical\"")], continue: true),
                     .init(receiver: "db", matchers: [m("team=\"db\"")])]))
    }

    @Test func receiversFollowTheRoutesInTreeOrder() throws {
        let critical = Labels(["alertname": "Disk", "severity": "critical", "team": "db"])
        let statuses = AlertStatus.of([critical, Labels(["alertname": "Cpu"])], route: try tree(), inhibitor: Inhibitor(rules: []), silences: [])
        #expect(statuses.map(\.receivers) == [["pager", "db"], ["chat"]])
        #expect(statuses.allSatisfy { $0.state == .active })
        #expect(AlertStatus.of([critical], route: nil, inhibitor: Inhibitor(rules: []), silences: [])[0].receivers.isEmpty)
    }

    @Test func silencesAndTheInhibitingAlertAreNamed() throws {
        let silences = Silences(clock: clock.read)
        let s = try silences.add(matchers: [m("alertname=\"Cpu\"")], endsAt: clock.value + 60_000, createdBy: "a", comment: "c")
        let critical = Labels(["alertname": "Disk", "severity": "critical"])
        let high = Labels(["alertname": "Disk", "severity": "high"])
        let cpu = Labels(["alertname": "Cpu", "severity": "high"])
        let statuses = AlertStatus.of(
            [critical, high, cpu], route: try tree(), inhibitor: Inhibitor(rules: [.severityDefault]), silences: silences.activeSnapshot())
        #expect(statuses[0].state == .active)
        #expect(statuses[1].inhibitedBy == [critical.alertmanagerFingerprint])
        #expect(statuses[1].state == .suppressed)
        #expect(statuses[2].silencedBy == [s.id])
        #expect(statuses[2].inhibitedBy.isEmpty, "a critical Disk does not mute Cpu (equal: alertname)")
    }

    @Test func groupsAreFormedPerRouteAndGroupLabelsAndFiltered() throws {
        let alerts = [
            Labels(["alertname": "Disk", "severity": "critical", "instance": "b"]),
            Labels(["alertname": "Disk", "severity": "critical", "instance": "a"]),
            Labels(["alertname": "Cpu", "severity": "high"]),
        ]
        let groups = AlertGroupView.groups(of: alerts, route: try tree(), takesRoute: { _ in true }, takesAlert: { _ in true })
        // By group labels, then receiver; members in label order (instance a before b); a critical Disk
        // goes to the pager only (no later sibling takes it, so not to the root either).
        #expect(groups.map { "\($0.labels["alertname"]!)>\($0.receiver):\($0.members)" } == ["Cpu>chat:[2]", "Disk>pager:[1, 0]"])
        let pagerOnly = AlertGroupView.groups(of: alerts, route: try tree(), takesRoute: { $0.receiver == "pager" }, takesAlert: { $0 != 0 })
        #expect(pagerOnly.map(\.members) == [[1]])
        #expect(AlertGroupView.groups(of: alerts, route: try tree(), takesRoute: { _ in true }, takesAlert: { _ in false }).isEmpty)
    }

    @Test func millisecondTimesAreAsGoOpenAPIWritesThem() {
        #expect(RFC3339.formatMillis(0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.formatMillis(1_700_000_000_120) == "2023-11-14T22:13:20.120Z")
        #expect(RFC3339.formatMillis(-1) == "1969-12-31T23:59:59.999Z")
    }

    /// Values Alertmanager's `model.LabelSet.Fingerprint().String()` gives (checked against the
    /// real Alertmanager in `AlertmanagerTests`): FNV-1a 64 over name, 0xFF, value, 0xFF in name order.
    @Test func fingerprintsAreAlertmanagers() {
        #expect(Labels().alertmanagerFingerprint == "cbf29ce484222325")
        #expect(Labels(["a": "b"]).alertmanagerFingerprint.count == 16)
        #expect(Labels(["b": "2", "a": "1"]).alertmanagerFingerprint == Labels(["a": "1", "b": "2"]).alertmanagerFingerprint)
    }
}
