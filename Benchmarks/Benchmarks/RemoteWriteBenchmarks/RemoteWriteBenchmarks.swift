import Benchmark
import Dispatch
import Foundation
import Ingest
import Logging
import RemoteWrite
import TimeSeries

// Remote write (issue 15): the request's encoding and compression (target ≥ 1 M samples/s on one
// core), and a whole round of 10 000 series read from the rings, relabelled with the external
// labels, encoded and compressed — the CPU a 15 s scrape interval's round costs, HTTP aside
// (scripts/bench-remote-write.sh measures the daemon with a real receiver).

/// Label sets shaped like a scraped service's series (name, job, instance, route, code) plus the
/// external label, encoded once as the writer does per series and round.
func scrapedLabels(_ count: Int) -> [EncodedLabels] {
    (0..<count).map { i in
        EncodedLabels(Labels(name: "http_server_requests_seconds_count", [
            "job": "api", "instance": "10.0.\(i / 250).\(i % 250):8080", "route": "/api/v1/resource\(i % 40)",
            "code": ["200", "404", "500"][i % 3], "host": "api-1",
        ]))
    }
}

/// Answers every request at once with 204, as a receiver on loopback would, without the wire.
struct NullTransport: RemoteWriteTransport {
    func send(_ request: HTTPRequest, completion: @escaping @Sendable (Result<HTTPResponse, HTTPError>) -> Void) {
        completion(.success(HTTPResponse(status: 204)))
    }
}

final class BenchClock: @unchecked Sendable {
    private let lock = NSLock()
    private var t: Timestamp
    init(_ t: Timestamp) { self.t = t }
    var now: Timestamp { lock.withLock { t } }
    func advance(_ ms: Milliseconds) { lock.withLock { t += ms } }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions,
                  .custom("samples/s", polarity: .prefersLarger, useScalingFactor: false)],
        maxDuration: .seconds(3), maxIterations: 100_000)

    // A request as the writer builds it: (series × samples each), encoded, then snappy-compressed.
    for (series, perSeries, what) in [(2_000, 1, "2 000 series × 1 sample (steady state)"), (100, 20, "100 series × 20 samples (catching up)")] {
        Benchmark("Encode + snappy a request: \(what)") { benchmark in
            let labels = scrapedLabels(series)
            let samples = (0..<perSeries).map { Sample(timestamp: 1_700_000_000_000 + Int64($0) * 15_000, value: Double($0) * 1.5 + 0.25) }
            let encoder = WriteRequestEncoder()
            var body: [UInt8] = []
            let started = ContinuousClock.now
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                encoder.removeAll()
                samples.withUnsafeBufferPointer { buffer in
                    for l in labels { encoder.appendSeries(labels: l, samples: buffer) }
                }
                encoder.withBytes { Snappy.compress($0, into: &body) }
                blackHole(body.count)
            }
            benchmark.stopMeasurement()
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            benchmark.measurement(.custom("samples/s", polarity: .prefersLarger, useScalingFactor: false),
                                  Int(Double(series * perSeries * benchmark.scaledIterations.count) / seconds))
        }
    }

    // One round of a 15 s interval: 10 000 series with one new sample each, read from the store
    // under its lock request by request, given the external label, encoded, compressed, answered.
    Benchmark("A round of 10 000 series × 1 sample through the writer (null transport)",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal, .instructions, .custom("samples/s", polarity: .prefersLarger, useScalingFactor: false)],
                                   maxDuration: .seconds(10), maxIterations: 200)) { benchmark in
        let clock = BenchClock(1_700_000_000_000)
        var config = StoreConfig()
        config.seriesLimit = 20_000
        let store = SeriesStore(config: config, clock: { clock.now })
        let names = (0..<10_000).map { i in
            Labels(name: "http_server_requests_seconds_count", ["job": "api", "instance": "10.0.\(i / 250).\(i % 250):8080",
                                                                "route": "/api/v1/resource\(i % 40)", "code": ["200", "404", "500"][i % 3]])
        }
        let refs = store.write { w in names.map { w.ref(for: $0, kind: .counter)! } }
        var value = 0.0
        func scrape() {
            value += 1
            let t = clock.now
            store.write { w in for ref in refs { _ = w.append(ref, value: value, at: t) } }
        }
        let writer = RemoteWriter(
            endpoint: RemoteWriteEndpoint(url: "http://127.0.0.1:1/api/v1/write", name: "bench"), store: store,
            mapping: SeriesMapping(externalLabels: Labels(["host": "api-1"]), quantiles: [("0.5", 0.5), ("0.9", 0.9), ("0.95", 0.95), ("0.99", 0.99)],
                                   quantileWindow: 300_000),
            transport: NullTransport(), progress: nil, settle: 11_000, userAgent: "agent/bench",
            logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }), clock: { clock.now },
            onProgress: { _ in }, wakeUp: { _ in })
        func round() {
            writer.queue.sync { writer.poll() }
            while writer.statistics.inFlight > 0 { writer.queue.sync {} }
        }
        // Steady state first: the first rounds read the whole (empty) ring.
        for _ in 0..<4 {
            scrape()
            clock.advance(15_000)
            round()
        }
        var elapsed = Duration.zero
        let sentBefore = writer.statistics.samplesSent
        for _ in benchmark.scaledIterations {
            scrape()
            clock.advance(15_000)
            let started = ContinuousClock.now
            benchmark.startMeasurement()
            round()
            benchmark.stopMeasurement()
            elapsed += ContinuousClock.now - started
        }
        let sent = writer.statistics.samplesSent - sentBefore
        precondition(sent == 10_000 * benchmark.scaledIterations.count, "every round sends each series' sample: \(sent)")
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        benchmark.measurement(.custom("samples/s", polarity: .prefersLarger, useScalingFactor: false), Int(Double(sent) / seconds))
    }
}
