import Synchronization
import TimeSeries

/// How the logs are being read lately, for the logs page: when the last poll round ran and how
/// long it took, and each file's lines per second over its last polls.
///
/// The logs queue calls `record` after each poll round (once a second: a lock round trip and a
/// few small arrays); pages read `snapshot()` from any thread without waiting for a poll. A rate
/// is taken over the file's last `window` polls (about 15 s), so it follows a burst within
/// seconds yet does not jump with each poll. Bounded: one short ring per followed path, and a path
/// no longer followed is forgotten at the next round. Owner: a `Mutex`.
final class LogActivity: Sendable {
    /// One file's recent reading.
    struct File: Sendable, Equatable {
        /// Complete lines read from the path, all generations.
        var lines: Int
        /// Lines per second over the recent polls; nil until two polls at least a second apart.
        var linesPerSecond: Double?
    }

    /// What the page shows.
    struct Snapshot: Sendable {
        /// Wall-clock time of the last poll round, nil before the first.
        var lastPoll: Timestamp?
        /// How long that round took.
        var lastPollDuration: Duration = .zero
        var rounds = 0
        var files: [String: File] = [:]
    }

    /// Polls a rate is taken over.
    static let window = 16

    private struct Point {
        var monotonic: Int64
        var lines: Int
    }

    private struct State {
        var snapshot = Snapshot()
        var history: [String: [Point]] = [:]
    }

    private let state = Mutex(State())

    /// After a poll round: each followed path's line count at `monotonic` ms, the round's wall-clock
    /// time and duration.
    func record(_ files: [(path: String, lines: Int)], at time: Timestamp, monotonic: Int64, took: Duration) {
        state.withLock { s in
            var history: [String: [Point]] = [:]
            history.reserveCapacity(files.count)
            var out: [String: File] = [:]
            for (path, lines) in files {
                var points = s.history[path] ?? []
                if points.count >= Self.window { points.removeFirst(points.count - Self.window + 1) }
                points.append(Point(monotonic: monotonic, lines: lines))
                var rate: Double?
                if let first = points.first, monotonic - first.monotonic >= 1000, lines >= first.lines {
                    rate = Double(lines - first.lines) * 1000 / Double(monotonic - first.monotonic)
                }
                history[path] = points
                out[path] = File(lines: lines, linesPerSecond: rate)
            }
            s.history = history
            s.snapshot.files = out
            s.snapshot.lastPoll = time
            s.snapshot.lastPollDuration = took
            s.snapshot.rounds += 1
        }
    }

    func snapshot() -> Snapshot { state.withLock { $0.snapshot } }
}
