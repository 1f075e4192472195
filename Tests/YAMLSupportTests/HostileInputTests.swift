import Testing
import YAMLSupport

/// Input meant to exhaust time, memory or the stack is refused by `YAMLLimits` with an error that
/// says which limit, at a position; input just inside a limit still composes.
@Suite struct HostileInputTests {
    /// Nine levels of nine-fold aliases: 9⁹ ≈ 387 million nodes once expanded, from 600 bytes.
    static let billionLaughs: String = {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            let items = Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ")
            text += "a\(level): &a\(level) [\(items)]\n"
        }
        return text
    }()

    @Test func anAliasBombStopsAtTheNodeLimitAtTheAliasThatCrossesIt() {
        do {
            _ = try compose(yaml: Self.billionLaughs)
            Issue.record("an alias bomb composed")
        } catch {
            #expect(error.description.contains("more than 1000000 nodes"), "\(error)")
            // Lines 1–6 hold 672 610 nodes counted expanded; a6's first alias (a5: 597 871) crosses.
            #expect(error.mark == Mark(line: 7, column: 10), "\(error)")
        }
    }

    @Test func aliasesJustInsideTheNodeLimitCompose() throws {
        var limits = YAMLLimits()
        // "a: &a [x, x]" is 3 nodes, "b: [*a, *a]" 1 + 3 + 3, the keys and the root 3 more: 13.
        limits.maxNodes = 13
        #expect(try compose(yaml: "a: &a [x, x]\nb: [*a, *a]\n", limits: limits) != nil)
        limits.maxNodes = 12
        #expect(throws: YamlError.self) { try compose(yaml: "a: &a [x, x]\nb: [*a, *a]\n", limits: limits) }
    }

    /// Merge keys reuse nodes that aliases already counted: a chain of mappings each merging the two
    /// before it (Fibonacci growth once expanded) stops at the node limit like any alias bomb.
    @Test func aChainOfMergesStopsAtTheNodeLimit() {
        var text = "m0: &m0 {k0: v}\nm1: &m1 {k1: v}\n"
        for level in 2...40 {
            text += "m\(level): &m\(level) {<<: [*m\(level - 1), *m\(level - 2)], k\(level): v}\n"
        }
        do {
            _ = try compose(yaml: text)
            Issue.record("a chain of merges composed")
        } catch {
            #expect(error.description.contains("more than 1000000 nodes"), "\(error)")
        }
    }

    @Test func anAliasBombAsAKeyIsRefusedBeforeItIsHashed() {
        // Hashing a key walks it: the key's expansion counts against the limit first.
        var text = Self.billionLaughs
        text += "k: {*a9 : 1}\n"
        #expect(throws: YamlError.self) { try compose(yaml: text) }
    }

    @Test(arguments: [("flow", "[", "]"), ("flow mapping", "{a: ", "}")])
    func tenThousandOpenBracketsStopAtTheDepthLimit(_ kind: String, _ open: String, _ close: String) {
        let text = String(repeating: open, count: 10_000) + String(repeating: close, count: 10_000)
        do {
            _ = try compose(yaml: text)
            Issue.record("\(kind): 10 000 levels composed")
        } catch {
            #expect(error.description.contains("nested more than 1000 deep"), "\(kind): \(error)")
            #expect(error.mark.line == 1)
        }
    }

    @Test func blockNestingStopsAtTheDepthLimit() {
        let text = (0..<1_100).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " v\n"
        do {
            _ = try compose(yaml: text)
            Issue.record("1 100 block levels composed")
        } catch {
            #expect(error.description.contains("nested more than 1000 deep"), "\(error)")
            #expect(error.mark.line == 1_001)
        }
    }

    @Test func aThousandLevelsComposeCompareHashAndAreFreed() throws {
        // The deepest tree the limit allows is walked by ==, hash and deinit on the test's thread.
        let text = String(repeating: "[", count: 999) + "x" + String(repeating: "]", count: 999)
        let a = try #require(try compose(yaml: text))
        let b = try #require(try compose(yaml: text))
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        var depth = 0
        var node = a
        while case .sequence(let items) = node, let first = items.first {
            depth += 1
            node = first
        }
        #expect(depth == 999)
        #expect(node.string == "x")
    }

    @Test func aFiftyMegabyteDocumentIsRefusedWithoutBeingParsed() {
        let line = "key_\(0): " + String(repeating: "v", count: 90) + "\n"
        let text = String(repeating: line, count: 50 * 1024 * 1024 / line.utf8.count + 1)
        #expect(text.utf8.count > 50 * 1024 * 1024)
        do {
            _ = try compose(yaml: text)
            Issue.record("a 50 MB document composed")
        } catch {
            #expect(error.description.contains("YAML files are limited to 16777216 bytes"), "\(error)")
            #expect(error.mark == Mark(line: 1, column: 1))
        }
    }

    @Test func aLargeDocumentInsideTheLimitsComposes() throws {
        // 10 000 groups: 50 003 nodes, ≈ 0.35 MB.
        let text = "groups:\n" + (0..<10_000).map { "  - {name: g\($0), interval: 15s}\n" }.joined()
        let groups = try #require(try compose(yaml: text)?.mapping?["groups"]?.sequence)
        #expect(groups.count == 10_000)
        #expect(groups[9_999].mapping?["name"]?.string == "g9999")
        #expect(groups[9_999].mark == Mark(line: 10_001, column: 5))
    }

    @Test func aMegabyteLineInAnErrorIsNotCopiedIntoTheMessage() {
        let text = "a: [" + String(repeating: "x, ", count: 400_000) + "}\n"
        do {
            _ = try compose(yaml: text)
            Issue.record("no error")
        } catch {
            #expect(error.mark.line == 1 && error.mark.column == 1_200_005, "\(error)")
            #expect(error.description.utf8.count < 300, "\(error.description.utf8.count) bytes")
        }
    }

    @Test func tabsInIndentationAreAnErrorAtTheTab() {
        do {
            _ = try compose(yaml: "groups:\n  - name: a\n\t  rules: []\n")
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("found a tab character that violates indentation"), "\(error)")
            #expect(error.mark == Mark(line: 3, column: 1))
        }
    }

    @Test func manyDuplicateKeysCostLinearWork() {
        // 100 000 keys, every one twice: the check is a hash lookup per key, not a comparison of pairs.
        let text = (0..<100_000).map { "k\($0): 1\n" }.joined() + (0..<100_000).map { "k\($0): 2\n" }.joined()
        do {
            _ = try compose(yaml: text)
            Issue.record("no error")
        } catch {
            guard case .duplicatedKeysInMapping(let keys, _) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(keys.count == 100_000)
            #expect(keys[0].name == "k0" && keys[0].repeated == Mark(line: 100_001, column: 1))
        }
    }
}
