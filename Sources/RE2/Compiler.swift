/// One instruction of a compiled program. A `split`'s first target has priority (leftmost-first).
struct Instruction: Sendable {
    enum Op: UInt8, Sendable {
        /// Consume a scalar in `a...b`.
        case range
        /// Consume a scalar in `sets[a]`.
        case set
        /// Consume any scalar.
        case any
        /// Consume any scalar but `\n`.
        case anyNotNewline
        /// Continue at `a`, then (lower priority) at `b`.
        case split
        /// Continue at `a`.
        case jump
        /// Continue when `Assertion(rawValue: a)` holds here.
        case assert
        /// Record the position in capture slot `a`.
        case save
        /// A match ends here.
        case match
    }

    var op: Op
    var a: Int32 = 0
    var b: Int32 = 0

    /// Whether the instruction consumes a scalar (a thread waits on it between steps).
    var consumes: Bool { op.rawValue <= Op.anyNotNewline.rawValue }
}

/// Compiles a `RegexNode` into a Thompson NFA program, laid out as Go's `regexp/syntax` lays out
/// its own so that priorities, and hence submatches, are Go's: `x*` is `L: split(x, out); x; jump L`,
/// `x+` is `x; split(x, out)`, `x?` is `split(x, out); x`, a nullable `x*` is `(x+)?`, `x{n,}` is
/// n-1 copies of x then `x+`, and `x{n,m}` is n copies then m-n nested `x?`.
struct Compiler {
    let pattern: String
    var program: [Instruction] = []
    var sets: [CharSet] = []

    init(pattern: String) { self.pattern = pattern }

    mutating func emit(_ op: Instruction.Op, _ a: Int32 = 0, _ b: Int32 = 0) {
        program.append(Instruction(op: op, a: a, b: b))
    }

    var pc: Int32 { Int32(program.count) }

    mutating func compile(_ node: RegexNode) throws(RegularExpressionError) {
        if program.count > RegularExpression.maxProgramSize {
            throw RegularExpressionError(code: .large, fragment: pattern, offset: 0, kind: .limit)
        }
        switch node {
        case .empty:
            break
        case .literal(let c):
            emit(.range, Int32(bitPattern: c), Int32(bitPattern: c))
        case .set(let s):
            if !s.negated, s.terms.isEmpty, s.ranges.count == 1 {
                emit(.range, Int32(bitPattern: s.ranges[0].lowerBound), Int32(bitPattern: s.ranges[0].upperBound))
            } else if !s.negated, s.terms.isEmpty, s.ranges == [0...0x10FFFF] {
                emit(.any)
            } else if !s.negated, s.terms.isEmpty, s.ranges == [0...0x09, 0x0B...0x10FFFF] {
                emit(.anyNotNewline)
            } else {
                if sets.last != s { sets.append(s) }
                emit(.set, Int32(sets.count - 1))
            }
        case .any(let newline):
            emit(newline ? .any : .anyNotNewline)
        case .assertion(let a):
            emit(.assert, Int32(a.rawValue))
        case .capture(let index, let body):
            emit(.save, Int32(2 * index))
            try compile(body)
            emit(.save, Int32(2 * index + 1))
        case .concat(let items):
            for item in items { try compile(item) }
        case .alternate(let branches):
            var jumps: [Int] = []
            for (k, branch) in branches.enumerated() {
                if k < branches.count - 1 {
                    let split = Int(pc)
                    emit(.split, pc + 1, 0)
                    try compile(branch)
                    jumps.append(Int(pc))
                    emit(.jump)
                    program[split].b = pc
                } else {
                    try compile(branch)
                }
            }
            for j in jumps { program[j].a = pc }
        case .repeated(let body, let minCount, let maxCount, let greedy):
            if maxCount < 0 {
                if minCount == 0 {
                    try star(body, greedy)
                } else {
                    for _ in 0..<(minCount - 1) { try compile(body) }
                    try plus(body, greedy)
                }
            } else {
                for _ in 0..<minCount { try compile(body) }
                // m-n nested optional copies: each split leaves for the end of the whole repetition.
                var splits: [Int] = []
                for _ in 0..<(maxCount - minCount) {
                    splits.append(Int(pc))
                    emit(.split)
                    try compile(body)
                }
                for s in splits { setSplit(s, body: Int32(s + 1), exit: pc, greedy) }
            }
        }
    }

    /// A split preferring `body` when greedy, `exit` when lazy.
    mutating func setSplit(_ at: Int, body: Int32, exit: Int32, _ greedy: Bool) {
        program[at].a = greedy ? body : exit
        program[at].b = greedy ? exit : body
    }

    mutating func star(_ body: RegexNode, _ greedy: Bool) throws(RegularExpressionError) {
        if body.isNullable {
            // (x+)?: so that an empty iteration cannot outrank leaving the loop (Go, golang.org/issue/46123).
            let quest = Int(pc)
            emit(.split)
            try plus(body, greedy)
            setSplit(quest, body: Int32(quest + 1), exit: pc, greedy)
        } else {
            let loop = Int(pc)
            emit(.split)
            try compile(body)
            emit(.jump, Int32(loop))
            setSplit(loop, body: Int32(loop + 1), exit: pc, greedy)
        }
    }

    mutating func plus(_ body: RegexNode, _ greedy: Bool) throws(RegularExpressionError) {
        let start = pc
        try compile(body)
        let split = Int(pc)
        emit(.split)
        setSplit(split, body: start, exit: pc, greedy)
    }
}
