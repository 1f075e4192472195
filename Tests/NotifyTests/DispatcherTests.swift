import Alerting
import Testing
import TimeSeries
@testable import Notify

@Suite struct DispatcherTests {
    let clock = ManualClock()

    func dispatcher(
        _ spec: Route.Spec = Route.severityDefault(chat: "chat", pager: "pager"), inhibit: [InhibitRule] = [],
        silences: Silences? = nil, timings: [String: Dispatcher.ReceiverTiming] = [:]
    ) throws -> Dispatcher {
        try Dispatcher(
            route: Route(root: spec), inhibitor: Inhibitor(rules: inhibit), silences: silences ?? Silences(clock: clock.read),
            timings: timings, clock: clock.read)
    }

    func alert(_ name: String, _ severity: String? = "high", _ state: Alert.State = .firing, instance: String = "a") -> Alert {
        makeAlert(name, severity: severity, state: state, labels: ["instance": instance], at: clock.value)
    }

    /// Runs ticks every second for `seconds`, collecting what is notified.
    func run(_ d: Dispatcher, seconds: Int) -> [AlertNotification] {
        var out: [AlertNotification] = []
        for _ in 0..<seconds {
            clock.advance(seconds: 1)
            out += d.tick()
        }
        return out
    }

    @Test func aNewGroupWaitsGroupWaitAndCollectsItsAlerts() throws {
        let d = try dispatcher()
        #expect(d.receive([alert("Latency", instance: "a")]).isEmpty)
        clock.advance(seconds: 5)
        #expect(d.receive([alert("Latency", instance: "b")]).isEmpty)
        #expect(run(d, seconds: 4).isEmpty, "9 s after the first alert")
        let sent = run(d, seconds: 1)
        #expect(sent.count == 1)
        #expect(sent[0].receiver == "chat")
        #expect(sent[0].reason == .new)
        #expect(sent[0].alerts.map { $0.labels["instance"] } == ["a", "b"])
        #expect(sent[0].groupKey == "{}/{severity=~\"critical|high|medium\"}:{alertname=\"Latency\"}")
        #expect(sent[0].groupLabels == Labels(["alertname": "Latency"]))
    }

    @Test func changesWaitForGroupIntervalAndUnchangedGroupsRepeatAfterRepeatInterval() throws {
        let d = try dispatcher(.init(receiver: "chat", groupBy: .labels(["alertname"]), groupWait: .seconds(10), groupInterval: .seconds(60), repeatInterval: .seconds(600)))
        _ = d.receive([alert("Latency", instance: "a")])
        #expect(run(d, seconds: 10).count == 1)
        clock.advance(seconds: 10)
        _ = d.receive([alert("Latency", instance: "b")])
        #expect(run(d, seconds: 49).isEmpty, "group_interval not over")
        let second = run(d, seconds: 1)
        #expect(second.map(\.reason) == [.new])
        #expect(second.first?.alerts.count == 2)
        // Nothing changes: the next notification is the repeat, on the first flush 600 s after the last.
        let quiet = run(d, seconds: 599)
        #expect(quiet.isEmpty)
        let repeated = run(d, seconds: 1)
        #expect(repeated.map(\.reason) == [.repeat])
        #expect(Set([second[0].idempotencyKey, repeated[0].idempotencyKey]).count == 2)
    }

    @Test func resolvedAlertsAreAnnouncedOnceAtTheNextFlushAndTheGroupEnds() throws {
        let d = try dispatcher(.init(receiver: "chat", groupBy: .labels(["alertname"]), groupWait: .seconds(10), groupInterval: .seconds(60)))
        _ = d.receive([alert("Latency", instance: "a"), alert("Latency", instance: "b")])
        #expect(run(d, seconds: 10).count == 1)
        clock.advance(seconds: 20)
        _ = d.receive([alert("Latency", .some("high"), .resolved, instance: "a")])
        let partly = run(d, seconds: 40)
        #expect(partly.count == 1)
        #expect(partly[0].reason == .resolved)
        #expect(partly[0].status == .firing)
        #expect(partly[0].firing.count == 1)
        #expect(partly[0].resolved.map { $0.labels["instance"] } == ["a"])
        #expect(partly[0].resolved[0].endsAt == clock.value - 40_000)
        _ = d.receive([alert("Latency", .some("high"), .resolved, instance: "b")])
        let all = run(d, seconds: 60)
        #expect(all.count == 1)
        #expect(all[0].status == .resolved)
        #expect(all[0].alerts.map { $0.labels["instance"] } == ["b"], "a was announced already")
        #expect(d.stats.groups == 0)
        #expect(run(d, seconds: 600).isEmpty)
    }

