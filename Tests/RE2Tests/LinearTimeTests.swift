import Testing

@testable import RE2

/// The engine's promise: work bounded by (input scalars + 1) × program size, whatever the
/// pattern. Checked on the VM's own count of the threads it adds and steps, not on time.
@Suite("RE2: bounded work on hostile patterns")
struct LinearTimeTests {
    /// The bound the VM must stay within: every instruction enters each step at most once and is
    /// stepped at most once.
    static func bound(_ re: RegularExpression, _ input: [UInt8]) -> Int {
        2 * (input.count + 1) * re.program.count
    }

    static func steps(_ re: RegularExpression, _ input: [UInt8]) -> (matched: Bool, steps: Int) {
        var steps = 0
        let matched = input.withUnsafeBufferPointer { re.matches($0, steps: &steps) }
        return (matched, steps)
    }

    static func searchSteps(_ re: RegularExpression, _ input: [UInt8]) -> (slots: [Int]?, steps: Int) {
        var steps = 0
        let slots = input.withUnsafeBufferPointer { re.search($0, from: 0, slotCount: 2 * (re.groupCount + 1), steps: &steps) }
        return (slots, steps)
    }

    struct Hostile: CustomTestStringConvertible, Sendable {
        let pattern: String
        let input: [UInt8]
        let matches: Bool
        let options: RegularExpression.Options
        var testDescription: String { "\(pattern) on \(input.count) bytes" }
    }

    static let hostile: [Hostile] = [
        Hostile(pattern: "(a*)*b", input: Array(repeating: UInt8(ascii: "a"), count: 10_000), matches: false, options: .prometheus),
        Hostile(pattern: "(a*)*b", input: Array(repeating: UInt8(ascii: "a"), count: 10_000), matches: false, options: .go),
        Hostile(pattern: "(x+x+)+y", input: Array(repeating: UInt8(ascii: "x"), count: 10_000), matches: false, options: .prometheus),
        Hostile(pattern: "(x+x+)+y", input: Array(repeating: UInt8(ascii: "x"), count: 10_000), matches: false, options: .go),
        Hostile(pattern: "(a|aa)+$", input: Array(repeating: UInt8(ascii: "a"), count: 10_000) + [UInt8(ascii: "!")], matches: false, options: .go),
        Hostile(pattern: "(.*a){20}", input: Array(repeating: UInt8(ascii: "a"), count: 5_000), matches: true, options: .prometheus),
        Hostile(pattern: "(\\w+\\s?)+$", input: Array(String(repeating: "word ", count: 2_000).utf8) + [UInt8(ascii: "!")], matches: false, options: .go),
        Hostile(pattern: "((a?){30}){30}", input: Array(repeating: UInt8(ascii: "a"), count: 2_000), matches: false, options: .prometheus),
    ]

    @Test("hostile patterns finish within the linear bound", arguments: hostile)
    func hostilePatternsStayLinear(_ h: Hostile) throws {
        let re = try RegularExpression(h.pattern, options: h.options)
        let yesNo = Self.steps(re, h.input)
        #expect(yesNo.matched == h.matches)
        #expect(yesNo.steps <= Self.bound(re, h.input), "\(yesNo.steps) steps")
        let search = Self.searchSteps(re, h.input)
        #expect((search.slots != nil) == h.matches)
        #expect(search.steps <= Self.bound(re, h.input), "\(search.steps) steps")
    }

    @Test("the backtracker, used for short inputs, visits each state once", arguments: ["(a*)*b", "(x+x+)+y", "(a|aa)+$", "(a?){30}a{30}b"])
    func backtrackerStaysWithinItsMarks(_ pattern: String) throws {
        for options in [RegularExpression.Options.prometheus, .go] {
            let re = try RegularExpression(pattern, options: options)
            let input = Array(repeating: UInt8(ascii: pattern.contains("x") ? "x" : "a"), count: 1_000)
            #expect(re.backtrackFits(input.count))
            var steps = 0
            let slots = input.withUnsafeBufferPointer { re.backtrack($0, from: 0, slotCount: 2 * (re.groupCount + 1), steps: &steps) }
            var pikeSteps = 0
            let pike = input.withUnsafeBufferPointer { re.pikeSearch($0, from: 0, slotCount: 2 * (re.groupCount + 1), steps: &pikeSteps) }
            #expect(slots == pike)
            #expect(steps <= Self.bound(re, input), "\(steps) steps")
        }
    }

    @Test func workGrowsLinearlyWithTheInput() throws {
        // Doubling the input at most doubles the work (plus the constant of one more step).
        let re = try RegularExpression("(a*)*b", options: .go)
        let small = Self.steps(re, Array(repeating: UInt8(ascii: "a"), count: 5_000)).steps
        let large = Self.steps(re, Array(repeating: UInt8(ascii: "a"), count: 10_000)).steps
        #expect(large <= 2 * small + 2 * re.program.count, "\(small) → \(large)")
        #expect(large > small)
    }

    @Test func replacingAllOverALongInputStaysLinear() throws {
        // Each search starts where the last ended and stops at its first match, so a replace over
        // n bytes costs about n × program, not n².
        let re = try RegularExpression("a|b", options: .go)
        let input = Array(repeating: UInt8(ascii: "a"), count: 20_000)
        let out = re.replacingAll(in: input, with: "x")
        #expect(out == Array(repeating: UInt8(ascii: "x"), count: 20_000))
    }

    @Test func longAlternationsAndLongInputs() throws {
        let names = (0..<2000).map { "service_\($0)" }
        let re = try RegularExpression(names.joined(separator: "|"))
        #expect(re.matches("service_1999"))
        #expect(!re.matches("service_2000"))
        let nfa = try RegularExpression("(a|aa)*(b|c)[0-9]{0,100}")
        let input = Array(String(repeating: "a", count: 100_000).utf8)
        let counted = Self.steps(nfa, input)
        #expect(!counted.matched)
        #expect(counted.steps <= Self.bound(nfa, input))
    }

    @Test func deeplyNestedGroupsDoNotExhaustTheStack() throws {
        // ε-closures are followed with an explicit stack: 200 nested groups and a 50 000-instruction program are fine.
        let nested = String(repeating: "(", count: 200) + "a" + String(repeating: ")*", count: 200)
        let re = try RegularExpression(nested, options: .go)
        #expect(re.matches("aaaa"))
        #expect(re.firstMatch(in: "aaaa")?.range == 0..<4)
        let big = try RegularExpression(String(repeating: "a?", count: 900) + String(repeating: "a", count: 900), options: .prometheus)
        #expect(big.matches(String(repeating: "a", count: 900)))
        #expect(big.firstMatch(in: String(repeating: "a", count: 1000))?.range == 0..<1000)
    }
}
