import Synchronization
import AgentClient
import AgentDaemon
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Ingest
import Logging
import TimeSeries

extension Agent {
    /// `agent replay`: reads logs once through their mapping and prints the series, like mtail's
    /// one-shot mode — for trying a mapping, and for benchmarks.
    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: CommandDescriptions.replay,
            discussion: """
                Reads the logs of the configuration's `logs:` section (or the given files, through the first \
                log's mapping) from beginning to end, once, and prints every series in the Prometheus text \
                format: counters as their totals, gauges as their last value, distributions as summaries \
                (quantiles 0.5, 0.9, 0.95, 0.99, 0.999 over everything read, _sum, _count). Every line counts, \
                whatever its timestamp. Malformed-line counts go to stderr. Exits 1 on a configuration error \
                or a missing file.
                """)

        @Option(name: .long, help: "The agent's YAML configuration file (its `logs:` section is used).")
        var config: String

        @Option(name: .long, help: "Most series kept; further series are counted and dropped.")
        var seriesLimit: Int = 100_000

        @Argument(help: "Log files to read through the first log's mapping (default: the configured paths).")
        var logFiles: [String] = []

        func validate() throws {
            guard seriesLimit > 0 else { throw ValidationError("--series-limit must be positive") }
        }

        func run() throws {
            var mappings: [LogMapping]
            do {
                mappings = try LogsConfig.load(file: config)
            } catch {
                writeAll(2, Array((error.description + "\n").utf8))
                throw ExitCode(1)
            }
            guard !mappings.isEmpty else {
                writeAll(2, Array("\(config): no `logs:` section: nothing to replay\n".utf8))
                throw ExitCode(1)
            }
            if !logFiles.isEmpty {
                for file in logFiles where !FileManager.default.isReadableFile(atPath: file) {
                    writeAll(2, Array("\(file): no such readable file\n".utf8))
                    throw ExitCode(1)
                }
                mappings = [mappings[0]]
                mappings[0].paths = logFiles
            }

            var storeConfig = StoreConfig()
            storeConfig.seriesLimit = seriesLimit
            let store = SeriesStore(config: storeConfig)
            // Every line counts at "arrival": one store slot per poll, newer each poll, all kept.
            let start = SeriesStore.systemClock()
            let polls = ReplayClock(start: start)
            var logger = Logger(label: "agent.replay")
            logger.logLevel = .error  // problems are summarised on stderr below
            var pipelines: [LogPipeline] = []
            for mapping in mappings {
                var mapping = mapping
                mapping.startAt = .beginning
                do {
                    pipelines.append(try LogPipeline(mapping: mapping, store: store, time: .arrival, logger: logger, clock: polls.next, mapFiles: true))
                } catch {
                    writeAll(2, Array("\(config): \(error.description)\n".utf8))
                    throw ExitCode(1)
                }
            }
            // Files are read through mmap: one truncated meanwhile (copytruncate) faults; say so.
            ReplayFault.install()
            for pipeline in pipelines { pipeline.readToEnd() }

            var out = ""
            for (pipeline, mapping) in zip(pipelines, mappings) {
                ReplayExposition.render(mapping: mapping, store: store, into: &out)
                report(pipeline, mapping: mapping)
            }
            writeAll(1, Array(out.utf8))
        }

        /// What was read and skipped, on stderr.
        private func report(_ pipeline: LogPipeline, mapping: LogMapping) {
            var lines: [String] = []
            let stats = pipeline.tailer.fileStats
            for (index, path) in pipeline.tailer.filePaths.enumerated() {
                let malformed = pipeline.malformedCounts().filter { $0.path == path }
                let total = malformed.reduce(0) { $0 + $1.count }
                var line = "replay: \(path): \(stats[index].lines) lines, \(stats[index].bytes) bytes, \(total) malformed"
                if total > 0 {
                    line += " (" + malformed.sorted { $0.count > $1.count }.map { "\($0.reason) \($0.count)" }.joined(separator: ", ") + ")"
                }
                lines.append(line)
            }
            if pipeline.tailer.filePaths.isEmpty {
                lines.append("replay: \(mapping.paths.joined(separator: ", ")): no file matched")
            }
            for (path, problem) in pipeline.tailer.problems.sorted(by: { $0.key < $1.key }) {
                lines.append("replay: \(path): \(problem)")
            }
            let m = pipeline.mapper.stats
            if m.filteredLines > 0 { lines.append("replay: \(m.filteredLines) lines filtered out") }
            for (label, n) in m.overflowValues.sorted(by: { $0.key < $1.key }) {
                lines.append("replay: label \(label): \(n) values past max_values became \(LogLabelSpec.overflowValue) (\(m.overflowLines) lines)")
            }
            if m.seriesLimited > 0 { lines.append("replay: \(m.seriesLimited) samples dropped by the series limit (--series-limit)") }
            writeAll(2, Array((lines.joined(separator: "\n") + "\n").utf8))
        }
    }
}

