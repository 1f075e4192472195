import JSON
import Testing

/// The one JSON writer and its numbers (Go's `encoding/json`).
@Suite struct JSONWritingTests {
    @Test(arguments: [
        (1.0, "1"), (0.25, "0.25"), (-3.5, "-3.5"), (0.1, "0.1"), (1e-6, "0.000001"), (1e-7, "1e-7"), (1.5e-7, "1.5e-7"),
        (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.2345e22, "1.2345e+22"), (1e16, "10000000000000000"),
        (123456789.125, "123456789.125"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-0.0, "-0"), (0.0, "0"), (Double.nan, "null"), (Double.infinity, "null"), (2.5e-10, "2.5e-10"),
    ] as [(Double, String)])
    func numbersAreWrittenAsGoWritesThem(_ v: Double, _ text: String) {
        #expect(GoFloat.json(v) == text)
        #expect(JSON.double(v).json == text)
    }

    @Test(arguments: [(1.0, "1e+00"), (-2.5e-7, "-2.5e-07"), (123.456, "1.23456e+02"), (0.0, "0e+00"), (1e21, "1e+21"),
                      (Double.nan, "NaN"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf")] as [(Double, String)])
    func exponentTextIsGosFormatFloatE(_ v: Double, _ text: String) {
        #expect(GoFloat.exponentText(v) == text)
    }

    @Test func valuesRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        func value(_ depth: Int) -> JSON {
            switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &rng))
            case 2: return .int(Int64.random(in: .min ... .max, using: &rng))
            case 3:
                let d = Double(bitPattern: UInt64.random(in: 0 ... .max, using: &rng))
                return d.isFinite && d != d.rounded() ? .double(d) : .double(0.5)
            case 4:
                let scalars = (0..<Int.random(in: 0..<12, using: &rng)).map { _ in
                    [0x22, 0x5C, 0x0A, 0x01, 0x2028, 0xE9, 0x1F6A8, 0x3C, 0x41].randomElement(using: &rng)!
                }
                return .string(String(String.UnicodeScalarView(scalars.map { Unicode.Scalar(UInt32($0))! })))
            case 5: return .array((0..<Int.random(in: 0..<4, using: &rng)).map { _ in value(depth + 1) })
            default: return .object((0..<Int.random(in: 0..<4, using: &rng)).map { i in ("k\(i)", value(depth + 1)) })
            }
        }
        for _ in 0..<2_000 {
            let v = value(0)
            for escapeHTML in [false, true] {
                #expect(try JSON(parsing: v.encoded(escapeHTML: escapeHTML)) == v)
            }
        }
    }

    @Test func sortedKeysAndTreesWriteAsJSONSerializationDid() throws {
        let tree: [String: Any] = ["b": 1, "a": ["x": true, "u": "http://a/b"], "c": [1.5, 2.0, "s"] as [Any], "n": Int?.none as Any, "d": 3.25]
        let value = try #require(JSON(tree: tree))
        #expect(value.json == #"{"a":{"u":"http://a/b","x":true},"b":1,"c":[1.5,2,"s"],"d":3.25,"n":null}"#)
        #expect(JSON(tree: ["x": [1, 2] as Set<Int>]) == nil, "what cannot be written is refused, not guessed at")
        #expect(JSON.object([("z", 1), ("a", 2)]).json == #"{"a":2,"z":1}"#)
        #expect(String(decoding: JSON.object([("z", 1), ("a", 2)]).encoded(), as: UTF8.self) == #"{"z":1,"a":2}"#)
    }

    @Test func stringsAppendedAsTextEscapeAsTheWriterDoes() {
        for s in ["plain", "q\"b\\n\n\u{1}", "\u{2028}", "é🚨", ""] {
            var out = ""
            JSONString.append(s, to: &out)
            #expect(out == String(decoding: JSON.string(s).encoded(), as: UTF8.self))
            #expect(JSON.parse(Array(out.utf8)) == .string(s))
        }
    }
}
