#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging
import RE2
public import TimeSeries

/// Counters of what a `LogMapper` did with the lines it was given.
public struct LogMapperStats: Sendable, Equatable {
    /// Well-formed JSON object lines.
    public var lines = 0
    /// Blank lines (not malformed).
    public var emptyLines = 0
    /// Lines dropped by the log's filter.
    public var filteredLines = 0
    /// Lines with a timestamp older than the store keeps, skipped.
    public var tooOld = 0
    /// Lines with a timestamp further ahead than the store accepts, skipped.
    public var tooFarAhead = 0
    /// Lines whose value of some label was replaced by `__other__` (cardinality cap).
    public var overflowLines = 0
    /// Distinct values turned into `__other__`, by label name.
    public var overflowValues: [String: Int] = [:]
    /// Samples not stored because the store's series limit refused their series.
    public var seriesLimited = 0
    /// Samples the store refused for another reason (out of order, too old for the ring).
    public var storeRefused = 0
    /// Raw label-value combinations not cached because the per-log cache was full (slow path).
    public var labelCacheMisses = 0
    /// Times the per-value state (admitted values, cached combinations) was forgotten: see `LogMapper`.
    public var valueWindows = 0
}

/// Turns one log's lines into samples in the `SeriesStore`, per its `LogMapping`: the sink a
/// `LogTailer` delivers to.
///
/// Per line: extract the configured fields in one pass (`JSONFieldExtractor`); apply the log's
/// filter; read the timestamp (else arrival time) and skip lines outside what the store keeps;
/// compute every metric's value, so that a line with one bad field changes nothing; then find each
/// metric's series from the raw label values through a hash table (`LogSeriesKeyTable`) and queue
/// the sample. Only a combination of raw values not seen before takes the slow path: value map,
/// regex rewrite, cardinality cap (`__other__`), label set, store reference. Counter increments
/// and gauge values are summed / replaced per series and store slot before they reach the store;
/// observations are queued. `flush()` (end of each poll) writes everything under one store lock.
///
/// Time: with `.lineTimestamps` the line's own time; with `.arrival` (`agent replay`) every line
/// counts at the time it is read, so a replay sums over the whole file whatever its age.
///
/// Per-value state is bounded and forgotten: the values a label admitted under its cap, the
/// cached raw combinations (`lineKeyLimit`) and the series accumulators grow only until a cap or
/// the cache is full. When that happens and the store's series expiry (the *value window*) has
/// passed since the state was last forgotten, it is forgotten at the end of the batch (after its
/// samples are written) and rebuilt from the values that come next: values seen no more stop
/// taking a place under the cap (their series expire from the store), and a label whose values
/// change over time (versions, pod names) admits new ones instead of `__other__` forever. A cap
/// then bounds the values admitted per window, so a label holds at most twice its cap in the store.
///
/// Ownership: not thread-safe; the owner of the log's tailer calls it. The store is shared and
/// locks itself.
public final class LogMapper: LogLineSink {
    /// Which time a sample gets.
    public enum TimeSource: Sendable {
        /// The line's timestamp field when configured and present, else the arrival time.
        case lineTimestamps
        /// Always the arrival time (the timestamp field, if any, is still validated).
        case arrival
    }

    public let mapping: LogMapping
    /// Names a file in messages (set by the owner of the tailer).
    public var fileName: (LogFileID) -> String = { "file #\($0.index)" }
    // One owner at a time (see above): the per-line mutation of the core needs no exclusivity check.
    @exclusivity(unchecked) var core: LogMapperCore

    /// A mapper writing into `store`; `clock` gives the arrival time (ms since the epoch).
    /// - Throws: `LogMappingError` listing every problem of `mapping`.
    public convenience init(
        mapping: LogMapping, store: SeriesStore, time: TimeSource = .lineTimestamps,
        logger: Logger = Logger(label: "agent.logs"), clock: @escaping @Sendable () -> Timestamp = SeriesStore.systemClock
    ) throws(LogMappingError) {
        try self.init(mapping: mapping, store: store, time: time, logger: logger, clock: clock, lineKeyLimit: LogMapperCore.defaultLineKeyLimit)
    }

    /// With a bound on the line-key cache other than the default (tests).
    init(
        mapping: LogMapping, store: SeriesStore, time: TimeSource, logger: Logger,
        clock: @escaping @Sendable () -> Timestamp, lineKeyLimit: Int
    ) throws(LogMappingError) {
        let problems = mapping.validate()
        guard problems.isEmpty else { throw LogMappingError(problems: problems) }
        self.mapping = mapping
        do {
            core = try LogMapperCore(mapping: mapping, store: store, time: time, logger: logger, clock: clock, lineKeyLimit: lineKeyLimit)
        } catch {
            throw LogMappingError(problems: [error.description])
        }
    }

