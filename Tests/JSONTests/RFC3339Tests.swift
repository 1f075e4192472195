import Foundation
import Testing
import TextRendering

/// The one RFC 3339 formatter and parser, against Foundation's for the shapes both know.
@Suite struct RFC3339Tests {
    @Test(arguments: [
        ("2024-05-01T12:00:00Z", 1_714_564_800_000), ("2024-05-01T12:00:00.5Z", 1_714_564_800_500),
        ("2024-05-01T14:00:00.123456789+02:00", 1_714_564_800_123), ("2024-05-01T11:30:00-00:30", 1_714_564_800_000),
        ("1969-12-31T23:59:59.999Z", -1), ("2000-02-29T00:00:00Z", 951_782_400_000),
    ] as [(String, Int64)])
    func textsParseToMilliseconds(_ text: String, _ ms: Int64) {
        #expect(RFC3339.parse(text) == ms)
    }

    @Test(arguments: ["", "2024-05-01", "2024-05-01T12:00:00", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z",
                      "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00.1234567890Z", "2024-05-01T12:00:00+2:00", "2024-05-01T12:00:00Zjunk",
                      "+2024-05-01T12:00:00Z"])
    func malformedTextsAreRefused(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func hugeTextsAreRefused() {
        #expect(RFC3339.parse(String(repeating: "9", count: 10_000)) == nil)
        #expect(RFC3339.parse("2024-05-01T12:00:00." + String(repeating: "1", count: 10_000) + "Z") == nil)
    }

    @Test func formattingAgreesWithFoundationAndReadsBack() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let ms = Int64.random(in: -2_000_000_000_000...7_000_000_000_000, using: &rng)
            let text = RFC3339.format(ms)
            #expect(RFC3339.parse(text) == ms)
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(formatter.date(from: formatter.string(from: date)).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } == RFC3339.parse(formatter.string(from: date)))
        }
    }
}
