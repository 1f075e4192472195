import Foundation
import Testing
import Alerting
import Notify
import TimeSeries
@testable import AgentDaemon

/// The fuzzer's corpus (Fuzz/Checkpoint/corpus, grown by `make fuzz`) and its seeds as regression
/// inputs: every input goes through the same entry as under libFuzzer, whose invariant checks
/// trap on a regression.
@Suite struct CheckpointFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Checkpoint/corpus")

    @Test func everyCorpusInputRunsThroughTheDecodersWithTheirInvariantsHolding() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(files.count >= 100, "the corpus is missing or was emptied: \(Self.corpus.path)")
        #expect(files.contains("seed-checkpoint"))
        for name in files {
            let data = try Data(contentsOf: Self.corpus.appendingPathComponent(name))
            data.withUnsafeBytes { CheckpointFuzzEntry.run($0) }
        }
        for seed in CheckpointFuzzEntry.seeds() {
            seed.bytes.withUnsafeBytes { CheckpointFuzzEntry.run($0) }
        }
    }
}

/// The seeds reach every decoder with valid data (else the fuzzer would start from nothing).
@Suite struct CheckpointFuzzSeedTests {
    @Test func everySeedDecodes() throws {
        let seeds = Dictionary(uniqueKeysWithValues: CheckpointFuzzEntry.seeds().map { ($0.name, Array($0.bytes.dropFirst())) })
        let checkpoint = try Checkpoint(decoding: try #require(seeds["seed-checkpoint"]))
        #expect(checkpoint.sections.count == 4)
        let store = SeriesStore(config: CheckpointFuzzEntry.storeConfig)
        try store.restore(fromEncodedState: try #require(seeds["seed-series"]))
        #expect(store.stats.series == 3)
        #expect(try AlertStateCheckpoint(decoding: try #require(seeds["seed-alerts"])).ruleCount == 1)
        let silences = Silences(clock: { CheckpointFuzzEntry.t0 })
        try silences.restore(from: try #require(seeds["seed-silences"]))
        #expect(silences.list().count == 1)
    }
}

@Suite struct CheckpointFuzzSeedSizeTests {
    /// `make fuzz` reads at most 1 024 bytes of an input (scripts/fuzz.sh's -max_len).
    @Test func everySeedFitsTheFuzzersInputLimit() {
        for seed in CheckpointFuzzEntry.seeds() { #expect(seed.bytes.count <= 1024, "\(seed.name): \(seed.bytes.count) bytes") }
    }
}