    public var stats: LogMapperStats { core.stats }

    deinit {
        core.release()
    }

    /// Malformed-line counts by file and reason, for the self-metrics and replay's stderr.
    public func malformedCounts() -> [(file: LogFileID, reason: MalformedLineReason, count: Int)] {
        var out: [(LogFileID, MalformedLineReason, Int)] = []
        let reasons = MalformedLineReason.allCases
        for (i, n) in core.malformed.enumerated() where n > 0 {
            out.append((LogFileID(index: i / reasons.count), reasons[i % reasons.count], n))
        }
        return out
    }

    public func consume(line: UnsafeRawBufferPointer, file: LogFileID) {
        if !core.consume(line, file: file) { core.reportMalformed(line, file: file, fileName: fileName) }
    }

    public func skipped(reason: MalformedLineReason, file: LogFileID) {
        core.countMalformed(reason, file: file)
    }

    public func flush() {
        core.flush()
    }

    /// Drops the malformed-line counts of `file`, whose id the tailer will give another path.
    public func forget(file: LogFileID) {
        core.forget(file: file)
    }
}

/// The mapping's problems.
public struct LogMappingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

/// A label as the mapper applies it.
struct LogLabelPlan {
    let name: String
    let field: Int
    let valueMap: [[UInt8]: [UInt8]]
    /// RE2, anchored as Prometheus's relabelling (`^(?s:regex)$`).
    let regex: RegularExpression?
    /// `$1` when the regex has groups, else `$0`, unless the mapping gives one.
    let template: String
    let maxValues: Int
    var admitted = Set<[UInt8]>()
    var overflowed = 0

    /// The value after the value map, the regex rewrite and the cardinality cap.
    mutating func resolve(_ raw: ArraySlice<UInt8>) -> (value: [UInt8], overflow: Bool) {
        var value = Array(raw)
        if let mapped = valueMap[value] {
            value = mapped
        } else if let regex, let match = regex.firstMatch(in: value) {
            value = regex.expand(template, match, in: value)
        }
        if value.isEmpty || admitted.contains(value) { return (value, false) }
        if admitted.count < maxValues {
            admitted.insert(value)
            return (value, false)
        }
        overflowed += 1
        return (Array(LogLabelSpec.overflowValue.utf8), true)
    }
}

/// One series a metric writes: its store reference and its pending counter increment or gauge value.
struct LogSeriesAccumulator {
    var ref: SeriesRef?
    let kind: SeriesKind
    var pending: Double = 0
    var pendingAt: Int64 = .min
    var pendingSlot: Int64 = .min
    var dirty = false
}

/// One metric as the per-line loops of `LogMapperCore` read it.
struct LogMetricPlan {
    let kind: SeriesKind
    /// The value's field, or -1 for a count of lines.
    let field: Int
    let scale: Double
    let filter: LogFilterPlan?
    let group: Int
    /// The metric's place among its group's series.
    let position: Int32
}

/// A queued store operation.
struct LogStoreOp {
    var slot: Int32
    var kind: SeriesKind
    var value: Double
    var at: Int64
}

/// A filter as the mapper applies it: its values are a range of `LogMapperCore.filterValues`.
struct LogFilterPlan {
    let field: Int
    let negated: Bool
    let first: Int
    let count: Int
}

