import Benchmark
import Foundation
import Ingest
import TimeSeries

/// node_exporter 1.5's page as this machine served it (57 KB, 507 samples), captured for the tests.
let nodeExporterPage: [UInt8] = {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../../Tests/IngestTests/Scrape/Fixtures/pages/node_exporter.prom"
    ).standardized.path
    guard let data = FileManager.default.contents(atPath: path) else { fatalError("missing benchmark input \(path)") }
    return [UInt8](data)
}()

/// Samples on the page, counted once with the parser.
let nodeExporterSamples: Int = ExpositionParser.withParser(nodeExporterPage, format: .prometheusText) { parser in
    var n = 0
    while let entry = try? parser.next() { if entry == .sample { n += 1 } }
    return n
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions,
                  .custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)],
        maxDuration: .seconds(3), maxIterations: 100_000)

    // The harness's own allocations per iteration (the clock and the MB/s measurement), to
    // subtract from the two below.
    Benchmark("Baseline: empty iteration with the MB/s measurement") { benchmark in
        let started = ContinuousClock.now
        for _ in benchmark.scaledIterations { blackHole(nodeExporterPage.count) }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        benchmark.measurement(.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false), Int(seconds))
    }

    // The parser alone: every entry, every sample's series bytes and value touched.
    Benchmark("Parse node_exporter page (text 0.0.4, 57 KB)") { benchmark in
        let page = nodeExporterPage
        var checksum = 0.0
        let started = ContinuousClock.now
        for _ in benchmark.scaledIterations {
            page.withUnsafeBytes { raw in
                var parser = ExpositionParser(bytes: raw, format: .prometheusText)
                while let entry = try? parser.next() {
                    if entry == .sample {
                        checksum += parser.value
                        blackHole(parser.series.count)
                    }
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        benchmark.measurement(.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false),
                              Int(Double(page.count * benchmark.scaledIterations.count) / seconds / 1e6))
        blackHole(checksum)
    }

    // A first scrape (every series new, so every metric_relabel_configs rule runs on each of the
    // page's series), without and with four typical rules: the difference is the relabel cost
    // (issue 12, item 9).
    let relabelRules = [
        try! RelabelRule(sourceLabels: ["__name__"], regex: "go_gc_.*|node_scrape_collector_.*", action: .drop),
        try! RelabelRule(sourceLabels: ["device"], regex: "(sd|nvme|dm-)([a-z0-9]+)", targetLabel: "disk", replacement: "${1}_$2"),
        try! RelabelRule(regex: "fstype|mountpoint_tmp", action: .labeldrop),
        try! RelabelRule(sourceLabels: ["__name__", "mode"], regex: "node_cpu_.*;(idle|iowait)", action: .drop),
    ]
    for (name, rules) in [("no rules", [RelabelRule]()), ("4 metric_relabel_configs rules", relabelRules)] {
        Benchmark("Ingest node_exporter page, first scrape, \(name)", configuration: .init(maxIterations: 2_000)) { benchmark in
            var target = ScrapeTarget(url: "http://127.0.0.1:9100/metrics", job: "node")
            target.metricRelabelConfigs = rules
            let client = HTTPClient()
            for _ in benchmark.scaledIterations {
                var config = StoreConfig()
                config.maxFutureSkew = Int64.max / 4
                let store = SeriesStore(config: config, clock: { 1_700_000_000_000 })
                let loop = ScrapeLoop(target: target, store: store, client: client)
                blackHole(loop.ingest(nodeExporterPage, contentType: "text/plain; version=0.0.4", at: 1_700_000_000_000))
            }
            client.shutdown()
        }
    }

    // A steady-state scrape minus HTTP: parse, cache lookups, one store batch, staleness pass and
    // the synthetic series. mallocCountTotal / samples is the allocations per sample.
    Benchmark("Ingest node_exporter page into the store (steady state)") { benchmark in
        var config = StoreConfig()
        config.maxFutureSkew = Int64.max / 4
        let store = SeriesStore(config: config, clock: { 1_700_000_000_000 })
        let client = HTTPClient()
        let loop = ScrapeLoop(target: ScrapeTarget(url: "http://127.0.0.1:9100/metrics", job: "node"), store: store, client: client)
        var t: Timestamp = 1_700_000_000_000
        _ = loop.ingest(nodeExporterPage, contentType: "text/plain; version=0.0.4", at: t)
        let started = ContinuousClock.now
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            t += 15_000
            let report = loop.ingest(nodeExporterPage, contentType: "text/plain; version=0.0.4", at: t)
            precondition(report.up && report.seriesAdded == 0)
        }
        benchmark.stopMeasurement()
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        benchmark.measurement(.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false),
                              Int(Double(nodeExporterPage.count * benchmark.scaledIterations.count) / seconds / 1e6))
        client.shutdown()
    }
}
