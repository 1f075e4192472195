import Testing
@testable import RemoteWrite

@Suite struct SnappyTests {
    @Test(arguments: [0, 1, 100, 65_536, 1 << 20])
    func aBlockRoundTrips(size: Int) throws {
        var seed: UInt64 = 42
        let input = (0..<size).map { i -> UInt8 in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return i % 3 == 0 ? UInt8(truncatingIfNeeded: seed >> 56) : UInt8(i % 7)
        }
        let compressed = Snappy.compress(input)
        #expect(try Snappy.decompress(compressed, limit: 1 << 21) == input)
    }

    @Test func repetitiveInputShrinks() {
        let input = Array(repeating: Array("job=\"api\",instance=\"host-1\"".utf8), count: 1000).flatMap { $0 }
        #expect(Snappy.compress(input).count < input.count / 10)
    }

    @Test func hostileBlocksAreRefusedWithoutAllocatingTheirClaim() {
        // A header claiming 4 GiB, then nothing.
        #expect(throws: Snappy.DecodeError.self) { try Snappy.decompress([0x80, 0x80, 0x80, 0x80, 0x10], limit: 1 << 20) }
        // A valid block that decompresses past the limit.
        let big = Snappy.compress([UInt8](repeating: 7, count: 100_000))
        #expect(throws: Snappy.DecodeError.self) { try Snappy.decompress(big, limit: 99_999) }
        // Empty, truncated, garbage.
        #expect(throws: Snappy.DecodeError.self) { try Snappy.decompress([], limit: 1 << 20) }
        let good = Snappy.compress(Array("hello hello hello hello".utf8))
        #expect(throws: Snappy.DecodeError.self) { try Snappy.decompress(Array(good.dropLast(3)), limit: 1 << 20) }
        var seed: UInt64 = 7
        for length in [1, 2, 5, 17, 300, 4096] {
            let garbage = (0..<length).map { _ -> UInt8 in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: seed >> 33)
            }
            // Either refused or decoded within the limit; never a crash or a huge allocation.
            if let out = try? Snappy.decompress(garbage, limit: 1 << 16) { #expect(out.count <= 1 << 16) }
        }
    }
}
