import Testing
import TimeSeries
@testable import Notify

@Suite struct SilencesTests {
    let clock = ManualClock()

    @Test func aSilenceMutesMatchingAlertsOnlyWhileActive() throws {
        let silences = Silences(clock: clock.read)
        let start = clock.value + 60_000
        let s = try silences.add(
            matchers: [m("alertname=\"Latency\""), m("instance=~\"api-.*\"")], startsAt: start, endsAt: start + 3_600_000,
            createdBy: "ana", comment: "deploy window")
        let hit = Labels(["alertname": "Latency", "instance": "api-1", "severity": "high"])
        let miss = Labels(["alertname": "Latency", "instance": "db-1"])
        #expect(silences.silencing(hit).isEmpty, "pending")
        clock.advance(seconds: 60)
        #expect(silences.silencing(hit) == [s.id])
        #expect(silences.silencing(miss).isEmpty)
        clock.advance(seconds: 3600)
        #expect(silences.silencing(hit).isEmpty, "ran out")
        #expect(silences.list(states: [.expired]).map(\.id) == [s.id])
    }

    @Test func expireEndsASilenceNow() throws {
        let silences = Silences(clock: clock.read)
        let s = try silences.add(matchers: [m("alertname=\"X\"")], endsAt: clock.value + 3_600_000, createdBy: "a", comment: "c")
        #expect(silences.list(states: [.active]).count == 1)
        clock.advance(seconds: 1)
        let expired = try silences.expire(id: s.id)
        #expect(expired.endsAt == clock.value)
        #expect(silences.silencing(Labels(["alertname": "X"])).isEmpty)
        #expect(throws: SilenceError("silence \(s.id) already expired")) { try silences.expire(id: s.id) }
        #expect(throws: SilenceError.notFound("nope")) { try silences.expire(id: "nope") }
    }

    @Test func setChangesAnActiveSilenceInPlaceWhenOnlyItsEndAndTextChange() throws {
        let silences = Silences(clock: clock.read)
        let s = try silences.add(matchers: [m("alertname=\"X\"")], endsAt: clock.value + 3_600_000, createdBy: "a", comment: "c")
        clock.advance(seconds: 10)
        let changed = try silences.set(
            id: s.id, matchers: s.matchers, startsAt: s.startsAt, endsAt: clock.value + 7_200_000, createdBy: "b", comment: "longer")
        #expect(changed.id == s.id)
        #expect(changed.updatedAt == clock.value)
        #expect(silences.list().map(\.comment) == ["longer"])
    }

    @Test func setReplacesASilenceWhoseMatchersOrActiveStartChange() throws {
        let silences = Silences(clock: clock.read)
        let s = try silences.add(matchers: [m("alertname=\"X\"")], endsAt: clock.value + 3_600_000, createdBy: "a", comment: "c")
        clock.advance(seconds: 10)
        let other = try silences.set(id: s.id, matchers: [m("alertname=\"Y\"")], endsAt: clock.value + 60_000, createdBy: "a", comment: "c")
        #expect(other.id != s.id)
        #expect(silences.silence(id: s.id)?.state(at: clock.value) == .expired, "the old one is expired")
        clock.advance(seconds: 10)
        let moved = try silences.set(
            id: other.id, matchers: other.matchers, startsAt: clock.value + 1000, endsAt: clock.value + 60_000, createdBy: "a", comment: "c")
        #expect(moved.id != other.id, "an active silence's start cannot move")
        #expect(silences.list(states: [.pending]).map(\.id) == [moved.id])
    }

