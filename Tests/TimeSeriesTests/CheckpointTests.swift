import Testing
import Foundation
@testable import TimeSeries

@Suite struct CheckpointTests {
    let t0: Timestamp = 1_700_000_000_000
    var config: StoreConfig {
        var c = StoreConfig(resolution: 10_000, retention: 600_000, tiers: [.init(resolution: 60_000, retention: 3_600_000)])
        c.sketchMaxBuckets = 512
        return c
    }

    /// A store with every kind of series and every kind of slot content.
    func randomizedStore(seed: UInt64, clock: TestClock) -> SeriesStore {
        let store = SeriesStore(config: config, clock: clock.function)
        var rng = SeededGenerator(seed: seed)
        for step in 0..<3_000 {
            clock.now = t0 + Int64(step) * 700
            store.write { w in
                let route = "/r\(rng.next() % 5)"
                _ = w.append(Labels(name: "temp", ["route": route]), kind: .gauge, value: rng.normal() * 10, at: clock.now)
                if rng.next() % 50 == 0 {
                    _ = w.append(Labels(name: "req_total", ["route": route]), kind: .counter, value: Double(rng.next() % 3), at: clock.now)
                } else {
                    let c = w.ref(for: Labels(name: "req_total", ["route": route]), kind: .counter)!
                    _ = w.add(c, delta: Double(rng.next() % 4), at: clock.now)
                }
                for _ in 0..<3 {
                    let late = Int64(rng.next() % 120_000)
                    _ = w.append(Labels(name: "lat", ["route": route]), kind: .distribution,
                                 value: exp(rng.normal()) * (rng.next() % 10 == 0 ? -1 : 1), at: clock.now - late)
                }
            }
        }
        return store
    }

    /// Everything a reader can see, rendered comparably.
    func snapshot(_ store: SeriesStore, at now: Timestamp) -> [String] {
        store.read { r in
            r.allSeries().map { ref -> String in
                var line = "\(r.labels(of: ref)!) \(r.kind(of: ref)!)"
                for window: Int64 in [30_000, 300_000, 3_000_000] {
                    var samples: [Sample] = []
                    r.samples(of: ref, from: now - window, through: now, into: &samples)
                    line += " \(samples.map { "\($0.timestamp)=\($0.value.bitPattern)" })"
                    line += " h\(r.hiddenResetIncrease(of: ref, from: now - window, through: now))"
                    if let s = r.summary(of: ref, from: now - window, through: now) {
                        line += " n\(s.count) s\(s.sum) \(s.min) \(s.max) q\([0.5, 0.9, 0.99].map { s.quantile($0) })"
                    }
                    var cumulative: [CumulativeSample] = []
                    r.cumulative(of: ref, from: now - window, through: now, into: &cumulative)
                    line += " c\(cumulative.map { "\($0.timestamp):\($0.count):\($0.sum)" })"
                }
                return line
            }.sorted()
        }
    }

    @Test func aRandomizedStoreRoundTripsExactlyAndKeepsGoingTheSame() throws {
        let clock = TestClock(t0)
        let original = randomizedStore(seed: 42, clock: clock)
        let bytes = Checkpoint(sections: [SeriesStore.checkpointSection: original.encodedState(), "offsets": [1, 2, 3]]).encoded()
        let decoded = try Checkpoint(decoding: bytes)
        #expect(decoded.sections["offsets"] == [1, 2, 3])
        let restored = SeriesStore(config: config, clock: clock.function)
        try restored.restore(fromEncodedState: decoded.sections[SeriesStore.checkpointSection]!)
        #expect(snapshot(restored, at: clock.now) == snapshot(original, at: clock.now))
        #expect(restored.stats.series == original.stats.series)
        // The rings' heads and counter bookkeeping came back too: the same writes give the same state.
        for store in [original, restored] {
            store.write { w in
                let c = w.ref(for: Labels(name: "req_total", ["route": "/r1"]), kind: .counter)!
                _ = w.append(c, value: 1, at: clock.now + 100)
                _ = w.append(c, value: 9, at: clock.now + 200)
                _ = w.append(Labels(name: "lat", ["route": "/r1"]), kind: .distribution, value: 3, at: clock.now + 11_000)
            }
        }
        #expect(snapshot(restored, at: clock.now + 20_000) == snapshot(original, at: clock.now + 20_000))
    }

