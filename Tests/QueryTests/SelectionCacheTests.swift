import Synchronization
import Testing
import Query
import TimeSeries

/// A rule's selections are kept between evaluations only while no series appears or goes.
@Suite struct SelectionCacheTests {
    func vector(_ v: QueryValue) -> [String: Double] {
        guard case .vector(let samples, _) = v else { return [:] }
        return Dictionary(uniqueKeysWithValues: samples.map { ($0.labels.description, $0.value) })
    }

    @Test func aCachedEvaluationSeesNewSamplesNewSeriesAndRemovedSeries() throws {
        let clock = Mutex<Timestamp>(1_000_000)
        var now: Timestamp {
            get { clock.withLock { $0 } }
            set { clock.withLock { $0 = newValue } }
        }
        let store = SeriesStore(config: StoreConfig(), clock: { clock.withLock { $0 } })
        let engine = Engine(store: store)
        let expr = try PromQL.parse(#"sum by (job) (rate(req_total{status=~"5.."}[5m])) or up{job="db"}"#)
        let cache = SelectionCache()
        func write(_ labels: [String: String], _ value: Double, at t: Timestamp) {
            store.write { w in
                let ref = w.ref(for: Labels(name: labels["__name__"]!, labels.filter { $0.key != "__name__" }), kind: .counter)!
                _ = w.append(ref, value: value, at: t)
            }
        }
        func both(at t: Timestamp) throws -> ([String: Double], [String: Double]) {
            var w: [String] = []
            let cached = try engine.instant(expr, at: t, cache: cache, warnings: &w)
            let plain = try engine.instant(expr, at: t)
            return (vector(cached), vector(plain))
        }
        for i in 0..<10 {
            write(["__name__": "req_total", "job": "api", "status": "500"], Double(i * 60), at: now + Int64(i) * 15_000)
        }
        now += 150_000
        var (cached, plain) = try both(at: now)
        #expect(cached == plain && cached.count == 1)
        // New samples of the same series: the cache holds, the values move.
        write(["__name__": "req_total", "job": "api", "status": "500"], 10_000, at: now + 15_000)
        now += 15_000
        (cached, plain) = try both(at: now)
        #expect(cached == plain)
        // A series the selector picks appears: it must be seen at once.
        write(["__name__": "req_total", "job": "web", "status": "503"], 1, at: now - 30_000)
        write(["__name__": "req_total", "job": "web", "status": "503"], 61, at: now)
        write(["__name__": "up", "job": "db"], 1, at: now)
        (cached, plain) = try both(at: now)
        #expect(cached == plain && cached.count == 3, "\(cached) vs \(plain)")
        // Series expire: they must be gone from the cached answer too.
        now += 3_600_000
        _ = store.expireSilentSeries()
        (cached, plain) = try both(at: now)
        #expect(cached == plain && cached.isEmpty, "\(cached)")
    }
}
