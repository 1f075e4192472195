#if canImport(Glibc)
import Glibc
#endif

extension ExpositionParser {
    /// Calls `body` with each label name and unescaped value of the current sample, in written order.
    ///
    /// For new series only: the hot path keys its cache by `series` and never decodes labels.
    /// The views passed to `body` are valid only during the call.
    public func forEachLabel(
        scratch: inout [UInt8], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        try ExpositionParser.forEachLabel(inSeries: series, scratch: &scratch, body)
    }

    /// Calls `body` with each label of a validated `name{labels}` series as the parser handed it out.
    public static func forEachLabel(
        inSeries series: UnsafeRawBufferPointer, scratch: inout [UInt8],
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        guard let base = series.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let n = series.count
        var i = 0
        @inline(__always) func skipBlanks() {
            while i < n && (base[i] == UInt8(ascii: " ") || base[i] == UInt8(ascii: "\t")) { i += 1 }
        }
        while i < n && base[i] != UInt8(ascii: "{") { i += 1 }
        i += 1
        while i < n {
            skipBlanks()
            guard i < n, base[i] != UInt8(ascii: "}") else { return }
            let nameStart = i
            while i < n && isLabelNameChar(base[i]) { i += 1 }
            let name = UnsafeRawBufferPointer(start: base + nameStart, count: i - nameStart)
            while i < n && base[i] != UInt8(ascii: "\"") { i += 1 }
            i += 1
            let valueStart = i
            var escaped = false
            while i < n && base[i] != UInt8(ascii: "\"") {
                if base[i] == UInt8(ascii: "\\") {
                    escaped = true
                    i += 1
                }
                i += 1
            }
            let valueEnd = min(i, n)
            if escaped {
                scratch.removeAll(keepingCapacity: true)
                var j = valueStart
                while j < valueEnd {
                    let c = base[j]
                    if c == UInt8(ascii: "\\") && j + 1 < valueEnd {
                        let e = base[j + 1]
                        switch e {
                        case UInt8(ascii: "\\"), UInt8(ascii: "\""):
                            scratch.append(e)
                            j += 2
                            continue
                        case UInt8(ascii: "n"):
                            scratch.append(UInt8(ascii: "\n"))
                            j += 2
                            continue
                        default:
                            // Unknown escapes stay as written, as in Prometheus.
                            scratch.append(c)
                            scratch.append(e)
                            j += 2
                            continue
                        }
                    }
                    scratch.append(c)
                    j += 1
                }
                try scratch.withUnsafeBytes { try body(name, $0) }
            } else {
                try body(name, UnsafeRawBufferPointer(start: base + valueStart, count: valueEnd - valueStart))
            }
            i += 1
            skipBlanks()
            if i < n && base[i] == UInt8(ascii: ",") { i += 1 }
        }
    }
}
