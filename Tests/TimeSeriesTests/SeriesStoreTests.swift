import Testing
import Foundation
@testable import TimeSeries

@Suite struct SeriesStoreTests {
    let t0: Timestamp = 1_700_000_000_000

    func store(_ configure: (inout StoreConfig) -> Void = { _ in }, clock: TestClock? = nil) -> (SeriesStore, TestClock) {
        var config = StoreConfig()
        configure(&config)
        let c = clock ?? TestClock(t0)
        return (SeriesStore(config: config, clock: c.function), c)
    }

    @Test func gaugesRefuseOutOfOrderAndConflictingDuplicatesLikePrometheus() {
        let (s, _) = store()
        let up = Labels(name: "up", ["job": "api"])
        s.write { w in
            #expect(w.append(up, kind: .gauge, value: 1, at: t0) == .ok)
            #expect(w.append(up, kind: .gauge, value: 1, at: t0) == .ok)  // identical duplicate
            #expect(w.append(up, kind: .gauge, value: 0, at: t0) == .duplicate)
            #expect(w.append(up, kind: .gauge, value: 0, at: t0 - 1) == .outOfOrder)
            #expect(w.append(up, kind: .gauge, value: 0, at: t0 + 15_000) == .ok)
        }
        let stats = s.stats
        #expect(stats.duplicates == 1 && stats.outOfOrder == 1 && stats.series == 1 && stats.gauges == 1)
        s.read { r in
            let ref = r.ref(for: up)!
            var out: [Sample] = []
            r.samples(of: ref, from: t0 - 1, through: t0 + 15_000, into: &out)
            #expect(out == [Sample(timestamp: t0, value: 1), Sample(timestamp: t0 + 15_000, value: 0)])
            #expect(r.latestSample(of: ref, at: t0 + 20_000, lookback: 300_000)?.value == 0)
            #expect(r.latestSample(of: ref, at: t0 + 20_000 + 300_000, lookback: 300_000) == nil)
        }
    }

    @Test func samplesFromTheFarFutureAreRefusedSoTheyCannotWipeTheRing() {
        let (s, _) = store()
        s.write { w in
            #expect(w.append(Labels(name: "g"), kind: .gauge, value: 1, at: t0 + 3_600_000) == .tooFarAhead)
            #expect(w.append(Labels(name: "d"), kind: .distribution, value: 1, at: t0 + 3_600_000) == .tooFarAhead)
        }
        #expect(s.stats.tooFarAhead == 2)
    }

    @Test func theSeriesLimitDropsNewSeriesAndCountsThem() {
        let (s, _) = store { $0.seriesLimit = 3 }
        s.write { w in
            for i in 0..<5 { _ = w.append(Labels(name: "m", ["i": "\(i)"]), kind: .gauge, value: 1, at: t0) }
            // Existing series still take samples.
            #expect(w.append(Labels(name: "m", ["i": "0"]), kind: .gauge, value: 2, at: t0 + 1) == .ok)
        }
        #expect(s.stats.series == 3)
        #expect(s.stats.droppedSeriesLimit == 2)
    }

    @Test func silentSeriesExpireAndTheirRefsStopResolving() {
        let (s, clock) = store { $0.expireAfter = 60_000 }
        let (old, fresh) = s.write { w in
            (w.ref(for: Labels(name: "old"), kind: .gauge)!, w.ref(for: Labels(name: "fresh"), kind: .gauge)!)
        }
        s.write { w in _ = w.append(old, value: 1, at: t0) }
        clock.now += 50_000
        s.write { w in _ = w.append(fresh, value: 1, at: clock.now) }
        clock.now += 20_000
        #expect(s.expireSilentSeries() == 1)
        s.write { w in
            #expect(w.append(old, value: 2, at: clock.now) == .unknownSeries)
            #expect(w.append(fresh, value: 2, at: clock.now) == .ok)
            // A new series of the same labels gets a new ref.
            let again = w.ref(for: Labels(name: "old"), kind: .gauge)!
            #expect(again != old)
        }
        #expect(s.stats.expiredSeries == 1)
    }

