import Testing
@testable import RemoteWrite

@Suite struct SnappyTests {
    @Test func aBlockRoundTrips() throws {
        let input = Array((0..<10_000).map { UInt8(truncatingIfNeeded: $0 % 251) })
        let compressed = Snappy.compress(input)
        #expect(compressed.count < input.count)
        #expect(try Snappy.decompress(compressed, limit: 1 << 20) == input)
    }
}
