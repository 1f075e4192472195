import Foundation
import JSON
import Testing

/// The one JSON reader: strict RFC 8259, bounded depth, errors with a position.
@Suite struct JSONReadingTests {
    @Test func documentsReadIntoValuesInOrder() throws {
        let doc = try JSON(parsing: #" {"b":1,"a":[true,false,null,-0.5,1e3,"x\u00e9\ud83d\udea8\/"],"b":2} "#)
        #expect(doc == .object([("b", 1), ("a", .array([true, false, .null, .double(-0.5), .double(1000), "xé🚨/"])), ("b", 2)]))
        #expect(doc["b"]?.int == 2, "the last of a repeated key, as Go and JSONSerialization take it")
        #expect(try JSON(parsing: "7") == .int(7) && JSON(parsing: "\"s\"") == "s" && JSON(parsing: "null") == .null)
        #expect(try JSON(parsing: "9223372036854775807") == .int(.max))
        #expect(try JSON(parsing: "9223372036854775808") == .double(9_223_372_036_854_775_808), "beyond 64 bits: a double")
        #expect(try JSON(parsing: "0") == .int(0) && JSON(parsing: "1.0") == .double(1))
        // A negative zero keeps its sign, written or underflowed, so that it reads back as written.
        for text in ["-0", "-0.0", "-2.5e-333", "-1e-400"] {
            let value = try JSON(parsing: text)
            #expect(value.double == 0 && value.double?.sign == .minus && value.json == "-0", "\(text)")
            #expect(try JSON(parsing: value.json) == value)
        }
    }

    @Test(arguments: [
        ("", "1:1: unexpected end of input, a value expected"),
        ("{", "1:2: unexpected end of input, a member name expected"),
        ("{\"a\":", "1:6: unexpected end of input, a value expected"),
        ("[1,2", "1:5: unexpected end of input, \",\" or \"]\" expected"),
        ("{\"a\" 1}", "1:6: unexpected \"1\", \":\" expected"),
        ("nul", "1:1: invalid literal, \"null\" expected"),
        ("\"unterminated", "1:1: unterminated string"),
        ("{\"a\":1}}", "1:8: unexpected \"}\" after the value"),
        ("[1,]", "1:4: unexpected \"]\", a value expected"),
        ("{\"a\":1,}", "1:8: unexpected \"}\", a member name expected"),
        ("[01]", "1:2: invalid number, leading zero"),
        ("[1.]", "1:4: invalid number, a digit expected after \".\""),
        ("[1e]", "1:4: invalid number, a digit expected in the exponent"),
        ("[-]", "1:3: invalid number, a digit expected"),
        ("[.5]", "1:2: unexpected \".\", a value expected"),
        ("['a']", "1:2: unexpected \"'\", a value expected"),
        ("[1e999]", "1:2: number 1e999 out of range"),
        ("\n\n  [\"a\tb\"]", "3:6: control character 0x9 in string"),
        ("\"\\x\"", "1:2: invalid escape \"\\x\" in string"),
        ("\"\\u12\"", "1:4: unterminated \\u escape"),
        ("\"\\u12G4\"", "1:6: invalid \\u escape"),
        ("\"\\ud83d\"", "1:2: lone surrogate \\ud83d in string"),
        ("\"\\udea8\"", "1:2: lone surrogate \\udea8 in string"),
        ("\"\\ud83d\\u0041\"", "1:2: lone surrogate \\ud83d in string"),
        ("[1] // comment", "1:5: unexpected \"/\" after the value"),
        ("NaN", "1:1: unexpected \"N\", a value expected"),
    ] as [(String, String)])
    func malformedAndTruncatedTextIsRefusedWithItsPosition(_ text: String, _ message: String) {
        #expect(throws: JSON.ParseError.self) { try JSON(parsing: text) }
        do {
            _ = try JSON(parsing: text)
        } catch {
            #expect(error.description == message)
        }
        #expect(JSON.parse(Array(text.utf8)) == nil)
    }

    @Test func invalidUTF8IsRefused() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0x5C, 0x6E, 0xC0, 0xAF, 0x22]] {
            #expect(JSON.parse(bytes) == nil, "\(bytes)")
        }
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "[", count: JSON.maximumDepth) + String(repeating: "]", count: JSON.maximumDepth)
        #expect(JSON.parse(Array(deep.utf8)) != nil)
        let tooDeep = "[" + deep + "]"
        #expect(throws: JSON.ParseError.self) { try JSON(parsing: tooDeep) }
        #expect(JSON.parse(Array(String(repeating: "{\"a\":", count: 100_000).utf8)) == nil)
        #expect(JSON.parse(Array(String(repeating: "[", count: 1_000_000).utf8)) == nil, "a hostile depth does not reach the stack")
    }

    @Test func aHugeDocumentReads() throws {
        let items = (0..<50_000).map { "{\"metric\":{\"i\":\"\($0)\"},\"value\":[1.5,\"\($0)\"]}" }.joined(separator: ",")
        let doc = try JSON(parsing: "{\"result\":[\(items)]}")
        #expect(doc["result"]?.array.count == 50_000)
        #expect(doc["result"]?.array.last?["metric"]?["i"]?.string == "49999")
        let long = String(repeating: "é\\n", count: 200_000)
        #expect(try JSON(parsing: "\"\(long)\"").string?.count == 400_000)
    }

    /// Our reader and Foundation's agree on what is JSON and on what it says, over mutations of a
    /// document (bytes dropped, replaced, duplicated: truncations and garbage of every kind).
    /// Seeded, so that a disagreement found is found again (the fuzz target explores further).
    @Test(arguments: [1, 2, 3] as [UInt64]) func mutationsAgreeWithJSONSerialization(seed rngSeed: UInt64) throws {
        let seed = Array(#"{"a":[1,-2.5e-3,true,null,"x\"\u00e9"],"b":{"c":"d"},"e":0}"#.utf8)
        var rng = SplitMix64(seed: rngSeed)
        var disagreements: [String] = []
        let alphabet = Array(#"{}[],:"\ 0123456789.eE+-tfnul"#.utf8) + [0x00, 0x0A, 0xC3, 0xFF]
        for _ in 0..<3_000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes.remove(at: at)
                case 1: bytes[at] = alphabet.randomElement(using: &rng)!
                default: bytes.insert(bytes[at], at: at)
                }
                if bytes.isEmpty { bytes = [0x20] }
            }
            let ours = JSON.parse(bytes)
            let theirs = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            if (ours == nil) != (theirs == nil) {
                disagreements.append(String(decoding: bytes, as: UTF8.self))
            } else if let ours, let theirs {
                let reference = try JSONSerialization.data(withJSONObject: theirs, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
                if let back = JSON.parse(Array(reference)), back.json != ours.json {
                    disagreements.append(String(decoding: bytes, as: UTF8.self))
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }
}

/// SplitMix64: a small seeded generator for reproducible random tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