/// All state of a `LogMapper`, mutated through one access per line.
///
/// The per-line configuration is in arrays of plain values (no copies with reference counting on
/// the hot path) and the per-line scratch in raw memory (no uniqueness checks); what only a new
/// label combination needs (label plans with their maps and regexes, label sets) is kept apart.
struct LogMapperCore {
    let extractor: JSONFieldExtractor
    let store: SeriesStore
    let logger: Logger
    let clock: @Sendable () -> Timestamp
    let time: LogMapper.TimeSource
    let metricNames: [String]
    let job: String?
    let timestampField: Int
    let timestampFormat: LogTimestampSpec.Format
    let filter: LogFilterPlan?
    // Per metric.
    let metricKind: [SeriesKind]
    let metricField: [Int]
    let metricScale: [Double]
    let metricFilter: [LogFilterPlan?]
    let metricGroup: [Int]
    let metricPosition: [Int32]
    /// The same per-metric values side by side in raw memory, for the per-line loops (no bounds
    /// checks, one cache line per metric). Freed by `release()`.
    let metricPlans: UnsafeMutablePointer<LogMetricPlan>
    let metricCount: Int
    // Per label group: a range of `labelField` (and of `labelPlans`), and its metrics.
    let groupLabelStart: [Int]
    let groupLabelCount: [Int]
    let groupMetrics: [[Int]]
    let labelField: [Int]
    /// Every distinct label field of the log: the line key is their values.
    let unionFields: [Int]
    /// Per label (parallel to `labelField`): its position in `unionFields`.
    let labelPosition: [Int]
    let filterValues: [[UInt8]]
    /// Cold: value maps, regexes and admitted values, used only for new combinations.
    var labelPlans: [LogLabelPlan]
    /// Line key (the raw values of `unionFields`, each followed by 0xFF) → its row: per group,
    /// the series base (with `overflowFlag` when a value became `__other__`), or -1 until a line
    /// needs that group. The row lies beside the key in the table's arena, so the lookup that
    /// finds the key has already brought the row into the cache.
    let table: LogSeriesKeyTable
    /// The row of lines not cached once the table is full (resolved again for each line).
    let scratchRow: UnsafeMutablePointer<Int32>
    /// The current line's row, or nil before its key was looked up. Valid until the next line
    /// (an insert may move the arena).
    var lineRow: UnsafeMutablePointer<Int32>? = nil
    /// The current line's key length.
    var lineKeyLength = 0
    /// Whether `scratch.key` holds the current line's key (built only when needed).
    var lineKeyBuilt = false
    /// Group byte and resolved values → series base.
    var resolved: [[UInt8]: Int32] = [:]
    /// The series accumulators, in raw memory (no uniqueness checks per write); `seriesCount` used
    /// of `seriesCapacity`, grown on the slow path. Freed by `release()`.
    var series: UnsafeMutablePointer<LogSeriesAccumulator>
    var seriesCount = 0
    var seriesCapacity = 256
    var seriesLabels: [Labels] = []
    var dirty: [Int32] = []
    /// Queued store operations (`opCount` of `opBatch`), in raw memory.
    let ops: UnsafeMutablePointer<LogStoreOp>
    var opCount = 0
    let scratch: LogMapperScratch
    var malformed: [Int] = []
    var stats = LogMapperStats()
    var batchNow: Int64?
    let resolution: Int64
    /// The slot `storeSlot(of:)` computed last, and its start time (`.max`: none yet).
    var lastSlot: Int64 = 0
    var lastSlotStart: Int64 = .max
    let oldestKept: Int64
    let futureSkew: Int64
    var malformedLog: [Int: (lastLogged: Int64, suppressed: Int)] = [:]
    var lastLabelError: MalformedLineReason = .wrongType
    var lastMalformed: MalformedLineReason = .syntax
    var timestampCache = LogTimestampParser.Cache()

    static let opBatch = 8192
    /// Default bound of the line-key cache (distinct raw label-value combinations).
    static let defaultLineKeyLimit = 262_144
    let lineKeyLimit: Int
    static let malformedLogInterval: Int64 = 10_000
    static let overflowFlag: Int32 = 1 << 30
    /// How long per-value state is kept at least (see `LogMapper`): the store's series expiry.
    let valueWindow: Int64
    /// When the per-value state was last forgotten (nil: before the first line).
    var valueWindowStart: Int64?
    /// Set when a cap or the cache is full and the window has passed: forgotten at `flush()`.
    var forgetValuesAtFlush = false

