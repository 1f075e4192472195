import Dispatch
import Logging
import Synchronization
import TimeSeries
#if canImport(Glibc)
import Glibc
#endif

/// The API's heartbeat while its server cannot give one: every few seconds the agent asks its own
/// listeners for `/-/ready` (the Unix socket, and the loopback TCP address when configured) and
/// beats the `api` loop when every listener answered with an HTTP status line (any status: a
/// listener that answers is alive). A listener whose accept loop died (as FlyingFox's does when
/// `accept` fails with EMFILE), a process out of file descriptors, or a server that no longer
/// answers all stop the beats, so `/-/healthy` and the watchdog notice.
///
/// A server that beats a `Heartbeat` from its own accept loop makes this probe unnecessary.
/// Owner: `queue` (probes run there, one at a time, each bounded by `timeout`).
final class ListenerProbe: Sendable {
    /// Where a listener is.
    enum Address: Sendable, CustomStringConvertible {
        case unix(String)
        case tcp(host: String, port: UInt16)

        var description: String {
            switch self {
            case .unix(let path): path
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }
    }

    let addresses: [Address]
    let heartbeat: Heartbeat
    let interval: Milliseconds
    let timeout: Double
    let logger: Logger
    let queue = DispatchQueue(label: "agent.listener-probe")
    nonisolated(unsafe) let timer: any DispatchSourceTimer
    let started = Mutex(false)
    /// The failure last logged, to log changes only.
    let lastFailure = Mutex<String?>(nil)

    /// How often the listeners are probed.
    static let defaultInterval: Milliseconds = 5_000

    init(addresses: [Address], heartbeat: Heartbeat, interval: Milliseconds = ListenerProbe.defaultInterval, timeout: Double = 5, logger: Logger) {
        self.addresses = addresses
        self.heartbeat = heartbeat
        self.interval = interval
        self.timeout = timeout
        self.logger = logger
        timer = DispatchSource.makeTimerSource(queue: queue)
    }

    /// Probes every listener once; beats when all answered. Returns the first failure, if any.
    @discardableResult
    func probe() -> String? {
        var failure: String?
        for address in addresses {
            if let problem = Self.ask(address, timeout: timeout) {
                failure = "\(address): \(problem)"
                break
            }
        }
        if failure == nil { heartbeat.beat() }
        let previous = lastFailure.withLock { last -> String? in
            defer { last = failure }
            return last
        }
        if let failure, failure != previous {
            logger.error("listener probe: \(failure)")
        } else if failure == nil, previous != nil {
            logger.notice("listener probe: every listener answers again")
        }
        return failure
    }

    /// Probes every `interval` ms, the first time at once.
    func start() {
        guard started.withLock({ s in defer { s = true }; return !s }) else { return }
        heartbeat.expect(every: interval)
        timer.schedule(deadline: .now(), repeating: .milliseconds(Int(interval)), leeway: .milliseconds(Int(min(interval / 10, 1000))))
        timer.setEventHandler { [weak self] in self?.probe() }
        timer.resume()
    }

    /// Stops probing (a probe under way finishes first); the `api` loop is paused.
    func stop() {
        timer.cancel()
        queue.sync {}
        heartbeat.pause()
    }

    deinit {
        timer.setEventHandler {}
        timer.cancel()
        if !started.withLock({ $0 }) { timer.resume() }
    }

    /// Sends `GET /-/ready` to `address`; nil when an HTTP status line came back, else the problem.
    static func ask(_ address: Address, timeout: Double) -> String? {
        let family: Int32
        switch address {
        case .unix: family = AF_UNIX
        case .tcp(let host, _): family = host.contains(":") ? AF_INET6 : AF_INET
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "cannot create a socket: \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        // SO_SNDTIMEO bounds connect too (Linux), SO_RCVTIMEO the wait for the answer.
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let connected: Int32
        switch address {
        case .unix(let path):
            var a = sockaddr_un()
            a.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: a.sun_path) else { return "socket path too long" }
            withUnsafeMutableBytes(of: &a.sun_path) { $0.copyBytes(from: bytes + [0]) }
            connected = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        case .tcp(let host, let port) where family == AF_INET6:
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else { return "not an IPv6 address: \(host)" }
            connected = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        case .tcp(let host, let port):
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &a.sin_addr) == 1 else { return "not an IPv4 address: \(host)" }
            connected = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard connected == 0 else { return "cannot connect: \(String(cString: strerror(errno)))" }
        let request = Array("GET /-/ready HTTP/1.1\r\nHost: agent\r\nUser-Agent: agent-probe\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return "cannot send: \(String(cString: strerror(errno)))" }
            sent += n
        }
        // "HTTP/1.1 200" is 12 bytes: enough to know a server answered.
        var answer = [UInt8](repeating: 0, count: 64)
        var received = 0
        while received < 12 {
            let n = answer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, $0.count - received, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return "no answer: \(String(cString: strerror(errno)))" }
            if n == 0 { return "closed without an answer" }
            received += n
        }
        guard answer.starts(with: Array("HTTP/1.".utf8)) else { return "answered without an HTTP status line" }
        return nil
    }
}
