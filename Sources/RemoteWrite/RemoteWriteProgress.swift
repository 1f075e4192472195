public import TimeSeries

/// How far an endpoint has sent: what survives a restart, so that sending resumes from the rings
/// exactly where it stopped, without a sample sent twice or skipped.
///
/// The model: time is sent in rounds. A round sends every series' samples in `(from, through]`
/// (`from` is the watermark, or for the very first round the oldest time the rings can hold);
/// series go in the order of their labels' stable hash, split into `cursors.count` shards by hash
/// range. A shard's cursor is the hash of the last series whose samples the receiver acknowledged,
/// so after a restart the round resumes after it. When every shard is through, the watermark moves
/// to `through`. Everything at or before the watermark has been acknowledged (for the series the
/// store held then); nothing after the round's `through` has been sent.
///
/// Written after every acknowledged request (a few bytes), as text that a person can read:
/// ```
/// agent remote_write progress 1
/// url http://prometheus:9090/api/v1/write
/// watermark 1733540000000
/// round 1733540000000 1733540005000
/// shards 2
/// cursor 0 7fa3c0e1d2b4a596
/// cursor 1 -
/// ```
public struct RemoteWriteProgress: Sendable, Equatable {
    /// The URL this progress belongs to: a different URL is another receiver, which starts afresh.
    public var url: String
    /// Every sample at or before this time has been acknowledged; nil when nothing has been yet.
    public var watermark: Timestamp?
    /// The round in progress; nil between rounds.
    public var round: Round?
    /// Per shard, during a round: the hash of the last series acknowledged through `round` (nil: none yet).
    public var cursors: [UInt64?]

    /// A round: the samples with `from < t <= through`.
    public struct Round: Sendable, Equatable {
        public var from: Timestamp
        public var through: Timestamp
        public init(from: Timestamp, through: Timestamp) {
            self.from = from
            self.through = through
        }
    }

    public init(url: String, watermark: Timestamp? = nil, round: Round? = nil, cursors: [UInt64?]) {
        self.url = url
        self.watermark = watermark
        self.round = round
        self.cursors = cursors
    }

    /// Why a progress file could not be read.
    public struct DecodeError: Error, Sendable, CustomStringConvertible, Equatable {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    static let header = "agent remote_write progress 1"
    /// Far more shards than anyone configures; a file claiming more is not ours.
    static let maxShards = 4096

    /// The file's text.
    public var encoded: [UInt8] {
        var text = Self.header + "\n"
        text += "url \(url)\n"
        text += "watermark \(watermark.map(String.init) ?? "-")\n"
        text += "round \(round.map { "\($0.from) \($0.through)" } ?? "-")\n"
        text += "shards \(cursors.count)\n"
        for (i, c) in cursors.enumerated() { text += "cursor \(i) \(c.map { String($0, radix: 16) } ?? "-")\n" }
        return Array(text.utf8)
    }

    /// Reads a file `encoded` wrote; anything else (truncated, edited, another format) is an error.
    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        guard bytes.count <= 64 + 16 * 1024 + Self.maxShards * 32 else { throw DecodeError(line: 1, message: "\(bytes.count) bytes is too large for a progress file") }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasSuffix("\n") else { throw DecodeError(line: 1, message: "truncated (no final newline)") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        func field(_ i: Int, _ key: String) throws(DecodeError) -> Substring {
            guard i < lines.count else { throw DecodeError(line: i + 1, message: "missing \"\(key)\"") }
            let line = lines[i]
            guard line.hasPrefix(key + " ") else { throw DecodeError(line: i + 1, message: "expected \"\(key) …\", found \"\(line.prefix(40))\"") }
            return line.dropFirst(key.count + 1)
        }
        func time(_ i: Int, _ key: String) throws(DecodeError) -> Timestamp? {
            let v = try field(i, key)
            if v == "-" { return nil }
            guard let t = Timestamp(v) else { throw DecodeError(line: i + 1, message: "\(key) must be milliseconds or -, found \"\(v.prefix(40))\"") }
            return t
        }
        guard lines.first == Substring(Self.header) else { throw DecodeError(line: 1, message: "not an agent remote_write progress file") }
        let url = try field(1, "url")
        guard !url.isEmpty, url.utf8.count <= 16 * 1024 else { throw DecodeError(line: 2, message: "url must be 1 to 16384 bytes") }
        let watermark = try time(2, "watermark")
        var round: Round?
        let roundText = try field(3, "round")
        if roundText != "-" {
            let parts = roundText.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, let from = Timestamp(parts[0]), let through = Timestamp(parts[1]), from < through else {
                throw DecodeError(line: 4, message: "round must be \"FROM THROUGH\" (milliseconds, FROM before THROUGH) or -")
            }
            round = Round(from: from, through: through)
        }
        guard let shards = Int(try field(4, "shards")), shards >= 1, shards <= Self.maxShards else {
            throw DecodeError(line: 5, message: "shards must be between 1 and \(Self.maxShards)")
        }
        guard lines.count == 5 + shards else { throw DecodeError(line: lines.count, message: "expected \(shards) cursor lines, found \(lines.count - 5)") }
        var cursors: [UInt64?] = []
        for i in 0..<shards {
            let parts = try field(5 + i, "cursor").split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, Int(parts[0]) == i else { throw DecodeError(line: 6 + i, message: "expected \"cursor \(i) HASH\"") }
            if parts[1] == "-" {
                cursors.append(nil)
            } else if let h = UInt64(parts[1], radix: 16), parts[1].count <= 16 {
                cursors.append(h)
            } else {
                throw DecodeError(line: 6 + i, message: "cursor must be a hexadecimal hash or -")
            }
        }
        if let w = watermark, let r = round, r.from != w { throw DecodeError(line: 4, message: "the round starts at \(r.from), not at the watermark \(w)") }
        if round == nil, cursors.contains(where: { $0 != nil }) { throw DecodeError(line: 6, message: "cursors without a round") }
        self.init(url: String(url), watermark: watermark, round: round, cursors: cursors)
    }
}