    init(
        mapping: LogMapping, store: SeriesStore, time: LogMapper.TimeSource, logger: Logger,
        clock: @escaping @Sendable () -> Timestamp, lineKeyLimit: Int = LogMapperCore.defaultLineKeyLimit
    ) throws(JSONFieldPathError) {
        self.lineKeyLimit = lineKeyLimit
        var paths: [String] = []
        func field(_ path: String) -> Int {
            if let i = paths.firstIndex(of: path) { return i }
            paths.append(path)
            return paths.count - 1
        }
        var filterValues: [[UInt8]] = []
        func filterPlan(_ f: LogLineFilter?) -> LogFilterPlan? {
            guard let f else { return nil }
            let first = filterValues.count
            filterValues += f.values.map { Array($0.utf8) }
            return LogFilterPlan(field: field(f.field), negated: f.negated, first: first, count: f.values.count)
        }
        timestampField = mapping.timestamp.map { field($0.field) } ?? -1
        timestampFormat = mapping.timestamp?.format ?? .auto
        filter = filterPlan(mapping.filter)
        var groupSpecs: [[LogLabelSpec]] = []
        var groupMetrics: [[Int]] = []
        var groupLabelStart: [Int] = []
        var labelField: [Int] = []
        var labelPlans: [LogLabelPlan] = []
        var metricKind: [SeriesKind] = [], metricField: [Int] = [], metricScale: [Double] = []
        var metricFilter: [LogFilterPlan?] = [], metricGroup: [Int] = [], metricPosition: [Int32] = []
        for metric in mapping.metrics {
            let specs = metric.labels ?? mapping.labels
            var g = groupSpecs.firstIndex(of: specs) ?? -1
            if g < 0 {
                groupSpecs.append(specs)
                groupMetrics.append([])
                groupLabelStart.append(labelField.count)
                for spec in specs {
                    var map: [[UInt8]: [UInt8]] = [:]
                    for (k, v) in spec.valueMap { map[Array(k.utf8)] = Array(v.utf8) }
                    labelField.append(field(spec.field))
                    let regex = spec.regex.flatMap { try? RegularExpression($0, options: .prometheus) }
                    labelPlans.append(LogLabelPlan(
                        name: spec.name, field: field(spec.field), valueMap: map, regex: regex,
                        template: spec.replacement ?? ((regex?.groupCount ?? 0) > 0 ? "$1" : "$0"), maxValues: spec.maxValues))
                }
                g = groupSpecs.count - 1
            }
            let kind: SeriesKind = switch metric.kind {
            case .counter: .counter
            case .distribution: .distribution
            case .gauge: .gauge
            }
            metricKind.append(kind)
            metricField.append(metric.field.map(field) ?? -1)
            metricScale.append(metric.scale)
            metricFilter.append(filterPlan(metric.filter))
            metricGroup.append(g)
            metricPosition.append(Int32(groupMetrics[g].count))
            groupMetrics[g].append(metricKind.count - 1)
        }
        precondition(groupSpecs.count < 255, "at most 254 label sets per log")
        self.metricKind = metricKind
        self.metricField = metricField
        self.metricScale = metricScale
        self.metricFilter = metricFilter
        self.metricGroup = metricGroup
        self.metricPosition = metricPosition
        metricCount = metricKind.count
        metricPlans = .allocate(capacity: max(1, metricKind.count))
        for m in metricKind.indices {
            (metricPlans + m).initialize(to: LogMetricPlan(
                kind: metricKind[m], field: metricField[m], scale: metricScale[m], filter: metricFilter[m], group: metricGroup[m],
                position: metricPosition[m]))
        }
        self.groupMetrics = groupMetrics
        self.groupLabelStart = groupLabelStart
        self.groupLabelCount = groupSpecs.map(\.count)
        self.labelField = labelField
        var unionFields: [Int] = []
        for f in labelField where !unionFields.contains(f) { unionFields.append(f) }
        self.unionFields = unionFields
        self.labelPosition = labelField.map { unionFields.firstIndex(of: $0)! }
        table = LogSeriesKeyTable(capacity: 1024, rowLength: groupSpecs.count)
        scratchRow = .allocate(capacity: max(1, groupSpecs.count))
        scratchRow.initialize(repeating: -1, count: max(1, groupSpecs.count))
        self.labelPlans = labelPlans
        self.filterValues = filterValues
        self.metricNames = mapping.metrics.map(\.name)
        self.job = mapping.job
        self.extractor = try JSONFieldExtractor(paths: paths)
        self.store = store
        self.logger = logger
        self.clock = clock
        self.time = time
        scratch = LogMapperScratch(metrics: metricKind.count, groups: groupSpecs.count, labelFields: unionFields.count)
        ops = .allocate(capacity: LogMapperCore.opBatch)
        series = .allocate(capacity: seriesCapacity)
        resolution = store.config.resolution
        oldestKept = max(store.config.retention, store.config.tiers.map(\.retention).max() ?? 0)
        valueWindow = store.config.expireAfter ?? oldestKept
        futureSkew = store.config.maxFutureSkew
    }

    @inline(__always)
    func passes(_ filter: LogFilterPlan) -> Bool {
        var found = false
        if case .bytes(let b) = extractor.text(filter.field) {
            for i in filter.first..<(filter.first + filter.count) where filterValues[i].count == b.count {
                if filterValues[i].withUnsafeBytes({ memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 || b.count == 0 }) {
                    found = true
                    break
                }
            }
        }
        return found != filter.negated
    }

