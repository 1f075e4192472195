/// The breadth-first simulation of the program (Thompson's construction run as a Pike VM).
///
/// Threads live in a sparse set of program counters (Briggs & Torczon: O(1) insert, lookup and
/// clear), one per step of the input; following ε-edges (`split`, `jump`, `assert`, `save`) uses
/// an explicit stack, so neither the pattern nor the input can exhaust the call stack. Each input
/// scalar is examined once per live thread and each instruction enters a step at most once, so
/// the work is O((input scalars + 1) × program size).
///
/// `runBoolean` answers yes/no without tracking positions. `search` tracks capture slots and
/// implements Go's leftmost-first rule: threads are kept in priority order, and when the
/// highest-priority thread that reaches `match` does so, every lower-priority thread is dropped.
extension RegularExpression {
    // MARK: Yes/no

    func runBoolean(_ input: UnsafeBufferPointer<UInt8>, steps: inout Int, sparse: Bool = false) -> Bool {
        var counter = StepCounter()
        defer { steps += counter.steps }
        return runBoolean(input, counting: &counter, sparse: sparse)
    }

    /// `runBoolean` without counting, for the hot path (the counter's specialisation is empty).
    func runBoolean(_ input: UnsafeBufferPointer<UInt8>) -> Bool {
        var counter = NoCounter()
        return runBoolean(input, counting: &counter)
    }

