import Testing
import YAMLSupport

/// `YAMLReader`: parse errors at their positions, and the typed readers' messages.
@Suite struct YAMLReaderTests {
    static let parseErrors: [(String, String)] = [
        // libyaml's problem at its mark, as before (the context is left out, as before).
        ("a: [1, 2\nb: 3\n", "c.yaml:2:2: invalid YAML: did not find expected ',' or ']'"),
        ("a:\n\tb: 1\n", "c.yaml:2:1: invalid YAML: found character that cannot start any token"),
        // Composer errors (Yams's went to 1:1 with its whole description) and the limits.
        ("a: *nope\n", "c.yaml:1:4: invalid YAML: found undefined alias"),
        ("a: 1\n---\nb: 2\n", "c.yaml:2:1: invalid YAML: expected a single document in the stream but found another document"),
        (String(repeating: "[", count: 2_000), "c.yaml:1:1001: invalid YAML: collections are nested more than 1000 deep"),
        // A repeated key at its second occurrence (Yams's went to 1:1 with the whole document).
        ("global:\n  resolution: 1s\n  resolution: 2s\n", #"c.yaml:3:3: key "resolution" is given twice in this mapping (first at line 2)"#),
        // A control character at its position.
        ("a: 1\nb: \u{1}\n", "c.yaml:2:4: invalid YAML: control characters are not allowed"),
    ]

    @Test(arguments: parseErrors.indices)
    func aParseErrorIsRecordedAtItsPosition(_ index: Int) {
        let (yaml, expected) = Self.parseErrors[index]
        var reader = YAMLReader(file: "c.yaml")
        #expect(reader.parse(yaml) == nil)
        #expect(reader.errors.map(\.description) == [expected])
    }

    @Test func aTextWithoutADocumentIsAnEmptyMapping() {
        var reader = YAMLReader(file: "c.yaml")
        #expect(reader.parse("# nothing\n") == .mapping(Node.Mapping([])))
        #expect(reader.errors.isEmpty)
    }

    @Test func typedReadersReportWrongTypesAtTheNode() throws {
        var reader = YAMLReader(file: "c.yaml")
        let parsed = reader.parse("""
            n: "12"
            d: 0.5
            b: yes
            t: 90
            list: [a, {b: c}]
            """)
        let root = try #require(parsed)
        let top = reader.mapping(root, "top", known: ["n", "d", "b", "t", "list"])
        let m = try #require(top)
        let (n, d, b, t, list) = (try #require(m["n"]), try #require(m["d"]), try #require(m["b"]), try #require(m["t"]), try #require(m["list"]))
        let int = reader.int(n, "n", in: 0...100)
        let double = reader.double(d, "d", in: 0...1)
        let bool = reader.bool(b, "b")
        let duration = reader.duration(t, "t")
        let strings = reader.strings(list, "list")
        #expect(int == nil && double == 0.5 && bool == true && duration == nil && strings == ["a"])
        #expect(reader.errors.map(\.description) == [
            "c.yaml:1:4: n must be a whole number",
            #"c.yaml:4:4: t: "90" is not a duration (expected e.g. 500ms, 15s, 1h30m, 7d)"#,
            "c.yaml:5:11: list item must be a string",
        ])
    }

    /// Numbers in the configuration read as in rule files and as Go's YAML reads them (Prometheus's
    /// own configuration keys, remote_write's among them, mean the same there).
    @Test func numbersReadAsGoReadsThem() throws {
        var reader = YAMLReader(file: "c.yaml")
        let parsed = reader.parse("a: 0x10\nb: 10.0\nc: 1:30\nd: 1e3\ne: inf\n")
        let root = try #require(parsed)
        let top = reader.mapping(root, "top", known: ["a", "b", "c", "d", "e"])
        let m = try #require(top)
        var values: [Int?] = []
        for key in ["a", "b", "c"] {
            let node = try #require(m[key])
            values.append(reader.int(node, key, in: 0...1000))
        }
        var doubles: [Double?] = []
        for key in ["d", "e"] {
            let node = try #require(m[key])
            doubles.append(reader.double(node, key, in: 0...10_000))
        }
        #expect(values == [16, 10, nil] && doubles == [1000, nil])
        #expect(reader.errors.map(\.description) == ["c.yaml:3:4: c must be a whole number", "c.yaml:5:4: e must be a number"])
    }
}