    /// Maps one line; false when it is malformed (already counted).
    mutating func consume(_ line: UnsafeRawBufferPointer, file: LogFileID) -> Bool {
        switch extractor.extract(line) {
        case .ok: break
        case .empty:
            stats.emptyLines += 1
            return true
        case .malformed(let reason):
            countMalformed(reason, file: file)
            return false
        }
        stats.lines += 1
        if let filter, !passes(filter) {
            stats.filteredLines += 1
            return true
        }
        let now: Int64
        if let batchNow {
            now = batchNow
        } else {
            now = clock()
            batchNow = now
            if valueWindowStart == nil { valueWindowStart = now }
        }
        var at = now
        if timestampField >= 0 {
            let read = readTimestamp()
            if case .bad = read {
                countMalformed(.badTimestamp, file: file)
                return false
            }
            if time == .lineTimestamps, case .value(let t) = read {
                if t > now + futureSkew {
                    stats.tooFarAhead += 1
                    return true
                }
                if t < now - oldestKept {
                    stats.tooOld += 1
                    return true
                }
                at = t
            }
        }

        // Every value first: a line with one bad field changes nothing.
        let values = scratch.values
        var any = false
        let plans = metricPlans
        let metricCount = self.metricCount
        for m in 0..<metricCount {
            values[m] = .nan
            if let f = plans[m].filter, !passes(f) { continue }
            let field = plans[m].field
            if field < 0 {
                values[m] = 1
                any = true
                continue
            }
            switch extractor.number(field) {
            case .absent:
                continue
            case .invalid(let reason):
                countMalformed(reason, file: file)
                return false
            case .value(let v):
                let scaled = v * plans[m].scale
                if plans[m].kind == .counter && scaled < 0 {
                    countMalformed(.wrongType, file: file)
                    return false
                }
                values[m] = scaled
                any = true
            }
        }
        guard any else { return true }

        // Then the series of every label group in use, still before anything is applied.
        let bases = scratch.bases
        for g in 0..<groupLabelStart.count { bases[g] = -1 }
        lineRow = nil
        for m in 0..<metricCount where !values[m].isNaN {
            let g = plans[m].group
            guard bases[g] < 0 else { continue }
            guard let base = seriesBase(group: g) else {
                countMalformed(lastLabelError, file: file)
                return false
            }
            bases[g] = base
        }
        for m in 0..<metricCount where !values[m].isNaN {
            let plan = plans[m]
            apply(slot: bases[plan.group] + plan.position, kind: plan.kind, value: values[m], at: at)
        }
        return true
    }

    enum TimestampRead {
        case absent, value(Int64), bad
    }

    /// The line's time in ms from the timestamp field.
    mutating func readTimestamp() -> TimestampRead {
        switch extractor.kind(timestampField) {
        case .absent, .null:
            return .absent
        case .string where timestampFormat == .auto || timestampFormat == .rfc3339:
            // Unchecked: the parser accepts nothing but ASCII digits and separators anyway.
            guard case .bytes(let b) = extractor.uncheckedText(timestampField), let base = b.baseAddress else { return .bad }
            if let t = LogTimestampParser.rfc3339(base.assumingMemoryBound(to: UInt8.self), count: b.count, cache: &timestampCache) {
                return .value(t)
            }
            // "1714564800.5" in a string: an epoch number sent as text.
            guard timestampFormat == .auto, case .value(let v) = extractor.number(timestampField),
                let t = LogTimestampParser.epoch(v, format: .auto)
            else { return .bad }
            return .value(t)
        case .number, .string:
            guard timestampFormat != .rfc3339, case .value(let v) = extractor.number(timestampField),
                let t = LogTimestampParser.epoch(v, format: timestampFormat)
            else { return .bad }
            return .value(t)
        default:
            return .bad
        }
    }

    /// The base index of the group's series for this line's label values.
    /// - Returns: nil when a label value is not usable (`lastLabelError` tells why).
    @inline(__always)
    mutating func seriesBase(group g: Int) -> Int32? {
        if lineRow == nil {
            guard lookUpLine() else { return nil }
        }
        let row = lineRow.unsafelyUnwrapped
        let found = row[g]
        if found >= 0 {
            if found & LogMapperCore.overflowFlag != 0 {
                stats.overflowLines += 1
                return found & ~LogMapperCore.overflowFlag
            }
            return found
        }
        buildLineKey()
        guard let (base, overflow) = resolveGroup(g) else { return nil }
        row[g] = overflow ? base | LogMapperCore.overflowFlag : base
        return base
    }

