public import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The CLI's side of the control API: one HTTP/1.1 request over the daemon's Unix socket.
///
/// Deliberately small (connect, write, read to EOF) so that `agent query` starts and answers in a
/// few milliseconds; the server side is `HTTPServing.HTTPServer`.
public struct ControlClient: Sendable {
    /// The daemon's socket.
    public let socketPath: String
    /// Seconds to wait for an answer.
    public let timeout: Double

    /// Where the daemon listens unless configured otherwise (systemd's `RuntimeDirectory`).
    public static let defaultSocket = "/run/agent/agent.sock"

    public init(socketPath: String, timeout: Double = 30) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// Why a request failed, in words a user can act on.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// An answer: status and body.
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
    }

    /// Sends `method path` (with a form-encoded body for POST) and returns the answer.
    public func request(_ method: String, _ path: String, form: [String: String] = [:], json: Data? = nil) throws(Failure) -> Response {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let socketBytes = Array(socketPath.utf8)
        guard socketBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure(description: "socket path too long: \(socketPath)") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: socketBytes + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let e = errno
            switch e {
            case ENOENT: throw Failure(description: "agent is not running: no socket at \(socketPath)")
            case ECONNREFUSED: throw Failure(description: "agent is not running: nothing listens on \(socketPath)")
            case EACCES: throw Failure(description: "permission denied on \(socketPath) (the socket is mode 0660: run as its owner or group)")
            default: throw Failure(description: "cannot connect to \(socketPath): \(String(cString: strerror(e)))")
            }
        }
        var body = json ?? Data()
        var headers = "\(method) \(path) HTTP/1.1\r\nHost: agent\r\nConnection: close\r\nUser-Agent: agent-cli\r\n"
        if json != nil {
            headers += "Content-Type: application/json\r\n"
        } else if !form.isEmpty {
            body = Data(ControlClient.formEncode(form).utf8)
            headers += "Content-Type: application/x-www-form-urlencoded\r\n"
        }
        headers += "Content-Length: \(body.count)\r\n\r\n"
        let request = Array(headers.utf8) + Array(body)
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "cannot send to the agent: \(String(cString: strerror(errno)))") }
            sent += n
        }
        var raw: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { throw Failure(description: "the agent did not answer within \(Int(timeout)) s") }
                throw Failure(description: "cannot read the agent's answer: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            raw.append(contentsOf: buffer[..<n])
            if let complete = ControlClient.parse(raw), complete.done { return Response(status: complete.status, body: complete.body) }
        }
        guard let response = ControlClient.parse(raw) else { throw Failure(description: "the agent's answer was not HTTP") }
        return Response(status: response.status, body: response.body)
    }

    /// Status and body of a raw HTTP response, and whether all of the body has arrived.
    static func parse(_ raw: [UInt8]) -> (status: Int, body: Data, done: Bool)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = raw.firstRange(of: separator) else { return nil }
        let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        var contentLength: Int?
        var chunked = false
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].lowercased()
            let value = String(parts[1].drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
            if name == "content-length" { contentLength = Int(value) }
            if name == "transfer-encoding", value.lowercased().contains("chunked") { chunked = true }
        }
        let bodyBytes = Array(raw[end.upperBound...])
        if chunked {
            var out: [UInt8] = []
            var i = 0
            while let lineEnd = bodyBytes[i...].firstRange(of: [13, 10]) {
                guard let size = Int(String(decoding: bodyBytes[i..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0], radix: 16) else { return nil }
                if size == 0 { return (status, Data(out), true) }
                let start = lineEnd.upperBound
                guard bodyBytes.count >= start + size + 2 else { return (status, Data(out), false) }
                out.append(contentsOf: bodyBytes[start..<(start + size)])
                i = start + size + 2
            }
            return (status, Data(out), false)
        }
        if let contentLength {
            return (status, Data(bodyBytes.prefix(contentLength)), bodyBytes.count >= contentLength)
        }
        return (status, Data(bodyBytes), false)
    }

    static func formEncode(_ form: [String: String]) -> String {
        form.sorted { $0.key < $1.key }.map { "\(percentEncode($0.key))=\(percentEncode($0.value))" }.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of everything but unreserved ASCII (letters, digits, `-._~`).
    static func percentEncode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