    @Test func anAlertThatResolvesWithinGroupWaitIsNeverNotified() throws {
        let d = try dispatcher()
        _ = d.receive([alert("Blip")])
        clock.advance(seconds: 3)
        _ = d.receive([alert("Blip", "high", .resolved)])
        #expect(run(d, seconds: 120).isEmpty)
        #expect(d.stats.groups == 0)
    }

    @Test func pendingAlertsAreIgnored() throws {
        let d = try dispatcher()
        _ = d.receive([alert("Soon", "high", .pending)])
        #expect(run(d, seconds: 30).isEmpty)
        #expect(d.stats.alerts == 0)
    }

    @Test func groupWaitZeroNotifiesWithinReceive() throws {
        let d = try dispatcher(.init(receiver: "hook", groupWait: .zero))
        let now = d.receive([alert("Down", "critical")])
        #expect(now.count == 1)
        #expect(now[0].createdAt == clock.value)
    }

    @Test func criticalInhibitsLowerTiersOfTheSameAlertname() throws {
        let d = try dispatcher(.init(receiver: "chat", groupBy: .labels(["alertname", "instance"])), inhibit: [InhibitRule.severityDefault])
        _ = d.receive([alert("Latency", "critical", instance: "a"), alert("Latency", "high", instance: "b"), alert("Errors", "high", instance: "b")])
        let sent = run(d, seconds: 10)
        #expect(Set(sent.map { $0.groupLabels.description }) == ["{alertname=\"Latency\", instance=\"a\"}", "{alertname=\"Errors\", instance=\"b\"}"])
        #expect(d.stats.inhibited == 1)
        // The source resolves: the muted alert is notified at its group's next flush.
        _ = d.receive([alert("Latency", "critical", .resolved, instance: "a")])
        let after = run(d, seconds: 60)
        #expect(after.contains { $0.groupLabels["instance"] == "b" && $0.groupLabels["alertname"] == "Latency" && $0.reason == .new })
    }

    @Test func silencedAlertsAreLeftOutUntilTheSilenceEnds() throws {
        let silences = Silences(clock: clock.read)
        let d = try dispatcher(.init(receiver: "chat", groupBy: .labels(["alertname"])), silences: silences)
        let s = try silences.add(matchers: [m("instance=\"a\"")], endsAt: clock.value + 300_000, createdBy: "ops", comment: "maintenance")
        _ = d.receive([alert("Latency", instance: "a"), alert("Latency", instance: "b")])
        let first = run(d, seconds: 10)
        #expect(first.count == 1)
        #expect(first[0].alerts.map { $0.labels["instance"] } == ["b"])
        #expect(run(d, seconds: 120).isEmpty)
        try silences.expire(id: s.id)
        let after = run(d, seconds: 60)
        #expect(after.count == 1)
        #expect(after[0].alerts.map { $0.labels["instance"] } == ["a", "b"])
        #expect(d.stats.silenced >= 1)
    }

    @Test func aSilenceCoveringTheWholeGroupSendsNothing() throws {
        let silences = Silences(clock: clock.read)
        let d = try dispatcher(silences: silences)
        try silences.add(matchers: [m("alertname=\"Latency\"")], endsAt: clock.value + 3_600_000, createdBy: "ops", comment: "known")
        _ = d.receive([alert("Latency")])
        #expect(run(d, seconds: 600).isEmpty)
    }

    @Test func escalationNotifiesAtOnceAndPagesTheNewTier() throws {
        let d = try dispatcher()
        _ = d.receive([alert("Latency", "high")])
        let first = run(d, seconds: 10)
        #expect(first.map(\.receiver) == ["chat"])
        clock.advance(seconds: 5)
        let escalated = d.receive([alert("Latency", "critical")])
        #expect(Set(escalated.map(\.receiver)) == ["pager", "chat"], "at once, without waiting for group_wait or group_interval")
        let chat = try #require(escalated.first { $0.receiver == "chat" })
        #expect(chat.reason == .severityChanged)
        #expect(chat.alerts[0].severity == "critical")
        #expect(chat.alerts[0].previousSeverity == "high")
        #expect(escalated.first { $0.receiver == "pager" }?.reason == .new)
        #expect(d.stats.escalations == 1)
    }

    @Test func deEscalationResolvesThePageAndUpdatesTheChatAtOnce() throws {
        let d = try dispatcher()
        _ = d.receive([alert("Latency", "critical")])
        #expect(Set(run(d, seconds: 10).map(\.receiver)) == ["pager", "chat"])
        clock.advance(seconds: 3)
        let lowered = d.receive([alert("Latency", "medium")])
        let pager = try #require(lowered.first { $0.receiver == "pager" })
        #expect(pager.status == .resolved)
        #expect(pager.reason == .resolved)
        let chat = try #require(lowered.first { $0.receiver == "chat" })
        #expect(chat.reason == .severityChanged)
        #expect(chat.alerts[0].severity == "medium")
        #expect(chat.alerts[0].previousSeverity == "critical")
    }