    /// Finds (or adds) the current line's entry row, keyed by its label fields' raw values.
    ///
    /// The key is hashed and compared field by field straight from the line; only a key not in
    /// the table yet is copied out (`buildLineKey()`), to be stored. Values are not checked for
    /// UTF-8 here: a group's values are checked when the group is resolved for an entry, and
    /// until that succeeds the entry has no series for the group.
    mutating func lookUpLine() -> Bool {
        let starts = scratch.fieldStarts
        let counts = scratch.fieldCounts
        let line = extractor.line.pointee
        let lineStart = UnsafeRawPointer(line.base) ?? UnsafeRawPointer(bitPattern: 1)!
        let lineEnd = lineStart + line.count
        var hash = LogSeriesKeyTable.seed
        var length = 0
        let fieldCount = unionFields.count
        for k in 0..<fieldCount {
            var start: UnsafeRawPointer? = nil
            var n = 0
            switch extractor.uncheckedText(unionFields[k]) {
            case .absent: break
            case .bytes(let b):
                start = b.baseAddress
                n = b.count
            case .invalid(let reason):
                lastLabelError = reason
                return false
            }
            starts[k] = start
            counts[k] = n
            // A value in the line may be read on to the line's end; a decoded one only to its own.
            var available = n
            if let s = start, s >= lineStart, s < lineEnd { available = lineEnd - s }
            hash = LogSeriesKeyTable.combine(hash, start, count: n, available: available)
            length += n + 1
        }
        hash = LogSeriesKeyTable.finish(hash)
        lineKeyLength = length
        lineKeyBuilt = false
        if let found = table.find(fields: starts, counts: counts, fieldCount: fieldCount, keyLength: length, hash: hash) {
            lineRow = found
            return true
        }
        if table.count < lineKeyLimit {
            buildLineKey()
            lineRow = table.insert(UnsafeRawBufferPointer(start: scratch.key, count: length), hash: hash)
        } else {
            // Full: resolve this line in the scratch row, uncached (slow, bounded memory).
            stats.labelCacheMisses += 1
            noteFullState()
            scratchRow.update(repeating: -1, count: groupLabelStart.count)
            lineRow = scratchRow
        }
        return true
    }

    /// Copies the current line's key (each label field's raw value followed by 0xFF, as found by
    /// `lookUpLine()`) into `scratch.key`, once per line.
    mutating func buildLineKey() {
        guard !lineKeyBuilt else { return }
        if lineKeyLength > scratch.keyCapacity { scratch.growKey(to: lineKeyLength) }
        let key = scratch.key
        var offset = 0
        for k in 0..<unionFields.count {
            let n = scratch.fieldCounts[k]
            if n > 0 { copyBytes(UnsafeRawBufferPointer(start: scratch.fieldStarts[k], count: n), to: key + offset) }
            key[offset + n] = 0xFF  // never in UTF-8: an unambiguous separator
            offset += n + 1
        }
        lineKeyBuilt = true
    }

    /// The slow path for one group of the current line: check and resolve its values, find or
    /// create its series. Nil when a value is not UTF-8.
    mutating func resolveGroup(_ g: Int) -> (Int32, Bool)? {
        var values = Array(UnsafeBufferPointer(start: scratch.key, count: lineKeyLength))
            .split(separator: 0xFF, omittingEmptySubsequences: false)
        values.removeLast()  // after the final separator
        let start = groupLabelStart[g]
        var resolvedKey: [UInt8] = [UInt8(g)]
        var resolvedValues: [[UInt8]] = []
        var overflow = false
        for l in start..<(start + groupLabelCount[g]) {
            let raw = values[labelPosition[l]]
            guard raw.withUnsafeBufferPointer({ JSONFieldUTF8Validator.isValid($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: $0.count) }) else {
                lastLabelError = .invalidUTF8
                return nil
            }
            let (value, overflowed) = labelPlans[l].resolve(raw)
            if overflowed {
                overflow = true
                stats.overflowValues[labelPlans[l].name, default: 0] += 1
            }
            resolvedValues.append(value)
            resolvedKey += value
            resolvedKey.append(0xFF)
        }
        if overflow {
            stats.overflowLines += 1
            noteFullState()
        }
        if let existing = resolved[resolvedKey] { return (existing, overflow) }
        let base = Int32(seriesCount)
        var labels: [Labels] = []
        for m in groupMetrics[g] {
            var builder = LabelsBuilder()
            builder.set(Labels.metricName, metricNames[m])
            if let job { builder.set("job", job) }
            for (i, value) in resolvedValues.enumerated() {
                builder.set(bytes: labelPlans[start + i].name.utf8, value)
            }
            labels.append(builder.build())
        }
        let kinds = groupMetrics[g].map { metricKind[$0] }
        let refs = store.write { writer in zip(labels, kinds).map { writer.ref(for: $0, kind: $1) } }
        for i in labels.indices {
            if seriesCount == seriesCapacity {
                let bigger = UnsafeMutablePointer<LogSeriesAccumulator>.allocate(capacity: seriesCapacity * 2)
                bigger.moveInitialize(from: series, count: seriesCount)
                series.deallocate()
                series = bigger
                seriesCapacity *= 2
            }
            (series + seriesCount).initialize(to: LogSeriesAccumulator(ref: refs[i], kind: kinds[i]))
            seriesCount += 1
            seriesLabels.append(labels[i])
        }
        resolved[resolvedKey] = base
        return (base, overflow)
    }