    @Test func operationsThatDoNotFitTheKindAreRefused() {
        let (s, _) = store()
        s.write { w in
            let g = w.ref(for: Labels(name: "g"), kind: .gauge)!
            let d = w.ref(for: Labels(name: "d"), kind: .distribution)!
            let c = w.ref(for: Labels(name: "c"), kind: .counter)!
            #expect(w.observe(g, value: 1, at: t0) == .wrongKind)
            #expect(w.append(d, value: 1, at: t0) == .wrongKind)
            #expect(w.add(g, delta: 1, at: t0) == .wrongKind)
            #expect(w.add(c, delta: -1, at: t0) == .invalidValue)
            #expect(w.add(c, delta: .infinity, at: t0) == .invalidValue)
            #expect(w.observe(d, value: .nan, at: t0) == .invalidValue)
            // The first kind wins for a label set.
            #expect(w.ref(for: Labels(name: "g"), kind: .counter) == g)
        }
    }

    @Test func logCountersNeverLoseALateIncrement() {
        let (s, _) = store()
        s.write { w in
            let c = w.ref(for: Labels(name: "lines_total"), kind: .counter)!
            #expect(w.add(c, delta: 1, at: t0) == .ok)
            #expect(w.add(c, delta: 1, at: t0 + 5_000) == .ok)
            #expect(w.add(c, delta: 1, at: t0 + 1_000) == .ok)  // late: attributed to t0+5s
            #expect(w.add(c, delta: 2, at: t0 + 12_000) == .ok)
        }
        #expect(s.stats.lateIncrements == 1)
        s.read { r in
            let ref = r.ref(for: Labels(name: "lines_total"))!
            #expect(r.latest(of: ref)!.value == 5)
            var out: [Sample] = []
            r.samples(of: ref, from: t0 - 1, through: t0 + 20_000, into: &out)
            #expect(out == [Sample(timestamp: t0 + 5_000, value: 3), Sample(timestamp: t0 + 12_000, value: 5)])
        }
    }

    @Test func staleMarkersAreStoredAndEndTheSeries() {
        let (s, _) = store()
        let ref = s.write { w in
            let ref = w.ref(for: Labels(name: "g"), kind: .gauge)!
            _ = w.append(ref, value: 3, at: t0)
            _ = w.append(ref, value: .staleMarker, at: t0 + 15_000)
            return ref
        }
        s.read { r in
            let latest = r.latestSample(of: ref, at: t0 + 16_000, lookback: 300_000)!
            #expect(latest.value.isStaleMarker)
        }
    }

    @Test func distributionsAnswerWindowsAndCumulativeCounters() {
        let (s, _) = store()
        let lat = Labels(name: "latency_ms")
        s.write { w in
            for i in 0..<60 {  // one observation per second for a minute: 6 slots of 10
                _ = w.append(lat, kind: .distribution, value: Double(i), at: t0 + Int64(i) * 1000)
            }
        }
        s.read { r in
            let ref = r.ref(for: lat)!
            let all = r.summary(of: ref, from: t0 - 1, through: t0 + 59_999)!
            #expect(all.count == 60 && all.sum == Double((0..<60).reduce(0, +)) && all.min == 0 && all.max == 59)
            let last10s = r.summary(of: ref, from: t0 + 49_999, through: t0 + 59_999)!
            #expect(last10s.count == 10 && last10s.min == 50)
            #expect(withinRelativeError(last10s.quantile(0.5), 54, 0.01))
            var cumulative: [CumulativeSample] = []
            r.cumulative(of: ref, from: t0 - 1, through: t0 + 60_000, into: &cumulative)
            #expect(cumulative.map(\.count) == [10, 20, 30, 40, 50, 60])
            #expect(cumulative.map(\.timestamp) == (0..<6).map { t0 + Int64($0) * 10_000 + 9_000 })
            #expect(r.latest(of: ref)! == (t0 + 59_000, 60))
        }
    }