    @inline(__always)
    func runBoolean<Counter: WorkCounter>(_ input: UnsafeBufferPointer<UInt8>, counting work: inout Counter, sparse: Bool = false) -> Bool {
        let size = program.count
        let anchored = options.anchored
        // An anchored pattern that starts with literals: compare them as bytes and start the VM
        // after their instructions (the first `prefix.instructions` pcs consume exactly them).
        var startPC = 0
        var pos = 0
        var previous: UInt32? = nil
        if anchored, !prefix.bytes.isEmpty {
            guard input.count >= prefix.bytes.count, FastPath.compare(input[..<prefix.bytes.count], prefix.bytes) == 0 else { return false }
            startPC = prefix.instructions
            pos = prefix.bytes.count
            previous = prefix.last
        }
        return program.withUnsafeBufferPointer { program in
            // Two thread lists and a stack for the ε-edges (each pc is pushed once, by its only
            // insertion), all written before they are read. Membership: for programs of up to 64
            // instructions a bitmask held in a register; beyond, sparse indices zeroed first.
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: size * 5 + 2) { buffer in
                let base = buffer.baseAddress!
                let stack = base + 4 * size
                if size <= 64 && !sparse {
                    var current = MaskSet(dense: base + 2 * size)
                    var next = MaskSet(dense: base + 3 * size)
                    return simulate(program, input, &current, &next, stack: stack, startPC: startPC, from: pos, previous: previous, counting: &work)
                }
                base.initialize(repeating: 0, count: 2 * size)
                var current = SparseSet(dense: base + 2 * size, sparse: base)
                var next = SparseSet(dense: base + 3 * size, sparse: base + size)
                return simulate(program, input, &current, &next, stack: stack, startPC: startPC, from: pos, previous: previous, counting: &work)
            }
        }
    }

    /// The breadth-first simulation over two thread lists, from `startPC` at byte `pos`.
    @inline(__always)
    func simulate<Counter: WorkCounter, Threads: ThreadSet>(
        _ program: UnsafeBufferPointer<Instruction>, _ input: UnsafeBufferPointer<UInt8>, _ current: inout Threads, _ next: inout Threads,
        stack: UnsafeMutablePointer<Int32>, startPC: Int, from pos: Int, previous: UInt32?, counting work: inout Counter
    ) -> Bool {
        let anchored = options.anchored
        var index = pos
        let count = input.count
        /// The next scalar of the input, nil at its end.
        @inline(__always) func nextScalar() -> UInt32? {
            guard index < count else { return nil }
            let b = input[index]
            if b < 0x80 {
                index &+= 1
                return UInt32(b)
            }
            let (c, width) = UTF8Decoding.decodeMultiByte(input, at: index, b)
            index &+= width
            return c
        }
        var scalar = nextScalar()
        if addThread(program, &current, startPC, previous: previous, next: scalar, stack: stack, work: &work) { return true }
        while let c = scalar {
            if anchored && current.count == 0 { return false }
            let following = nextScalar()
            next.clear()
            work.add(current.count)
            var matched = false
            for k in 0..<current.count {
                let pc = current.element(k)
                if accepts(program[pc], c) {
                    matched = addThread(program, &next, pc + 1, previous: c, next: following, stack: stack, work: &work) || matched
                }
            }
            // Unanchored: a match may also start at the next position (lowest priority).
            if !anchored {
                matched = addThread(program, &next, 0, previous: c, next: following, stack: stack, work: &work) || matched
            }
            if matched { return true }
            swap(&current, &next)
            scalar = following
        }
        return false
    }

    /// The scalar at `pos` (< `input.count`) and its width; ASCII without a call.
    @inline(__always)
    func decodeAt(_ input: UnsafeBufferPointer<UInt8>, _ pos: Int) -> (UInt32?, Int) {
        let b = input[pos]
        if b < 0x80 { return (UInt32(b), 1) }
        let (s, w) = UTF8Decoding.decodeMultiByte(input, at: pos, b)
        return (s, w)
    }

    /// Whether a consuming instruction accepts `c`.
    @inline(__always)
    func accepts(_ inst: Instruction, _ c: UInt32) -> Bool {
        switch inst.op {
        case .range: return c >= UInt32(bitPattern: inst.a) && c <= UInt32(bitPattern: inst.b)
        case .set: return sets[Int(inst.a)].contains(c)
        case .any: return true
        case .anyNotNewline: return c != 0x0A
        default: return false
        }
    }

    /// Adds `start` and everything reachable from it by ε-edges whose assertions hold here;
    /// true when that reaches `match` (in anchored mode only at the end, behind `\z`).
    @inline(__always)
    func addThread<Counter: WorkCounter, Threads: ThreadSet>(
        _ program: UnsafeBufferPointer<Instruction>, _ set: inout Threads, _ start: Int, previous: UInt32?, next: UInt32?,
        stack: UnsafeMutablePointer<Int32>, work: inout Counter
    ) -> Bool {
        var top = 1
        var matched = false
        stack[0] = Int32(start)
        while top > 0 {
            top -= 1
            let pc = Int(stack[top])
            if set.contains(pc) { continue }
            set.insert(pc)
            work.add(1)
            let inst = program[pc]
            switch inst.op {
            case .jump:
                stack[top] = inst.a
                top += 1
            case .split:
                stack[top] = inst.b
                stack[top + 1] = inst.a
                top += 2
            case .assert:
                if Assertion(rawValue: UInt8(truncatingIfNeeded: inst.a))!.holds(previous: previous, next: next) {
                    stack[top] = Int32(pc + 1)
                    top += 1
                }
            case .save:
                stack[top] = Int32(pc + 1)
                top += 1
            case .match:
                matched = true
            default:
                break
            }
        }
        return matched
    }

    // MARK: Submatches

    /// The leftmost-first match starting at or after `start` (Go's `doExecute` from `pos`), as
    /// `slotCount` capture slots (2 per group, group 0 first; -1 where unset), or nil. The
    /// assertions see the input before `start`, so `^` and `\b` mean there what they mean in
    /// the whole input.
    func search(_ input: UnsafeBufferPointer<UInt8>, from start: Int, slotCount: Int, steps: inout Int) -> [Int]? {
        var vm: CaptureVM? = nil
        return search(input, from: start, slotCount: slotCount, vm: &vm, steps: &steps)
    }

    /// `search` keeping the Pike VM's memory in `vm` between calls (successive searches of
    /// `allMatches` and `replacingAll`); it is made on first need.
    func search(_ input: UnsafeBufferPointer<UInt8>, from start: Int, slotCount: Int, vm: inout CaptureVM?, steps: inout Int) -> [Int]? {
        if options.anchored {
            guard start == 0 else { return nil }
            // An anchored pattern's leading literals reject most inputs without any search.
            guard input.count >= prefix.bytes.count, FastPath.compare(input[..<prefix.bytes.count], prefix.bytes) == 0 else { return nil }
        }
        // Go's choice: the backtracker when its marks are small, else the Pike VM.
        if backtrackFits(input.count - start) { return backtrack(input, from: start, slotCount: max(slotCount, 2), steps: &steps) }
        if vm == nil { vm = CaptureVM(program: program, slotCount: slotCount) }
        return program.withUnsafeBufferPointer { program in
            vm!.run(self, program, input, from: start, steps: &steps)
        }
    }

    /// The Pike VM alone, whatever the size (for the tests that compare it with the backtracker).
    func pikeSearch(_ input: UnsafeBufferPointer<UInt8>, from start: Int, slotCount: Int, steps: inout Int) -> [Int]? {
        if options.anchored && start > 0 { return nil }
        var vm = CaptureVM(program: program, slotCount: slotCount)
        return program.withUnsafeBufferPointer { program in
            vm.run(self, program, input, from: start, steps: &steps)
        }
    }
}

