import Testing
import YAMLSupport

/// `compose(yaml:)`: the tree, its positions and its errors, as Yams 6.2.2 gave them (the
/// expectations were checked against Yams itself).
@Suite struct ComposeTests {
    @Test func aDocumentBecomesATreeWithEveryNodesPosition() throws {
        let yaml = """
            global:
              scrape_interval: 15s
            rule_files: [a.yaml, "b.yaml"]
            """
        let root = try #require(try compose(yaml: yaml))
        let top = try #require(root.mapping)
        #expect(root.mark == Mark(line: 1, column: 1))
        #expect(top.count == 2)
        #expect(Array(top.keys.compactMap(\.string)) == ["global", "rule_files"])
        let interval = try #require(top["global"]?.mapping?["scrape_interval"])
        #expect(interval.string == "15s")
        #expect(interval.mark == Mark(line: 2, column: 20))
        let files = try #require(top["rule_files"]?.sequence)
        #expect(files.map(\.string) == ["a.yaml", "b.yaml"])
        #expect(files[1].mark == Mark(line: 3, column: 22))  // at the opening quote
        #expect(files[0].scalar?.style == .plain)
        #expect(files[1].scalar?.style == .doubleQuoted)
    }

    @Test func columnsCountUnicodeScalarsNotBytes() throws {
        let root = try #require(try compose(yaml: "é: ü\nclé: [ß, ∑]\n"))
        let m = try #require(root.mapping)
        #expect(m["é"]?.mark == Mark(line: 1, column: 4))
        #expect(m["clé"]?.sequence?[1].mark == Mark(line: 2, column: 10))
    }

    @Test func aTextWithoutADocumentIsNil() throws {
        #expect(try compose(yaml: "") == nil)
        #expect(try compose(yaml: "# only a comment\n\n") == nil)
        // A bare document marker is a document holding a null.
        #expect(try compose(yaml: "---\n")?.null != nil)
    }

    @Test func anAliasIsTheAnchoredNodeWithTheAnchorsPosition() throws {
        let yaml = """
            base: &labels {team: web, tier: 1}
            a: *labels
            """
        let m = try #require(try compose(yaml: yaml)?.mapping)
        #expect(m["a"] == m["base"])
        #expect(m["a"]?.mark == Mark(line: 1, column: 7))
        #expect(m["a"]?.mapping?["team"]?.string == "web")
    }

    @Test func aLaterAnchorOfTheSameNameReplacesTheEarlierOne() throws {
        let m = try #require(try compose(yaml: "x: &a 1\ny: *a\nz: &a 2\nw: *a\n")?.mapping)
        #expect(m["y"]?.int == 1)
        #expect(m["w"]?.int == 2)
    }

    /// Merge keys as Go's YAML (Prometheus, promtool) applies them: the mapping's own keys win, then
    /// the merged mappings in order; the merged entries keep the anchor's positions.
    @Test func mergeKeysAddTheEntriesTheMappingDoesNotGive() throws {
        let m = try #require(try compose(yaml: "a: &x {p: 1, q: 0}\nb:\n  <<: *x\n  q: 2\n")?.mapping?["b"]?.mapping)
        #expect(m.keys.map(\.string) == ["q", "p"])
        #expect(m["q"]?.int == 2 && m["p"]?.int == 1)
        #expect(m["p"]?.mark == Mark(line: 1, column: 11))
        let list = try #require(try compose(yaml: "a: &x {p: 1}\nb: &y {p: 2, r: 3}\nc: {<<: [*x, *y], s: 4}\n")?.mapping?["c"]?.mapping)
        #expect(list.keys.map(\.string) == ["s", "p", "r"])
        #expect(list["p"]?.int == 1)
    }

    @Test(arguments: ["a: {<<: 1}\n", "a: &x [1]\nb: {<<: *x}\n", "a: {<<: [{p: 1}, 2]}\n"])
    func aMergeKeyWithoutMappingsIsAnError(yaml: String) {
        #expect(throws: YamlError.self) { try compose(yaml: yaml) }
    }

    @Test func aQuotedMergeKeyIsAnOrdinaryKey() throws {
        let m = try #require(try compose(yaml: "\"<<\": {p: 1}\n")?.mapping)
        #expect(m.keys.map(\.string) == ["<<"])
    }

    @Test func blockScalarsKeepTheirStyleAndText() throws {
        let m = try #require(try compose(yaml: "lit: |\n  a\n  b\nfold: >-\n  c\n  d\n")?.mapping)
        #expect(m["lit"]?.string == "a\nb\n")
        #expect(m["lit"]?.scalar?.style == .literal)
        #expect(m["fold"]?.string == "c d")
        #expect(m["fold"]?.scalar?.style == .folded)
    }

