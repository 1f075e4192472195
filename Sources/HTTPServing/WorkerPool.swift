import CEpoll
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time in nanoseconds (`CLOCK_MONOTONIC`): deadlines and timeouts, never wall time.
public enum Monotonic {
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Nanoseconds from `start` to `now`; 0 when `start` is later (read on another thread, or after `now` was taken).
    public static func elapsed(since start: UInt64, now: UInt64) -> UInt64 { now > start ? now - start : 0 }

    /// Nanoseconds of `ms` milliseconds (negative as 0), saturating at ≈ 292 years instead of overflowing.
    public static func nanoseconds(_ ms: Int64) -> UInt64 {
        UInt64(min(max(ms, 0), Int64.max / 1_000_000)) * 1_000_000
    }
}

/// At most `maxThreads` jobs at once on threads of its own, the rest waiting in order.
///
/// Own threads rather than Dispatch's global queues: those have about as many threads as cores,
/// so a few long queries blocking in them would stall every other user of the process's pool.
/// Threads start when work finds none idle and stay parked until `stop()`. Ownership: the queue of
/// jobs and the thread counts are behind `state`; `available` counts jobs not yet taken.
final class WorkerPool: Sendable {
    struct State {
        var jobs: [(@Sendable () -> Void)?] = []
        var head = 0
        var threads = 0
        var idle = 0
        var running = 0
        var stopping = false
    }

    let name: String
    let maxThreads: Int
    private let state = Mutex(State())
    private let available = DispatchSemaphore(value: 0)

    init(name: String, maxThreads: Int) {
        self.name = name
        self.maxThreads = max(1, maxThreads)
    }

    /// Jobs waiting for a thread.
    var queued: Int { state.withLock { $0.jobs.count - $0.head } }
    /// Jobs running now.
    var running: Int { state.withLock { $0.running } }

    /// Runs `job` on a pool thread as soon as one is free; false (job not run) once stopped.
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        let spawn: Bool? = state.withLock { s in
            guard !s.stopping else { return nil }
            s.jobs.append(job)
            let waiting = s.jobs.count - s.head
            if waiting > s.idle && s.threads < maxThreads {
                s.threads += 1
                return true
            }
            return false
        }
        guard let spawn else { return false }
        if spawn { startThread() }
        available.signal()
        return true
    }

    /// Lets the threads end once the queued jobs are done (jobs submitted later are refused).
    func stop() {
        let threads = state.withLock { s in
            s.stopping = true
            return s.threads
        }
        for _ in 0..<threads { available.signal() }
    }

    private func work() {
        while true {
            state.withLock { $0.idle += 1 }
            available.wait()
            let job: (@Sendable () -> Void)? = state.withLock { s in
                s.idle -= 1
                guard s.head < s.jobs.count else {
                    // A stop's wake-up: no job for this signal.
                    if s.stopping { s.threads -= 1 }
                    return nil
                }
                let job = s.jobs[s.head]
                s.jobs[s.head] = nil
                s.head += 1
                if s.head > 64 && s.head * 2 > s.jobs.count {
                    s.jobs.removeSubrange(0..<s.head)
                    s.head = 0
                }
                s.running += 1
                return job
            }
            guard let job else {
                if state.withLock({ $0.stopping }) { return }
                continue
            }
            job()
            state.withLock { $0.running -= 1 }
        }
    }

    private func startThread() {
        // Without a new thread the job stays queued for a running thread or the next spawn.
        if !HTTPServing.startThread(named: name, { [self] in work() }) {
            state.withLock { $0.threads -= 1 }
        }
    }
}

/// A closure handed to a new pthread.
final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a detached pthread named `name` running `body`; false when the system refuses. The one
/// way the agent starts a thread of its own (the server's workers, the HTTP client's loop), without
/// Foundation's `Thread`.
public func startThread(named name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
    let box = Unmanaged.passRetained(ThreadBody {
        #if canImport(Glibc)
        _ = pthread_setname_np(pthread_self(), String(name.prefix(15)))
        #endif
        body()
    })
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    defer { pthread_attr_destroy(&attributes) }
    var thread = pthread_t()
    let status = pthread_create(&thread, &attributes, { raw in
        Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, box.toOpaque())
    if status != 0 { box.release() }
    return status == 0
}
