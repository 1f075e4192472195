import CCurl
public import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPServing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Identifies a request in flight, to cancel it.
public struct HTTPRequestID: Hashable, Sendable {
    let raw: UInt64
}

/// An HTTP client that runs every request on one libcurl multi handle and one thread.
///
/// Model: callers submit requests from any thread; the client's own thread (the only owner of the
/// multi handle, the easy handles and every transfer's buffers) adds them to the multi handle,
/// drives all transfers at once with `curl_multi_perform`/`curl_multi_poll`, and hands each result
/// to its completion. No thread per request: a thousand slow targets cost a thousand sockets, not
/// a thousand threads. The multi handle keeps a connection cache, so requests to the same server
/// reuse their keep-alive connection; finished easy handles are kept for reuse too.
///
/// Completions run on the client's thread unless a queue is given; they must not block.
/// Thread-safety: `start`, `cancel` and `send` may be called from anywhere (the inbox is a
/// `Mutex`); everything else belongs to the client thread.
public final class HTTPClient: Sendable {
    let engine: CurlEngine?
    /// Why no request can be sent (libcurl cannot be loaded); nil when the engine runs.
    let unavailable: String?

    /// A client with its thread running. `maxConnections` bounds the connection cache.
    /// Without libcurl (see `libraryError`) there is no thread and every request fails with the reason.
    public init(maxConnections: Int = 64, userAgent: String = "agent") {
        if let reason = Self.libraryError() {
            engine = nil
            unavailable = reason
            return
        }
        let engine = CurlEngine(maxConnections: maxConnections, userAgent: userAgent)
        self.engine = engine
        unavailable = nil
        guard startThread(named: "agent-http", { engine.run() }) else {
            fatalError("agent: cannot start the HTTP client's thread (\(String(cString: strerror(errno))))")
        }
    }

    deinit {
        engine?.stop()
    }

    /// Loads libcurl on first call (once per process, with its `curl_global_init`): nil when HTTP
    /// requests can be made, else one line naming the library and the Debian package to install.
    /// The binary does not link libcurl, so that commands without HTTP start without its libraries.
    public static func libraryError() -> String? {
        agent_curl_load().map { String(cString: $0) }
    }

    /// Starts `request`; `completion` gets the response or the reason there is none.
    @discardableResult
    public func start(
        _ request: HTTPRequest, on queue: DispatchQueue? = nil,
        completion: @escaping @Sendable (Result<HTTPResponse, HTTPError>) -> Void
    ) -> HTTPRequestID {
        guard let engine else {
            let failure: Result<HTTPResponse, HTTPError> = .failure(HTTPError(.transport, unavailable ?? "libcurl is not loaded"))
            if let queue { queue.async { completion(failure) } } else { completion(failure) }
            return HTTPRequestID(raw: 0)
        }
        return engine.submit(request, queue: queue, completion: completion)
    }

    /// Cancels a request in flight; its completion gets `.cancelled`. Unknown or finished ids are ignored.
    public func cancel(_ id: HTTPRequestID) {
        engine?.cancel(id)
    }

    /// Sends `request` and waits for the exchange; cancelling the task cancels the request.
    public func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let pending = Mutex<(id: HTTPRequestID?, cancelled: Bool)>((nil, false))
        let result: Result<HTTPResponse, HTTPError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let id = start(request) { continuation.resume(returning: $0) }
                let cancelNow = pending.withLock { state in
                    state.id = id
                    return state.cancelled
                }
                if cancelNow { cancel(id) }
            }
        } onCancel: {
            let id = pending.withLock { state in
                state.cancelled = true
                return state.id
            }
            if let id { cancel(id) }
        }
        return try result.get()
    }

    /// Stops the thread after cancelling what is in flight; later requests fail with `.cancelled`.
    public func shutdown() {
        engine?.stop()
    }
}

/// The libcurl side of `HTTPClient`; all but the inbox belongs to the client thread.
final class CurlEngine: @unchecked Sendable {
    struct Submission {
        var id: UInt64
        var request: HTTPRequest
        var queue: DispatchQueue?
        var completion: @Sendable (Result<HTTPResponse, HTTPError>) -> Void
    }

    struct Inbox {
        var submitted: [Submission] = []
        var cancelled: [UInt64] = []
        var nextID: UInt64 = 1
        var stopping = false
        var stopped = false
    }

    let inbox = Mutex(Inbox())
    let multi: UnsafeMutableRawPointer
    let userAgent: String
    let finished = DispatchSemaphore(value: 0)
    let loopThread = Mutex<pthread_t?>(nil)

    // Client thread only.
    var active: [UInt64: CurlTransfer] = [:]
    var idleHandles: [UnsafeMutableRawPointer] = []
    static let idleHandleLimit = 32

