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

    func runBoolean(_ input: UnsafeBufferPointer<UInt8>, steps: inout Int) -> Bool {
        let size = program.count
        let anchored = options.anchored
        let matchPC = self.matchPC
        return program.withUnsafeBufferPointer { program in
            // Two sparse sets and a stack for the ε-edges (each pc is pushed once, by its only insertion).
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: size * 5 + 2) { buffer in
                let base = buffer.baseAddress!
                base.initialize(repeating: 0, count: size * 5 + 2)
                var current = SparseSet(dense: base, sparse: base + size)
                var next = SparseSet(dense: base + 2 * size, sparse: base + 3 * size)
                let stack = base + 4 * size
                var pos = 0
                var previous: UInt32? = nil
                var scalar: UInt32? = nil
                var width = 0
                if pos < input.count { (scalar, width) = decodeAt(input, pos) }
                addThread(program, &current, 0, previous: previous, next: scalar, stack: stack, steps: &steps)
                while true {
                    if current.contains(matchPC) { return true }
                    guard let c = scalar else { return false }
                    if anchored && current.count == 0 { return false }
                    let nextPos = pos + width
                    var following: UInt32? = nil
                    var followingWidth = 0
                    if nextPos < input.count { (following, followingWidth) = decodeAt(input, nextPos) }
                    next.clear()
                    steps += current.count
                    for k in 0..<current.count {
                        let pc = Int(current.dense[k])
                        if accepts(program[pc], c) {
                            addThread(program, &next, pc + 1, previous: c, next: following, stack: stack, steps: &steps)
                        }
                    }
                    // Unanchored: a match may also start at the next position (lowest priority).
                    if !anchored { addThread(program, &next, 0, previous: c, next: following, stack: stack, steps: &steps) }
                    swap(&current, &next)
                    pos = nextPos
                    previous = c
                    scalar = following
                    width = followingWidth
                }
            }
        }
    }

    @inline(__always)
    func decodeAt(_ input: UnsafeBufferPointer<UInt8>, _ pos: Int) -> (UInt32?, Int) {
        let (s, w) = UTF8Decoding.decode(input, at: pos)
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

    /// Adds `start` and everything reachable from it by ε-edges whose assertions hold here.
    @inline(__always)
    func addThread(
        _ program: UnsafeBufferPointer<Instruction>, _ set: inout SparseSet, _ start: Int, previous: UInt32?, next: UInt32?,
        stack: UnsafeMutablePointer<Int32>, steps: inout Int
    ) {
        var top = 1
        stack[0] = Int32(start)
        while top > 0 {
            top -= 1
            let pc = Int(stack[top])
            if set.contains(pc) { continue }
            set.insert(pc)
            steps += 1
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
                if Assertion(rawValue: UInt8(inst.a))!.holds(previous: previous, next: next) {
                    stack[top] = Int32(pc + 1)
                    top += 1
                }
            case .save:
                stack[top] = Int32(pc + 1)
                top += 1
            default:
                break
            }
        }
    }

    // MARK: Submatches

    /// The leftmost-first match starting at or after `start` (Go's `doExecute` from `pos`), as
    /// `slotCount` capture slots (2 per group, group 0 first; -1 where unset), or nil. The
    /// assertions see the input before `start`, so `^` and `\b` mean there what they mean in
    /// the whole input.
    func search(_ input: UnsafeBufferPointer<UInt8>, from start: Int, slotCount: Int, steps: inout Int) -> [Int]? {
        var vm = CaptureVM(program: program, slotCount: slotCount)
        return search(input, from: start, using: &vm, steps: &steps)
    }

    /// `search` reusing `vm`'s memory (for successive searches of `allMatches` and `replacingAll`).
    func search(_ input: UnsafeBufferPointer<UInt8>, from start: Int, using vm: inout CaptureVM, steps: inout Int) -> [Int]? {
        if options.anchored && start > 0 { return nil }
        return program.withUnsafeBufferPointer { program in
            vm.run(self, program, input, from: start, steps: &steps)
        }
    }
}

/// A set of program counters with O(1) insert, lookup and clear, over caller-owned memory.
struct SparseSet {
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
