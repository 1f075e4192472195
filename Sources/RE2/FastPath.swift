/// Shapes of pattern common in label matchers, answered by comparing bytes instead of running
/// the VM: a literal, an alternation of literals (`a|b|c`), `.*`, `.+`, `foo.*`, `.*foo`,
/// `.*foo.*` when anchored; a literal substring when searched. A `.` that does not match `\n`
/// keeps that meaning here. Every answer is the VM's (the tests compare them).
enum FastPath: Sendable {
    case none
    case literal([UInt8])
    /// Sorted and unique, searched by binary search without allocating.
    case literalSet([[UInt8]])
    case anything(newlines: Bool)
    case nonEmpty(newlines: Bool)
    case prefix([UInt8], newlines: Bool)
    case suffix([UInt8], newlines: Bool)
    case contains([UInt8], newlines: Bool)
    /// Unanchored search for a literal.
    case substring([UInt8])

    init(anchored node: RegexNode) {
        if case .capture(_, let inner) = node {
            self = FastPath(anchored: inner)
            return
        }
        if let bytes = FastPath.literalBytes(node) {
            self = .literal(bytes)
            return
        }
        if case .alternate(let branches) = node {
            var values: [[UInt8]] = []
            for b in branches {
                guard let bytes = FastPath.literalBytes(b) else {
                    self = .none
                    return
                }
                values.append(bytes)
            }
            self = .literalSet(Array(Set(values)).sorted { $0.lexicographicallyPrecedes($1) })
            return
        }
        if let dot = FastPath.dotStar(node, min: 0) {
            self = .anything(newlines: dot)
            return
        }
        if let dot = FastPath.dotStar(node, min: 1) {
            self = .nonEmpty(newlines: dot)
            return
        }
        self = .none
        guard case .concat(let items) = node, items.count >= 2 else { return }
        let leading = FastPath.dotStar(items[0], min: 0)
        let trailing = FastPath.dotStar(items[items.count - 1], min: 0)
        if let trailing, leading == nil, let bytes = FastPath.literalBytes(.concat(Array(items.dropLast()))) {
            self = .prefix(bytes, newlines: trailing)
        } else if let leading, trailing == nil, let bytes = FastPath.literalBytes(.concat(Array(items.dropFirst()))) {
            self = .suffix(bytes, newlines: leading)
        } else if let leading, let trailing, leading == trailing, items.count >= 3,
                  let bytes = FastPath.literalBytes(.concat(Array(items.dropFirst().dropLast()))),
                  leading || !bytes.contains(0x0A) {
            self = .contains(bytes, newlines: leading)
        }
    }

    init(unanchored node: RegexNode) {
        if let bytes = FastPath.literalBytes(node) {
            self = bytes.isEmpty ? .anything(newlines: true) : .substring(bytes)
        } else {
            self = .none
        }
    }

    /// The literal scalars a pattern starts with, outside any group, as UTF-8; the compiler gives
    /// each one instruction, from pc 0, so the VM can start after them.
    static func literalPrefix(_ node: RegexNode) -> (bytes: [UInt8], instructions: Int, last: UInt32?) {
        guard case .concat(let items) = node else { return ([], 0, nil) }
        var bytes: [UInt8] = []
        var count = 0
        var last: UInt32? = nil
        for item in items {
            guard case .literal(let c) = item, c != UTF8Decoding.replacement, let scalar = Unicode.Scalar(c) else { break }
            bytes += Array(String(scalar).utf8)
            count += 1
            last = c
        }
        return (bytes, count, last)
    }

    /// `.*` (min 0) or `.+` (min 1): whether its dot matches newlines; nil for anything else.
    static func dotStar(_ node: RegexNode, min: Int) -> Bool? {
        if case .capture(_, let inner) = node { return dotStar(inner, min: min) }
        if case .repeated(let body, let lo, let hi, _) = node, lo == min, hi < 0, case .any(let newline) = body { return newline }
        return nil
    }

    static func literalBytes(_ node: RegexNode) -> [UInt8]? {
        switch node {
        case .empty: return []
        case .capture(_, let inner): return literalBytes(inner)
        case .literal(let c):
            // U+FFFD also matches every invalid byte, which a byte comparison would miss.
            guard c != UTF8Decoding.replacement, let s = Unicode.Scalar(c) else { return nil }
            return Array(String(s).utf8)
        case .concat(let items):
            var out: [UInt8] = []
            for item in items {
                guard let b = literalBytes(item) else { return nil }
                out += b
            }
            return out
        default: return nil
        }
    }

    /// The answer for `input`, or nil when the VM must run.
    @inline(__always)
    func matches(_ input: UnsafeBufferPointer<UInt8>) -> Bool? {
        switch self {
        case .none: return nil
        case .literal(let bytes): return FastPath.compare(input[...], bytes) == 0
        case .literalSet(let values):
            var lo = 0
            var hi = values.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let order = FastPath.compare(input[...], values[mid])
                if order == 0 { return true }
                if order > 0 { lo = mid + 1 } else { hi = mid }
            }
            return false
        case .anything(let newlines): return newlines || !input.contains(0x0A)
        case .nonEmpty(let newlines): return !input.isEmpty && (newlines || !input.contains(0x0A))
        case .prefix(let bytes, let newlines):
            guard input.count >= bytes.count, FastPath.compare(input[..<bytes.count], bytes) == 0 else { return false }
            return newlines || !input[bytes.count...].contains(0x0A)
        case .suffix(let bytes, let newlines):
            guard input.count >= bytes.count, FastPath.compare(input[(input.count - bytes.count)...], bytes) == 0 else { return false }
            return newlines || !input[..<(input.count - bytes.count)].contains(0x0A)
        case .contains(let bytes, let newlines):
            if !newlines, input.contains(0x0A) { return false }
            return FastPath.find(bytes, in: input)
        case .substring(let bytes):
            return FastPath.find(bytes, in: input)
        }
    }

    /// Lexicographic order of `a` against `b` (-1, 0, 1).
    @inline(__always)
    static func compare(_ a: Slice<UnsafeBufferPointer<UInt8>>, _ b: [UInt8]) -> Int {
        let n = Swift.min(a.count, b.count)
        var i = 0
        var ai = a.startIndex
        while i < n {
            let x = a[ai], y = b[i]
            if x != y { return x < y ? -1 : 1 }
            i += 1
            ai += 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = needle.first else { return true }
        guard haystack.count >= needle.count else { return false }
        let last = haystack.count - needle.count
        var i = 0
        while i <= last {
            if haystack[i] == first, compare(haystack[i..<(i + needle.count)], needle) == 0 { return true }
            i += 1
        }
        return false
    }
}