    init(maxConnections: Int, userAgent: String) {
        // HTTPClient made sure libcurl is loaded (and curl_global_init ran) before creating an engine.
        guard let multi = agent_curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        self.multi = multi
        self.userAgent = userAgent
        _ = agent_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(1, maxConnections))
    }

    func submit(
        _ request: HTTPRequest, queue: DispatchQueue?,
        completion: @escaping @Sendable (Result<HTTPResponse, HTTPError>) -> Void
    ) -> HTTPRequestID {
        let accepted: UInt64? = inbox.withLock { inbox in
            let id = inbox.nextID
            inbox.nextID += 1
            if inbox.stopping { return nil }
            inbox.submitted.append(Submission(id: id, request: request, queue: queue, completion: completion))
            return id
        }
        guard let id = accepted else {
            deliver(.failure(HTTPError(.cancelled, "the HTTP client is shut down")), queue: queue, completion: completion)
            return HTTPRequestID(raw: 0)
        }
        agent_curl_multi_wakeup(multi)
        return HTTPRequestID(raw: id)
    }

    func cancel(_ id: HTTPRequestID) {
        inbox.withLock { $0.cancelled.append(id.raw) }
        agent_curl_multi_wakeup(multi)
    }

    /// Asks the thread to stop and waits for it (once).
    func stop() {
        let wait = inbox.withLock { inbox -> Bool in
            if inbox.stopping { return false }
            inbox.stopping = true
            return true
        }
        guard wait else { return }
        agent_curl_multi_wakeup(multi)
        // A completion that drops the last reference to the client runs on the client thread,
        // which cannot wait for itself; it finishes its loop on its own.
        let onLoopThread = loopThread.withLock { $0.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
        if !onLoopThread { finished.wait() }
    }

    /// The client thread's loop.
    func run() {
        loopThread.withLock { $0 = pthread_self() }
        while true {
            let (submitted, cancelled, stopping) = inbox.withLock { inbox in
                defer {
                    inbox.submitted.removeAll()
                    inbox.cancelled.removeAll()
                }
                return (inbox.submitted, inbox.cancelled, inbox.stopping)
            }
            for submission in submitted { begin(submission) }
            for id in cancelled {
                if let transfer = active[id] {
                    finish(transfer, code: CURLE_ABORTED_BY_CALLBACK, cancelled: true)
                }
            }
            if stopping {
                for transfer in active.values { finish(transfer, code: CURLE_ABORTED_BY_CALLBACK, cancelled: true) }
                break
            }
            var running: Int32 = 0
            _ = agent_curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let message = agent_curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let code = message.pointee.data.result
                var privateData: UnsafeMutableRawPointer? = nil
                _ = agent_curl_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &privateData)
                guard let privateData else { continue }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(privateData).takeUnretainedValue()
                finish(transfer, code: code, cancelled: false)
            }
            var fds: Int32 = 0
            _ = agent_curl_multi_poll(multi, nil, 0, 1000, &fds)
        }
        for easy in idleHandles { agent_curl_easy_cleanup(easy) }
        idleHandles.removeAll()
        agent_curl_multi_cleanup(multi)
        finished.signal()
    }

    func begin(_ submission: Submission) {
        let easy: UnsafeMutableRawPointer
        if let reused = idleHandles.popLast() {
            easy = reused
        } else if let fresh = agent_curl_easy_init() {
            easy = fresh
        } else {
            deliver(.failure(HTTPError(.transport, "curl_easy_init failed: out of memory")), queue: submission.queue, completion: submission.completion)
            return
        }
        let transfer = CurlTransfer(id: submission.id, easy: easy, request: submission.request, queue: submission.queue, completion: submission.completion)
        if let error = transfer.configure(userAgent: userAgent) {
            recycle(transfer)
            deliver(.failure(error), queue: submission.queue, completion: submission.completion)
            return
        }
        active[submission.id] = transfer
        _ = agent_curl_multi_add_handle(multi, easy)
    }

    func finish(_ transfer: CurlTransfer, code: CURLcode, cancelled: Bool) {
        let result = cancelled ? .failure(HTTPError(.cancelled, "the request was cancelled", timings: transfer.timings())) : transfer.result(code: code)
        _ = agent_curl_multi_remove_handle(multi, transfer.easy)
        active[transfer.id] = nil
        recycle(transfer)
        deliver(result, queue: transfer.queue, completion: transfer.completion)
    }

    func recycle(_ transfer: CurlTransfer) {
        transfer.release()
        if idleHandles.count < Self.idleHandleLimit {
            agent_curl_easy_reset(transfer.easy)
            idleHandles.append(transfer.easy)
        } else {
            agent_curl_easy_cleanup(transfer.easy)
        }
    }

    func deliver(
        _ result: Result<HTTPResponse, HTTPError>, queue: DispatchQueue?,
        completion: @escaping @Sendable (Result<HTTPResponse, HTTPError>) -> Void
    ) {
        if let queue {
            queue.async { completion(result) }
        } else {
            completion(result)
        }
    }
}
