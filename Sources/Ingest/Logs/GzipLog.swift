import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A gzip-compressed generation of a log (`access.jsonl.1.gz`). The tailer never reads lines from
/// one; it decompresses one only to recognise it (its first bytes against a fingerprint) and to
/// count the lines it could no longer read from it, so that a loss is reported with its size.
///
/// Work is bounded: at most `maxBytes` decompressed bytes are examined (a count that reaches it is
/// reported as "at least").
struct GzipLog {
    let path: String

    static let maxBytes: Int64 = 8 << 30
    static let chunk = 64 * 1024

    /// The first `count` decompressed bytes (fewer when the content is shorter), or nil when the
    /// file cannot be read or is not gzip.
    func prefix(_ count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        let ok = inflate { bytes in
            out.append(contentsOf: bytes.prefix(count - out.count))
            return out.count < count
        }
        return ok ? out : nil
    }

    /// The decompressed bytes after `offset` and the lines among them (a last line without its
    /// newline counts), or nil when the file cannot be read or is damaged before `offset`.
    /// `exact` is false when `maxBytes` stopped the count.
    func tail(after offset: Int64) -> (bytes: Int64, lines: Int, exact: Bool)? {
        var position: Int64 = 0
        var bytes: Int64 = 0
        var lines = 0
        var last: UInt8 = 0x0A
        var exact = true
        let ok = inflate { chunk in
            let start = Int(max(0, min(Int64(chunk.count), offset - position)))
            position += Int64(chunk.count)
            if start < chunk.count {
                let rest = chunk[start...]
                bytes += Int64(rest.count)
                lines += rest.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                last = rest.last!
            }
            if position >= GzipLog.maxBytes {
                exact = false
                return false
            }
            return true
        }
        guard ok || position > offset else { return nil }
        if bytes > 0, last != 0x0A { lines += 1 }
        return (bytes, lines, exact && ok)
    }

    /// Decompresses the file chunk by chunk (concatenated gzip members too), handing each chunk to
    /// `body` until it returns false. Returns false when the file cannot be read or is damaged.
    private func inflate(_ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var stream = z_stream()
        guard agent_inflateInit2(&stream, 15 + 16) == Z_OK else { return false }  // gzip only
        defer { inflateEnd(&stream) }
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: GzipLog.chunk)
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: GzipLog.chunk)
        defer {
            input.deallocate()
            output.deallocate()
        }
        var sawData = false
        var ended = false  // a member ended: what follows may be padding, which gzip(1) ignores too
        while true {
            if stream.avail_in == 0 {
                let n = read(fd, input, GzipLog.chunk)
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { return false }
                if n == 0 { return sawData }  // the end of the file (a truncated member counts what it gave)
                stream.next_in = input
                stream.avail_in = uInt(n)
            }
            stream.next_out = output
            stream.avail_out = uInt(GzipLog.chunk)
            let pending = stream.avail_in
            let rc = CZlib.inflate(&stream, Z_NO_FLUSH)
            let produced = GzipLog.chunk - Int(stream.avail_out)
            if produced > 0 {
                sawData = true
                guard body(UnsafeBufferPointer(start: output, count: produced)) else { return true }
            }
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                if produced == 0, stream.avail_in == pending, pending > 0 { return ended }  // no progress
                if produced > 0 || stream.avail_in != pending { ended = false }
            case Z_STREAM_END:
                sawData = true
                ended = true
                guard inflateReset(&stream) == Z_OK else { return false }  // a next member may follow
            default:
                return ended
            }
        }
    }
}
