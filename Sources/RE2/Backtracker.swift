/// Submatch search for small programs over short inputs, as Go's `regexp` does it (backtrack.go):
/// a depth-first search in priority order that marks each (instruction, position) state the
/// first time it is reached and never enters it again, so the work is bounded by program size ×
/// (input length + 1) like the Pike VM's, without copying capture slots between threads.
///
/// Why a state need not be entered twice: whether a match can be completed from it depends only
/// on the instruction and the position, and the first, higher-priority visit already failed (a
/// success ends the search). The search from successive start positions shares the marks, so an
/// unanchored search stays linear too. It is used when the marks fit in `maxVisited` bits.
extension RegularExpression {
    /// Largest program the backtracker runs (Go's `maxBacktrackProg`).
    static let backtrackMaxProgram = 500
    /// Most (instruction, position) states it marks, in bits (Go's `maxBacktrackVector`: 32 KiB).
    static let backtrackMaxVisited = 256 * 1024
    /// Longest input it searches: the marks are cleared for every search, so `replacingAll` over
    /// n bytes clears O(n²) bits; up to 1 KiB that stays below a few million word writes.
    static let backtrackMaxLength = 1024

    /// Whether a search of `length` bytes is small enough for the backtracker.
    func backtrackFits(_ length: Int) -> Bool {
        program.count <= Self.backtrackMaxProgram && length <= Self.backtrackMaxLength
            && program.count * (length + 1) <= Self.backtrackMaxVisited
    }

    /// One entry of the explicit stack: explore `pc` at `value` (a position), or, when `restore`,
    /// resume a `split`'s second branch at `value` / put `value` back into a `save`'s slot.
    struct BacktrackJob {
        var pc: Int32
        var restore: Bool
        var value: Int
    }

    /// Go's `backtrack`: the leftmost-first match starting at or after `start`, as slots, or nil.
    func backtrack(_ input: UnsafeBufferPointer<UInt8>, from start: Int, slotCount: Int, steps: inout Int) -> [Int]? {
        let end = input.count
        // Marks for positions start...end only.
        let stride = end - start + 1
        let words = (program.count * stride + 63) / 64
        let anchored = options.anchored
        return program.withUnsafeBufferPointer { program in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: words) { visitedBuffer in
                let visited = visitedBuffer.baseAddress!
                visited.initialize(repeating: 0, count: words)
                var slots = [Int](repeating: -1, count: slotCount)
                var jobs: [BacktrackJob] = []
                jobs.reserveCapacity(16)

                /// Marks (pc, pos); false when it was marked already.
                @inline(__always) func visit(_ pc: Int, _ pos: Int) -> Bool {
                    let n = pc * stride + (pos - start)
                    let bit: UInt64 = 1 &<< UInt64(n & 63)
                    if visited[n &>> 6] & bit != 0 { return false }
                    visited[n &>> 6] |= bit
                    return true
                }

                /// What the assertions need around `pos`: non-ASCII scalars are neither word
                /// characters nor newlines, so the bytes suffice.
                @inline(__always) func context(_ pos: Int) -> (UInt32?, UInt32?) {
                    let before: UInt32? = pos > 0 ? (input[pos - 1] < 0x80 ? UInt32(input[pos - 1]) : UTF8Decoding.replacement) : nil
                    let after: UInt32? = pos < end ? (input[pos] < 0x80 ? UInt32(input[pos]) : UTF8Decoding.replacement) : nil
                    return (before, after)
                }

                /// Depth-first from pc 0 at `startPos`; true with `slots` filled on a match.
                func attempt(_ startPos: Int) -> Bool {
                    guard visit(0, startPos) else { return false }
                    jobs.append(BacktrackJob(pc: 0, restore: false, value: startPos))
                    while let job = jobs.popLast() {
                        var pc = Int(job.pc)
                        var pos = job.value
                        if job.restore {
                            let inst = program[pc]
                            if inst.op == .save {
                                slots[Int(inst.a)] = job.value
                                continue
                            }
                            // A split whose first branch failed: its second branch, at the same position.
                            pc = Int(inst.b)
                            guard visit(pc, pos) else { continue }
                        }
                        // Follow this thread until it fails (to the next job) or matches.
                        thread: while true {
                            steps &+= 1
                            let inst = program[pc]
                            switch inst.op {
                            case .split:
                                jobs.append(BacktrackJob(pc: Int32(pc), restore: true, value: pos))
                                pc = Int(inst.a)
                            case .jump:
                                pc = Int(inst.a)
                            case .save:
                                let slot = Int(inst.a)
                                if slot < slotCount {
                                    jobs.append(BacktrackJob(pc: Int32(pc), restore: true, value: slots[slot]))
                                    slots[slot] = pos
                                }
                                pc += 1
                            case .assert:
                                let (before, after) = context(pos)
                                guard Assertion(rawValue: UInt8(truncatingIfNeeded: inst.a))!.holds(previous: before, next: after) else { break thread }
                                pc += 1
                            case .match:
                                slots[1] = pos
                                return true
                            default:
                                guard pos < end else { break thread }
                                let b = input[pos]
                                let (c, width) = b < 0x80 ? (UInt32(b), 1) : UTF8Decoding.decodeMultiByte(input, at: pos, b)
                                guard accepts(inst, c) else { break thread }
                                pos += width
                                pc += 1
                            }
                            guard visit(pc, pos) else { break thread }
                        }
                    }
                    return false
                }

                if anchored {
                    guard start == 0 else { return nil }
                    slots[0] = 0
                    return attempt(0) ? slots : nil
                }
                // Unanchored: from each start position in turn, sharing the marks.
                var pos = start
                while pos <= end {
                    slots[0] = pos
                    if attempt(pos) { return slots }
                    if pos == end { break }
                    pos += UTF8Decoding.width(input, at: pos)
                }
                return nil
            }
        }
    }
}
