/// The slot arithmetic shared by every ring: which absolute slot is newest and where a slot lives.
///
/// Absolute slot `s` covers `[s·resolution, (s+1)·resolution)` and lives at position
/// `s mod capacity`. A ring holds the `capacity` slots ending at `head`; moving `head` forward
/// clears the positions it passes so that nothing older survives a gap.
struct RingClock: Sendable, Equatable {
    let capacity: Int
    let resolution: Milliseconds
    /// Newest absolute slot written, or nil while the ring is empty.
    var head: Int64?

    init(capacity: Int, resolution: Milliseconds) {
        precondition(capacity > 0 && resolution > 0)
        self.capacity = capacity
        self.resolution = resolution
    }

    @inline(__always) func slot(of t: Timestamp) -> Int64 { floorDiv(t, resolution) }
    @inline(__always) func position(of slot: Int64) -> Int { Int(floorMod(slot, Int64(capacity))) }
    @inline(__always) func start(of slot: Int64) -> Timestamp { slot &* resolution }

    /// Oldest absolute slot still held (only when not empty).
    var oldest: Int64? { head.map { $0 - Int64(capacity) + 1 } }

    /// True when `slot` is inside the ring's span.
    @inline(__always) func holds(_ slot: Int64) -> Bool {
        guard let head else { return false }
        return slot <= head && slot > head - Int64(capacity)
    }

    /// The absolute slots in `lo...hi` that the ring holds, clipped to its span.
    func clip(_ lo: Int64, _ hi: Int64) -> ClosedRange<Int64>? {
        guard let head else { return nil }
        let a = max(lo, head - Int64(capacity) + 1)
        let b = min(hi, head)
        return a <= b ? a...b : nil
    }

    /// Moves `head` to `slot` (newer than head), calling `clear` for each position reused.
    mutating func advance(to slot: Int64, clear: (Int) -> Void) {
        guard let current = head else {
            for p in 0..<capacity { clear(p) }
            head = slot
            return
        }
        let steps = slot - current
        if steps >= Int64(capacity) {
            for p in 0..<capacity { clear(p) }
        } else {
            var s = current + 1
            while s <= slot {
                clear(position(of: s))
                s += 1
            }
        }
        head = slot
    }
}

/// Which slots of a window `(from, through]` a slot aggregate read covers: every slot overlapping it.
///
/// A slot cannot be split, so the window widens to whole slots: at most one partial slot at each end.
@inline(__always)
func overlappingSlots(from: Timestamp, through: Timestamp, resolution: Milliseconds) -> (Int64, Int64)? {
    guard through > from else { return nil }
    return (floorDiv(from &+ 1, resolution), floorDiv(through, resolution))
}
