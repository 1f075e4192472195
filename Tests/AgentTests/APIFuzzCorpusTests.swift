import AgentDaemon
import Foundation
import Testing

/// The fuzzer's corpus (Fuzz/HTTPAPI/corpus, grown by `make fuzz`) as regression inputs: each goes
/// through the daemon's routes exactly as under libFuzzer, whose checks trap on a regression.
@Suite struct APIFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/HTTPAPI/corpus")

    @Test func everyCorpusInputIsAnsweredInTheAPIsShape() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(files.count >= 13, "the corpus is missing or was emptied: \(Self.corpus.path)")
        #expect(files.contains("seed-bad-time"))
        for name in files {
            let data = try Data(contentsOf: Self.corpus.appendingPathComponent(name))
            data.withUnsafeBytes { APIFuzzEntry.run($0) }
        }
    }
}
