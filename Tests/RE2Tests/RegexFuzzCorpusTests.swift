import Foundation
import Testing

import RE2

/// The fuzzer's corpus (Fuzz/Regex/corpus: the seeds and every input libFuzzer kept, crashes
/// included once fixed) as regression inputs: each goes through the same entry as under libFuzzer,
/// whose invariant checks trap on a regression.
@Suite("RE2: the fuzz corpus")
struct RegexFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Regex/corpus")

    @Test func everyCorpusInputCompilesAndMatchesWithItsInvariantsHolding() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(files.count >= 30, "the corpus is missing or was emptied: \(Self.corpus.path)")
        #expect(files.contains("seed-00"))
        for name in files {
            let data = try Data(contentsOf: Self.corpus.appendingPathComponent(name))
            data.withUnsafeBytes { RegularExpressionFuzzEntry.run($0) }
        }
    }
}