    @Test func everyTruncationAndEveryFlippedByteIsDetected() throws {
        let clock = TestClock(t0)
        let store = SeriesStore(config: config, clock: clock.function)
        store.write { w in
            _ = w.append(Labels(name: "g"), kind: .gauge, value: 1, at: t0)
            _ = w.append(Labels(name: "d"), kind: .distribution, value: 5, at: t0)
        }
        let bytes = Checkpoint(sections: ["series": store.encodedState()]).encoded()
        #expect(throws: Never.self) { try Checkpoint(decoding: bytes) }
        for length in 0..<bytes.count {
            #expect(throws: CheckpointError.self) { try Checkpoint(decoding: Array(bytes[..<length])) }
        }
        for i in bytes.indices {
            var corrupt = bytes
            corrupt[i] ^= 0x5A
            #expect(throws: CheckpointError.self, "flipped byte \(i)") { try Checkpoint(decoding: corrupt) }
        }
        #expect(throws: CheckpointError.notACheckpoint) { try Checkpoint(decoding: Array("hello, world".utf8)) }
    }

    @Test func aBadStateIsNeverHalfLoaded() throws {
        let clock = TestClock(t0)
        let store = SeriesStore(config: config, clock: clock.function)
        store.write { w in _ = w.append(Labels(name: "keep"), kind: .gauge, value: 1, at: t0) }
        let before = snapshot(store, at: t0)
        let other = randomizedStore(seed: 1, clock: TestClock(t0))
        let state = other.encodedState()
        for cut in stride(from: 1, to: state.count, by: max(1, state.count / 200)) {
            #expect(throws: CheckpointError.self) { try store.restore(fromEncodedState: Array(state[..<cut])) }
        }
        #expect(snapshot(store, at: t0) == before)
    }

    @Test func restoringIntoOtherStorageSettingsIsRefusedWithBoth() throws {
        let clock = TestClock(t0)
        let state = randomizedStore(seed: 2, clock: clock).encodedState()
        let other = SeriesStore(config: StoreConfig(), clock: clock.function)
        do {
            try other.restore(fromEncodedState: state)
            Issue.record("restore should have failed")
        } catch {
            guard case .configurationChanged(let message) = error else { Issue.record("wrong error \(error)"); return }
            #expect(message.contains("60×10000ms"))
            #expect(message.contains("360×10000ms"))
        }
    }

    @Test func moreSeriesThanTheLimitKeepsTheMostRecentlyWritten() throws {
        let clock = TestClock(t0)
        let big = SeriesStore(config: config, clock: clock.function)
        for i in 0..<10 {
            clock.now = t0 + Int64(i)
            big.write { w in _ = w.append(Labels(name: "g", ["i": "\(i)"]), kind: .gauge, value: 1, at: clock.now) }
        }
        var small = config
        small.seriesLimit = 4
        let restored = SeriesStore(config: small, clock: clock.function)
        try restored.restore(fromEncodedState: big.encodedState())
        let kept = restored.read { r in r.allSeries().compactMap { r.labels(of: $0)?["i"] }.sorted() }
        #expect(kept == ["6", "7", "8", "9"])
        #expect(restored.stats.droppedSeriesLimit == 6)
    }
}

@Suite struct ByteReaderTests {
    @Test func aLengthPastTheEndIsTruncationNotACrash() throws {
        // A blob announcing 3 bytes with only 2 left after its one-byte length.
        var r = ByteReader([3, 0xAA, 0xBB])
        #expect(throws: CheckpointError.truncated) { try r.blob() }
        // Exactly enough is fine.
        var ok = ByteReader([2, 0xAA, 0xBB])
        #expect(try ok.blob() == [0xAA, 0xBB])
        #expect(ok.atEnd)
    }

    @Test func everyPrefixOfEveryEncodingThrowsInsteadOfCrashing() {
        var w = ByteWriter()
        w.blob([1, 2, 3, 4, 5])
        w.varint(UInt64.max)
        w.signed(-42)
        w.double(3.5)
        w.string("série")
        let bytes = w.bytes
        for cut in 0..<bytes.count {
            var r = ByteReader(Array(bytes[..<cut]))
            #expect(throws: CheckpointError.self) {
                _ = try r.blob(); _ = try r.varint(); _ = try r.signed(); _ = try r.double(); _ = try r.string()
            }
        }
        var r = ByteReader(bytes)
        do {
            #expect(try r.blob() == [1, 2, 3, 4, 5])
            #expect(try r.varint() == UInt64.max)
            #expect(try r.signed() == -42)
            #expect(try r.double() == 3.5)
            #expect(try r.string() == "série")
        } catch {
            Issue.record("the whole encoding must read back: \(error)")
        }
    }
}