/// Counts the VM's work for the tests' linear bound; the hot path uses `NoCounter`, whose
/// specialisation compiles to nothing.
protocol WorkCounter {
    mutating func add(_ n: Int)
}

struct StepCounter: WorkCounter {
    var steps = 0
    @inline(__always) mutating func add(_ n: Int) { steps &+= n }
}

struct NoCounter: WorkCounter {
    @inline(__always) mutating func add(_ n: Int) {}
}

/// A list of program counters with O(1) insert, lookup and clear, in insertion order.
protocol ThreadSet {
    var count: Int { get }
    func contains(_ pc: Int) -> Bool
    mutating func insert(_ pc: Int)
    mutating func clear()
    /// The `k`th pc inserted.
    func element(_ k: Int) -> Int
}

/// A sparse set (Briggs & Torczon) over caller-owned memory: `sparse` must start zeroed (any
/// initialised values would do), `dense` need not.
struct SparseSet: ThreadSet {
    let dense: UnsafeMutablePointer<Int32>
    let sparse: UnsafeMutablePointer<Int32>
    var count = 0

    init(dense: UnsafeMutablePointer<Int32>, sparse: UnsafeMutablePointer<Int32>) {
        self.dense = dense
        self.sparse = sparse
    }

    @inline(__always)
    func contains(_ pc: Int) -> Bool {
        let i = Int(sparse[pc])
        return i >= 0 && i < count && Int(dense[i]) == pc
    }

    @inline(__always)
    mutating func insert(_ pc: Int) {
        sparse[pc] = Int32(count)
        dense[count] = Int32(pc)
        count += 1
    }

    @inline(__always)
    mutating func clear() { count = 0 }

    @inline(__always)
    func element(_ k: Int) -> Int { Int(dense[k]) }
}

/// The same for programs of at most 64 instructions: membership is one word, kept in a register
/// by the inlined simulation, so nothing needs zeroing.
struct MaskSet: ThreadSet {
    let dense: UnsafeMutablePointer<Int32>
    var mask: UInt64 = 0
    var count = 0

    init(dense: UnsafeMutablePointer<Int32>) { self.dense = dense }

    @inline(__always)
    func contains(_ pc: Int) -> Bool { mask & (1 &<< UInt64(truncatingIfNeeded: pc)) != 0 }

    @inline(__always)
    mutating func insert(_ pc: Int) {
        mask |= 1 &<< UInt64(truncatingIfNeeded: pc)
        dense[count] = Int32(truncatingIfNeeded: pc)
        count += 1
    }

    @inline(__always)
    mutating func clear() {
        mask = 0
        count = 0
    }

    @inline(__always)
    func element(_ k: Int) -> Int { Int(dense[k]) }
}

/// The state of one capturing search: two thread queues (this step's and the next) whose
/// entries on consuming instructions own a block of `slotCount` positions in `arena`, blocks
/// recycled through `free` so memory tracks the live threads, not the input.
struct CaptureVM {
    struct Queue {
        var sparse: [Int32]
        var pcs: [Int32]
        /// The arena offset of each entry's slots; -1 for ε-instructions, which hold none.
        var slots: [Int32]
        var count = 0

        init(size: Int) {
            sparse = [Int32](repeating: 0, count: size)
            pcs = [Int32](repeating: 0, count: size)
            slots = [Int32](repeating: -1, count: size)
        }

        func contains(_ pc: Int) -> Bool {
            let i = Int(sparse[pc])
            return i < count && Int(pcs[i]) == pc
        }

        mutating func insert(_ pc: Int) -> Int {
            sparse[pc] = Int32(count)
            pcs[count] = Int32(pc)
            slots[count] = -1
            count += 1
            return count - 1
        }
    }

    /// An ε-edge to follow, or (pc < 0) a slot value to restore once the edges below it are done.
    struct Work {
        var pc: Int32
        var slot: Int32 = 0
        var value: Int = 0
    }

    let slotCount: Int
    var runq: Queue
    var nextq: Queue
    var arena: [Int] = []
    var free: [Int32] = []
    var stack: [Work] = []
    /// The slots of the thread being followed through ε-edges.
    var scratch: [Int]

    init(program: [Instruction], slotCount: Int) {
        let slotCount = max(slotCount, 2)
        self.slotCount = slotCount
        runq = Queue(size: program.count)
        nextq = Queue(size: program.count)
        scratch = [Int](repeating: -1, count: slotCount)
    }

