import Foundation
import Testing

@testable import HTTPServing

/// The fuzzer's corpus (Fuzz/HTTP/corpus, grown by `make fuzz`) as regression inputs: every input
/// goes through the same entry as under libFuzzer, whose invariant checks trap on a regression.
@Suite struct HTTPFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/HTTP/corpus")

    @Test func everyCorpusInputParsesWithItsInvariantsHolding() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(files.count >= 9, "the corpus is missing or was emptied: \(Self.corpus.path)")
        #expect(files.contains("seed-chunked"))
        for name in files {
            let data = try Data(contentsOf: Self.corpus.appendingPathComponent(name))
            data.withUnsafeBytes { HTTPFuzzEntry.run($0) }
        }
    }
}
