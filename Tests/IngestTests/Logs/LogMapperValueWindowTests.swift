import Foundation
import Logging
import Synchronization
import Testing
import TimeSeries

@testable import Ingest

/// The per-value state of a log's labels (values admitted under a cap, cached raw combinations)
/// is forgotten once a cap or the cache is full and the store's series expiry has passed, so it
/// neither grows nor pins a label to `__other__` forever.
@Suite struct LogMapperValueWindowTests {
    final class Clock: Sendable {
        let now = Mutex<Timestamp>(1_714_564_800_000)
        var function: @Sendable () -> Timestamp { { [self] in now.withLock { $0 } } }
        func advance(by ms: Int64) { now.withLock { $0 += ms } }
    }

    func harness(maxValues: Int, lineKeyLimit: Int = 262_144) throws -> (LogMapper, SeriesStore, Clock) {
        let clock = Clock()
        var config = StoreConfig()
        config.expireAfter = 600_000
        let store = SeriesStore(config: config, clock: clock.function)
        var version = LogLabelSpec(field: "version")
        version.maxValues = maxValues
        let mapping = LogMapping(paths: ["x"], metrics: [LogMetricSpec(name: "lines_total", kind: .counter, labels: [version])])
        let mapper = try LogMapper(mapping: mapping, store: store, time: .arrival, logger: Logger(label: "test"),
                                   clock: clock.function, lineKeyLimit: lineKeyLimit)
        return (mapper, store, clock)
    }

    func feed(_ mapper: LogMapper, _ values: [String]) {
        for value in values {
            var bytes = Array(#"{"version":"\#(value)"}"#.utf8)
            bytes.withUnsafeMutableBytes { mapper.consume(line: UnsafeRawBufferPointer($0), file: LogFileID(index: 0)) }
        }
        mapper.flush()
    }

    func versions(_ store: SeriesStore) -> [String: Double] {
        store.read { r in
            var out: [String: Double] = [:]
            for ref in r.allSeries() { out[r.labels(of: ref)?["version"] ?? "?"] = r.latest(of: ref)?.value }
            return out
        }
    }

    @Test func aCappedLabelAdmitsNewValuesOnceItsOldOnesHadTheirWindow() throws {
        let (mapper, store, clock) = try harness(maxValues: 2)
        feed(mapper, ["v1", "v2", "v3"])
        #expect(versions(store) == ["v1": 1, "v2": 1, "__other__": 1])
        // Within the window, a new value stays __other__.
        clock.advance(by: 300_000)
        feed(mapper, ["v4"])
        #expect(versions(store)["__other__"] == 2)
        #expect(mapper.stats.valueWindows == 0)
        // Past the window (the store's series expiry), the next full cap forgets the old values at
        // the end of its batch; the values that come next are admitted.
        clock.advance(by: 300_000)
        feed(mapper, ["v5"])
        #expect(mapper.stats.valueWindows == 1)
        feed(mapper, ["v5", "v6", "v7"])
        let now = versions(store)
        #expect(now["v5"] == 1 && now["v6"] == 1, "\(now)")
        #expect(now["__other__"] == 4, "v7 over the cap of the new window")
        // A series that kept its value goes on counting in the same store series.
        feed(mapper, ["v5"])
        #expect(versions(store)["v5"] == 2)
    }

    @Test func aFullLineKeyCacheIsForgottenAfterTheWindowAndCountsStayExact() throws {
        let (mapper, store, clock) = try harness(maxValues: 1_000, lineKeyLimit: 4)
        feed(mapper, (0..<10).map { "a\($0)" })
        #expect(mapper.stats.labelCacheMisses == 6)
        #expect(mapper.core.table.count == 4)
        clock.advance(by: 600_000)
        feed(mapper, ["a9", "b1"])
        #expect(mapper.stats.valueWindows == 1)
        #expect(mapper.core.table.count == 0)
        feed(mapper, ["a9", "b1", "b2"])
        #expect(mapper.core.table.count == 3)
        let counts = versions(store)
        #expect(counts["a9"] == 3 && counts["b1"] == 2 && counts["b2"] == 1 && counts["a0"] == 1, "\(counts)")
    }
}
