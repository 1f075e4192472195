import CEpoll
#if canImport(Glibc)
import Glibc
#endif

/// Where the server listens.
public enum ListenAddress: Sendable, CustomStringConvertible, Equatable {
    /// A Unix socket at `path` with permission bits `mode` (the CLI's socket: 0o660). A stale
    /// socket left by a crashed run is removed first.
    case unix(path: String, mode: UInt32)
    /// TCP on an IPv4 or IPv6 address (`127.0.0.1`, `::1`; `localhost` means 127.0.0.1); port 0 picks one.
    case tcp(host: String, port: UInt16)

    public var description: String {
        switch self {
        case .unix(let path, _): path
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}

/// Why the server could not start.
public struct ServerError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
    static func errno(_ what: String, _ code: Int32 = Glibc.errno) -> ServerError {
        ServerError("\(what): \(String(cString: strerror(code)))")
    }
}

/// A listening socket (non-blocking, close-on-exec).
struct Listener {
    let fd: Int32
    let address: ListenAddress
    /// The bound TCP port (the kernel's choice for port 0).
    let port: UInt16?

    static func open(_ address: ListenAddress, backlog: Int32) throws(ServerError) -> Listener {
        switch address {
        case .unix(let path, let mode):
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw ServerError("socket path too long: \(path)") }
            withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes + [0]) }
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw .errno("socket(\(path))") }
            // A socket left by a crashed run would make bind fail; only a socket is removed.
            var st = stat()
            if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0 else {
                let e = errno
                Glibc.close(fd)
                throw .errno("bind \(path)", e)
            }
            // Before listen: no client can connect while the mode is still the umask's.
            guard chmod(path, mode_t(mode)) == 0 else {
                let e = errno
                Glibc.close(fd)
                throw .errno("chmod \(path)", e)
            }
            guard listen(fd, backlog) == 0 else {
                let e = errno
                Glibc.close(fd)
                throw .errno("listen \(path)", e)
            }
            return Listener(fd: fd, address: address, port: nil)
        case .tcp(let host, let port):
            let ip = host == "localhost" ? "127.0.0.1" : host
            let v6 = ip.contains(":")
            let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw .errno("socket(\(address))") }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var bound: Int32
            if v6 {
                setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
                var addr = sockaddr_in6()
                addr.sin6_family = sa_family_t(AF_INET6)
                addr.sin6_port = port.bigEndian
                guard inet_pton(AF_INET6, ip, &addr.sin6_addr) == 1 else {
                    Glibc.close(fd)
                    throw ServerError("not an IPv6 address: \(host)")
                }
                bound = withUnsafePointer(to: &addr) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
                }
            } else {
                var addr = sockaddr_in()
                addr.sin_family = sa_family_t(AF_INET)
                addr.sin_port = port.bigEndian
                guard inet_pton(AF_INET, ip, &addr.sin_addr) == 1 else {
                    Glibc.close(fd)
                    throw ServerError("not an IPv4 address: \(host)")
                }
                bound = withUnsafePointer(to: &addr) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            guard bound == 0, listen(fd, backlog) == 0 else {
                let e = errno
                Glibc.close(fd)
                throw .errno("listen on \(address)", e)
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            var actual = port
            if named == 0 {
                actual = withUnsafePointer(to: &storage) { p in
                    v6 ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                       : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
                }
            }
            return Listener(fd: fd, address: address, port: actual)
        }
    }

    /// Closes the socket (and removes a Unix socket's file).
    func close() {
        _ = Glibc.close(fd)
        if case .unix(let path, _) = address { unlink(path) }
    }
}