/// Turns SIGBUS — a mapped log file truncated while replay read it — into a one-line error and
/// exit status 1 instead of a crash.
enum ReplayFault {
    static func install() {
        signal(SIGBUS) { _ in
            // Async-signal-safe: a static string and write(2), no allocation.
            let message: StaticString = "replay: a log file shrank while it was being read (truncated, e.g. by copytruncate); run replay again\n"
            _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
            _exit(1)
        }
    }
}

/// Replay's arrival clock: a millisecond later at each call (each poll), so every poll's samples
/// are newer than the last and a gauge's last value is the last one read.
final class ReplayClock: Sendable {
    private let counter: Synchronization.Mutex<Timestamp>
    init(start: Timestamp) { counter = Synchronization.Mutex(start) }
    var next: @Sendable () -> Timestamp {
        { [self] in
            counter.withLock { value in
                value += 1
                return value
            }
        }
    }
}

/// Prints a log's series in the Prometheus text format.
enum ReplayExposition {
    static let quantiles = [0.5, 0.9, 0.95, 0.99, 0.999]

    static func render(mapping: LogMapping, store: SeriesStore, into out: inout String) {
        store.read { reader in
            for metric in mapping.metrics {
                // Sorted by the rendered label pairs, each rendered once.
                let refs = reader.series(named: metric.name)
                    .compactMap { ref in reader.labels(of: ref).map { (ref, pairs($0)) } }
                    .sorted { $0.1 < $1.1 }
                guard !refs.isEmpty else { continue }
                if let help = metric.help { out += "# HELP \(metric.name) \(escapeHelp(help))\n" }
                let type = switch metric.kind {
                case .counter: "counter"
                case .gauge: "gauge"
                case .distribution: "summary"
                }
                out += "# TYPE \(metric.name) \(type)\n"
                for (ref, pairs) in refs {
                    switch metric.kind {
                    case .counter, .gauge:
                        guard let latest = reader.latest(of: ref) else { continue }
                        out += "\(series(metric.name, pairs))\(format(latest.value))\n"
                    case .distribution:
                        guard let summary = reader.summary(of: ref, from: .min, through: .max) else { continue }
                        for q in quantiles {
                            let withQuantile = pairs.isEmpty ? "quantile=\"\(format(q))\"" : pairs + ",quantile=\"\(format(q))\""
                            out += "\(series(metric.name, withQuantile))\(format(summary.quantile(q)))\n"
                        }
                        out += "\(series(metric.name + "_sum", pairs))\(format(summary.sum))\n"
                        out += "\(series(metric.name + "_count", pairs))\(summary.count)\n"
                    }
                }
            }
        }
    }

    /// `a="1",b="2"`: the labels but the metric name, in name order, values escaped.
    static func pairs(_ labels: Labels) -> String {
        var out = ""
        labels.forEach { name, value in
            guard !name.elementsEqual(Labels.metricName.utf8) else { return }
            if !out.isEmpty { out += "," }
            out += String(decoding: name, as: UTF8.self)
            out += "=\""
            out += escape(String(decoding: value, as: UTF8.self), quotes: true)
            out += "\""
        }
        return out
    }

    /// `name{pairs} ` (no braces without pairs).
    static func series(_ name: String, _ pairs: String) -> String {
        pairs.isEmpty ? name + " " : name + "{" + pairs + "} "
    }

    /// Escapes `\`, newline and (in label values) `"`, as the text format requires.
    static func escape(_ s: String, quotes: Bool) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") || ($0 == UInt8(ascii: "\"") && quotes) }) else { return s }
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func escapeHelp(_ s: String) -> String { escape(s, quotes: false) }

    /// Integers without a fraction, others in the shortest form that reads back exactly.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
