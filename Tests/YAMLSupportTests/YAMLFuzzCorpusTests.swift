import Foundation
import Testing
import YAMLSupport

/// The fuzzer's corpus (Fuzz/YAML/corpus, grown by `make fuzz`) as regression inputs: every input
/// goes through the same entry as under libFuzzer, whose invariant checks trap on a regression.
@Suite struct YAMLFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/YAML/corpus")

    @Test func everyCorpusInputRunsThroughTheReaderWithItsInvariantsHolding() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: YAMLFuzzCorpusTests.corpus.path).sorted()
        #expect(files.count >= 100, "the corpus is missing or was emptied: \(YAMLFuzzCorpusTests.corpus.path)")
        #expect(files.contains("seed-alias-bomb") && files.contains("seed-agent-config"))
        for name in files {
            let data = try Data(contentsOf: YAMLFuzzCorpusTests.corpus.appendingPathComponent(name))
            data.withUnsafeBytes { YAMLFuzzEntry.run($0) }
        }
    }
}
