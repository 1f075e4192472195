import Alerting
import Notify
import Query
import TimeSeries

/// The fuzz target of the state files' decoders (`Fuzz/Checkpoint`, `make fuzz`) and of its corpus
/// regression test: one input, read the way a damaged or hostile state file would be read, with
/// the invariants checked so that a logic error crashes as loudly as a memory error. Under
/// libFuzzer the allocation limit (`-malloc_limit_mb`, set by the fuzzer's main) turns any
/// allocation sized by a claim rather than by the bytes present into a crash.
///
/// The first byte chooses how the rest is read:
/// - 0: as a checkpoint file (`Checkpoint(decoding:)`), then each known section by its decoder;
/// - 1: as the content of a checkpoint whose header is valid (so the section table is reached);
/// - 2: as a checkpoint whose content length field is the next 8 bytes (the length checks);
/// - 3: as the store's section, restored into a store;
/// - 4: as the alert states' section;
/// - 5: as the silences' section.
/// Whatever decodes must re-encode into bytes that decode to the same thing.
///
/// Ownership: single-threaded, as libFuzzer calls it.
public enum CheckpointFuzzEntry {
    /// The storage settings of the fuzzed store (and of the seeds).
    static let storeConfig: StoreConfig = {
        var c = StoreConfig(resolution: 10_000, retention: 600_000, tiers: [.init(resolution: 60_000, retention: 3_600_000)])
        c.seriesLimit = 200
        c.sketchMaxBuckets = 64
        c.maxFutureSkew = Int64.max / 4
        return c
    }()
    static let t0: Timestamp = 1_700_000_000_000

    final class State: @unchecked Sendable {
        let silences = Silences(clock: { CheckpointFuzzEntry.t0 })
        let silencesAgain = Silences(clock: { CheckpointFuzzEntry.t0 })
    }

    static let state = State()

    /// Runs one fuzz input; traps on a broken invariant.
    public static func run(_ input: UnsafeRawBufferPointer) {
        guard let mode = input.first else { return }
        let rest = Array(input.dropFirst())
        switch mode % 6 {
        case 0:
            if let checkpoint = try? Checkpoint(decoding: rest) { check(checkpoint) }
        case 1:
            let bytes = container(content: rest, claimedLength: nil)
            if let checkpoint = try? Checkpoint(decoding: bytes) { check(checkpoint) }
        case 2:
            guard rest.count >= 8 else { return }
            var claim: UInt64 = 0
            for i in 0..<8 { claim |= UInt64(rest[i]) << (8 * UInt64(i)) }
            let content = Array(rest[8...])
            let decoded = try? Checkpoint(decoding: container(content: content, claimedLength: claim))
            precondition(decoded == nil || claim == UInt64(content.count), "a checkpoint decoded under a false content length")
        case 3:
            checkStore(rest)
        case 4:
            checkAlertStates(rest)
        default:
            checkSilences(rest)
        }
    }

    /// A checkpoint file around `content` (the section table) with a valid CRC; the recorded
    /// content length is `claimedLength` when given.
    static func container(content: [UInt8], claimedLength: UInt64?) -> [UInt8] {
        Checkpoint.file(content: content, recordedLength: claimedLength)
    }

    static func check(_ checkpoint: Checkpoint) {
        precondition(checkpoint.contentLength <= Checkpoint.maxContentBytes)
        let again = try? Checkpoint(decoding: checkpoint.encoded())
        precondition(again == checkpoint, "a checkpoint did not round-trip")
        if let bytes = checkpoint.sections[SeriesStore.checkpointSection] { checkStore(bytes) }
        if let bytes = checkpoint.sections[AlertStateCheckpoint.sectionName] { checkAlertStates(bytes) }
        if let bytes = checkpoint.sections[Silences.checkpointSection] { checkSilences(bytes) }
    }

    /// A store as the daemon makes one (fresh stores, so that series keep the order they were
    /// restored in and two encodings compare byte for byte).
    static func newStore() -> SeriesStore { SeriesStore(config: storeConfig, clock: { CheckpointFuzzEntry.t0 }) }

