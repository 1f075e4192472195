/// What a scraped page said about one metric family: its `# TYPE`, `# HELP` and `# UNIT` lines, as
/// Prometheus's metadata API (`/api/v1/metadata`, `/api/v1/targets/metadata`) serves them.
public struct MetricMetadata: Sendable, Hashable {
    /// The family's name as the TYPE/HELP/UNIT line wrote it (`http_requests` for an OpenMetrics
    /// counter whose samples are `http_requests_total`).
    public var family: String
    /// `.unknown` when the page gave no TYPE line (or `untyped`).
    public var type: MetricType
    /// The HELP text with its escapes resolved; empty when there was none.
    public var help: String
    /// The UNIT (OpenMetrics only); empty when there was none.
    public var unit: String

    public init(family: String, type: MetricType, help: String, unit: String) {
        self.family = family
        self.type = type
        self.help = help
        self.unit = unit
    }
}

/// The metadata of one target's families, as of its last successful scrape, bounded.
///
/// Model: entries in the order the page wrote them, and a cursor. A page writes its families in
/// the same order every scrape, so each HELP/TYPE/UNIT line is either about the entry under the
/// cursor or the next one: one byte comparison, no lookup, nothing allocated. Only a family that
/// is new or moved takes the slow path (a dictionary lookup by name); the commit after such a
/// scrape puts the entries back in page order. A HELP text is decoded only when its raw bytes
/// changed. Families a successful scrape no longer has are dropped at its commit, as Prometheus's
/// scrape cache drops them.
///
/// Bounds: at most `limit` families (further ones are counted in `familiesDropped`, not kept), and
/// HELP texts up to `maxHelpBytes` (longer ones are cut at a character boundary and counted in
/// `helpTruncated`).
///
/// Owned by one `ScrapeIngester`, under its loop's lock.
struct MetadataTable {
    /// Longest HELP text kept, in bytes.
    static let maxHelpBytes = 1024

    struct Entry {
        var metadata: MetricMetadata
        var name: [UInt8]
        var helpRaw: [UInt8]
        var unitRaw: [UInt8]
        /// Generation of the scrape that last wrote a line about this family.
        var lastSeen: UInt32 = 0
        /// Order within that scrape.
        var position: Int32 = 0
        var sawType = false, sawHelp = false, sawUnit = false
    }

