import CEpoll
import Dispatch
public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The agent's HTTP/1.1 server: one event-loop thread (epoll) for every listener and connection,
/// handlers on lanes (`Lane`) so that health checks never wait behind queries.
///
/// Why our own server and not FlyingFox or SwiftNIO: FlyingFox's parser re-scans its buffer on
/// every read (a 240 KB URL cost 2.75 s of CPU), reads bodies without a bound (a 100 MB POST took
/// 700 MB), loses its accept loop on `EMFILE` and brings Foundation, which the lean daemon (issue
/// 17) is dropping; SwiftNIO's NIOHTTP1 would hold, but costs far more than the four things we need
/// (strict framing with fixed bounds, a connection cap, timeouts, an accept loop that survives fd
/// exhaustion). A minimal `/metrics` server, release build with `--static-swift-stdlib`, measured
/// here (build: CPU seconds from scratch; resident: after 2 000 requests):
///
/// | option | build CPU | binary | resident |
/// | --- | --- | --- | --- |
/// | an executable with swift-log only | 5.0 s | 7.11 MB | — |
/// | this server | 9.4 s | 7.47 MB | 8.0 MB |
/// | SwiftNIO 2.101 (NIOPosix, NIOHTTP1) | 120 s | 11.74 MB | 10.5 MB |
/// | FlyingFox 0.27.1 | 35 s | 59.78 MB | 23.0 MB |
///
/// The model:
/// - **Bounds.** `Configuration.limits` bound each request (request line 414, header fields 431,
///   body 413, see `RequestParser`); `maxConnections` bounds connections; `maxBufferedBytes`
///   bounds the request bytes held by all connections together (beyond it, 503). A connection
///   reads nothing while its request is handled, so it holds at most one request.
/// - **Connection cap.** At the cap, a new connection evicts the connection that has been idle (or
///   dribbling a request) the longest; when every connection is busy, the new one gets 503. So a
///   flood of idle connections can never stop the listener, and `/-/healthy` still gets through.
/// - **Timeouts.** A request's head must arrive within `headerTimeout` of its first byte (slowloris),
///   the whole request within `requestTimeout`, the next request within `idleTimeout`, and a
///   response must make write progress within `writeTimeout`.
/// - **Accept loop.** `EMFILE`/`ENFILE` (out of descriptors) are counted; the oldest idle
///   connection is closed to free one, or the listener pauses (backing off 50 ms → 1 s) and resumes:
///   it never stops. `lastLoopTick` advances at least every 250 ms while the loop lives.
/// - **Lanes.** `.loop` handlers run on the loop thread; `.general` ones on a small pool; `.query`
///   ones on `maxConcurrentQueries` threads of their own, each with a deadline of `queryTimeout`
///   from its arrival, cancelled when its client disconnects.
///
/// Ownership: everything about connections belongs to the loop thread; other threads hand back
/// answers through `completions` and wake the loop with an eventfd.
public final class HTTPServer: Sendable {
    /// Bounds and timeouts (milliseconds).
    public struct Configuration: Sendable {
        public var limits = RequestParser.Limits()
        /// Most open connections (Prometheus's `--web.max-connections`: 512). Also held below half
        /// of the process's descriptor limit, so the rest of the agent keeps descriptors.
        public var maxConnections = 512
        /// Request bytes held by all connections together (partial requests and bodies).
        public var maxBufferedBytes = 64 << 20
        /// From a request's first byte (or the connection's start) to the end of its head.
        public var headerTimeout: Int64 = 10_000
        /// From a request's first byte to its last.
        public var requestTimeout: Int64 = 60_000
        /// Between requests on a kept-alive connection.
        public var idleTimeout: Int64 = 60_000
        /// Without write progress on an answer.
        public var writeTimeout: Int64 = 60_000
        /// A query-lane request's time limit from its arrival (Prometheus's `--query.timeout`: 2m).
        public var queryTimeout: Int64 = 120_000
        /// Query-lane requests run at once (Prometheus's `--query.max-concurrency`: 20).
        public var maxConcurrentQueries = 20
        /// Threads of the general lane.
        public var generalThreads = 4