    static func checkStore(_ bytes: [UInt8]) {
        let store = newStore()
        guard (try? store.restore(fromEncodedState: bytes)) != nil else { return }
        precondition(store.stats.series <= storeConfig.seriesLimit, "a restore went past the series limit")
        let encoded = store.encodedState()
        let again = newStore()
        do {
            try again.restore(fromEncodedState: encoded)
        } catch {
            preconditionFailure("a restored store's state does not restore: \(error)")
        }
        precondition(again.encodedState() == encoded, "a restored store did not round-trip")
    }

    static func checkAlertStates(_ bytes: [UInt8]) {
        guard let states = try? AlertStateCheckpoint(decoding: bytes) else { return }
        let again = try? AlertStateCheckpoint(decoding: states.encoded())
        precondition(again == states, "alert states did not round-trip")
    }

    static func checkSilences(_ bytes: [UInt8]) {
        let s = state
        guard (try? s.silences.restore(from: bytes)) != nil else { return }
        let encoded = s.silences.encoded()
        do {
            try s.silencesAgain.restore(from: encoded)
        } catch {
            preconditionFailure("restored silences do not restore: \(error)")
        }
        precondition(s.silencesAgain.encoded() == encoded, "silences did not round-trip")
    }

    /// Inputs that reach every decoder with valid data (the fuzzer mutates from there): a store
    /// with every kind of series, alert states, silences, and checkpoints holding them.
    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        let store = newStore()
        // Small: `make fuzz` reads at most 1 024 bytes of an input.
        for step in 0..<5 {
            let t = t0 - 60_000 + Int64(step) * 15_000
            store.write { w in
                _ = w.append(Labels(name: "temp"), kind: .gauge, value: Double(step) * 4.5, at: t)
                _ = w.append(Labels(name: "req_total"), kind: .counter, value: Double(step * 7 % 20), at: t)
                _ = w.append(Labels(name: "latency"), kind: .distribution, value: Double(step % 3) * 3.25 - 4, at: t)
            }
        }
        let series = store.encodedState()

        var states = AlertStateCheckpoint(savedAt: t0)
        do {
            let file = try RuleFile.parse("""
                groups:
                  - name: g
                    rules:
                      - alert: High
                        expr: temp > 10
                        for: 1m
                        labels: {severity: high}
                        annotations: {summary: "{{ $value }}"}
                """, path: "seed.yaml")
            let group = RuleGroup(file.groups[0], file: "seed.yaml", engine: Engine(store: store), defaultInterval: 15_000)
            group.evaluate(at: t0 - 120_000)
            group.evaluate(at: t0)
            group.checkpoint(into: &states)
        } catch {
            preconditionFailure("the seed rule: \(error)")
        }
        let alerts = states.encoded()

        let silences = Silences(clock: { CheckpointFuzzEntry.t0 })
        do {
            let matchers = try Matcher.parseList(#"alertname="High", severity=~"high|critical""#)
            try silences.add(matchers: matchers, endsAt: t0 + 3_600_000, createdBy: "seed", comment: "a seed")
        } catch {
            preconditionFailure("the seed silence: \(error)")
        }
        let silenced = silences.encoded()

        let all = Checkpoint(sections: [SeriesStore.checkpointSection: series, AlertStateCheckpoint.sectionName: alerts,
                                        Silences.checkpointSection: silenced, "tail_offsets": [1, 2, 3]])
        var content = ByteWriter()
        content.varint(2)
        content.string(AlertStateCheckpoint.sectionName)
        content.blob(alerts)
        content.string(Silences.checkpointSection)
        content.blob(silenced)
        var claimed = ByteWriter()
        claimed.fixed64(UInt64(content.bytes.count))
        return [
            ("seed-checkpoint", [0] + all.encoded()),
            ("seed-content", [1] + content.bytes),
            ("seed-claimed-length", [2] + claimed.bytes + content.bytes),
            ("seed-series", [3] + series),
            ("seed-alerts", [4] + alerts),
            ("seed-silences", [5] + silenced),
        ]
    }
}