    /// Copies a short value without a call to `memmove`.
    @inline(__always)
    func copyBytes(_ source: UnsafeRawBufferPointer, to target: UnsafeMutablePointer<UInt8>) {
        guard let from = source.baseAddress else { return }
        let n = source.count
        let to = UnsafeMutableRawPointer(target)
        if n >= 8 {
            var i = 0
            while n - i > 8 {
                to.storeBytes(of: from.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            // The last word may overlap the one before: no byte loop for the tail.
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self), toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 {
            to.storeBytes(of: from.loadUnaligned(as: UInt32.self), as: UInt32.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self), toByteOffset: n - 4, as: UInt32.self)
        } else if n >= 2 {
            to.storeBytes(of: from.loadUnaligned(as: UInt16.self), as: UInt16.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self), toByteOffset: n - 2, as: UInt16.self)
        } else if n == 1 {
            target[0] = from.load(as: UInt8.self)
        }
    }

    /// Applies one metric's value to its series (of `kind`, the metric's: a distribution's
    /// observation is queued without touching the series' accumulator).
    @inline(__always)
    mutating func apply(slot: Int32, kind: SeriesKind, value: Double, at: Int64) {
        let i = Int(slot)
        switch kind {
        case .distribution:
            ops[opCount] = LogStoreOp(slot: slot, kind: .distribution, value: value, at: at)
            opCount += 1
            if opCount == LogMapperCore.opBatch { writeOps() }
        case .counter, .gauge:
            let s = storeSlot(of: at)
            if series[i].dirty && series[i].pendingSlot != s { emit(i) }
            if kind == .counter {
                series[i].pending += value
                if at > series[i].pendingAt { series[i].pendingAt = at }
            } else if at >= series[i].pendingAt {
                series[i].pending = value
                series[i].pendingAt = at
            }
            series[i].pendingSlot = s
            if !series[i].dirty {
                series[i].dirty = true
                dirty.append(slot)
            }
        }
    }

    /// The store slot of time `at`; lines of one batch share a few slots, so the division is
    /// done only when `at` leaves the last slot seen (it cost two divisions per line before).
    @inline(__always)
    mutating func storeSlot(of at: Int64) -> Int64 {
        if at >= lastSlotStart && at &- lastSlotStart < resolution { return lastSlot }
        let s = at >= 0 ? at / resolution : (at - resolution + 1) / resolution
        lastSlot = s
        lastSlotStart = s &* resolution
        return s
    }

    /// Queues the pending increment or value of series `i`.
    mutating func emit(_ i: Int) {
        ops[opCount] = LogStoreOp(slot: Int32(i), kind: series[i].kind, value: series[i].pending, at: series[i].pendingAt)
        opCount += 1
        series[i].pending = 0
        series[i].pendingAt = .min
        series[i].dirty = false
        if opCount == LogMapperCore.opBatch { writeOps() }
    }

    mutating func flush() {
        for slot in dirty where series[Int(slot)].dirty { emit(Int(slot)) }
        dirty.removeAll(keepingCapacity: true)
        writeOps()
        if forgetValuesAtFlush { forgetValues() }
        batchNow = nil
    }

    /// On the slow path, when a cap or the cache is full: the per-value state is forgotten at the
    /// end of the batch once the value window has passed (see `LogMapper`).
    mutating func noteFullState() {
        guard let start = valueWindowStart, let now = batchNow, now - start >= valueWindow else { return }
        forgetValuesAtFlush = true
    }

    /// Forgets the admitted values, the cached combinations and the series accumulators; called
    /// after a flush, when nothing is pending. The store keeps its series: they are found again
    /// by their labels when their values come back.
    mutating func forgetValues() {
        table.removeAll()
        resolved.removeAll()
        series.deinitialize(count: seriesCount)
        series.deallocate()
        seriesCapacity = 256
        series = .allocate(capacity: seriesCapacity)
        seriesCount = 0
        seriesLabels = []
        for i in labelPlans.indices { labelPlans[i].admitted = [] }
        lineRow = nil
        forgetValuesAtFlush = false
        valueWindowStart = batchNow
        stats.valueWindows += 1
    }

