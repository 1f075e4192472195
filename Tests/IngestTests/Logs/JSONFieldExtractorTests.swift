import JSON
import Foundation
import Testing

@testable import Ingest

/// What a test saw of one field after extracting a line.
private enum Seen: Equatable, CustomStringConvertible {
    case absent
    case text(String)
    case invalid(MalformedLineReason)

    var description: String {
        switch self {
        case .absent: "absent"
        case .text(let s): "text(\(s.debugDescription))"
        case .invalid(let r): "invalid(\(r))"
        }
    }
}

/// Extracts `line` with the given paths and returns the outcome and each field as text.
private func extract(_ line: [UInt8], paths: [String], maxDepth: Int = 64) throws -> (JSONExtractOutcome, [Seen]) {
    let extractor = try JSONFieldExtractor(paths: paths, maxDepth: maxDepth)
    return line.withUnsafeBytes { bytes in
        let outcome = extractor.extract(bytes)
        let seen: [Seen] = (0..<extractor.paths.count).map { i in
            switch extractor.text(i) {
            case .absent: .absent
            case .bytes(let b): .text(String(decoding: b, as: UTF8.self))
            case .invalid(let r): .invalid(r)
            }
        }
        return (outcome, seen)
    }
}

private func extract(_ line: String, paths: [String]) throws -> (JSONExtractOutcome, [Seen]) {
    try extract(Array(line.utf8), paths: paths)
}

/// Extracts `line` and reads field 0 as a number.
private func number(_ line: String, path: String = "v") throws -> JSONFieldNumber {
    let extractor = try JSONFieldExtractor(paths: [path])
    var bytes = Array(line.utf8)
    return bytes.withUnsafeMutableBytes { b in
        guard extractor.extract(UnsafeRawBufferPointer(b)) == .ok else { return .invalid(.syntax) }
        return extractor.number(0)
    }
}

