/// The byte encoding of one sealed block of a long scalar ring (see `ScalarRing`).
///
/// A block is `[length: UInt16 LE][body]`; an empty block has length 0 and no body. A body is a
/// `UInt32` presence bitmap (bit i: slot i holds a sample) followed, per present slot in order, by
/// one control byte and its payload:
/// - bits 6–7, the time offset: 0 = the previous present slot's offset again (scrapes on a steady
///   interval land at the same offset in every slot), 1 = one byte, the zigzag difference from it,
///   2 = two bytes, the offset itself;
/// - bits 0–5, the value: its bits XOR the previous value's, with leading and trailing zero bytes
///   dropped (code 0: the same value; otherwise `valueCodes` names the kept byte count and the
///   trailing zero bytes, and the kept bytes follow). Slowly moving gauges differ in a few middle
///   bytes. When this and the previous value are integers (counters), the change of their
///   difference may be written instead, whichever is shorter: code `sameStep` (unchanged: a
///   counter at a steady rate costs the control byte alone) or `stepChange` with a zigzag LEB128
///   varint. A sample costs 1–4 bytes instead of 10.
/// Each block starts from value 0 and offset 0, so one block can be rewritten on its own.
enum ScalarBlockCodec {
    /// Largest block the format describes: the bitmap is 32 bits wide.
    static let maxSlots = 32
    /// The offset of a slot without a sample, as the ring marks it.
    static let empty = ScalarRing.empty
    /// Most bytes one block can take: length, bitmap, and per slot a control byte, 2 offset bytes
    /// and 8 value bytes (a step change is written only when shorter than the value's XOR).
    static let maxBlockBytes = 2 + 4 + maxSlots * 11

    /// Value codes past the XOR ones: an integer value whose difference from the previous one is
    /// the previous difference again, or that difference plus a varint.
    static let sameStep: UInt8 = 62
    static let stepChange: UInt8 = 63

    /// The value as an integer when it is one exactly (and converts back bit for bit: not -0).
    @inline(__always)
    static func exactInteger(_ v: Double) -> Int64? {
        guard v.magnitude < 9.0e15, let i = Int64(exactly: v), Double(i).bitPattern == v.bitPattern else { return nil }
        return i
    }

    /// The kept bytes and trailing zero bytes of XOR code `code` (1...36), the inverse of
    /// `valueCode`. Arithmetic rather than a table: a static array costs a lazy-global check and
    /// reference counting per decoded sample.
    @inline(__always)
    private static func keptAndTrailing(_ code: UInt8) -> (kept: Int, trailing: Int) {
        var rest = Int(code) - 1
        var kept = 1
        while rest >= 9 - kept {
            rest -= 9 - kept
            kept += 1
        }
        return (kept, rest)
    }

    /// The code of `kept` bytes above `trailing` zero bytes (the inverse of `valueCodes`).
    @inline(__always)
    private static func valueCode(kept: Int, trailing: Int) -> UInt8 {
        // Codes for kept = k start after 1 + Σ_{j<k} (9 - j).
        let before = (kept - 1) * 9 - (kept - 1) * kept / 2
        return UInt8(1 + before + trailing)
    }