    @Test func aTierChangeBeforeTheFirstNotificationWaitsForGroupWait() throws {
        let d = try dispatcher()
        _ = d.receive([alert("Latency", "high")])
        clock.advance(seconds: 2)
        #expect(d.receive([alert("Latency", "critical")]).isEmpty, "nobody was told about high yet")
        let sent = run(d, seconds: 10)
        #expect(Set(sent.map(\.receiver)) == ["pager", "chat"])
        #expect(sent.allSatisfy { $0.alerts.map(\.severity) == ["critical"] })
    }

    @Test func resendIntervalShortensTheRepeatForForwardingReceivers() throws {
        let d = try dispatcher(.init(receiver: "am", groupWait: .zero, groupInterval: .seconds(10)), timings: ["am": .init(resendInterval: .seconds(30))])
        #expect(d.receive([alert("Latency")]).count == 1)
        let repeats = run(d, seconds: 90)
        #expect(repeats.map(\.reason) == [.resend, .resend, .resend], "repeat_interval (4h) has not passed")
        #expect(repeats[0].validUntil - repeats[0].createdAt == 4 * 30_000)
    }

    @Test func resendsDoNotPostponeTheRepeatForEveryoneAcrossARestart() throws {
        let spec = Route.Spec(receiver: "am", groupWait: .zero, groupInterval: .seconds(10), repeatInterval: .seconds(120))
        let timings: [String: Dispatcher.ReceiverTiming] = ["am": .init(resendInterval: .seconds(30))]
        let d = try dispatcher(spec, timings: timings)
        #expect(d.receive([alert("Latency")]).map(\.reason) == [.new])
        #expect(run(d, seconds: 90).map(\.reason) == [.resend, .resend, .resend])
        let restarted = try dispatcher(spec, timings: timings)
        try restarted.restoreLog(from: d.encodedLog())
        _ = restarted.receive([alert("Latency")])
        #expect(run(restarted, seconds: 30).map(\.reason) == [.repeat], "120 s after the last notification everyone got")
    }

    @Test func aVersion1LogIsReadWithItsLastNotificationAsEveryones() throws {
        var w = ByteWriter()
        w.byte(1)
        w.varint(1)
        w.string("{}:{alertname=\"Latency\"}")
        w.string("chat")
        w.varint(4)
        w.signed(clock.value)
        w.varint(0)
        let d = try dispatcher()
        try d.restoreLog(from: w.bytes)
        #expect(d.exportLog() == [LogRecord(groupKey: "{}:{alertname=\"Latency\"}", receiver: "chat", sequence: 4, at: clock.value, everyoneAt: clock.value, firing: [:])])
    }

    @Test func theNotificationLogCarriesOverSoRestartsDoNotRenotify() throws {
        let d = try dispatcher()
        _ = d.receive([alert("Latency", "high")])
        let first = run(d, seconds: 10)
        #expect(first.count == 1)
        let bytes = d.encodedLog()

        clock.advance(seconds: 30)
        let restarted = try dispatcher()
        try restarted.restoreLog(from: bytes)
        _ = restarted.receive([alert("Latency", "high")])
        #expect(run(restarted, seconds: 120).isEmpty, "the receiver already knows")
        // A tier change after the restart is still seen as one, and notified at once.
        let escalated = restarted.receive([alert("Latency", "critical")])
        #expect(escalated.first { $0.receiver == "chat" }?.reason == .severityChanged)
        let chat = try #require(escalated.first { $0.receiver == "chat" })
        let expected = IdempotencyKey.derive(speaker: "chat", groupKey: chat.groupKey, sequence: "2", alerts: chat.alerts)
        #expect(chat.idempotencyKey == expected, "the sequence continues from the restored record")
        #expect(throws: CheckpointError.self) { try restarted.restoreLog(from: Array(bytes.prefix(bytes.count - 1))) }
    }

    @Test func alertsBeyondTheBoundAreDroppedAndCounted() throws {
        let d = try Dispatcher(route: Route(root: .init(receiver: "chat")), silences: Silences(clock: clock.read), maxAlerts: 3, clock: clock.read)
        _ = d.receive((0..<5).map { alert("A", instance: "\($0)") })
        #expect(d.stats.alerts == 3)
        #expect(d.stats.alertsDropped == 2)
    }

    @Test func nextDeadlineIsTheEarliestFlush() throws {
        let d = try dispatcher()
        #expect(d.nextDeadline() == nil)
        _ = d.receive([alert("A")])
        #expect(d.nextDeadline() == clock.value + 10_000)
    }
}