@Suite struct JSONFieldExtractorTests {
    @Test func plainDecimalsParseExactlyAsTheGeneralParserDoes() {
        var cases = [
            "0", "-0", "0.5", "-0.0", "1", "12.078", "5697", "200", "-3.25", "00", "01", "-01.5", "1.", ".5", "-", "-.5",
            "1.2.3", "1e3", "1E-2", "12a", "9007199254740992", "9007199254740993", "1234567890123456789",
            "12345678901234567890", "0.000000000000000001", "123456789.123456789", "1.7976931348623157", "--1", "+1",
            " 1", "1 ", "0.1", "0.2", "0.30000000000000004", "18446744073709551615", "99999999999999999999.5",
        ]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let alphabet = Array("0123456789.-e")
            cases.append(String((0..<Int.random(in: 1...22, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }))
            let whole = UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng)
            cases.append(Bool.random(using: &rng) ? "\(whole)" : "\(whole).\(UInt32.random(in: 0...999_999, using: &rng))")
        }
        for text in cases {
            var bytes = Array(text.utf8)
            let (fast, general) = bytes.withUnsafeMutableBufferPointer { b in
                (JSONFieldNumberParser.parse(b.baseAddress!, count: b.count), JSONFieldNumberParser.parseAny(b.baseAddress!, count: b.count))
            }
            #expect(fast?.bitPattern == general?.bitPattern, "\(text)")
        }
    }

    /// One extractor reused across lines (its remembered keys warmed by every line before)
    /// must see each line exactly as a fresh extractor does.
    @Test func aReusedExtractorSeesEveryLineAsAFreshOneDoesWhateverTheLinesBefore() throws {
        let paths = ["route", "method", "status", "http.status", "latency_ms", "a_rather_long_key_name"]
        let shapes: [[UInt8]] = [
            #"{"route":"/api/users","method":"GET","status":200,"latency_ms":1.5,"req":"abcdef0123456789"}"#,
            #"{"route":"/api/users","method":"GET","status":200,"latency_ms":1.5,"req":"abcdef0123456789"}"#,
            #"{"method":"PUT","route":"/api/users","status":201,"latency_ms":2,"req":"x"}"#,
            #"{"routes":"/a","method":"GET","stat":1,"latency_msx":3}"#,  // longer and shorter than remembered keys
            #"{"rout":"/a","metho":"GET","statu":1}"#,
            #"{"route":"/esc","method":"GET","status":204}"#,  // an escaped spelling of a remembered key
            #"{"route":"/b","method":"GET","http":{"status":503},"a_rather_long_key_name":7}"#,
            #"{"route":"/b","method":"GET","http":{"status":503,"x":1},"a_rather_long_key_name":7}"#,
            #"{"route":"/c"}"#,  // keys within 16 bytes of the line's end
            #"{"route":"/c","m":1}"#,
            #"{"":"empty key","route":"/d"}"#,
            #"{"route":"/e","method":"GET","status":200,"latency_ms":1.5,"req":"abcdef0123456789""#,  // truncated
            #"{"route":"/f","method":"GET","status":200,"route":"/g"}"#,  // duplicate: the last wins
        ].map { Array($0.utf8) } + [
            Array(#"{"route":"/h","method":"GET","status":200,"latency_ms":1}"#.utf8),
            // Raw control characters where remembered keys begin and end: malformed.
            Array(#"{"\#u{0}oute":"/i","method":"GET","status":200,"latency_ms":1}"#.utf8),
            Array(#"{"route\#u{1}:"/j","method":"GET","status":200,"latency_ms":1}"#.utf8),
            Array(#"{"route":"/k","method"  :  "GET" , "status":200,"latency_ms":1}"#.utf8),
        ]
        let reused = try JSONFieldExtractor(paths: paths)
        func seen(_ extractor: JSONFieldExtractor, _ line: [UInt8]) -> (JSONExtractOutcome, [Seen]) {
            line.withUnsafeBytes { bytes in
                let outcome = extractor.extract(bytes)
                return (outcome, (0..<extractor.paths.count).map { i in
                    switch extractor.text(i) {
                    case .absent: .absent
                    case .bytes(let b): .text(String(decoding: b, as: UTF8.self))
                    case .invalid(let r): .invalid(r)
                    }
                })
            }
        }
        // Every line after every other line (and after itself).
        var order: [Int] = []
        for i in shapes.indices { for j in shapes.indices { order += [i, j] } }
        for i in order {
            let fresh = seen(try JSONFieldExtractor(paths: paths), shapes[i])
            let got = seen(reused, shapes[i])
            #expect(got.0 == fresh.0, "line \(i)")
            #expect(got.1 == fresh.1, "line \(i)")
        }
    }

    @Test func findsTopLevelFieldsInAnyOrderAmongUnknownFieldsAndWhitespace() throws {
        let paths = ["route", "method", "status"]
        let lines = [
            #"{"route":"/api/users","method":"GET","status":200}"#,
            #"{"status":200,"method":"GET","route":"/api/users"}"#,
            #"  { "ua" : "curl/8", "status" :\#t200 , "extra":{"route":"nested, not top"}, "method":"GET","list":[1,{"route":2}],"route" : "/api/users" }  "#,
            "{\"route\":\"/api/users\",\r\n\"method\":\"GET\",\"status\":200}\r",
        ]
        for line in lines {
            let (outcome, seen) = try extract(line, paths: paths)
            #expect(outcome == .ok, "\(line)")
            #expect(seen == [.text("/api/users"), .text("GET"), .text("200")], "\(line)")
        }
    }

    @Test func findsDottedNestedFieldsAndLiteralDottedKeys() throws {
        let paths = ["http.status", "timings.db_ms", "a.b.c", "http"]
        let (outcome, seen) = try extract(
            #"{"timings":{"total_ms":9,"db_ms":3.5},"http":{"method":"GET","status":503},"a":{"b":{"c":true}}}"#, paths: paths)
        #expect(outcome == .ok)
        #expect(seen[0] == .text("503"))
        #expect(seen[1] == .text("3.5"))
        #expect(seen[2] == .text("true"))
        #expect(seen[3] == .invalid(.wrongType), "a parent object is not text")

        let (_, literal) = try extract(#"{"http.status":"404","timings.db_ms":1}"#, paths: paths)
        #expect(literal[0] == .text("404"))
        #expect(literal[1] == .text("1"))
    }

    @Test func aNestedPathThroughANonObjectIsAbsent() throws {
        let paths = ["http.status"]
        for line in [#"{"http":5}"#, #"{"http":[{"status":1}]}"#, #"{"http":"status"}"#, #"{"http":{}}"#, #"{"status":1}"#] {
            let (outcome, seen) = try extract(line, paths: paths)
            #expect(outcome == .ok, "\(line)")
            #expect(seen == [.absent], "\(line)")
        }
    }

    @Test func keysMatchWholeNotByPrefix() throws {
        let (_, seen) = try extract(#"{"routes":1,"rout":2,"Route":3,"route_":4}"#, paths: ["route"])
        #expect(seen == [.absent])
    }

    @Test func theLastOfDuplicateKeysWins() throws {
        let (_, seen) = try extract(#"{"a":1,"a":"two"}"#, paths: ["a"])
        #expect(seen == [.text("two")])
    }

    @Test func emptyAndBlankLinesAreEmptyNotMalformed() throws {
        for line in ["", " ", "\t \r"] {
            #expect(try extract(line, paths: ["a"]).0 == .empty)
        }
    }

    @Test func aByteOrderMarkBeforeTheFirstObjectIsSkipped() throws {
        let (outcome, seen) = try extract([0xEF, 0xBB, 0xBF] + Array(#"{"a":1}"#.utf8), paths: ["a"])
        #expect(outcome == .ok)
        #expect(seen == [.text("1")])
    }

    static let malformed: [(String, MalformedLineReason)] = [
        ("GET /index.html HTTP/1.1 200", .notJSON),
        ("<html>", .notJSON),
        ("[1,2]", .notObject),
        (#""text""#, .notObject),
        ("42", .notObject),
        ("null", .notObject),
        ("true ", .notObject),
        ("-5", .notObject),
        ("not json", .notJSON),
        ("nullify", .notJSON),
        ("-x", .notJSON),
        ("{", .truncated),
        (#"{"a""#, .truncated),
        (#"{"a":"#, .truncated),
        (#"{"a":1"#, .truncated),
        (#"{"a":1,"#, .truncated),
        (#"{"a":"abc"#, .truncated),
        (#"{"a":"abc\"#, .truncated),
        (#"{"a":"\u12"#, .truncated),
        (#"{"a":tr"#, .truncated),
        (#"{"a":1."#, .truncated),
        (#"{"a":1e"#, .truncated),
        (#"{"a":1e+"#, .truncated),
        (#"{"a":-"#, .truncated),
        (#"{"a":[1,2"#, .truncated),
        (#"{"a":{"b":{}"#, .truncated),
        (#"{"a":1,}"#, .syntax),
        (#"{,"a":1}"#, .syntax),
        (#"{"a" 1}"#, .syntax),
        (#"{"a":1 "b":2}"#, .syntax),
        ("{a:1}", .syntax),
        ("{'a':1}", .syntax),
        (#"{"a":01}"#, .syntax),
        (#"{"a":+1}"#, .syntax),
        (#"{"a":.5}"#, .syntax),
        (#"{"a":1.e5}"#, .syntax),
        (#"{"a":1.5.3}"#, .syntax),
        (#"{"a":-x}"#, .syntax),
        (#"{"a":True}"#, .syntax),
        (#"{"a":nul}"#, .syntax),
        (#"{"a":NaN}"#, .syntax),
        (#"{"a":[1,]}"#, .syntax),
        (#"{"a":[1 2]}"#, .syntax),
        (#"{"a":"x\qy"}"#, .syntax),
        (#"{"a":"\u12G4"}"#, .syntax),
        ("{\"a\":\"raw\ttab\"}", .syntax),
        ("{\"a\":\"raw\u{01}control\"}", .syntax),
        (#"{"a":1}x"#, .syntax),
        (#"{"a":1}{"a":2}"#, .syntax),
        (#"{"a":1}}"#, .syntax),
    ]

    @Test(arguments: malformed)
    func malformedLinesAreReportedWithTheirReason(line: String, reason: MalformedLineReason) throws {
        let (outcome, seen) = try extract(line, paths: ["a", "b"])
        #expect(outcome == .malformed(reason))
        #expect(seen == [.absent, .absent], "no field of a malformed line may be read")
    }

    @Test func everyPrefixOfAValidLineIsTruncatedOrEmpty() throws {
        let line = Array(#"{"ts":"2024-05-01T12:00:00.5Z","a":[1,-2.5e3,true,false,null,{"x":"\u00e9\n"}],"b":{"c":"d"}}"#.utf8)
        for length in 0..<line.count {
            let (outcome, _) = try extract(Array(line[..<length]), paths: ["a", "b.c"])
            #expect(outcome == (length == 0 ? .empty : .malformed(.truncated)), "prefix of \(length) bytes")
        }
        #expect(try extract(line, paths: ["a"]).0 == .ok)
    }

    @Test func nestingDeeperThanTheLimitIsTooDeep() throws {
        func nested(_ depth: Int) -> [UInt8] {
            Array(("{\"a\":" + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1) + "}").utf8)
        }
        #expect(try extract(nested(8), paths: ["a"], maxDepth: 8).0 == .ok)
        #expect(try extract(nested(9), paths: ["a"], maxDepth: 8).0 == .malformed(.tooDeep))
        // Hostile: a million brackets cannot exhaust the stack.
        #expect(try extract(nested(1_000_000), paths: ["a"]).0 == .malformed(.tooDeep))
        let objects = "{\"a\":" + String(repeating: "{\"a\":", count: 100_000)
        #expect(try extract(Array(objects.utf8), paths: ["a.a.a"]).0 == .malformed(.tooDeep))
    }

    @Test func escapesAreDecodedOnlyInTheFieldsThatAreUsed() throws {
        let table: [(String, String)] = [
            (#""plain""#, "plain"),
            (#""q\"b\\s\/l""#, #"q"b\s/l"#),
            (#""\b\f\n\r\t""#, "\u{08}\u{0C}\n\r\t"),
            (#""caf\u00e9""#, "café"),
            (#""\u20AC and \u20ac""#, "€ and €"),
            (#""\ud83d\ude00!""#, "😀!"),
            (#""lone \ud83d high""#, "lone \u{FFFD} high"),
            (#""lone \ude00 low""#, "lone \u{FFFD} low"),
            (#""\ud83d\u0041""#, "\u{FFFD}A"),
            (#""\u0000nul""#, "\u{0}nul"),
            (#""raw é UTF-8 ✓""#, "raw é UTF-8 ✓"),
        ]
        for (json, expected) in table {
            let (outcome, seen) = try extract(#"{"x":\#(json),"a":\#(json),"y":\#(json)}"#, paths: ["x", "a", "y"])
            #expect(outcome == .ok)
            #expect(seen == [.text(expected), .text(expected), .text(expected)], "\(json)")
        }
    }

    @Test func aKeySpelledWithEscapesMatches() throws {
        let (_, seen) = try extract(#"{"r\u006fute":"/x","\u0068ttp":{"st\u0061tus":7}}"#, paths: ["route", "http.status"])
        #expect(seen == [.text("/x"), .text("7")])
    }

    @Test func invalidUTF8InAUsedStringIsReportedAndInAnUnusedOneIgnored() throws {
        let bad: [[UInt8]] = [
            [0xFF], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80],
            [0xF4, 0x90, 0x80, 0x80], [0xC3], [0xE2, 0x82], [0x80], [0x61, 0xC3, 0x28],
        ]
        for bytes in bad {
            let line = Array(#"{"used":""#.utf8) + bytes + Array(#"","unused":""#.utf8) + bytes + Array(#""}"#.utf8)
            let (outcome, seen) = try extract(line, paths: ["used"])
            #expect(outcome == .ok, "the JSON structure is intact")
            #expect(seen == [.invalid(.invalidUTF8)], "\(bytes)")
        }
        let good: [[UInt8]] = [[0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0xEF, 0xBF, 0xBD], [0xF4, 0x8F, 0xBF, 0xBF]]
        for bytes in good {
            let line = Array(#"{"used":"abcdefghij"#.utf8) + bytes + Array(#""}"#.utf8)
            let (_, seen) = try extract(line, paths: ["used"])
            #expect(seen == [.text("abcdefghij" + String(decoding: bytes, as: UTF8.self))])
        }
    }

    static let numbers: [(String, Double)] = [
        ("0", 0), ("-0", -0.0), ("7", 7), ("200", 200), ("-12", -12), ("12.5", 12.5), ("0.1", 0.1),
        ("0.000123", 0.000123), ("1e3", 1000), ("1E+3", 1000), ("2.5e-3", 0.0025), ("-7.25E2", -725),
        ("123456789012345678901234567890", 123456789012345678901234567890.0),
        ("9007199254740993", 9007199254740992), ("1.7976931348623157e308", 1.7976931348623157e308),
        ("5e-324", Double.leastNonzeroMagnitude), ("1e-400", 0), ("0.30000000000000004", 0.30000000000000004),
        ("3.141592653589793238462643383279", 3.141592653589793), ("1e22", 1e22), ("1e23", 1e23),
    ]

    @Test(arguments: numbers)
    func numbersAreParsedExactlyAsTheStandardLibraryDoes(text: String, expected: Double) throws {
        #expect(try number(#"{"v":\#(text)}"#) == .value(expected))
        #expect(try number(#"{"v":"\#(text)"}"#) == .value(expected), "the same number sent as a string")
        #expect(try number(#"{"v":\#(text)}"#) == .value(Double(text)!))
    }

    @Test func randomNumbersAgreeWithTheStandardLibrary() throws {
        var rng = LogsTestRandom(seed: 42)
        for _ in 0..<20_000 {
            var text = rng.next() % 4 == 0 ? "-" : ""
            let intDigits = Int(rng.next() % 20)
            text += intDigits == 0 ? "0" : String(1 + rng.next() % 9) + (0..<intDigits).map { _ in String(rng.next() % 10) }.joined()
            if rng.next() % 2 == 0 { text += "." + (0...Int(rng.next() % 20)).map { _ in String(rng.next() % 10) }.joined() }
            if rng.next() % 3 == 0 { text += (rng.next() % 2 == 0 ? "e" : "E-") + String(rng.next() % 330) }
            let expected = Double(text)!
            if expected.isFinite {
                #expect(try number(#"{"v":\#(text)}"#) == .value(expected), "\(text)")
            } else {
                #expect(try number(#"{"v":\#(text)}"#) == .invalid(.wrongType), "\(text)")
            }
        }
    }

    static let notNumbers: [(String, JSONFieldNumber)] = [
        (#""abc""#, .invalid(.wrongType)), (#""""#, .invalid(.wrongType)), (#"" 12""#, .invalid(.wrongType)),
        (#""12ms""#, .invalid(.wrongType)), (#""+1""#, .invalid(.wrongType)), (#"".5""#, .invalid(.wrongType)),
        (#""0x10""#, .invalid(.wrongType)), (#""NaN""#, .invalid(.wrongType)), (#""Infinity""#, .invalid(.wrongType)),
        ("1e999", .invalid(.wrongType)), ("-1e999", .invalid(.wrongType)), ("true", .invalid(.wrongType)),
        ("{}", .invalid(.wrongType)), ("[1]", .invalid(.wrongType)), ("null", .absent), (#""\u0031\u0032""#, .value(12)),
    ]

    @Test(arguments: notNumbers)
    func valuesThatAreNotNumbersAreReportedAsSuch(json: String, expected: JSONFieldNumber) throws {
        #expect(try number(#"{"v":\#(json)}"#) == expected)
        #expect(try number(#"{"w":1}"#) == .absent)
    }

    @Test func aTenMegabyteLineIsScannedAndFieldsAfterItAreFound() throws {
        let big = String(repeating: "abcdefghijklmnopqrstuvwxyz0123456789 ", count: 10_000_000 / 37)
        let line = #"{"blob":"\#(big)","nested":{"blob":[\#(String(repeating: "1,", count: 100_000))1]},"route":"/after"}"#
        #expect(line.utf8.count > 10_000_000)
        let (outcome, seen) = try extract(line, paths: ["route", "blob"])
        #expect(outcome == .ok)
        #expect(seen[0] == .text("/after"))
        #expect(seen[1] == .text(big))
    }

    @Test func aLineWithAHundredThousandFieldsFindsTheLast() throws {
        var line = "{"
        for i in 0..<100_000 { line += "\"f\(i)\":\(i)," }
        line += "\"route\":\"/last\"}"
        #expect(try extract(line, paths: ["route", "f99999"]).1 == [.text("/last"), .text("99999")])
    }

    @Test func pathsAreValidatedAndDeduplicated() throws {
        for bad in ["", ".", "a.", ".a", "a..b"] {
            #expect(throws: JSONFieldPathError(path: bad)) { try JSONFieldExtractor(paths: ["ok", bad]) }
        }
        let extractor = try JSONFieldExtractor(paths: ["a", "b.c", "a"])
        #expect(extractor.paths == ["a", "b.c"])
        #expect(extractor.fieldIndex(of: "b.c") == 1)
        #expect(extractor.fieldIndex(of: "c") == nil)
    }

    @Test func anExtractorIsReusedAcrossLinesWithoutStaleFields() throws {
        let extractor = try JSONFieldExtractor(paths: ["a", "b"])
        let lines = [#"{"a":"\u00e9","b":1}"#, #"{"a":2}"#, #"{"b":"x"#, #"{}"#, #"{"b":"\n"}"#]
        var results: [[JSONFieldKind]] = []
        for line in lines {
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { _ = extractor.extract(UnsafeRawBufferPointer($0)) }
            results.append([extractor.kind(0), extractor.kind(1)])
        }
        #expect(results == [[.string, .number], [.number, .absent], [.absent, .absent], [.absent, .absent], [.absent, .string]])
    }

    /// Keys are found by length and first 8 bytes, then the rest: near misses of every kind (same
    /// prefix, one byte longer or shorter, past 8 bytes, the same key in another object, escaped
    /// spellings, a key at the very end of the line) find exactly the configured field, as a plain
    /// reference (Foundation's parser, then the dotted path) says.
    @Test func keysThatNearlyMatchAConfiguredKeyAreNotMistakenForIt() throws {
        let paths = ["latency_ms", "latency", "a", "ab", "abcdefgh", "abcdefghi", "http.status", "http.st", "x.abcdefghij.k",
                     String(repeating: "long", count: 12)]
        let keys = ["latency_ms", "latency_mz", "latency_m", "latency_ms_", "latency", "latenc", "a", "b", "ab", "ba", "abcdefgh",
                    "abcdefgi", "abcdefghi", "abcdefghj", "abcdefghij", "http", "status", "st", "http.status", "x", "k", "abcdefghij",
                    String(repeating: "long", count: 12), String(repeating: "long", count: 12) + "x", String(repeating: "long", count: 11) + "lonh"]
        var rng = LogsTestRandom(seed: 31)
        let extractor = try JSONFieldExtractor(paths: paths)
        func object(depth: Int) -> String {
            var members: [String] = []
            for _ in 0..<Int(rng.next() % 4) + 1 {
                var key = keys[Int(rng.next() % UInt64(keys.count))]
                if rng.next() % 8 == 0, let first = key.unicodeScalars.first {  // the same key, escaped
                    key = String(format: "\\u%04x", first.value) + String(key.dropFirst())
                }
                let value = depth < 3 && rng.next() % 3 == 0 ? object(depth: depth + 1) : String(rng.next() % 1000)
                members.append("\"\(key)\":\(value)")
            }
            return "{" + members.joined(separator: ",") + "}"
        }
        /// The field's value as text (nil when absent or an object); `.none` when the line holds
        /// it both nested and spelled with dots at the top level (then the later one wins).
        func reference(_ json: Any, _ path: String) -> String?? {
            var node: Any? = json
            for segment in path.split(separator: ".") { node = (node as? [String: Any])?[String(segment)] }
            let dotted = path.contains(".") ? (json as? [String: Any])?[path] : nil
            if node != nil && dotted != nil { return .none }
            guard let value = node ?? dotted, !(value is [String: Any]) else { return .some(nil) }
            return .some("\(value)")
        }
        for _ in 0..<5_000 {
            let line = object(depth: 1)
            let bytes = Array(line.utf8)
            let json = try JSONSerialization.jsonObject(with: Data(bytes))
            #expect(bytes.withUnsafeBytes { extractor.extract($0) } == .ok, "\(line)")
            for (i, path) in paths.enumerated() {
                let ours: String? = switch extractor.text(i) {
                case .bytes(let b): extractor.kind(i) == .object ? nil : String(decoding: b, as: UTF8.self)
                default: nil
                }
                // Duplicate keys: Foundation keeps one of them; skip lines where that matters.
                let duplicates = Set(bytes.split(separator: UInt8(ascii: ",")).map { $0.prefix(while: { $0 != UInt8(ascii: ":") }) }).count
                    != bytes.split(separator: UInt8(ascii: ",")).count
                if !duplicates, case .some(let expected) = reference(json, path) { #expect(ours == expected, "\(path) in \(line)") }
            }
        }
    }

    /// Differential check against Foundation's JSON parser on random damage to valid lines: both must
    /// agree on which lines are well-formed objects, except that Foundation also accepts a trailing
    /// comma (`[1,]`), which RFC 8259 does not.
    @Test func randomlyDamagedLinesAgreeWithFoundationOnValidity() throws {
        let seeds = [
            #"{"ts":"2024-05-01T12:00:00Z","route":"/api/v1/users","status":200,"latency_ms":12.5,"ok":true}"#,
            #"{"a":[1,-2.5e3,true,false,null,{"x":"y"}],"b":{"c":{"d":[]}},"e":"q\"\\\/\n"}"#,
            #"{ "k" : [ { } , [ ] , 0 , -0.0e+1 ] }"#,
        ].map { Array($0.utf8) }
        let alphabet = Array(#"{}[]":,.-+eE0123456789 tfnulrsa\/"#.utf8)
        var rng = LogsTestRandom(seed: 7)
        let extractor = try JSONFieldExtractor(paths: ["route", "a", "b.c.d", "e"])
        var disagreements: [String] = []
        for _ in 0..<20_000 {
            var line = seeds[Int(rng.next() % UInt64(seeds.count))]
            for _ in 0...Int(rng.next() % 3) {
                let at = Int(rng.next() % UInt64(line.count))
                switch rng.next() % 3 {
                case 0: line.remove(at: at)
                case 1: line.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default: line[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
                if line.isEmpty { line = [UInt8(ascii: "{")] }
            }
            let ours = line.withUnsafeBytes { extractor.extract($0) }
            let theirs = (try? JSONSerialization.jsonObject(with: Data(line))) is [String: Any] && !hasTrailingComma(line)
            if (ours == .ok) != theirs { disagreements.append(String(decoding: line, as: UTF8.self)) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
    }
}

/// True when a comma is followed by a closing bracket or brace (outside strings).
private func hasTrailingComma(_ line: [UInt8]) -> Bool {
    var inString = false
    var escaped = false
    var lastSignificant: UInt8 = 0
    for c in line {
        if inString {
            if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
            continue
        }
        if c == UInt8(ascii: "\"") { inString = true }
        if (c == UInt8(ascii: "]") || c == UInt8(ascii: "}")) && lastSignificant == UInt8(ascii: ",") { return true }
        if c != 0x20 && c != 0x09 && c != 0x0A && c != 0x0D { lastSignificant = c }
    }
    return false
}
