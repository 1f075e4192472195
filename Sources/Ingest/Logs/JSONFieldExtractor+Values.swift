/// A field's value read as text (a label value).
public enum JSONFieldText {
    /// The field is absent or `null`.
    case absent
    /// UTF-8 bytes: a decoded string, or a number or `true`/`false` as written. Valid until the
    /// next `extract(_:)`.
    case bytes(UnsafeRawBufferPointer)
    /// The value cannot be text: `.wrongType` for an object or array, `.invalidUTF8`.
    case invalid(MalformedLineReason)
}

/// A field's value read as a number.
public enum JSONFieldNumber: Equatable, Sendable {
    /// The field is absent or `null`.
    case absent
    /// A JSON number, or a string holding exactly one (`"12.5"`); always finite.
    case value(Double)
    /// Anything else (`"abc"`, `true`, an object, `1e999`): the line is malformed for this mapping.
    case invalid(MalformedLineReason)
}

extension JSONFieldExtractor {
    /// The JSON type of field `field` in the line last extracted (`.absent` when it did not occur).
    @inline(__always)
    public func kind(_ field: Int) -> JSONFieldKind {
        slots[field].kind
    }

    /// The bytes of field `field` as written in the line (a string without its quotes, escapes
    /// not decoded); empty when absent.
    public func rawBytes(_ field: Int) -> UnsafeRawBufferPointer {
        let slot = slots[field]
        guard slot.kind != .absent, let base = line.pointee.base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + slot.start, count: slot.end - slot.start)
    }

    /// Field `field` as text: strings decoded and checked to be UTF-8, numbers and booleans as written.
    public func text(_ field: Int) -> JSONFieldText {
        let text = uncheckedText(field)
        guard slots[field].kind == .string, case .bytes(let bytes) = text else { return text }
        guard JSONFieldUTF8Validator.isValid(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count) else {
            return .invalid(.invalidUTF8)
        }
        return text
    }

    /// `text(_:)` without the UTF-8 check of strings, for a caller that checks on a slow path only
    /// (bytes it has seen before were checked then).
    @inline(__always)
    public func uncheckedText(_ field: Int) -> JSONFieldText {
        let slot = slots[field]
        guard let base = line.pointee.base else { return .absent }
        // The common cases first, without the jump table of a switch: a plain string or a number.
        if (slot.kind == .string && !slot.escaped) || slot.kind == .number {
            return .bytes(UnsafeRawBufferPointer(start: base + slot.start, count: slot.end - slot.start))
        }
        switch slot.kind {
        case .absent, .null:
            return .absent
        case .object, .array:
            return .invalid(.wrongType)
        case .number, .true, .false:
            return .bytes(UnsafeRawBufferPointer(start: base + slot.start, count: slot.end - slot.start))
        case .string:
            guard slot.escaped else { return .bytes(UnsafeRawBufferPointer(start: base + slot.start, count: slot.end - slot.start)) }
            let out = line.pointee.scratch! + slot.start
            let count = JSONFieldStringDecoder.decode(base + slot.start, count: slot.end - slot.start, into: out)
            return .bytes(UnsafeRawBufferPointer(start: out, count: count))
        }
    }

    /// Field `field` as a number: a JSON number, or a string that holds exactly one JSON number.
    public func number(_ field: Int) -> JSONFieldNumber {
        let slot = slots[field]
        guard let base = line.pointee.base else { return .absent }
        let value: Double?
        switch slot.kind {
        case .absent, .null:
            return .absent
        case .number:
            value = JSONFieldNumberParser.parse(base + slot.start, count: slot.end - slot.start)
        case .string:
            if slot.escaped {
                let out = line.pointee.scratch! + slot.start
                let count = JSONFieldStringDecoder.decode(base + slot.start, count: slot.end - slot.start, into: out)
                value = JSONFieldNumberParser.parse(out, count: count)
            } else {
                value = JSONFieldNumberParser.parse(base + slot.start, count: slot.end - slot.start)
            }
        case .true, .false, .object, .array:
            return .invalid(.wrongType)
        }
        guard let value, value.isFinite else { return .invalid(.wrongType) }
        return .value(value)
    }
}