        public init() {}
    }

    let configuration: Configuration
    let router: Router
    let logger: Logger
    let addresses: [ListenAddress]
    /// Counters, readable from any thread.
    public let stats = ServerStats()
    private let loopTick = Atomic<UInt64>(0)
    private let stopping = Atomic(false)
    private let started = Mutex<[Listener]?>(nil)
    private let completions = Mutex<[(id: UInt64, response: HTTPResponse)]>([])
    private let wakeFD: Int32
    private let epollFD: Int32
    private let finished = DispatchSemaphore(value: 0)
    let generalPool: WorkerPool
    let queryPool: WorkerPool

    /// A server for `addresses`; nothing listens until `start()`.
    public init(addresses: [ListenAddress], router: Router, configuration: Configuration = Configuration(), logger: Logger) {
        self.addresses = addresses
        self.router = router
        var configuration = configuration
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur != rlim_t.max {
            configuration.maxConnections = min(configuration.maxConnections, max(4, Int(limit.rlim_cur / 2)))
        }
        configuration.maxConnections = max(1, configuration.maxConnections)
        self.configuration = configuration
        self.logger = logger
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        generalPool = WorkerPool(name: "agent-http", maxThreads: configuration.generalThreads)
        queryPool = WorkerPool(name: "agent-query", maxThreads: configuration.maxConcurrentQueries)
    }

    deinit {
        _ = Glibc.close(epollFD)
        _ = Glibc.close(wakeFD)
    }

    /// The connection cap in force (the configured one, held below half the descriptor limit).
    public var maxConnections: Int { configuration.maxConnections }

    /// Binds every address and starts the loop; throws (and binds nothing) when one cannot be bound.
    public func start() throws(ServerError) {
        guard epollFD >= 0, wakeFD >= 0 else { throw .errno("epoll/eventfd") }
        var listeners: [Listener] = []
        for address in addresses {
            do {
                listeners.append(try Listener.open(address, backlog: 511))
            } catch {
                for l in listeners { l.close() }
                throw error
            }
        }
        started.withLock { $0 = listeners }
        loopTick.store(Monotonic.now(), ordering: .relaxed)
        let loop = EventLoop(server: self, listeners: listeners)
        guard startThread(named: "agent-http-loop", { loop.run() }) else {
            for l in listeners { l.close() }
            throw ServerError("cannot start the server's thread")
        }
    }

    /// The bound TCP ports, in the order of `addresses` (nil for Unix sockets).
    public var ports: [UInt16?] { started.withLock { $0?.map(\.port) ?? [] } }

    /// The first TCP listener's port (useful when configured with port 0).
    public var tcpPort: UInt16? { ports.compactMap { $0 }.first }

    /// Monotonic nanoseconds of the loop's last turn; it turns at least every 250 ms while alive.
    public var lastLoopTick: UInt64 { loopTick.load(ordering: .relaxed) }

    /// True when the loop has turned within `milliseconds` (the API's part of the daemon's health).
    public func isAlive(within milliseconds: Int64 = 5_000) -> Bool {
        guard started.withLock({ $0 != nil }), !stopping.load(ordering: .relaxed) else { return false }
        return Monotonic.elapsed(since: lastLoopTick, now: Monotonic.now()) < Monotonic.nanoseconds(milliseconds)
    }

    /// Stops listening, lets answers in progress finish for up to `timeout` ms, then closes everything.
    public func stop(timeout: Int64 = 1_000) {
        guard started.withLock({ $0 != nil }) else { return }
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        stopDeadline.store(Monotonic.now() &+ Monotonic.nanoseconds(timeout), ordering: .relaxed)
        wake()
        finished.wait()
        generalPool.stop()
        queryPool.stop()
    }

    private let stopDeadline = Atomic<UInt64>(0)

    // MARK: Used by the loop and by workers

    func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    func complete(_ id: UInt64, _ response: HTTPResponse) {
        completions.withLock { $0.append((id, response)) }
        wake()
    }