    mutating func allocate() -> Int32 {
        if let block = free.popLast() { return block }
        let block = Int32(arena.count)
        arena.append(contentsOf: repeatElement(-1, count: slotCount))
        return block
    }

    mutating func run(
        _ re: RegularExpression, _ program: UnsafeBufferPointer<Instruction>, _ input: UnsafeBufferPointer<UInt8>,
        from start: Int, steps: inout Int
    ) -> [Int]? {
        let anchored = re.options.anchored
        runq.count = 0
        nextq.count = 0
        var matched = false
        var matchSlots = [Int](repeating: -1, count: slotCount)
        var pos = start
        var previous = UTF8Decoding.context(before: start, in: input)
        var scalar: UInt32? = nil
        var width = 0
        if pos < input.count { (scalar, width) = UTF8Decoding.decode(input, at: pos) }
        while true {
            if runq.count == 0 {
                if anchored && pos != 0 { break }
                if matched { break }
            }
            if !matched && (!anchored || pos == 0) {
                for k in 0..<slotCount { scratch[k] = -1 }
                scratch[0] = pos
                add(program, intoNext: false, 0, at: pos, previous: previous, next: scalar, re, steps: &steps)
            }
            let nextPos = pos + width
            var following: UInt32? = nil
            var followingWidth = 0
            if scalar != nil, nextPos < input.count { (following, followingWidth) = UTF8Decoding.decode(input, at: nextPos) }
            nextq.count = 0
            var j = 0
            while j < runq.count {
                let block = runq.slots[j]
                let pc = Int(runq.pcs[j])
                j += 1
                if block < 0 { continue }
                steps += 1
                let inst = program[pc]
                if inst.op == .match {
                    for k in 0..<slotCount { matchSlots[k] = arena[Int(block) + k] }
                    matchSlots[1] = pos
                    matched = true
                    free.append(block)
                    // Leftmost-first: every lower-priority thread is cut off.
                    while j < runq.count {
                        if runq.slots[j] >= 0 { free.append(runq.slots[j]) }
                        j += 1
                    }
                    break
                }
                if let c = scalar, re.accepts(inst, c) {
                    for k in 0..<slotCount { scratch[k] = arena[Int(block) + k] }
                    add(program, intoNext: true, pc + 1, at: nextPos, previous: c, next: following, re, steps: &steps)
                }
                free.append(block)
            }
            runq.count = 0
            guard let c = scalar else { break }
            swap(&runq, &nextq)
            pos = nextPos
            previous = c
            scalar = following
            width = followingWidth
        }
        return matched ? matchSlots : nil
    }

    /// Follows ε-edges from `start` in priority order, recording `scratch`'s slots (with the
    /// positions `save` writes) in each thread that waits on a consuming or `match` instruction.
    mutating func add(
        _ program: UnsafeBufferPointer<Instruction>, intoNext: Bool, _ start: Int, at pos: Int, previous: UInt32?, next: UInt32?,
        _ re: RegularExpression, steps: inout Int
    ) {
        // The queue is moved out while it fills, so that `self` is not accessed twice.
        var q = Queue(size: 0)
        if intoNext { swap(&q, &nextq) } else { swap(&q, &runq) }
        defer { if intoNext { swap(&q, &nextq) } else { swap(&q, &runq) } }
        stack.append(Work(pc: Int32(start)))
        while let work = stack.popLast() {
            if work.pc < 0 {
                scratch[Int(work.slot)] = work.value
                continue
            }
            let pc = Int(work.pc)
            if q.contains(pc) { continue }
            let entry = q.insert(pc)
            steps += 1
            let inst = program[pc]
            switch inst.op {
            case .jump:
                stack.append(Work(pc: inst.a))
            case .split:
                stack.append(Work(pc: inst.b))
                stack.append(Work(pc: inst.a))
            case .assert:
                if Assertion(rawValue: UInt8(inst.a))!.holds(previous: previous, next: next) { stack.append(Work(pc: Int32(pc + 1))) }
            case .save:
                let slot = Int(inst.a)
                if slot < slotCount {
                    // Restore the old value after everything reachable from here saw the new one.
                    stack.append(Work(pc: -1, slot: Int32(slot), value: scratch[slot]))
                    scratch[slot] = pos
                }
                stack.append(Work(pc: Int32(pc + 1)))
            default:
                let block = allocate()
                for k in 0..<slotCount { arena[Int(block) + k] = scratch[k] }
                q.slots[entry] = block
            }
        }
    }
}