    @Test func setOfAnUnknownIdIsNotFoundAndARefusedChangeKeepsTheOldSilence() throws {
        let silences = Silences(clock: clock.read)
        #expect(throws: SilenceError.notFound("nope")) {
            try silences.set(id: "nope", matchers: [m("a=\"b\"")], endsAt: clock.value + 1000, createdBy: "a", comment: "c")
        }
        let s = try silences.add(matchers: [m("alertname=\"X\"")], endsAt: clock.value + 3_600_000, createdBy: "a", comment: "c")
        #expect(throws: SilenceError.self) {
            try silences.set(id: s.id, matchers: [m("team=~\".*\"")], endsAt: clock.value + 1000, createdBy: "a", comment: "c")
        }
        #expect(silences.silence(id: s.id) == s)
    }

    @Test func invalidSilencesAreRefusedWithAReason() {
        let silences = Silences(clock: clock.read)
        let later = clock.value + 3_600_000
        let cases: [([Matcher], Timestamp?, Timestamp, String, String, String)] = [
            ([], nil, later, "a", "c", "at least one matcher"),
            ([m("team=~\".*\"")], nil, later, "a", "c", "must not match an empty value"),
            ([m("a=\"b\"")], later, later, "a", "c", "end after it starts"),
            ([m("a=\"b\"")], clock.value - 10_000, clock.value - 1, "a", "c", "end in the past"),
            ([m("a=\"b\"")], nil, later, " ", "c", "who creates"),
            ([m("a=\"b\"")], nil, later, "a", "", "why"),
        ]
        for (matchers, start, end, author, comment, reason) in cases {
            #expect {
                try silences.add(matchers: matchers, startsAt: start, endsAt: end, createdBy: author, comment: comment)
            } throws: { ($0 as? SilenceError)?.message.contains(reason) ?? false }
        }
        #expect(silences.list().isEmpty)
    }

    @Test func idsAreVersion4UUIDs() throws {
        let silences = Silences(clock: clock.read)
        var ids = Set<String>()
        for _ in 0..<50 {
            let s = try silences.add(matchers: [m("a=\"b\"")], endsAt: clock.value + 1000, createdBy: "a", comment: "c")
            #expect(s.id.count == 36)
            #expect(Array(s.id)[14] == "4")
            ids.insert(s.id)
        }
        #expect(ids.count == 50)
    }

    @Test func silencesSurviveEncodingAndExpiredOnesAreForgottenAfterRetention() throws {
        let silences = Silences(retention: .seconds(3600), clock: clock.read)
        let a = try silences.add(matchers: [m("alertname=\"A\""), m("x!~\"1|2\"")], endsAt: clock.value + 7_200_000, createdBy: "ana", comment: "c1")
        let b = try silences.add(matchers: [m("alertname=\"B\"")], endsAt: clock.value + 60_000, createdBy: "bo", comment: "c2 \"quoted\"")
        let bytes = silences.encoded()
        let restored = Silences(retention: .seconds(3600), clock: clock.read)
        try restored.restore(from: bytes)
        #expect(restored.list() == silences.list())
        #expect(restored.silence(id: a.id) == a)
        clock.advance(seconds: 60 + 3600)
        #expect(restored.silence(id: b.id) != nil)
        _ = restored.list()
        #expect(restored.silence(id: b.id) == nil, "expired more than the retention ago")
        #expect(restored.silence(id: a.id) != nil)
    }

    @Test func damagedEncodingsAreRefusedWithoutChangingAnything() throws {
        let silences = Silences(clock: clock.read)
        try silences.add(matchers: [m("alertname=\"A\"")], endsAt: clock.value + 60_000, createdBy: "a", comment: "c")
        let bytes = silences.encoded()
        let target = Silences(clock: clock.read)
        let kept = try target.add(matchers: [m("alertname=\"K\"")], endsAt: clock.value + 60_000, createdBy: "a", comment: "c")
        for cut in 0..<bytes.count {
            #expect(throws: CheckpointError.self) { try target.restore(from: Array(bytes.prefix(cut))) }
        }
        #expect(throws: CheckpointError.self) { try target.restore(from: bytes + [0]) }
        #expect(target.list().map(\.id) == [kept.id])
    }
}