    fileprivate func takeCompletions() -> [(id: UInt64, response: HTTPResponse)] {
        var drained: UInt64 = 0
        _ = read(wakeFD, &drained, 8)
        return completions.withLock { c in
            defer { c.removeAll(keepingCapacity: true) }
            return c
        }
    }

    fileprivate var isStopping: Bool { stopping.load(ordering: .relaxed) }
    fileprivate var stopBy: UInt64 { stopDeadline.load(ordering: .relaxed) }
    fileprivate var epoll: Int32 { epollFD }
    fileprivate var wakeDescriptor: Int32 { wakeFD }
    fileprivate func tick(_ now: UInt64) { loopTick.store(now, ordering: .relaxed) }
    fileprivate func finish() { finished.signal() }
}

/// One connection's state; touched only on the loop thread.
final class Connection {
    enum Phase { case reading, handling, writing, lingering }

    let id: UInt64
    let fd: Int32
    var parser: RequestParser
    var phase = Phase.reading
    var output: [UInt8] = []
    var written = 0
    var closeAfterWrite = false
    var headOnly = false
    /// Monotonic ns of the last byte read or written.
    var lastActivity: UInt64
    /// When the current request's first byte arrived (or the connection opened, for its first).
    var requestStarted: UInt64
    var lingerUntil: UInt64 = 0
    var interest: UInt32 = 0
    var cancellation = Cancellation()
    /// Bytes of this connection counted in the loop's `bufferedBytes`.
    var accounted = 0
    var servedRequests = 0

    init(id: UInt64, fd: Int32, limits: RequestParser.Limits, now: UInt64) {
        self.id = id
        self.fd = fd
        parser = RequestParser(limits: limits)
        lastActivity = now
        requestStarted = now
    }
}

/// The loop itself: accepts, reads, parses, routes, writes, times out. Runs on its own thread.
final class EventLoop: @unchecked Sendable {
    let server: HTTPServer
    let configuration: HTTPServer.Configuration
    var listeners: [Listener]
    /// Listeners paused after EMFILE, with when to resume them.
    var pausedUntil: [UInt64?]
    var backoff: [UInt64]
    var connections: [UInt64: Connection] = [:]
    var nextID: UInt64 = 1
    var bufferedBytes = 0
    var scratch = [UInt8](repeating: 0, count: 65_536)
    var nextSweep: UInt64 = 0
    /// Connections with buffered bytes to parse once the current turn's events are handled.
    var readyToParse: [UInt64] = []

    /// epoll tokens: the wake-up eventfd, the listeners (their index), connections (their id ≥ 2^32).
    static let wakeToken: UInt64 = 1 << 31
    static let connectionBase: UInt64 = 1 << 32

    init(server: HTTPServer, listeners: [Listener]) {
        self.server = server
        self.configuration = server.configuration
        self.listeners = listeners
        pausedUntil = Array(repeating: nil, count: listeners.count)
        backoff = Array(repeating: 50_000_000, count: listeners.count)
        nextID = EventLoop.connectionBase
    }

    var logger: Logger { server.logger }
    var stats: ServerStats { server.stats }

