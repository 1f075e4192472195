import Benchmark
import Foundation
import TimeSeries

/// Deterministic lognormal-ish latencies (ms), precomputed so the benchmarks time only the store.
func latencies(_ n: Int, seed: UInt64 = 1) -> [Double] {
    var state = seed
    func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
    return (0..<n).map { _ in
        let u1 = max(next(), 1e-300), u2 = next()
        return exp(3 + (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}

/// Resident memory of this process in bytes (from /proc/self/statm). Measured once, without a
/// warm-up run, so memory freed by an earlier run cannot be reused and hide the growth.
func heapInUse() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

let t0: Timestamp = 1_699_999_980_000

/// A store with `count` series of `kind`, every slot of the 1 h ring filled.
func filledStore(kind: SeriesKind, count: Int, perSlot: Int = 1) -> SeriesStore {
    var config = StoreConfig()
    config.seriesLimit = max(count, 10_000)
    let now = t0 + 3_600_000
    let store = SeriesStore(config: config, clock: { now })
    let values = latencies(4096)
    store.write { w in
        for i in 0..<count {
            let ref = w.ref(for: Labels(name: "m", ["route": "/api/v1/r\(i)", "method": "GET"]), kind: kind)!
            for slot in 0..<360 {
                for k in 0..<perSlot {
                    let t = t0 + Int64(slot) * 10_000 + Int64(k) * (10_000 / Int64(perSlot))
                    let v = values[(slot * perSlot + k + i) & 4095]
                    switch kind {
                    case .distribution: _ = w.observe(ref, value: v, at: t)
                    case .gauge: _ = w.append(ref, value: v, at: t)
                    case .counter: _ = w.append(ref, value: Double(slot * perSlot + k), at: t)
                    }
                }
            }
        }
    }
    return store
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions],
        maxDuration: .seconds(2), maxIterations: 1_000_000)
    let mapping = SketchMapping(relativeAccuracy: 0.01)

    Benchmark("Sketch insert (slot sketch, α=1%)", configuration: .init(scalingFactor: .mega)) { benchmark in
        let values = latencies(4096)
        var sketch = SlotSketch()
        for v in values { sketch.insert(v, mapping: mapping, maxBuckets: 2048) }  // establish the span
        benchmark.startMeasurement()
        var i = 0
        for _ in benchmark.scaledIterations {
            sketch.insert(values[i & 4095], mapping: mapping, maxBuckets: 2048)
            i &+= 1
        }
        blackHole(sketch.count)
    }

    Benchmark("Store observe (distribution, batch of 1000)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let values = latencies(4096)
        let now = t0 + 3_600_000
        let store = SeriesStore(clock: { now })
        let ref = store.write { $0.ref(for: Labels(name: "latency_ms"), kind: .distribution)! }
        store.write { w in for (i, v) in values.enumerated() { _ = w.observe(ref, value: v, at: t0 + Int64(i) * 878) } }
        benchmark.startMeasurement()
        var i = 0
        for _ in benchmark.scaledIterations {
            store.write { w in
                for _ in 0..<1000 {
                    _ = w.observe(ref, value: values[i & 4095], at: t0 + Int64(i & 4095) * 878)
                    i &+= 1
                }
            }
        }
    }

    // The daemon's common case: a log line's observation lands in the head slot, the ring's
    // older slots already sealed (the two benchmarks around this one write across the whole hour).
    Benchmark("Store observe into the head slot, older slots sealed (distribution, batch of 1000)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let values = latencies(4096)
        let now = t0 + 3_600_000
        let store = filledStore(kind: .distribution, count: 1, perSlot: 11)
        let ref = store.write { $0.ref(for: Labels(name: "m", ["route": "/api/v1/r0", "method": "GET"]), kind: .distribution)! }
        benchmark.startMeasurement()
        var i = 0
        for _ in benchmark.scaledIterations {
            store.write { w in
                for _ in 0..<1000 {
                    _ = w.observe(ref, value: values[i & 4095], at: now - 1)
                    i &+= 1
                }
            }
        }
    }

    Benchmark("Store observe, 10 series round robin (batch of 1000)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let values = latencies(4096)
        let now = t0 + 3_600_000
        let store = SeriesStore(clock: { now })
        let refs = store.write { w in (0..<10).map { w.ref(for: Labels(name: "latency_ms", ["route": "/r\($0)"]), kind: .distribution)! } }
        store.write { w in for (i, v) in values.enumerated() { _ = w.observe(refs[i % 10], value: v, at: t0 + Int64(i) * 878) } }
        benchmark.startMeasurement()
        var i = 0
        for _ in benchmark.scaledIterations {
            store.write { w in
                for _ in 0..<1000 {
                    _ = w.observe(refs[i % 10], value: values[i & 4095], at: t0 + Int64(i & 4095) * 878)
                    i &+= 1
                }
            }
        }
    }

    Benchmark("Merge 30 slot sketches (5 min window)") { benchmark in
        let values = latencies(30 * 2778)
        var slots = Array(repeating: SlotSketch(), count: 30)
        for (i, v) in values.enumerated() { slots[i % 30].insert(v, mapping: mapping, maxBuckets: 2048) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var merged = Sketch()
            for s in slots { merged.merge(s, maxBuckets: 2048) }
            blackHole(merged.count)
        }
    }

    Benchmark("p95 over 1 h (merge 360 slots + quantile)") { benchmark in
        let store = filledStore(kind: .distribution, count: 1, perSlot: 2778)
        let ref = store.read { $0.allSeries()[0] }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let p95 = store.read { $0.summary(of: ref, from: t0 - 1, through: t0 + 3_599_999)!.quantile(0.95) }
            blackHole(p95)
        }
    }

    // A day of a 5 m tier (deploy/agent.yaml's), ~375 observations a slot: all but the newest
    // slots sealed; the window reads the tier.
    Benchmark("p95 over 24 h (5 m × 26 h tier, 375 obs a slot)") { benchmark in
        let end = t0 + 26 * 3_600_000
        let store = SeriesStore(config: StoreConfig(resolution: 10_000, retention: 3_600_000,
                                                    tiers: [.init(resolution: 300_000, retention: 26 * 3_600_000)]), clock: { end })
        let values = latencies(4096)
        let ref = store.write { $0.ref(for: Labels(name: "latency_ms"), kind: .distribution)! }
        store.write { w in
            var i = 0
            for t in stride(from: t0, to: end, by: 800) {
                _ = w.observe(ref, value: values[i & 4095], at: t)
                i &+= 1
            }
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let p95 = store.read { $0.summary(of: ref, from: end - 24 * 3_600_000, through: end)!.quantile(0.95) }
            blackHole(p95)
        }
    }

    Benchmark("Memory per series at 10 s × 1 h", configuration: .init(
        metrics: [.custom("bytes per scalar series", useScalingFactor: false), .custom("bytes per distribution series (10 obs/s)", useScalingFactor: false)],
        warmupIterations: 0, maxIterations: 1)) { benchmark in
        let before = heapInUse()
        let scalar = filledStore(kind: .gauge, count: 10_000)
        let afterScalar = heapInUse()
        benchmark.measurement(.custom("bytes per scalar series", useScalingFactor: false), (afterScalar - before) / 10_000)
        let distribution = filledStore(kind: .distribution, count: 100, perSlot: 100)
        benchmark.measurement(.custom("bytes per distribution series (10 obs/s)", useScalingFactor: false), (heapInUse() - afterScalar) / 100)
        blackHole(scalar.stats.series + distribution.stats.series)
    }

    // After a day of 15 s scrapes with a 26 h tier (deploy/agent.yaml: 5 m slots): the fine ring raw,
    // the tier's older blocks sealed (see ScalarRing). Raw, a 1 m tier alone would take 15 600 bytes.
    let dayMetrics: [BenchmarkMetric] = ["counter, 5 m tier", "gauge, 5 m tier", "counter, 1 m tier", "gauge, 1 m tier"]
        .map { .custom("bytes per \($0)", useScalingFactor: false) }
    Benchmark("Memory per scalar series at 10 s × 1 h + a 26 h tier, after 26 h of 15 s scrapes", configuration: .init(
        metrics: dayMetrics, warmupIterations: 0, maxIterations: 1)) { benchmark in
        var metric = dayMetrics.makeIterator()
        for tier: Milliseconds in [300_000, 60_000] {
            for kind in [SeriesKind.counter, .gauge] {
                let end = t0 + 26 * 3_600_000
                let store = SeriesStore(config: StoreConfig(resolution: 10_000, retention: 3_600_000,
                                                            tiers: [.init(resolution: tier, retention: 26 * 3_600_000)]), clock: { end })
                let count = 1_000
                store.write { w in
                    let refs = (0..<count).map { w.ref(for: Labels(name: "m", ["target": "t\($0 % 10)", "i": "\($0)"]), kind: kind)! }
                    var t = t0
                    var step = 0
                    while t <= end {
                        for (i, ref) in refs.enumerated() {
                            // Counters grow at their own steady rate; gauges wander slowly, like memory or queue depth.
                            let v = kind == .counter ? Double(1_000 + step * (5 + i % 40))
                                                     : Double(40_000_000 + (i * 7_919 + step / 8 * 4_096) % 2_000_000)
                            _ = w.append(ref, value: v, at: t + Int64((i + step) % 5))
                        }
                        t += 15_000
                        step += 1
                    }
                }
                benchmark.measurement(metric.next()!, store.heapBytes / count)
            }
        }
    }

    // 1 000 scalar series + 20 distribution series, all 360 slots filled.
    let checkpointStore = filledStore(kind: .counter, count: 1_000)
    let distributions = filledStore(kind: .distribution, count: 20, perSlot: 50)
    let state = checkpointStore.encodedState() + distributions.encodedState()
    let encodedMB = Double(state.count) / 1e6

    Benchmark("Checkpoint encode (1 000 counters + 20 distributions)", configuration: .init(
        metrics: [.wallClock, .custom("MB/s uncompressed", polarity: .prefersLarger, useScalingFactor: false)], maxIterations: 20)) { benchmark in
        for _ in benchmark.scaledIterations {
            let start = ContinuousClock.now
            let bytes = Checkpoint(sections: ["a": checkpointStore.encodedState(), "b": distributions.encodedState()]).encoded()
            let seconds = Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
            benchmark.measurement(.custom("MB/s uncompressed", polarity: .prefersLarger, useScalingFactor: false), Int(encodedMB / seconds))
            blackHole(bytes.count)
        }
    }

    Benchmark("Checkpoint decode + restore", configuration: .init(
        metrics: [.wallClock, .custom("MB/s uncompressed", polarity: .prefersLarger, useScalingFactor: false)], maxIterations: 20)) { benchmark in
        let bytes = Checkpoint(sections: ["a": checkpointStore.encodedState(), "b": distributions.encodedState()]).encoded()
        for _ in benchmark.scaledIterations {
            let start = ContinuousClock.now
            let decoded = try Checkpoint(decoding: bytes)
            let a = SeriesStore(config: checkpointStore.config, clock: { t0 })
            try a.restore(fromEncodedState: decoded.sections["a"]!)
            let b = SeriesStore(config: distributions.config, clock: { t0 })
            try b.restore(fromEncodedState: decoded.sections["b"]!)
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            benchmark.measurement(.custom("MB/s uncompressed", polarity: .prefersLarger, useScalingFactor: false), Int(encodedMB / seconds))
        }
    }
}
