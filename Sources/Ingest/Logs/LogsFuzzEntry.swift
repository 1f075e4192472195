import TimeSeries

/// The fuzz target of the log path (`Fuzz/JSONL`, `make fuzz`) and of its corpus regression test:
/// one input, every parser of a line, with the invariants checked so that a logic error crashes
/// as loudly as a memory error.
///
/// The input is split into lines; each goes through the field extractor (every configured path
/// read as text, unchecked text and number), the RFC 3339 parser with and without its cache, and a
/// `LogMapper` with labels, a regex, a value map, a cardinality cap, a filter and every metric
/// kind. The whole input is also decoded as `TailOffsets` (which must round-trip when it decodes).
///
/// Ownership: single-threaded, as libFuzzer calls it; the state persists across inputs so the
/// mapper's tables and caches fill up as they would in a long-running agent.
public enum LogsFuzzEntry {
    static let paths = ["ts", "route", "method", "status", "latency_ms", "bytes", "http.status", "a.b.c", "level", "user"]

    final class State: @unchecked Sendable {
        let extractor = try! JSONFieldExtractor(paths: LogsFuzzEntry.paths, maxDepth: 16)
        let store: SeriesStore
        let mapper: LogMapper
        var cache = LogTimestampParser.Cache()

        init() {
            var config = StoreConfig()
            config.seriesLimit = 2_000
            store = SeriesStore(config: config, clock: { 1_714_564_800_000 })
            var mapping = LogMapping(paths: ["fuzz"], job: "fuzz")
            mapping.timestamp = LogTimestampSpec(field: "ts")
            var route = LogLabelSpec(field: "route")
            route.regex = #"(/[a-z]+)/\d+"#
            var status = LogLabelSpec(field: "http.status", name: "status")
            status.valueMap = ["200": "ok"]
            status.maxValues = 8
            var user = LogLabelSpec(field: "user")
            user.maxValues = 16
            mapping.labels = [route, LogLabelSpec(field: "method"), status]
            mapping.filter = LogLineFilter(field: "level", in: ["debug"], negated: true)
            var latency = LogMetricSpec(name: "latency_ms", kind: .distribution, field: "latency_ms")
            latency.scale = 1000
            mapping.metrics = [
                LogMetricSpec(name: "lines_total", kind: .counter, labels: [route, user]),
                latency,
                LogMetricSpec(name: "bytes_total", kind: .counter, field: "bytes"),
                LogMetricSpec(name: "last_status", kind: .gauge, field: "status"),
            ]
            mapper = try! LogMapper(mapping: mapping, store: store, time: .lineTimestamps, clock: { 1_714_564_800_000 })
        }
    }

    static let state = State()

    /// Runs one fuzz input; traps on a broken invariant.
    public static func run(_ input: UnsafeRawBufferPointer) {
        let s = state
        var start = 0
        let bytes = input.bindMemory(to: UInt8.self)
        for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0A {
            let line = UnsafeRawBufferPointer(rebasing: input[start..<i])
            runLine(line, s)
            start = i + 1
        }
        s.mapper.flush()

        var copy = Array(bytes)
        if let offsets = try? TailOffsets(decoding: copy) {
            let again = try? TailOffsets(decoding: offsets.encoded())
            precondition(again == offsets, "TailOffsets did not round-trip")
        }
        copy.removeAll()
    }

    static func runLine(_ line: UnsafeRawBufferPointer, _ s: State) {
        let outcome = s.extractor.extract(line)
        for field in 0..<paths.count {
            let kind = s.extractor.kind(field)
            if case .malformed = outcome { precondition(kind == .absent, "a field of a malformed line is readable") }
            let raw = s.extractor.rawBytes(field)
            if kind != .absent {
                let lower = line.baseAddress!
                precondition(raw.baseAddress! >= lower && raw.baseAddress! + raw.count <= lower + line.count, "a field lies outside its line")
            }
            switch s.extractor.text(field) {
            case .bytes(let b):
                precondition(b.count <= raw.count, "decoding made a string longer")
                let valid = b.baseAddress.map { JSONFieldUTF8Validator.isValid($0.assumingMemoryBound(to: UInt8.self), count: b.count) } ?? true
                precondition(valid, "text() returned invalid UTF-8")
            case .absent:
                precondition(kind == .absent || kind == .null, "text() lost a value")
            case .invalid:
                break
            }
            if case .bytes(let b) = s.extractor.uncheckedText(field) { precondition(b.count <= raw.count) }
            if case .value(let v) = s.extractor.number(field) { precondition(v.isFinite, "a number that is not finite") }
            if kind == .string, case .bytes(let b) = s.extractor.text(field), let p = b.baseAddress {
                let text = p.assumingMemoryBound(to: UInt8.self)
                let full = LogTimestampParser.rfc3339(text, count: b.count)
                let cached = LogTimestampParser.rfc3339(text, count: b.count, cache: &s.cache)
                precondition(full == cached, "the RFC 3339 hour cache disagrees with a full parse")
            }
        }
        s.mapper.consume(line: line, file: LogFileID(index: 0))
    }
}
