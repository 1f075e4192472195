import Foundation
import Testing
import TimeSeries

@testable import Ingest

/// Replays the fuzzer's corpus (Fuzz/Exposition/corpus: the seeds and every input libFuzzer
/// kept, crashes included once fixed) through the parser and the ingest path, so `make test`
/// guards what fuzzing found.
@Suite struct ExpositionFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../Fuzz/Exposition/corpus").standardized

    static func inputs() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: corpus, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test func theCorpusIsThere() throws {
        #expect(try Self.inputs().count >= 9)
    }

    @Test func everyCorpusInputParsesOrFailsCleanlyAndIngests() throws {
        let store = SeriesStore(config: { var c = StoreConfig(); c.seriesLimit = 2_000; c.maxFutureSkew = Int64.max / 4; return c }(), clock: { 1_700_000_000_000 })
        let client = HTTPClient()
        var target = ScrapeTarget(url: "http://127.0.0.1:9100/metrics", job: "fuzz", labels: ["zone": "a"])
        target.metricRelabelConfigs = [try RelabelRule(regex: "tmp_.*", action: .labeldrop)]
        let loop = ScrapeLoop(target: target, store: store, client: client)
        var t: Timestamp = 1_700_000_000_000
        for file in try Self.inputs() {
            let bytes = [UInt8](try Data(contentsOf: file))
            let lines = bytes.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            for format in [ExpositionFormat.prometheusText, .openMetrics] {
                if case .failure(let error) = parseAll(bytes, format) {
                    #expect(error.line >= 1 && error.line <= lines, "\(file.lastPathComponent): \(error)")
                }
                t += 1000
                let report = loop.ingest(bytes, contentType: format == .openMetrics ? "application/openmetrics-text" : "text/plain", at: t)
                #expect(report.samplesPostRelabeling <= report.samplesScraped, "\(file.lastPathComponent)")
            }
        }
        client.shutdown()
    }
}