    @Test func readsChooseTheFinestRingThatReachesBackFarEnough() {
        let clock = TestClock(t0)
        let (s, _) = store({ c in
            c.resolution = 10_000
            c.retention = 600_000  // 10 min fine ring
            c.tiers = [.init(resolution: 60_000, retention: 7_200_000)]  // 1 min × 2 h
        }, clock: clock)
        let ref = s.write { w in w.ref(for: Labels(name: "g"), kind: .gauge)! }
        for minute in 0..<120 {
            clock.now = t0 + Int64(minute) * 60_000
            s.write { w in _ = w.append(ref, value: Double(minute), at: clock.now) }
        }
        s.read { r in
            var out: [Sample] = []
            r.samples(of: ref, from: clock.now - 300_000, through: clock.now, into: &out)
            #expect(out.count == 5)  // fine ring
            out.removeAll()
            r.samples(of: ref, from: clock.now - 3_600_000, through: clock.now, into: &out)
            #expect(out.count == 60)  // only the tier reaches an hour back
            #expect(out.last == Sample(timestamp: clock.now, value: 119))
        }
    }

    @Test func aStoreWithBadSettingsListsEveryProblem() {
        var c = StoreConfig()
        c.resolution = 0
        c.seriesLimit = 0
        c.tiers = [.init(resolution: 7_000, retention: 1_000)]
        #expect(c.problems().count >= 3)
        #expect(StoreConfig().problems().isEmpty)
    }

    @Test func concurrentWritersAndReadersSeeConsistentState() async {
        let (s, _) = store()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for i in 0..<2_000 {
                        s.write { w in
                            _ = w.append(Labels(name: "c", ["w": "\(worker)"]), kind: .counter, value: Double(i), at: self.t0 + Int64(i))
                        }
                        if i % 100 == 0 { _ = s.read { $0.allSeries().count } }
                    }
                }
            }
        }
        #expect(s.stats.samplesAppended == 8_000)
    }
}

@Suite struct PostingsTests {
    @Test func postingsFollowSeriesInAndOut() {
        let clock = TestClock(1_700_000_000_000)
        var config = StoreConfig()
        config.expireAfter = 60_000
        let store = SeriesStore(config: config, clock: clock.function)
        store.write { w in
            for route in ["/a", "/b"] {
                for status in ["200", "500"] {
                    _ = w.append(Labels(name: "req", ["route": route, "status": status]), kind: .counter, value: 1, at: clock.now)
                }
            }
            _ = w.append(Labels(name: "other", ["route": "/a"]), kind: .gauge, value: 1, at: clock.now)
        }
        store.read { r in
            #expect(r.seriesCount(withLabel: "route", equalTo: "/a") == 3)
            #expect(r.seriesCount(withLabel: "status", equalTo: "500") == 2)
            #expect(r.seriesCount(withLabel: "__name__", equalTo: "req") == 0)  // names live in their own index
            #expect(r.seriesCount(named: "req") == 4)
            #expect(Set(r.values(ofLabel: "status")) == ["200", "500"])
            let refs = r.series(withLabel: "route", equalTo: "/b")
            #expect(Set(refs.compactMap { r.labels(of: $0)?["status"] }) == ["200", "500"])
        }
        clock.now += 30_000
        store.write { w in _ = w.append(Labels(name: "other", ["route": "/a"]), kind: .gauge, value: 2, at: clock.now) }
        clock.now += 40_000
        #expect(store.expireSilentSeries() == 4)
        store.read { r in
            #expect(r.seriesCount(withLabel: "route", equalTo: "/a") == 1)
            #expect(r.seriesCount(withLabel: "status", equalTo: "500") == 0)
            #expect(r.values(ofLabel: "status").isEmpty)
        }
    }
}
