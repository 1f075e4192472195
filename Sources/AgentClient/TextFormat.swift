#if canImport(Glibc)
import Glibc
#endif

/// Text helpers for the CLI's tables, without Foundation's `String(format:)` and `padding`.
public enum TextFormat {
    /// C's `printf` of one double (`%.6g`, `%.1f`, …).
    public static func printf(_ format: String, _ v: Double) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let n = withVaList([v]) { vsnprintf(buffer.baseAddress!, 64, format, $0) }
            guard n >= 0 else { return "\(v)" }
            if n < 64 { return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: Int(n)), as: UTF8.self) }
            var big = [CChar](repeating: 0, count: Int(n) + 1)
            _ = withVaList([v]) { vsnprintf(&big, big.count, format, $0) }
            return String(decoding: big.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// `text` padded with spaces to `width` characters (never cut).
    public static func pad(_ text: String, _ width: Int) -> String {
        let n = text.count
        return n >= width ? text : text + String(repeating: " ", count: width - n)
    }

    /// The environment variable `name`, if set.
    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// A one-line error for the user; the command exits 1.
public struct CLIError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