    /// Writes the queued operations under one store lock.
    mutating func writeOps() {
        guard opCount > 0 else { return }
        var refused = 0
        var limited = 0
        store.write { writer in
            for k in 0..<opCount {
                let op = ops[k]
                let i = Int(op.slot)
                var attempt = 0
                while attempt < 2 {
                    attempt += 1
                    if series[i].ref == nil { series[i].ref = writer.ref(for: seriesLabels[i], kind: series[i].kind) }
                    guard let ref = series[i].ref else {
                        limited += 1
                        break
                    }
                    let result: AppendResult = switch op.kind {
                    case .distribution: writer.observe(ref, value: op.value, at: op.at)
                    case .counter: writer.add(ref, delta: op.value, at: op.at)
                    case .gauge: writer.append(ref, value: op.value, at: op.at)
                    }
                    switch result {
                    case .ok: attempt = 2
                    case .unknownSeries: series[i].ref = nil  // expired: look it up again once
                    case .seriesLimit:
                        limited += 1
                        attempt = 2
                    default:
                        refused += 1
                        attempt = 2
                    }
                }
            }
        }
        stats.storeRefused += refused
        stats.seriesLimited += limited
        opCount = 0
    }

    /// Frees the raw memory; called once, by the owning `LogMapper`'s deinit.
    func release() {
        metricPlans.deinitialize(count: metricCount)
        metricPlans.deallocate()
        series.deinitialize(count: seriesCount)
        series.deallocate()
        ops.deallocate()
        scratchRow.deallocate()
    }

    mutating func countMalformed(_ reason: MalformedLineReason, file: LogFileID) {
        let i = file.index * MalformedLineReason.allCases.count + Int(reason.rawValue)
        if i >= malformed.count { malformed += Array(repeating: 0, count: i + 1 - malformed.count) }
        malformed[i] += 1
        lastMalformed = reason
    }

    mutating func forget(file: LogFileID) {
        let reasons = MalformedLineReason.allCases.count
        for i in (file.index * reasons)..<min(malformed.count, (file.index + 1) * reasons) { malformed[i] = 0 }
        malformedLog[file.index] = nil
    }

    /// Logs the malformed line just counted, quoted, at most once per file every 10 s.
    mutating func reportMalformed(_ line: UnsafeRawBufferPointer, file: LogFileID, fileName: (LogFileID) -> String) {
        let now = LogTailer.monotonicMilliseconds()
        var entry = malformedLog[file.index] ?? (lastLogged: Int64.min / 2, suppressed: 0)
        guard now - entry.lastLogged >= LogMapperCore.malformedLogInterval else {
            entry.suppressed += 1
            malformedLog[file.index] = entry
            return
        }
        let suppressed = entry.suppressed > 0 ? " (\(entry.suppressed) more malformed lines not shown)" : ""
        logger.warning("\(fileName(file)): skipped a malformed line (\(lastMalformed)): \(LogMapperCore.quote(line))\(suppressed)")
        malformedLog[file.index] = (now, 0)
    }

    /// The first 200 bytes of a line, quoted, with control and invalid bytes escaped.
    static func quote(_ line: UnsafeRawBufferPointer) -> String {
        var out = "\""
        for b in line.prefix(200) {
            switch b {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(b))
            default: out += "\\x" + String(b, radix: 16).leftPadded(to: 2)
            }
        }
        return out + (line.count > 200 ? "\"…" : "\"")
    }
}

/// Per-line scratch memory of a `LogMapperCore`, in raw memory so writes pay no uniqueness checks.
final class LogMapperScratch {
    let values: UnsafeMutablePointer<Double>
    let bases: UnsafeMutablePointer<Int32>
    private(set) var key: UnsafeMutablePointer<UInt8>
    private(set) var keyCapacity: Int
    /// Per label field of the line key: where its raw value lies (nil when empty) and its length.
    let fieldStarts: UnsafeMutablePointer<UnsafeRawPointer?>
    let fieldCounts: UnsafeMutablePointer<Int>

    init(metrics: Int, groups: Int, labelFields: Int) {
        fieldStarts = .allocate(capacity: max(1, labelFields))
        fieldStarts.initialize(repeating: nil, count: max(1, labelFields))
        fieldCounts = .allocate(capacity: max(1, labelFields))
        fieldCounts.initialize(repeating: 0, count: max(1, labelFields))
        values = .allocate(capacity: max(1, metrics))
        values.initialize(repeating: .nan, count: max(1, metrics))
        bases = .allocate(capacity: max(1, groups))
        bases.initialize(repeating: -1, count: max(1, groups))
        keyCapacity = 1024
        key = .allocate(capacity: keyCapacity)
    }

    func growKey(to needed: Int) {
        var capacity = keyCapacity
        while capacity < needed { capacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        bigger.update(from: key, count: keyCapacity)
        key.deallocate()
        key = bigger
        keyCapacity = capacity
    }

    deinit {
        fieldStarts.deallocate()
        fieldCounts.deallocate()
        values.deallocate()
        bases.deallocate()
        key.deallocate()
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