    /// Appends slots `0..<count` (offset `empty`: no sample) as one block to `out`.
    static func append(values: UnsafePointer<Double>, offsets: UnsafePointer<UInt16>, count: Int, to out: inout [UInt8]) {
        precondition(count <= maxSlots)
        var bitmap: UInt32 = 0
        for i in 0..<count where offsets[i] != empty { bitmap |= 1 << UInt32(i) }
        guard bitmap != 0 else {
            out.append(0)
            out.append(0)
            return
        }
        let lengthAt = out.count
        out.append(0)
        out.append(0)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: bitmap >> UInt32(shift))) }
        var previousBits: UInt64 = 0
        var previousOffset: UInt16 = 0
        var previousInteger: Int64?
        var previousStep: Int64 = 0
        for i in 0..<count where offsets[i] != empty {
            let offset = offsets[i]
            let bits = values[i].bitPattern
            let xor = bits ^ previousBits
            let integer = exactInteger(values[i])
            var control: UInt8
            let delta = Int(offset) - Int(previousOffset)
            if delta == 0 {
                control = 0
            } else if delta >= -64 && delta < 64 {
                control = 1 << 6
            } else {
                control = 2 << 6
            }
            var kept = 0, trailing = 0
            if xor != 0 {
                trailing = xor.trailingZeroBitCount / 8
                kept = 8 - xor.leadingZeroBitCount / 8 - trailing
            }
            // An integer after an integer: the change of step, if shorter than the XOR.
            var stepVarint: UInt64?
            var step: Int64 = 0
            if let integer, let previousInteger {
                step = integer - previousInteger
                let change = step - previousStep
                let zigzag = UInt64(bitPattern: (change << 1) ^ (change >> 63))
                if xor != 0 && change == 0 {
                    stepVarint = 0
                    control |= sameStep
                } else if xor != 0 && varintLength(zigzag) < kept {
                    stepVarint = zigzag
                    control |= stepChange
                }
            }
            if stepVarint == nil && xor != 0 { control |= valueCode(kept: kept, trailing: trailing) }
            out.append(control)
            switch control >> 6 {
            case 1: out.append(UInt8(truncatingIfNeeded: (delta << 1) ^ (delta >> 63)))
            case 2:
                out.append(UInt8(truncatingIfNeeded: offset))
                out.append(UInt8(truncatingIfNeeded: offset >> 8))
            default: break
            }
            if control & 0x3F == stepChange, var zigzag = stepVarint {
                while zigzag >= 0x80 {
                    out.append(UInt8(truncatingIfNeeded: zigzag) | 0x80)
                    zigzag >>= 7
                }
                out.append(UInt8(zigzag))
            } else if stepVarint == nil {
                var payload = xor >> UInt64(trailing * 8)
                for _ in 0..<kept {
                    out.append(UInt8(truncatingIfNeeded: payload))
                    payload >>= 8
                }
            }
            previousBits = bits
            previousOffset = offset
            previousStep = integer != nil && previousInteger != nil ? step : 0
            previousInteger = integer
        }
        let length = out.count - lengthAt - 2
        out[lengthAt] = UInt8(truncatingIfNeeded: length)
        out[lengthAt + 1] = UInt8(truncatingIfNeeded: length >> 8)
    }

    @inline(__always)
    private static func varintLength(_ v: UInt64) -> Int { max(1, (64 - v.leadingZeroBitCount + 6) / 7) }

    /// The index just past the block that starts at `start`.
    @inline(__always)
    static func end(of bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int {
        start + 2 + (Int(bytes[start]) | Int(bytes[start + 1]) << 8)
    }

    /// Calls `body(slot index, value, offset)` for each sample of the block at `start`, in order,
    /// through slot index `last` (each sample is decoded from the previous one, so a lookup that
    /// needs the newest sample up to some slot stops there instead of decoding the whole block).
    /// The bytes were written by `append` (a ring's own memory), so they are trusted.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, through last: Int = 31, _ body: (Int, Double, UInt16) -> Void) {
        let length = Int(bytes[start]) | Int(bytes[start + 1]) << 8
        guard length > 0, last >= 0 else { return }
        var i = start + 2
        var bitmap: UInt32 = 0
        for shift in stride(from: 0, to: 32, by: 8) {
            bitmap |= UInt32(bytes[i]) << UInt32(shift)
            i += 1
        }
        if last < 31 { bitmap &= (UInt32(2) << UInt32(last)) &- 1 }
        var previousBits: UInt64 = 0
        var previousOffset: UInt16 = 0
        var previousInteger: Int64 = 0
        var previousWasInteger = false
        var previousStep: Int64 = 0
        while bitmap != 0 {
            let slot = bitmap.trailingZeroBitCount
            bitmap &= bitmap - 1
            let control = bytes[i]
            i += 1
            switch control >> 6 {
            case 1:
                let z = Int(bytes[i])
                i += 1
                previousOffset = UInt16(truncatingIfNeeded: Int(previousOffset) + ((z >> 1) ^ -(z & 1)))
            case 2:
                previousOffset = UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
                i += 2
            default: break
            }
            let code = control & 0x3F
            if code == sameStep || code == stepChange {
                var change: Int64 = 0
                if code == stepChange {
                    var zigzag: UInt64 = 0
                    var shift: UInt64 = 0
                    while true {
                        let byte = bytes[i]
                        i += 1
                        zigzag |= UInt64(byte & 0x7F) << shift
                        shift += 7
                        if byte < 0x80 { break }
                    }
                    change = Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1)
                }
                previousBits = Double(previousInteger + previousStep + change).bitPattern
            } else if code != 0 {
                let (kept, trailing) = keptAndTrailing(code)
                var payload: UInt64 = 0
                for k in 0..<kept { payload |= UInt64(bytes[i + k]) << UInt64(8 * k) }
                i += kept
                previousBits ^= payload << UInt64(8 * trailing)
            }
            let value = Double(bitPattern: previousBits)
            if let integer = exactInteger(value) {
                previousStep = previousWasInteger ? integer - previousInteger : 0
                previousInteger = integer
                previousWasInteger = true
            } else {
                previousStep = 0
                previousWasInteger = false
            }
            body(slot, value, previousOffset)
        }
    }
}
