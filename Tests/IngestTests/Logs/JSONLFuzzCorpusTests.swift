import Foundation
import Testing

@testable import Ingest

/// The fuzzer's corpus (Fuzz/JSONL/corpus, grown by `make fuzz`) as regression inputs: every input
/// goes through the same entry as under libFuzzer, whose invariant checks trap on a regression.
@Suite struct JSONLFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/JSONL/corpus")

    @Test func everyCorpusInputRunsThroughTheLogPathWithItsInvariantsHolding() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: JSONLFuzzCorpusTests.corpus.path).sorted()
        #expect(files.count >= 100, "the corpus is missing or was emptied: \(JSONLFuzzCorpusTests.corpus.path)")
        #expect(files.contains("seed-access-lines"))
        for name in files {
            let data = try Data(contentsOf: JSONLFuzzCorpusTests.corpus.appendingPathComponent(name))
            data.withUnsafeBytes { LogsFuzzEntry.run($0) }
        }
        // The mapper saw the seeds' access lines and wrote series.
        #expect(LogsFuzzEntry.state.mapper.stats.lines > 0)
        #expect(LogsFuzzEntry.state.store.stats.series > 0)
    }
}
