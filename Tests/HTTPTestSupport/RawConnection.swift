#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP or Unix-socket client for tests: raw bytes in, raw bytes out (the server's tests
/// and the daemon's abuse tests send what no well-behaved client would).
public final class RawConnection {
    public let fd: Int32
    /// Bytes received past the last response read (pipelined answers).
    public var pending: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; nil when the connection is refused.
    public init?(port: UInt16, receiveTimeout: Double = 10) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            return nil
        }
        setTimeout(receiveTimeout)
    }

    /// Connects to the Unix socket at `path`.
    public init?(unixPath path: String, receiveTimeout: Double = 10) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            return nil
        }
        setTimeout(receiveTimeout)
    }

    public func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends everything; false when the peer closed or reset.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads until the peer closes, the timeout passes, or `limit` bytes arrived.
    public func readAll(limit: Int = 1 << 24) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while out.count < limit {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buffer[..<n]
        }
        return out
    }

    /// Reads one response (head and a Content-Length body); nil when the connection ends first.
    public func readResponse() -> (status: Int, headers: [String: String], body: String)? {
        var raw = pending
        pending = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let end = raw.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
                let lines = head.split(separator: "\r\n")
                guard let first = lines.first, first.split(separator: " ").count >= 2, let status = Int(first.split(separator: " ")[1]) else { return nil }
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    if parts.count == 2 { headers[parts[0].lowercased()] = String(parts[1].drop { $0 == " " }) }
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                if raw.count - end.upperBound >= length {
                    pending = Array(raw[(end.upperBound + length)...])
                    let body = String(decoding: raw[end.upperBound..<(end.upperBound + length)], as: UTF8.self)
                    return (status, headers, body)
                }
            }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            raw += buffer[..<n]
        }
    }

    /// True when bytes (or the end of the stream) wait to be read, without waiting.
    public func hasSomethingToRead() -> Bool {
        if !pending.isEmpty { return true }
        var b: UInt8 = 0
        let n = recv(fd, &b, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// True when the peer has closed (a read returns 0 or an error before `timeout`).
    public func isClosedByPeer(timeout: Double) -> Bool {
        setTimeout(timeout)
        var b = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = b.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { continue }
            if n == 0 { return true }
            return errno != EAGAIN && errno != EWOULDBLOCK
        }
    }
}

/// Raises the soft descriptor limit towards the hard one (tests that hold thousands of sockets).
public func raiseDescriptorLimit(to wanted: UInt) -> UInt {
    var l = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
    if l.rlim_cur < rlim_t(wanted) {
        l.rlim_cur = min(rlim_t(wanted), l.rlim_max)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
    }
    return UInt(l.rlim_cur)
}