    @Test func aCRLFTextHasTheSamePositions() throws {
        let m = try #require(try compose(yaml: "a: 1\r\nb:\r\n  - x\r\n")?.mapping)
        #expect(m["b"]?.sequence?[0].mark == Mark(line: 3, column: 5))
    }

    /// Errors as libyaml words them (context, then problem), at libyaml's marks plus one, as Yams
    /// reported them.
    static let errors: [(String, String)] = [
        ("a: 'abc", "1:8: error: scanner: while scanning a quoted scalar in line 1, column 4\nfound unexpected end of stream"),
        ("a:\n\tb: 1\n", "2:1: error: scanner: while scanning for the next token in line 2, column 1\nfound character that cannot start any token"),
        ("groups: [", "2:1: error: parser: while parsing a flow node in line 2, column 1\ndid not find expected node content"),
        ("a:\n  b: 1\n c: 2\n", "3:2: error: parser: while parsing a block mapping in line 1, column 1\ndid not find expected key"),
        ("a: [1, 2\nb: 3\n", "2:2: error: parser: while parsing a flow sequence in line 1, column 4\ndid not find expected ',' or ']'"),
        ("a: *nope\n", "1:4: error: composer: found undefined alias"),
        ("a: 1\n---\nb: 2\n", "2:1: error: composer: expected a single document in the stream in line 1, column 1\nbut found another document"),
        ("a: &x [*x]\n", "1:8: error: composer: found undefined alias"),
    ]

    @Test(arguments: errors.indices)
    func malformedTextIsAnErrorAtItsPosition(_ index: Int) {
        let (yaml, expected) = Self.errors[index]
        do {
            _ = try compose(yaml: yaml)
            Issue.record("no error for \(yaml.debugDescription)")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error)")
            #expect(expected.hasPrefix(error.mark.description + ":"), "\(error)")
        }
    }

    @Test func aKeyGivenTwiceIsRefusedWithBothPositions() {
        do {
            _ = try compose(yaml: "b: 1\na: 2\nb: 3\n'a': 4\n")
            Issue.record("no error")
        } catch {
            guard case .duplicatedKeysInMapping(let keys, let context) = error else {
                Issue.record("\(error)")
                return
            }
            // In key order, the context at the first key's first occurrence (as Yams reported it).
            #expect(keys.map(\.name) == ["a", "b"])
            #expect(keys.map(\.first) == [Mark(line: 2, column: 1), Mark(line: 1, column: 1)])
            #expect(keys.map(\.repeated) == [Mark(line: 4, column: 1), Mark(line: 3, column: 1)])
            #expect(context.mark == Mark(line: 2, column: 1))
            #expect("\(keys.map { "\"\($0)\"" }.joined(separator: ", "))" == #""a", "b""#)
        }
    }

    @Test func keysAreComparedAsTheirTypesNotTheirText() throws {
        // `1` is an int and `"1"` a string: two keys. `a` and `'a'` are both strings: one key twice.
        let m = try #require(try compose(yaml: "1: int\n\"1\": str\n")?.mapping)
        #expect(m.count == 2)
        #expect(m["1"]?.string == "int")
        #expect(throws: YamlError.self) { try compose(yaml: "a: 1\n'a': 2\n") }
        // A duplicate in a flow mapping on one line is found at its own column.
        do {
            _ = try compose(yaml: "x: {k: 1, k: 2}\n")
        } catch {
            #expect(error.mark == Mark(line: 1, column: 11))
        }
    }

    @Test func bytesThatAreNotUTF8AreAReaderErrorAtTheirPosition() {
        let bytes: [UInt8] = Array("a: 1\nb: é".utf8) + [0xFF, 0x0A]
        do {
            _ = try bytes.withUnsafeBufferPointer { p throws(YamlError) in try compose(utf8: p) }
            Issue.record("no error")
        } catch {
            guard case .reader(let problem, let offset, _, let mark) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(problem == "invalid leading UTF-8 octet")
            #expect(offset == 10)
            #expect(mark == Mark(line: 2, column: 5))
        }
    }

    @Test func aNulOrControlCharacterIsAReaderErrorAtItsPosition() {
        for (yaml, mark) in [("a: b\u{0}c\n", Mark(line: 1, column: 5)), ("a: 1\nb: \u{7}\n", Mark(line: 2, column: 4))] {
            do {
                _ = try compose(yaml: yaml)
                Issue.record("no error for \(yaml.debugDescription)")
            } catch {
                guard case .reader(let problem, _, _, _) = error else {
                    Issue.record("\(error)")
                    continue
                }
                #expect(problem == "control characters are not allowed")
                #expect(error.mark == mark)
            }
        }
    }

    @Test func aLeadingByteOrderMarkIsSkipped() throws {
        // At the start of the text (libyaml) and at the start of a scalar (as Yams did).
        let m = try #require(try compose(yaml: "\u{FEFF}a: \u{FEFF}10\n")?.mapping)
        #expect(m["a"]?.int == 10)
    }
}
