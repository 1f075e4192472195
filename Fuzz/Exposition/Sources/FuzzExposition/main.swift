import CFuzzerDriver
import Glibc
import Ingest
import TimeSeries

// Each input is read as both formats by the parser, with invariants checked on every entry, and
// then written through a scrape loop into a store (label decoding, UTF-8 and limit checks,
// relabeling, staleness), alternating the target's honor_labels. A broken invariant traps.

let store = SeriesStore(config: {
    var config = StoreConfig()
    config.seriesLimit = 2_000
    config.maxFutureSkew = Int64.max / 4
    return config
}(), clock: { 1_700_000_000_000 })
let client = HTTPClient()
let loops: [ScrapeLoop] = [false, true].map { honor in
    var target = ScrapeTarget(url: "http://127.0.0.1:9100/metrics", job: "fuzz", labels: ["zone": "a"])
    target.honorLabels = honor
    target.metricRelabelConfigs = [
        try! RelabelRule(sourceLabels: ["__name__"], regex: "drop_.*", action: .drop),
        try! RelabelRule(sourceLabels: ["le", "quantile"], regex: "(.*);(.*)", targetLabel: "bound", replacement: "${1}${2}"),
        try! RelabelRule(regex: "tmp_.*", action: .labeldrop),
    ]
    return ScrapeLoop(target: target, store: store, client: client)
}
nonisolated(unsafe) var iteration: Int64 = 0

func check(_ data: UnsafeRawBufferPointer, _ format: ExpositionFormat) {
    var lines = 1
    for b in data where b == UInt8(ascii: "\n") { lines += 1 }
    var parser = ExpositionParser(bytes: data, format: format)
    var scratch: [UInt8] = []
    let base = UInt(bitPattern: data.baseAddress)
    do {
        while let entry = try parser.next() {
            precondition(parser.line >= 1 && parser.line <= lines, "entry on line \(parser.line) of \(lines)")
            guard entry == .sample else { continue }
            let series = parser.series
            if data.count > 0 {
                let start = UInt(bitPattern: series.baseAddress)
                precondition(start >= base && start + UInt(series.count) <= base + UInt(data.count), "series outside the body")
            }
            precondition(parser.metricName.count >= 1 && parser.metricName.count <= series.count)
            var labels = 0
            parser.forEachLabel(scratch: &scratch) { name, value in
                precondition(!name.isEmpty)
                precondition(value.count <= series.count)
                labels += 1
            }
            precondition(labels == parser.labelCount, "\(labels) labels decoded, \(parser.labelCount) scanned")
            precondition(!parser.value.isStaleMarker)
        }
    } catch {
        precondition(error.line >= 1 && error.line <= lines, "error on line \(error.line) of \(lines)")
        precondition(!error.message.isEmpty && error.message.utf8.count < 400)
    }
}

let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    let body = UnsafeRawBufferPointer(start: data, count: size)
    check(body, .prometheusText)
    check(body, .openMetrics)
    iteration += 1
    let loop = loops[Int(iteration & 1)]
    let contentType = size > 0 && body[0] & 1 == 1 ? "application/openmetrics-text; version=1.0.0" : "text/plain"
    let report = loop.ingest(Array(body), contentType: contentType, at: 1_700_000_000_000 + iteration * 1000)
    precondition(report.samplesPostRelabeling <= report.samplesScraped)
    precondition(report.up == (report.error == nil))
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