    func run() {
        register(server.wakeDescriptor, token: EventLoop.wakeToken, events: EPOLLIN.rawValue, add: true)
        for (i, l) in listeners.enumerated() { register(l.fd, token: UInt64(i), events: EPOLLIN.rawValue, add: true) }
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(server.epoll, $0.baseAddress, Int32($0.count), 250) }
            let now = Monotonic.now()
            server.tick(now)
            if n < 0 && errno != EINTR {
                logger.error("http: epoll_wait failed: \(String(cString: strerror(errno)))")
                usleep(10_000)
            }
            for i in 0..<max(Int(n), 0) {
                let token = events[i].data.u64
                let flags = events[i].events
                if token == EventLoop.wakeToken {
                    for (id, response) in server.takeCompletions() { deliver(id, response) }
                } else if token < UInt64(listeners.count) {
                    accept(from: Int(token))
                } else if let c = connections[token] {
                    handle(c, flags)
                }
            }
            while !readyToParse.isEmpty {
                let ids = readyToParse
                readyToParse.removeAll(keepingCapacity: true)
                for id in ids { if let c = connections[id] { parse(c) } }
            }
            if server.isStopping {
                if drainForStop() { break }
            }
            if now >= nextSweep {
                sweep(now)
                nextSweep = now + 250_000_000
            }
        }
        for c in Array(connections.values) { close(c) }
        for l in listeners { l.close() }
        server.finish()
    }

    // MARK: epoll

    func register(_ fd: Int32, token: UInt64, events: UInt32, add: Bool) {
        var ev = epoll_event()
        ev.events = events
        ev.data.u64 = token
        _ = epoll_ctl(server.epoll, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev)
    }

    func setInterest(_ c: Connection, _ events: UInt32) {
        guard c.interest != events else { return }
        c.interest = events
        register(c.fd, token: c.id, events: events, add: false)
    }

    // MARK: Accepting

    func accept(from index: Int) {
        let listener = listeners[index]
        // A bounded batch per turn, so one busy listener cannot starve the connections.
        for _ in 0..<64 {
            let fd = accept4(listener.fd, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if fd < 0 {
                let e = errno
                switch e {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    stats.count(acceptError: e == EMFILE || e == ENFILE ? .descriptors : .memory)
                    if stats.acceptErrorsLogged.add(1, ordering: .relaxed).oldValue < 5 {
                        logger.error("http: cannot accept on \(listener.address): \(String(cString: strerror(e))); closing idle connections and backing off")
                    }
                    // Free a descriptor by closing the connection idle the longest; else pause.
                    if let victim = evictionCandidate() {
                        stats.evicted.add(1, ordering: .relaxed)
                        close(victim)
                        continue
                    }
                    pause(index)
                    return
                default:
                    stats.count(acceptError: .other)
                    logger.error("http: accept on \(listener.address) failed: \(String(cString: strerror(e)))")
                    pause(index)
                    return
                }
            }
            backoff[index] = 50_000_000
            stats.accepted.add(1, ordering: .relaxed)
            var refuse = false
            if connections.count >= configuration.maxConnections {
                if let victim = evictionCandidate() {
                    stats.evicted.add(1, ordering: .relaxed)
                    close(victim)
                } else {
                    // Every connection has a request in hand: refuse this one rather than queue it.
                    // It lingers like any refused connection (so the client reads the 503 rather
                    // than a reset) and is the first to go at the next accept: the cap + 1 at most.
                    stats.rejected.add(1, ordering: .relaxed)
                    refuse = true
                }
            }
            if case .tcp = listener.address {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            let c = Connection(id: nextID, fd: fd, limits: configuration.limits, now: Monotonic.now())
            nextID += 1
            connections[c.id] = c
            stats.open.store(connections.count, ordering: .relaxed)
            c.interest = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
            register(fd, token: c.id, events: c.interest, add: true)
            if refuse { respond(c, .text(503, "too many connections\n"), close: true) }
        }
    }

    /// The connection idle (or still sending its request) the longest; nil when all are busy.
    func evictionCandidate() -> Connection? {
        var best: Connection?
        for c in connections.values where c.phase == .reading || c.phase == .lingering {
            if best == nil || c.lastActivity < best!.lastActivity { best = c }
        }
        return best
    }

    func pause(_ index: Int) {
        guard pausedUntil[index] == nil else { return }
        _ = epoll_ctl(server.epoll, EPOLL_CTL_DEL, listeners[index].fd, nil)
        pausedUntil[index] = Monotonic.now() + backoff[index]
        backoff[index] = min(backoff[index] * 2, 1_000_000_000)
        stats.listenerPauses.add(1, ordering: .relaxed)
    }

    // MARK: Connections

    func handle(_ c: Connection, _ flags: UInt32) {
        if flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
            c.cancellation.cancel()
            close(c)
            return
        }
        switch c.phase {
        case .reading:
            if flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 { readAndParse(c) }
        case .handling:
            // The client shut its side while its request runs: cancel it (as Go's server cancels
            // the request's context); the answer is still written if the socket takes it.
            if flags & EPOLLRDHUP.rawValue != 0 {
                c.cancellation.cancel()
                setInterest(c, 0)
            }
        case .writing:
            if flags & EPOLLOUT.rawValue != 0 { flush(c) }
        case .lingering:
            discard(c)
        }
    }

    func readAndParse(_ c: Connection) {
        // Level-triggered: a bounded number of reads per turn keeps the loop fair.
        for _ in 0..<4 {
            let n = scratch.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                close(c)
                return
            }
            if n == 0 {
                // The client closed: a partial request is dropped with it.
                close(c)
                return
            }
            let now = Monotonic.now()
            if c.parser.isIdle && c.servedRequests > 0 { c.requestStarted = now }
            c.lastActivity = now
            scratch.withUnsafeBytes { c.parser.append(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            stats.bytesRead.add(n, ordering: .relaxed)
            parse(c)
            if c.phase != .reading { return }
            if n < scratch.count { break }
        }
    }

    /// Runs the parser over what is buffered: a request goes to its lane, an error is answered.
    func parse(_ c: Connection) {
        guard c.phase == .reading else { return }
        switch c.parser.next() {
        case .needMore:
            account(c)
            if bufferedBytes > configuration.maxBufferedBytes {
                stats.count(refused: 503)
                respond(c, .text(503, "server busy: too many request bytes in flight\n"), close: true)
                return
            }
            if c.parser.takeContinue() {
                let bytes = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
                let sent = bytes.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent != bytes.count { close(c) }
            }
        case .error(let error):
            stats.count(refused: error.status)
            respond(c, .text(error.status, error.reason + "\n"), close: true)
        case .request(let request):
            account(c)
            c.servedRequests += 1
            stats.requests.add(1, ordering: .relaxed)
            c.phase = .handling
            c.headOnly = request.method == "HEAD"
            c.closeAfterWrite = !request.keepAlive || server.isStopping
            c.cancellation = Cancellation()
            setInterest(c, EPOLLRDHUP.rawValue)
            dispatch(request, on: c)
        }
    }

    func dispatch(_ request: HTTPRequest, on c: Connection) {
        let (lane, run) = server.router.resolve(request)
        let id = c.id
        let cancellation = c.cancellation
        let server = self.server
        switch lane {
        case .loop:
            deliver(id, run(nil, cancellation))
        case .general:
            if !server.generalPool.submit({ server.complete(id, run(nil, cancellation)) }) {
                deliver(id, .text(503, "shutting down\n"))
            }
        case .query:
            let deadline = Monotonic.now() &+ Monotonic.nanoseconds(max(configuration.queryTimeout, 1))
            if !server.queryPool.submit({ server.complete(id, run(deadline, cancellation)) }) {
                deliver(id, .text(503, "shutting down\n"))
            }
        }
    }

    /// Writes a handler's answer to its connection (gone connections drop it).
    func deliver(_ id: UInt64, _ response: HTTPResponse) {
        guard let c = connections[id], c.phase == .handling else { return }
        respond(c, response, close: c.closeAfterWrite || server.isStopping)
    }

    func respond(_ c: Connection, _ response: HTTPResponse, close: Bool) {
        c.output = response.serialized(close: close, headOnly: c.headOnly)
        c.written = 0
        c.closeAfterWrite = close
        c.phase = .writing
        c.lastActivity = Monotonic.now()
        stats.count(status: response.status)
        flush(c)
    }

    func flush(_ c: Connection) {
        while c.written < c.output.count {
            let n = c.output.withUnsafeBytes { send(c.fd, $0.baseAddress! + c.written, $0.count - c.written, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    setInterest(c, EPOLLOUT.rawValue | EPOLLRDHUP.rawValue)
                    return
                }
                close(c)
                return
            }
            c.written += n
            c.lastActivity = Monotonic.now()
            stats.bytesWritten.add(n, ordering: .relaxed)
        }
        c.output = []
        c.written = 0
        if c.closeAfterWrite {
            linger(c)
            return
        }
        // Ready for the next request, possibly already buffered (pipelining): parsed by the loop
        // after this turn's events, not here, so a pipeline of answers is a loop, not a recursion.
        c.phase = .reading
        c.requestStarted = Monotonic.now()
        account(c)
        setInterest(c, EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
        if !c.parser.isIdle { readyToParse.append(c.id) }
    }

    /// After a final answer: stop sending, read and drop what the client still sends for a moment,
    /// so that a client still writing its (refused) body reads the answer before a reset.
    func linger(_ c: Connection) {
        shutdown(c.fd, Int32(SHUT_WR))
        c.phase = .lingering
        c.parser = RequestParser(limits: configuration.limits)
        account(c)
        c.lingerUntil = Monotonic.now() + 2_000_000_000
        setInterest(c, EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
        discard(c)
    }

    func discard(_ c: Connection) {
        var total = 0
        while total < 1 << 20 {
            let n = scratch.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                total += n
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            if n < 0 && errno == EINTR { continue }
            break
        }
        close(c)
    }

    func account(_ c: Connection) {
        let now = c.parser.bufferedBytes
        bufferedBytes += now - c.accounted
        c.accounted = now
    }

    func close(_ c: Connection) {
        guard connections.removeValue(forKey: c.id) != nil else { return }
        c.cancellation.cancel()
        bufferedBytes -= c.accounted
        c.accounted = 0
        _ = epoll_ctl(server.epoll, EPOLL_CTL_DEL, c.fd, nil)
        _ = Glibc.close(c.fd)
        stats.open.store(connections.count, ordering: .relaxed)
    }

    // MARK: Time

    /// Closes connections past their deadline and resumes paused listeners.
    func sweep(_ now: UInt64) {
        let ms: (Int64) -> UInt64 = { Monotonic.nanoseconds(max($0, 1)) }
        for c in Array(connections.values) {
            switch c.phase {
            case .reading:
                if c.parser.isIdle {
                    let limit = c.servedRequests == 0 ? ms(configuration.headerTimeout) : ms(configuration.idleTimeout)
                    if Monotonic.elapsed(since: c.lastActivity, now: now) > limit {
                        stats.timeouts.add(1, ordering: .relaxed)
                        close(c)
                    }
                } else if !c.parser.headComplete {
                    if Monotonic.elapsed(since: c.requestStarted, now: now) > ms(configuration.headerTimeout) {
                        stats.timeouts.add(1, ordering: .relaxed)
                        timeOut(c)
                    }
                } else if Monotonic.elapsed(since: c.requestStarted, now: now) > ms(configuration.requestTimeout) {
                    stats.timeouts.add(1, ordering: .relaxed)
                    timeOut(c)
                }
            case .writing:
                if Monotonic.elapsed(since: c.lastActivity, now: now) > ms(configuration.writeTimeout) {
                    stats.timeouts.add(1, ordering: .relaxed)
                    close(c)
                }
            case .lingering:
                if now > c.lingerUntil { close(c) }
            case .handling:
                break
            }
        }
        for i in listeners.indices {
            if let until = pausedUntil[i], now >= until {
                pausedUntil[i] = nil
                register(listeners[i].fd, token: UInt64(i), events: EPOLLIN.rawValue, add: true)
            }
        }
    }

    /// 408 (best effort, never waiting on the client) and close.
    func timeOut(_ c: Connection) {
        stats.count(refused: 408)
        let bytes = HTTPResponse.text(408, "request timeout\n").serialized(close: true)
        _ = bytes.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        close(c)
    }

    /// On stop: listeners closed at once, idle connections closed, busy ones given until the
    /// deadline. True when the loop may end.
    func drainForStop() -> Bool {
        for (i, l) in listeners.enumerated() where pausedUntil[i] == nil {
            _ = epoll_ctl(server.epoll, EPOLL_CTL_DEL, l.fd, nil)
            pausedUntil[i] = UInt64.max
        }
        for c in Array(connections.values) where c.phase == .reading || c.phase == .lingering { close(c) }
        return connections.isEmpty || Monotonic.now() >= server.stopBy
    }
}
