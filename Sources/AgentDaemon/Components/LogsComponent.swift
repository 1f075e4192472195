import Dispatch
import Ingest
import Logging
import TimeSeries
#if canImport(Glibc)
import Glibc
#endif

/// The configured logs, tailed on a Dispatch timer.
///
/// A reload (`plan` then `apply`) keeps the pipeline of every log whose mapping is unchanged, so
/// its open files and offsets carry on untouched: nothing is read twice and nothing is skipped. A
/// log whose mapping changed but whose paths did not gets a new pipeline that resumes at the old
/// one's offsets (partial lines included: offsets mark the start of the line not yet complete). A
/// new log starts at its `start_at` position; a removed log's files are closed.
///
/// Ownership: every pipeline (tailer + mapper) belongs to `queue`. A checkpoint captures the tail
/// offsets and the store on that queue, between two polls, so that offsets and stored samples
/// agree: after a restart each line is counted exactly once, except the lines a rotation destroyed
/// before they were read (docs/logs.md lists those cases; known losses are the self-metrics
/// `agent_log_lost_lines_total` and `agent_log_lost_bytes_total`). `stop()` cancels the timer on
/// that queue, so a poll under way finishes first. The heartbeat beats after each poll.
final class LogsComponent: Component, @unchecked Sendable {
    let queue = DispatchQueue(label: "agent.logs")
    private(set) var pipelines: [(mapping: LogMapping, pipeline: LogPipeline)]
    private var timer: (any DispatchSourceTimer)?
    private var lines = 0, bytes = 0, polls = 0
    let logger: Logger
    private let store: SeriesStore
    private let clock: @Sendable () -> Timestamp
    /// Beats after each poll; set before `start()`.
    var heartbeat: Heartbeat?
    /// How often the logs are polled.
    static let pollInterval: Milliseconds = 1_000
    /// When the logs were last polled and each file's lines per second, for the logs page.
    let activity = LogActivity()

    init(mappings: [LogMapping], store: SeriesStore, logger: Logger, clock: @escaping @Sendable () -> Timestamp) throws {
        self.logger = logger
        self.store = store
        self.clock = clock
        pipelines = try mappings.map { mapping in
            (mapping, try LogPipeline(mapping: mapping, store: store, logger: logger, clock: clock))
        }
    }

    /// Resumes from checkpointed offsets (each pipeline takes the files of its own patterns).
    func restore(_ offsets: TailOffsets) {
        queue.sync {
            for (mapping, pipeline) in pipelines {
                let mine = offsets.files.filter { entry in mapping.paths.contains { fnmatch($0, entry.path, 0) == 0 } }
                // A log the checkpoint does not know (added since) starts at its configured position;
                // one it knows, even with no file then, reads the files that appeared since from 0.
                let known = !mine.isEmpty || mapping.paths.contains { offsets.patterns.contains($0) }
                if known { pipeline.tailer.restore(TailOffsets(files: mine, patterns: mapping.paths, taken: offsets.taken)) }
            }
        }
    }

    /// A reload's set of logs, with the pipelines it needs built and validated before anything changes.
    struct Plan {
        enum Entry {
            /// The running pipeline at this index goes on.
            case keep(Int)
            /// A new pipeline; `resumes` names the running one whose offsets it takes over.
            case start(LogMapping, LogPipeline, resumes: Int?)
        }
        var entries: [Entry] = []
        var added: [String] = [], changed: [String] = [], removed: [String] = []
        var isEmpty: Bool { added.isEmpty && changed.isEmpty && removed.isEmpty }
    }

    /// Matches `mappings` against the running logs: unchanged ones are kept, others get pipelines.
    /// - Throws: `LogMappingError` when a new mapping is invalid (nothing has changed then).
    func plan(_ mappings: [LogMapping]) throws -> Plan {
        let running = queue.sync { pipelines.map(\.mapping) }
        var plan = Plan()
        var used = Set<Int>()
        // Exact matches first, so that a changed log never takes over an unchanged one's pipeline.
        var entries: [Plan.Entry?] = mappings.map { mapping in
            guard let i = running.indices.first(where: { !used.contains($0) && running[$0] == mapping }) else { return nil }
            used.insert(i)
            return .keep(i)
        }
        for (index, mapping) in mappings.enumerated() where entries[index] == nil {
            let pipeline = try LogPipeline(mapping: mapping, store: store, logger: logger, clock: clock)
            let resumes = running.indices.first { !used.contains($0) && running[$0].paths == mapping.paths }
            if let resumes {
                used.insert(resumes)
                plan.changed.append(mapping.paths.joined(separator: ","))
            } else {
                plan.added.append(mapping.paths.joined(separator: ","))
            }
            entries[index] = .start(mapping, pipeline, resumes: resumes)
        }
        plan.entries = entries.map { $0! }
        for i in running.indices where !used.contains(i) { plan.removed.append(running[i].paths.joined(separator: ",")) }
        return plan
    }

