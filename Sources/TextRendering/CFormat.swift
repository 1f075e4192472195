#if canImport(Glibc)
import Glibc
#endif

/// C's `printf` for one double, without Foundation: `String(format:)` goes through CFString (most
/// of a template's rendering time) and needs full Foundation, which the
/// agent leaves out (FoundationEssentials only). C's rounding is also Go's, which templates must match.
public enum CFormat {
    /// `format` (one conversion such as `%.6g` or `%+.3e`) applied to `v`.
    public static func printf(_ format: String, _ v: Double) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer in
            let n = withVaList([v]) { vsnprintf(buffer.baseAddress!, 128, format, $0) }
            guard n >= 0 else { return "\(v)" }
            if n < 128 {
                return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: Int(n)), as: UTF8.self)
            }
            // Longer than the buffer (a huge precision): size it exactly.
            var big = [CChar](repeating: 0, count: Int(n) + 1)
            _ = withVaList([v]) { vsnprintf(&big, big.count, format, $0) }
            return String(decoding: big.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
