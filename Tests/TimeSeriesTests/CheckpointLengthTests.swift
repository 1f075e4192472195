import Foundation
import Testing
@testable import TimeSeries
#if canImport(Glibc)
import Glibc
#endif

/// Lengths and counts in a checkpoint are outside input: each is checked against the bytes that
/// are really there (and a sane cap) before anything is allocated for it. A claim of 4 GiB used to
/// zero-fill 4 GiB before zlib found out; exactly 4 GiB trapped.
@Suite(.serialized) struct CheckpointLengthTests {
    /// A container around `plain` whose header fields can lie.
    static func container(_ plain: [UInt8], claimedLength: UInt64? = nil) -> [UInt8] {
        Checkpoint.file(content: plain, recordedLength: claimedLength)
    }

    /// The process's peak resident memory in bytes (it only ever grows).
    static func peakResident() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }

    /// A claim, shown by its size rather than its bytes.
    struct Claim: CustomTestStringConvertible, Sendable {
        let length: UInt64
        var testDescription: String { "content length \(length)" }
    }

    @Test(arguments: [0xFFFF_FFFF, 1 << 32, (1 << 32) + 1, UInt64(Checkpoint.maxContentBytes), UInt64.max, 1 << 40].map(Claim.init))
    func aClaimedContentLengthBeyondTheDataIsRefusedBeforeInflating(_ claim: Claim) throws {
        let bytes = Self.container(Array(repeating: 7, count: 1000), claimedLength: claim.length)
        let before = Self.peakResident()
        #expect(throws: CheckpointError.self) { try Checkpoint(decoding: bytes) }
        // Refusing allocated nothing in proportion to the claim.
        #expect(Self.peakResident() - before < 64 << 20)
        do {
            _ = try Checkpoint(decoding: bytes)
        } catch {
            guard case .malformed(let message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("content length \(claim.length)"))
        }
    }

    @Test func aClaimWithinTheRatioButShortOfTheOutputStopsAtTheClaim() throws {
        // 64 MiB of zeros compress to ~64 KiB; the header says 1 000 bytes: inflation stops there.
        let plain = [UInt8](repeating: 0, count: 64 << 20)
        let bytes = Self.container(plain, claimedLength: 1000)
        let before = Self.peakResident()
        #expect(throws: CheckpointError.self) { try Checkpoint(decoding: bytes) }
        #expect(Self.peakResident() - before < 16 << 20)
    }

    @Test func aClaimLongerThanTheOutputIsRefused() throws {
        let plain = [UInt8](repeating: 3, count: 10_000)
        #expect(throws: CheckpointError.self) { try Checkpoint(decoding: Self.container(plain, claimedLength: 10_001)) }
        #expect(throws: CheckpointError.self) { try Checkpoint(decoding: Self.container(plain, claimedLength: 9_999)) }
    }

    @Test func hostileCountsAndLengthsInsideValidContentAreRefused() throws {
        var cases: [(String, [UInt8])] = []
        // A section count of 2^32 − 1 with two bytes behind it.
        var w = ByteWriter()
        w.varint(UInt64(0xFFFF_FFFF))
        w.raw([0, 0])
        cases.append(("section count 2^32-1", w.bytes))
        // One section whose bytes claim 2^32.
        w = ByteWriter()
        w.varint(1)
        w.string("series")
        w.varint(UInt64(1) << 32)
        w.raw([1, 2, 3])
        cases.append(("section length 2^32", w.bytes))
        // A varint of eleven bytes, and one whose tenth byte overflows 64 bits.
        cases.append(("eleven-byte varint", [UInt8](repeating: 0xFF, count: 10) + [0x01]))
        cases.append(("varint past 64 bits", [UInt8](repeating: 0xFF, count: 9) + [0x02]))
        // The same section twice.
        w = ByteWriter()
        w.varint(2)
        w.string("a"); w.blob([1])
        w.string("a"); w.blob([2])
        cases.append(("duplicate section", w.bytes))
        for (name, content) in cases {
            #expect(throws: CheckpointError.self, "\(name)") { try Checkpoint(decoding: Self.container(content)) }
        }
    }

    @Test func theTenByteVarintLimitIsExact() throws {
        var w = ByteWriter()
        w.varint(UInt64.max)
        #expect(w.bytes.count == 10 && ByteWriter.varintLength(.max) == 10)
        var r = ByteReader(w.bytes)
        #expect(try r.varint() == UInt64.max)
        for v: UInt64 in [0, 1, 127, 128, 16_383, 16_384, 1 << 35, 1 << 63] {
            var one = ByteWriter()
            one.varint(v)
            #expect(one.bytes.count == ByteWriter.varintLength(v), "\(v)")
        }
    }

    @Test func aCountIsBoundedByTheBytesLeft() throws {
        var w = ByteWriter()
        w.varint(1000)
        w.raw([UInt8](repeating: 0, count: 999))
        var r = ByteReader(w.bytes)
        #expect(throws: CheckpointError.self) { try r.count(limit: 1_000_000, each: 1) }
        var ok = ByteReader(w.bytes)
        #expect(try ok.count(limit: 1_000_000, each: 0) == 1000)
    }

    @Test func aStoreStateClaimingMillionsOfSeriesIsRefusedWithoutReservingThem() throws {
        let store = SeriesStore(config: StoreConfig())
        let good = store.encodedState()
        // The state's series count is its last varint before the (empty) series list.
        var w = ByteWriter()
        w.raw(good.dropLast())
        w.varint(99_999_999)
        w.raw([1, 2, 3, 4])
        let before = Self.peakResident()
        #expect(throws: CheckpointError.self) { try store.restore(fromEncodedState: w.bytes) }
        #expect(Self.peakResident() - before < 16 << 20)
    }

    @Test func aCheckpointWriterKnowsItsContentLength() {
        let c = Checkpoint(sections: ["series": [UInt8](repeating: 1, count: 300), "": [], "tail_offsets": [1, 2]])
        // The header's recorded content length equals `contentLength`.
        var header = ByteReader(c.encoded())
        _ = try? header.raw(12)
        #expect((try? header.fixed64()) == UInt64(c.contentLength))
    }
}
