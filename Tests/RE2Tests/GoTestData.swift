import Foundation

/// Go's regexp test data, read where `scripts/regexp-testdata-deps.sh` puts it (`.build/go-regexp/`,
/// extracted from Debian's golang source package at test time, never committed): RE2's search log
/// and the tables of Go's `find_test.go` and `all_test.go`. A missing file fails the test that
/// needs it, with the command that fetches it; nothing is skipped.
enum GoTestData {
    struct Missing: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is missing: run scripts/regexp-testdata-deps.sh (make test-deps does)" }
    }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/go-regexp")

    /// The text of `name` in the test-data directory.
    static func text(_ name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw Missing(path: url.path) }
        return String(decoding: data, as: UTF8.self)
    }
}

/// One value of a Go composite literal in a test table: a string (as bytes: Go strings may hold
/// invalid UTF-8), `nil`, or a call such as `build(1, 0, 7)` with integer arguments.
enum GoValue: Equatable {
    case string([UInt8])
    case null
    case call(String, [Int])

    var bytes: [UInt8]? { if case .string(let b) = self { b } else { nil } }
    var text: String? { bytes.flatMap { String(validating: $0, as: UTF8.self) } }
}

/// Reads the entries of a Go table such as `var findTests = []FindTest{ {`a+`, "baaab", build(1, 1, 4)}, … }`:
/// each `{…}` entry as its values, comments and blank lines skipped. Just enough Go for test tables;
/// anything else is an error naming the line, so a changed file fails loudly rather than reading short.
struct GoTable {
    struct Malformed: Error, CustomStringConvertible {
        var line: Int
        var reason: String
        var description: String { "line \(line): \(reason)" }
    }

    private let s: [UInt8]
    private var i: Int

    /// The entries of the table declared as `var name = …{`.
    static func entries(of name: String, in source: String) throws -> [[GoValue]] {
        let bytes = Array(source.utf8)
        let head = Array("var \(name) = ".utf8)
        guard let start = bytes.indices.first(where: { bytes[$0...].starts(with: head) }),
              let open = bytes[start...].firstIndex(of: UInt8(ascii: "{")) else {
            throw Malformed(line: 0, reason: "no table \(name)")
        }
        var reader = GoTable(s: bytes, i: open + 1)
        return try reader.table()
    }

    private var line: Int { s[..<min(i, s.count)].count { $0 == 0x0A } + 1 }

    private mutating func skipSpaceAndComments() {
        while i < s.count {
            switch s[i] {
            case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ","): i += 1
            case UInt8(ascii: "/") where i + 1 < s.count && s[i + 1] == UInt8(ascii: "/"):
                while i < s.count, s[i] != 0x0A { i += 1 }
            default: return
            }
        }
    }

    private mutating func table() throws -> [[GoValue]] {
        var out: [[GoValue]] = []
        while true {
            skipSpaceAndComments()
            guard i < s.count else { throw Malformed(line: line, reason: "unterminated table") }
            if s[i] == UInt8(ascii: "}") { return out }
            guard s[i] == UInt8(ascii: "{") else { throw Malformed(line: line, reason: "expected an entry") }
            i += 1
            var entry: [GoValue] = []
            while true {
                skipSpaceAndComments()
                guard i < s.count else { throw Malformed(line: line, reason: "unterminated entry") }
                if s[i] == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                entry.append(try value())
            }
            out.append(entry)
        }
    }

    private mutating func value() throws -> GoValue {
        switch s[i] {
        case UInt8(ascii: "`"):
            guard let end = s[(i + 1)...].firstIndex(of: UInt8(ascii: "`")) else { throw Malformed(line: line, reason: "unterminated raw string") }
            defer { i = end + 1 }
            return .string(Array(s[(i + 1)..<end]))
        case UInt8(ascii: "\""):
            var j = i + 1
            while j < s.count, s[j] != UInt8(ascii: "\"") { j += s[j] == UInt8(ascii: "\\") ? 2 : 1 }
            guard j < s.count else { throw Malformed(line: line, reason: "unterminated string") }
            defer { i = j + 1 }
            return .string(try GoQuoted.unquote(String(decoding: s[i...j], as: UTF8.self)))
        default:
            var j = i
            while j < s.count, s[j] == UInt8(ascii: "_") || (s[j] | 0x20 >= UInt8(ascii: "a") && s[j] | 0x20 <= UInt8(ascii: "z")) { j += 1 }
            let word = String(decoding: s[i..<j], as: UTF8.self)
            i = j
            if word == "nil" { return .null }
            guard !word.isEmpty, i < s.count, s[i] == UInt8(ascii: "("),
                  let close = s[i...].firstIndex(of: UInt8(ascii: ")")) else {
                throw Malformed(line: line, reason: "expected a string, nil or a call, found \(word.debugDescription)")
            }
            let arguments = String(decoding: s[(i + 1)..<close], as: UTF8.self)
                .split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" || $0 == "\t" })
            var numbers: [Int] = []
            for a in arguments {
                guard let n = Int(a) else { throw Malformed(line: line, reason: "\(word)(…) has a non-integer argument \(a)") }
                numbers.append(n)
            }
            i = close + 1
            return .call(word, numbers)
        }
    }
}