    /// Makes a plan the running set of logs, between two polls.
    func apply(_ plan: Plan) {
        queue.sync {
            var next: [(mapping: LogMapping, pipeline: LogPipeline)] = []
            for entry in plan.entries {
                switch entry {
                case .keep(let i):
                    next.append(pipelines[i])
                case .start(let mapping, let pipeline, let resumes):
                    if let resumes { pipeline.tailer.restore(pipelines[resumes].pipeline.tailer.offsets()) }
                    next.append((mapping, pipeline))
                }
            }
            pipelines = next
        }
    }

    /// Polls every `pollInterval`.
    func start() { start(interval: Self.pollInterval) }

    /// Polls every `interval` ms (and again at once while a file has more pending).
    func start(interval: Milliseconds) {
        heartbeat?.expect(every: interval)
        queue.sync {
            let t = DispatchSource.makeTimerSource(queue: queue)
            t.schedule(deadline: .now(), repeating: .milliseconds(Int(interval)), leeway: .milliseconds(50))
            t.setEventHandler { [weak self] in self?.pollAll() }
            t.resume()
            timer = t
        }
    }

    /// Stops polling; a poll under way finishes first (the timer is cancelled on `queue`).
    func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
        heartbeat?.pause()
    }

    private func pollAll() {
        let began = ContinuousClock.now
        for (_, pipeline) in pipelines {
            var summary = pipeline.poll()
            lines += summary.lines
            bytes += summary.bytes
            // A backlog (a start from the beginning, a burst): keep reading, a bounded number of rounds.
            var rounds = 0
            while summary.morePending && rounds < 64 {
                summary = pipeline.poll()
                lines += summary.lines
                bytes += summary.bytes
                rounds += 1
            }
        }
        polls += 1
        activity.record(pipelines.flatMap { zip($0.pipeline.tailer.filePaths, $0.pipeline.tailer.fileStats.map(\.lines)).map { ($0, $1) } },
                        at: clock(), monotonic: LogTailer.monotonicMilliseconds(), took: ContinuousClock.now - began)
        heartbeat?.beat()
    }

    /// Tail offsets and the store's state, captured together between two polls.
    func checkpointSections(store: SeriesStore) -> [String: [UInt8]] {
        queue.sync {
            let all = pipelines.map { $0.pipeline.tailer.offsets() }
            let offsets = TailOffsets(files: all.flatMap(\.files), patterns: all.flatMap(\.patterns), taken: all.map(\.taken).min() ?? 0)
            return [LogsComponent.offsetsSection: offsets.encoded(), SeriesStore.checkpointSection: store.encodedState()]
        }
    }

    static let offsetsSection = "tail_offsets"

    /// Per log: its paths, lines read and malformed lines by reason.
    func status() -> [[String: Any]] {
        queue.sync {
            pipelines.map { mapping, pipeline in
                var malformed: [String: Int] = [:]
                for m in pipeline.malformedCounts() { malformed["\(m.reason)", default: 0] += m.count }
                let offsets = pipeline.tailer.offsets().files.filter { !$0.finished }.map {
                    ["path": $0.path, "location": $0.location, "offset": $0.offset] as [String: Any]
                }
                let lost = pipeline.tailer.losses.map { path, loss in
                    ["path": path, "lines": loss.lines, "bytes": loss.bytes, "files": loss.events] as [String: Any]
                }
                return ["paths": mapping.paths, "job": mapping.job ?? "", "files": offsets, "malformed": malformed, "lost": lost] as [String: Any]
            }
        }
    }

    /// Self-metrics: lines and bytes read, malformed lines by file and reason, lines known lost.
    func metrics() -> [SelfMetricFamily] {
        queue.sync {
            var malformed: [(labels: [(String, String)], value: Double)] = []
            var lostLines: [(labels: [(String, String)], value: Double)] = []
            var lostBytes: [(labels: [(String, String)], value: Double)] = []
            for (_, pipeline) in pipelines {
                for m in pipeline.malformedCounts() { malformed.append(([("path", m.path), ("reason", "\(m.reason)")], Double(m.count))) }
                for (path, loss) in pipeline.tailer.losses.sorted(by: { $0.key < $1.key }) {
                    lostLines.append(([("path", path)], Double(loss.lines)))
                    lostBytes.append(([("path", path)], Double(loss.bytes)))
                }
            }
            return [
                SelfMetricFamily(name: "agent_log_lines_total", kind: .counter, help: "Complete log lines read.", samples: [([], Double(lines))]),
                SelfMetricFamily(name: "agent_log_bytes_total", kind: .counter, help: "Log bytes read.", samples: [([], Double(bytes))]),
                SelfMetricFamily(name: "agent_log_lines_malformed_total", kind: .counter, help: "Log lines skipped, by file and reason.", samples: malformed),
                SelfMetricFamily(
                    name: "agent_log_lost_lines_total", kind: .counter,
                    help: "Log lines known lost, by log: their file was compressed or truncated before they were read (see docs/logs.md).",
                    samples: lostLines),
                SelfMetricFamily(
                    name: "agent_log_lost_bytes_total", kind: .counter,
                    help: "Log bytes known lost, by log (at least; also where lines cannot be counted, as for a deleted file).",
                    samples: lostBytes),
            ]
        }
    }
}
