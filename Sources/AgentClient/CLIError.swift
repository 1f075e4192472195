#if canImport(Glibc)
import Glibc
#endif

/// A one-line error for the user; the command exits 1.
public struct CLIError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Writes one line to standard error (no Foundation `FileHandle`: the agent has FoundationEssentials only).
public func printError(_ line: String) {
    writeAll(2, Array((line + "\n").utf8))
}

/// Writes all of `bytes` to the file descriptor `fd` (unbuffered, as `FileHandle.write` did),
/// retrying short writes and EINTR; stops at the first other error.
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        written += n
    }
}
