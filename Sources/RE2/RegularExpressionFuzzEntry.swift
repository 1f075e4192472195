/// The fuzz target of the engine (`Fuzz/Regex`, `make fuzz`) and of its corpus regression test:
/// one input, compiled and matched every way, with the invariants checked so that a logic error
/// traps as loudly as a memory error.
///
/// Input layout: byte 0 picks the options (bit 0 anchored, bit 1 `.` matches `\n`); the bytes up
/// to the next 0x00 are the pattern (inputs whose pattern is not UTF-8 are skipped, as a `String`
/// cannot hold them); the rest is the text, any bytes. Checked: a rejected pattern has a message
/// and an offset inside it; the VM's work stays within (text + 1) × 2 × program; the shortcut, the
/// VM and the capturing search agree on whether the text matches, the backtracker and the Pike
/// VM on the submatches; matches lie inside the text on
/// scalar boundaries with their groups inside them; find-all is ordered and non-overlapping; a
/// replace of a text without a match gives the text back.
public enum RegularExpressionFuzzEntry {
    /// Runs one input; traps when an invariant breaks.
    public static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data.bindMemory(to: UInt8.self))
        guard let flags = bytes.first else { return }
        let rest = bytes.dropFirst()
        let split = rest.firstIndex(of: 0) ?? rest.endIndex
        guard let pattern = String(validating: rest[..<split], as: UTF8.self) else { return }
        let text = Array(rest[split...].dropFirst())
        let options = RegularExpression.Options(anchored: flags & 1 != 0, dotMatchesNewline: flags & 2 != 0)
        let re: RegularExpression
        do {
            re = try RegularExpression(pattern, options: options)
        } catch {
            precondition(!error.message.isEmpty && error.offset >= 0 && error.offset <= pattern.utf8.count, "error \(error) at \(error.offset)")
            return
        }
        precondition(re.program.count <= RegularExpression.maxProgramSize + 1_000, "program of \(re.program.count)")

        var steps = 0
        let vm = text.withUnsafeBufferPointer { re.runBoolean($0, steps: &steps) }
        precondition(steps <= 2 * (text.count + 1) * re.program.count, "\(steps) steps")
        var sparseSteps = 0
        precondition(text.withUnsafeBufferPointer { re.runBoolean($0, steps: &sparseSteps, sparse: true) } == vm, "sparse and bitmask thread sets disagree")
        if let shortcut = text.withUnsafeBufferPointer({ re.fast.matches($0) }) { precondition(shortcut == vm, "shortcut \(shortcut), VM \(vm)") }
        precondition(re.matches(text) == vm)

        let boundaries = scalarBoundaries(text)
        let first = re.firstMatch(in: text)
        // The two capture engines agree (the backtracker runs when it fits, the Pike VM always here).
        var pikeSteps = 0
        let pike = text.withUnsafeBufferPointer { re.pikeSearch($0, from: 0, slotCount: 2 * (re.groupCount + 1), steps: &pikeSteps) }
        precondition(pike.map { RegularExpression.Match(slots: $0, groupCount: re.groupCount) } == first, "Pike VM \(pike as Any), search \(first as Any)")
        precondition(pikeSteps <= 2 * (text.count + 1) * re.program.count, "\(pikeSteps) Pike VM steps")
        precondition((first != nil) == vm, "search \(first as Any), VM \(vm)")
        if let first {
            check(first, re, text.count, boundaries)
            if options.anchored { precondition(first.range == 0..<text.count) }
        }

        // Find-all and replace search again after each match (Go's and RE2's way: each search is
        // linear, so n matches cost up to n × program × text); keep a fuzz input's cost bounded.
        guard re.program.count * (text.count + 1) <= 1_000_000 else { return }
        let all = re.allMatches(in: text, limit: 64)
        precondition(all.first == first, "find-all starts with \(all.first as Any), not \(first as Any)")
        var end = 0
        for (k, m) in all.enumerated() {
            check(m, re, text.count, boundaries)
            precondition(m.range.lowerBound >= end, "match \(k) overlaps the previous one")
            precondition(k == 0 || !m.range.isEmpty || m.range.lowerBound > end, "empty match \(k) right after the previous one")
            end = m.range.upperBound
        }

        let replaced = re.replacingAll(in: text, with: "<$1${name}$$>")
        if first == nil { precondition(replaced == text, "a replace without a match changed the text") }
        if let first { _ = re.expand("$0 ${1} $name $$", first, in: text) }
    }

    static func check(_ m: RegularExpression.Match, _ re: RegularExpression, _ count: Int, _ boundaries: [Bool]) {
        precondition(m.groups.count == re.groupCount + 1)
        precondition(m.range.upperBound <= count && boundaries[m.range.lowerBound] && boundaries[m.range.upperBound], "match \(m.range) of \(count)")
        for case let g? in m.groups {
            precondition(g.lowerBound >= m.range.lowerBound && g.upperBound <= m.range.upperBound, "group \(g) outside \(m.range)")
            precondition(boundaries[g.lowerBound] && boundaries[g.upperBound], "group \(g) inside a scalar")
        }
    }

    /// Whether each offset 0...count starts a scalar as the VM decodes them (or is the end).
    static func scalarBoundaries(_ text: [UInt8]) -> [Bool] {
        var out = [Bool](repeating: false, count: text.count + 1)
        text.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < buffer.count {
                out[i] = true
                i += UTF8Decoding.width(buffer, at: i)
            }
            out[buffer.count] = true
        }
        return out
    }
}
