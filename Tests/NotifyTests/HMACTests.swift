import Testing
import TextRendering
import JSON
@testable import Notify

@Suite struct HMACTests {
    func hex(_ b: [UInt8]) -> String { Hex.bytes(b) }

    /// FIPS 180-4 examples, and the long one from the NIST test set.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256MatchesTheStandardsExamples(message: String, digest: String) {
        #expect(hex(SHA256.hash(Array(message.utf8))) == digest)
    }

    @Test func sha256OfAMillionAsFedInUnevenPieces() {
        var s = SHA256()
        var left = 1_000_000
        var piece = 1
        while left > 0 {
            let n = min(piece, left)
            s.update([UInt8](repeating: UInt8(ascii: "a"), count: n))
            left -= n
            piece = piece * 3 % 997 + 1
        }
        #expect(hex(s.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func paddingBoundariesAgreeWithOneShotHashing() {
        // 55, 56 and 64 bytes are where the length field moves to a second block.
        for n in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let data = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            var split = SHA256()
            split.update(data.prefix(n / 2))
            split.update(data.dropFirst(n / 2))
            #expect(split.finalize() == SHA256.hash(data), "\(n) bytes")
        }
    }

    /// RFC 4231, test cases 1–7 (case 5 compares the first 128 bits, as the RFC does).
    @Test(arguments: [
        (Array(repeating: UInt8(0x0b), count: 20), Array("Hi There".utf8), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (Array(repeating: UInt8(0xaa), count: 20), Array(repeating: UInt8(0xdd), count: 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (Array(UInt8(1)...UInt8(25)), Array(repeating: UInt8(0xcd), count: 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (Array(repeating: UInt8(0x0c), count: 20), Array("Test With Truncation".utf8), "a3b6167473100ee06e0c796c2955552b"),
        (Array(repeating: UInt8(0xaa), count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (
            Array(repeating: UInt8(0xaa), count: 131),
            Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ])
    func hmacMatchesRFC4231(key: [UInt8], data: [UInt8], expected: String) {
        #expect(hex(HMACSHA256.mac(key: key, message: data)).hasPrefix(expected))
    }

    @Test func theSignatureHeaderIsPrefixedHex() {
        let header = HMACSHA256.signatureHeader(key: Array("Jefe".utf8), body: Array("what do ya want for nothing?".utf8))
        #expect(header == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}

@Suite struct EncodingTests {
    @Test(arguments: [
        (0 as Int64, "1970-01-01T00:00:00Z"), (1_714_564_800_000, "2024-05-01T12:00:00Z"), (1_714_564_800_500, "2024-05-01T12:00:00.5Z"),
        (1_714_564_800_123, "2024-05-01T12:00:00.123Z"), (951_782_400_000, "2000-02-29T00:00:00Z"), (-1, "1969-12-31T23:59:59.999Z"),
        (4_102_444_800_000, "2100-01-01T00:00:00Z"),
    ])
    func timestampsAreRFC3339AsGoWritesThem(ms: Int64, text: String) {
        #expect(RFC3339.format(ms) == text)
    }

    @Test func civilDatesRoundTripOverCenturies() {
        for days in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let (y, m, d) = CivilDate.from(days: days)
            #expect(CivilDate.days(year: y, month: m, day: d) == days)
        }
    }

    @Test(arguments: [
        (JSON.string("a\"b\\c\n\t\r\u{1}"), false, "\"a\\\"b\\\\c\\n\\t\\r\\u0001\""),
        (.string("<a&b>"), true, "\"\\u003ca\\u0026b\\u003e\""),
        (.string("<a&b>"), false, "\"<a&b>\""),
        (.string("line\u{2028}sep\u{2029}é🚨"), false, "\"line\\u2028sep\\u2029é🚨\""),
        (.object([("b", 1), ("a", .array([true, .null, .double(1.5), .double(.nan), .double(3)]))]), false, "{\"b\":1,\"a\":[true,null,1.5,null,3]}"),
    ])
    func jsonIsEncodedAsGoEncodesIt(value: JSON, html: Bool, text: String) {
        #expect(String(decoding: value.encoded(escapeHTML: html), as: UTF8.self) == text)
    }
}
