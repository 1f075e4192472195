import Dispatch
import Ingest
import Logging
import TimeSeries
#if canImport(Glibc)
import Glibc
#endif

/// The configured logs, tailed on a Dispatch timer.
///
/// Ownership: every pipeline (tailer + mapper) belongs to `queue`. A checkpoint captures the tail
/// offsets and the store on that queue, between two polls, so that offsets and stored samples
/// agree: after a restart no line is lost and none is counted twice.
final class LogsComponent: @unchecked Sendable {
    let queue = DispatchQueue(label: "agent.logs")
    private let pipelines: [(mapping: LogMapping, pipeline: LogPipeline)]
    private var timer: (any DispatchSourceTimer)?
    private var lines = 0, bytes = 0, polls = 0
    let logger: Logger

    init(mappings: [LogMapping], store: SeriesStore, logger: Logger, clock: @escaping @Sendable () -> Timestamp) throws {
        self.logger = logger
        pipelines = try mappings.map { mapping in
            (mapping, try LogPipeline(mapping: mapping, store: store, logger: logger, clock: clock))
        }
    }

    var isEmpty: Bool { pipelines.isEmpty }

    /// Resumes from checkpointed offsets (each pipeline takes the files of its own patterns).
    func restore(_ offsets: TailOffsets) {
        queue.sync {
            for (mapping, pipeline) in pipelines {
                let mine = offsets.files.filter { entry in mapping.paths.contains { fnmatch($0, entry.path, 0) == 0 } }
                // A log the checkpoint does not know (added since) starts at its configured position.
                if !mine.isEmpty { pipeline.tailer.restore(TailOffsets(files: mine)) }
            }
        }
    }

    /// Polls every `interval` ms (and again at once while a file has more pending).
    func start(interval: Milliseconds) {
        queue.sync {
            let t = DispatchSource.makeTimerSource(queue: queue)
            t.schedule(deadline: .now(), repeating: .milliseconds(Int(interval)), leeway: .milliseconds(50))
            t.setEventHandler { [weak self] in self?.pollAll() }
            t.resume()
            timer = t
        }
    }

    func stop() { queue.sync { timer?.cancel(); timer = nil } }

    private func pollAll() {
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
    }

    /// Tail offsets and the store's state, captured together between two polls.
    func checkpointSections(store: SeriesStore) -> [String: [UInt8]] {
        queue.sync {
            let offsets = TailOffsets(files: pipelines.flatMap { $0.pipeline.tailer.offsets().files })
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
                let offsets = pipeline.tailer.offsets().files.map { ["path": $0.path, "offset": $0.offset] as [String: Any] }
                return ["paths": mapping.paths, "job": mapping.job ?? "", "files": offsets, "malformed": malformed] as [String: Any]
            }
        }
    }

    /// Self-metrics: lines and bytes read, malformed lines by file and reason.
    func metrics() -> [SelfMetricFamily] {
        queue.sync {
            var malformed: [(labels: [(String, String)], value: Double)] = []
            for (_, pipeline) in pipelines {
                for m in pipeline.malformedCounts() { malformed.append(([("path", m.path), ("reason", "\(m.reason)")], Double(m.count))) }
            }
            return [
                SelfMetricFamily(name: "agent_log_lines_total", kind: .counter, help: "Complete log lines read.", samples: [([], Double(lines))]),
                SelfMetricFamily(name: "agent_log_bytes_total", kind: .counter, help: "Log bytes read.", samples: [([], Double(bytes))]),
                SelfMetricFamily(name: "agent_log_lines_malformed_total", kind: .counter, help: "Log lines skipped, by file and reason.", samples: malformed),
            ]
        }
    }
}