extension DispatcherTests {
    @Test func anAlertTheRulesStopSendingResolvesAfterTheTimeoutAndItsGroupGoes() throws {
        let d = try Dispatcher(
            route: Route(root: .init(receiver: "chat", groupBy: .labels(["alertname"]), groupWait: .seconds(10), groupInterval: .seconds(60))),
            silences: Silences(clock: clock.read), alertTimeout: .seconds(300), clock: clock.read)
        _ = d.receive([alert("Gone", instance: "a"), alert("Kept", instance: "a")])
        #expect(run(d, seconds: 10).count == 2)
        // The rule of "Gone" was removed: only "Kept" is handed over from now on.
        var sent: [AlertNotification] = []
        for _ in 0..<40 {
            _ = d.receive([alert("Kept", instance: "a")])
            sent += run(d, seconds: 10)
        }
        let resolved = sent.filter { $0.status == .resolved }
        #expect(resolved.count == 1)
        #expect(resolved.first?.groupLabels["alertname"] == "Gone")
        #expect(d.stats.expired == 1)
        #expect(d.stats.groups == 1, "the resolved group is dropped once its resolution was notified")
        #expect(d.stats.alerts == 1)
        #expect(!sent.contains { $0.groupLabels["alertname"] == "Kept" }, "an alert handed over again does not expire")
    }

    @Test func aGroupFormedAgainContinuesItsSequenceSoNoKeyRepeats() throws {
        let d = try dispatcher(.init(receiver: "chat", groupBy: .labels(["alertname"]), groupWait: .zero, groupInterval: .seconds(1)))
        var keys: [String] = []
        for _ in 0..<3 {
            keys += d.receive([alert("Flap")]).map(\.idempotencyKey)
            clock.advance(seconds: 2)
            keys += d.receive([alert("Flap", "high", .resolved)]).map(\.idempotencyKey)
            keys += run(d, seconds: 2).map(\.idempotencyKey)
            #expect(d.stats.groups == 0)
        }
        #expect(keys.count == 6)
        #expect(Set(keys).count == 6, "fire, resolve, fire again: every notification its own key")
    }

    @Test func restoredRecordsAndRememberedTiersAreBounded() throws {
        let d = try dispatcher()
        d.importLog((0..<50).map { LogRecord(groupKey: "g\($0)", receiver: "chat", sequence: 1, at: clock.value, firing: [UInt64($0): "high"]) })
        #expect(d.exportLog().count == 50)
        clock.advance(ms: Dispatcher.logRetention + 1000)
        _ = d.tick()
        #expect(d.exportLog().isEmpty, "records older than the retention go")
        #expect(d.state.withLock { $0.notifiedTier.isEmpty && $0.restored.isEmpty })
    }

    @Test func ofTwoRecordsForOneGroupTheHigherSequenceWins() throws {
        let d = try dispatcher()
        let older = LogRecord(groupKey: "g", receiver: "chat", sequence: 3, at: clock.value - 10, firing: [1: "high"])
        let newer = LogRecord(groupKey: "g", receiver: "chat", sequence: 5, at: clock.value - 20, firing: [:])
        d.importLog([newer])
        d.importLog([older])
        #expect(d.exportLog() == [newer])
    }
}

extension DispatcherTests {
    @Test func aResolutionRightAfterARestartIsAnnouncedToTheGroupThatAnnouncedTheFiring() throws {
        let d = try dispatcher()
        _ = d.receive([alert("Latency", "high", instance: "a"), alert("Latency", "high", instance: "b")])
        #expect(run(d, seconds: 10).count == 1)
        let bytes = d.encodedLog()

        // After the restart the rule finds "a" resolved at its first evaluation: it is never handed
        // over firing in this run.
        clock.advance(seconds: 30)
        let restarted = try dispatcher()
        try restarted.restoreLog(from: bytes)
        _ = restarted.receive([alert("Latency", "high", .resolved, instance: "a"), alert("Latency", "high", instance: "b")])
        let sent = run(restarted, seconds: 10)
        #expect(sent.count == 1)
        #expect(sent.first?.reason == .resolved)
        #expect(sent.first?.resolved.map { $0.labels["instance"] } == ["a"])
        #expect(sent.first?.firing.map { $0.labels["instance"] } == ["b"])

        // And when no alert of the group comes back at all, the group is formed from its record.
        let again = try dispatcher()
        try again.restoreLog(from: bytes)
        _ = again.receive([alert("Latency", "high", .resolved, instance: "a"), alert("Latency", "high", .resolved, instance: "b")])
        let both = run(again, seconds: 10)
        #expect(both.map(\.status) == [.resolved])
        #expect(Set(both.first?.resolved.compactMap { $0.labels["instance"] } ?? []) == ["a", "b"])
        #expect(again.stats.groups == 0)
        #expect(run(again, seconds: 600).isEmpty)
    }
}