    let limit: Int
    private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]
    private var cursor = -1
    /// Generation of the scrape being parsed.
    private var generation: UInt32 = 1
    private var nextPosition: Int32 = 0
    /// A line missed the cursor in this scrape: the entries are out of page order.
    private var reordered = false
    /// Families not kept because `limit` were held (cumulative).
    private(set) var familiesDropped = 0
    /// HELP texts cut at `maxHelpBytes` (cumulative).
    private(set) var helpTruncated = 0
    /// The last family refused for the limit, so that its other lines do not count it again.
    private var lastDropped: [UInt8] = []
    /// Entries before the scrape under way (those after it are new in it).
    private var entriesBefore: Int?

    /// A table keeping at most `limit` families (`ScrapeLimits.metadataLimit`).
    init(limit: Int) {
        self.limit = limit
    }

    /// Starts a scrape whose commit will be generation `gen`.
    mutating func begin(generation gen: UInt32) {
        generation = gen
        entriesBefore = entries.count
        cursor = -1
        nextPosition = 0
        reordered = false
        lastDropped = []
    }

    /// Records a HELP, TYPE or UNIT line the parser is on.
    @inline(__always)
    mutating func record(_ entry: ExpositionParser.Entry, _ parser: ExpositionParser) {
        guard let i = find(parser.metricName) else { return }
        switch entry {
        case .type:
            entries[i].sawType = true
            if entries[i].metadata.type != parser.metricType { entries[i].metadata.type = parser.metricType }
        case .help:
            entries[i].sawHelp = true
            let raw = Self.bounded(parser.text)
            if !Self.equal(raw.bytes, entries[i].helpRaw) {
                entries[i].helpRaw = Array(raw.bytes)
                entries[i].metadata.help = parser.helpText(maxBytes: Self.maxHelpBytes)
                if raw.truncated { helpTruncated += 1 }
            }
        case .unit:
            entries[i].sawUnit = true
            let raw = parser.text
            if !Self.equal(raw, entries[i].unitRaw) {
                entries[i].unitRaw = Array(raw)
                entries[i].metadata.unit = String(decoding: raw, as: UTF8.self)
            }
        default:
            break
        }
    }

    /// After a successful parse: families of this scrape only, in page order; what a family's
    /// lines no longer say is cleared.
    mutating func commit() {
        let gen = generation
        var stale = false
        for i in entries.indices {
            guard entries[i].lastSeen == gen else {
                stale = true
                continue
            }
            if !entries[i].sawType, entries[i].metadata.type != .unknown { entries[i].metadata.type = .unknown }
            if !entries[i].sawHelp, !entries[i].helpRaw.isEmpty {
                entries[i].helpRaw = []
                entries[i].metadata.help = ""
            }
            if !entries[i].sawUnit, !entries[i].unitRaw.isEmpty {
                entries[i].unitRaw = []
                entries[i].metadata.unit = ""
            }
        }
        entriesBefore = nil
        guard stale || reordered else { return }
        entries = entries.filter { $0.lastSeen == gen }.sorted { $0.position < $1.position }
        index = [:]
        for (i, e) in entries.enumerated() { index[e.metadata.family] = i }
    }

    /// After a failed parse: the families it added are dropped. (What it read about families the
    /// table already had, before the line that failed, stays: it is what the target says now.)
    mutating func abort() {
        guard let before = entriesBefore, entries.count > before else { return }
        entries.removeSubrange(before...)
        index = [:]
        for (i, e) in entries.enumerated() { index[e.metadata.family] = i }
        entriesBefore = nil
    }

    /// The families as of the last successful scrape (or the scrape under way, if called during one).
    var metadata: [MetricMetadata] { entries.map(\.metadata) }

    /// The entry for `name`, created if new (nil when the table is full).
    @inline(__always)
    private mutating func find(_ name: UnsafeRawBufferPointer) -> Int? {
        if cursor >= 0, Self.equal(name, entries[cursor].name) { return cursor }
        let next = cursor + 1
        var found: Int? = nil
        if next < entries.count, Self.equal(name, entries[next].name) {
            found = next
        } else {
            found = slowFind(name)
        }
        guard let i = found else { return nil }
        cursor = i
        if entries[i].lastSeen != generation {
            entries[i].lastSeen = generation
            entries[i].position = nextPosition
            nextPosition += 1
            entries[i].sawType = false
            entries[i].sawHelp = false
            entries[i].sawUnit = false
        }
        return i
    }

    private mutating func slowFind(_ name: UnsafeRawBufferPointer) -> Int? {
        reordered = true
        let family = String(decoding: name, as: UTF8.self)
        if let i = index[family] { return i }
        guard entries.count < limit else {
            // Once per family and scrape: its HELP, TYPE and UNIT lines come together.
            if !Self.equal(name, lastDropped) {
                familiesDropped += 1
                lastDropped = Array(name)
            }
            return nil
        }
        entries.append(Entry(metadata: MetricMetadata(family: family, type: .unknown, help: "", unit: ""), name: Array(name), helpRaw: [], unitRaw: []))
        index[family] = entries.count - 1
        return entries.count - 1
    }

    /// `text` cut to `maxHelpBytes` at a UTF-8 character boundary.
    static func bounded(_ text: UnsafeRawBufferPointer) -> (bytes: UnsafeRawBufferPointer, truncated: Bool) {
        guard text.count > maxHelpBytes else { return (text, false) }
        var end = maxHelpBytes
        while end > 0 && text[end] & 0xC0 == 0x80 { end -= 1 }
        return (UnsafeRawBufferPointer(rebasing: text[..<end]), true)
    }

    @inline(__always)
    static func equal(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return b.withUnsafeBytes { memcmp($0.baseAddress!, a.baseAddress!, a.count) == 0 }
    }
}

#if canImport(Glibc)
import Glibc
#endif
