import Foundation
import Logging
import Testing
import TimeSeries

@testable import Ingest

/// 2024-05-01T12:00:00Z, the tests' "now".
private let now: Timestamp = 1_714_564_800_000

/// A store and a mapper on a fixed clock, fed lines directly.
private final class MapperHarness {
    let store: SeriesStore
    let mapper: LogMapper

    init(_ mapping: LogMapping, time: LogMapper.TimeSource = .lineTimestamps, seriesLimit: Int = 10_000, lineKeyLimit: Int = 262_144) throws {
        var config = StoreConfig()
        config.seriesLimit = seriesLimit
        store = SeriesStore(config: config, clock: { now })
        mapper = try LogMapper(mapping: mapping, store: store, time: time, logger: Logger(label: "test"), clock: { now }, lineKeyLimit: lineKeyLimit)
    }

    /// Feeds `lines` as file 0 (or `file`), then flushes.
    func feed(_ lines: [String], file: Int = 0) {
        for line in lines {
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { mapper.consume(line: UnsafeRawBufferPointer($0), file: LogFileID(index: file)) }
        }
        mapper.flush()
    }

    /// Every series as `name{labels}` → its latest value (counters, gauges) or count (distributions).
    var values: [String: Double] {
        store.read { reader in
            var out: [String: Double] = [:]
            for ref in reader.allSeries() {
                guard let labels = reader.labels(of: ref) else { continue }
                if reader.kind(of: ref) == .distribution {
                    out[labels.description] = Double(reader.summary(of: ref, from: .min, through: .max)?.count ?? 0)
                } else {
                    out[labels.description] = reader.latest(of: ref)?.value
                }
            }
            return out
        }
    }

    func summary(_ description: String) -> DistributionSummary? {
        store.read { reader in
            reader.allSeries().first { reader.labels(of: $0)?.description == description }
                .flatMap { reader.summary(of: $0, from: .min, through: .max) }
        }
    }

    func samples(_ description: String) -> [Sample] {
        store.read { reader in
            var out: [Sample] = []
            if let ref = reader.allSeries().first(where: { reader.labels(of: $0)?.description == description }) {
                reader.samples(of: ref, from: .min, through: .max, into: &out)
            }
            return out
        }
    }

    var malformed: [MalformedLineReason: Int] {
        var out: [MalformedLineReason: Int] = [:]
        for (_, reason, count) in mapper.malformedCounts() { out[reason, default: 0] += count }
        return out
    }
}

/// The access-log mapping of the issue.
private func accessLog() -> LogMapping {
    var mapping = LogMapping(paths: ["/var/log/api/access.jsonl"], job: "api")
    mapping.timestamp = LogTimestampSpec(field: "ts")
    mapping.labels = [LogLabelSpec(field: "route"), LogLabelSpec(field: "method")]
    mapping.metrics = [
        LogMetricSpec(name: "http_requests_total", kind: .counter, labels: [LogLabelSpec(field: "route"), LogLabelSpec(field: "status")]),
        LogMetricSpec(name: "http_request_duration_ms", kind: .distribution, field: "latency_ms"),
        LogMetricSpec(name: "http_response_bytes_total", kind: .counter, field: "bytes"),
    ]
    return mapping
}

private func access(_ route: String, _ method: String = "GET", status: Int = 200, latency: Double = 10, bytes: Int = 100, ts: String = "2024-05-01T11:59:59.5Z") -> String {
    #"{"ts":"\#(ts)","route":"\#(route)","method":"\#(method)","status":\#(status),"latency_ms":\#(latency),"bytes":\#(bytes),"ua":"curl/8.0"}"#
}

@Suite struct LogMapperTests {
    @Test func theIssuesAccessLogMappingCountsSumsAndObserves() throws {
        let h = try MapperHarness(accessLog())
        h.feed([
            access("/users", latency: 10, bytes: 100),
            access("/users", latency: 20, bytes: 50),
            access("/users", "POST", status: 201, latency: 30, bytes: 7),
            access("/orders", status: 500, latency: 1000, bytes: 0),
        ])
        #expect(h.values == [
            #"http_requests_total{job="api", route="/users", status="200"}"#: 2,
            #"http_requests_total{job="api", route="/users", status="201"}"#: 1,
            #"http_requests_total{job="api", route="/orders", status="500"}"#: 1,
            #"http_request_duration_ms{job="api", method="GET", route="/users"}"#: 2,
            #"http_request_duration_ms{job="api", method="POST", route="/users"}"#: 1,
            #"http_request_duration_ms{job="api", method="GET", route="/orders"}"#: 1,
            #"http_response_bytes_total{job="api", method="GET", route="/users"}"#: 150,
            #"http_response_bytes_total{job="api", method="POST", route="/users"}"#: 7,
            #"http_response_bytes_total{job="api", method="GET", route="/orders"}"#: 0,
        ])
        let users = try #require(h.summary(#"http_request_duration_ms{job="api", method="GET", route="/users"}"#))
        #expect(users.sum == 30)
        #expect(abs(users.quantile(1) - 20) <= 20 * 0.01)
        #expect(h.mapper.stats.lines == 4)
        #expect(h.malformed.isEmpty)
    }

    @Test func theLineKeyTableFindsEveryKeyItHoldsAcrossGrowthAndNothingElse() {
        let table = LogSeriesKeyTable(capacity: 4, rowLength: 3)
        var rng = LogsTestRandom(seed: 9)
        var keys: [[UInt8]] = [[]]  // the empty key too
        var seen = Set<[UInt8]>([[]])
        while keys.count < 5_000 {
            let key = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 5 == 0 ? 0xFF : rng.next() % 4 + 97) }
            if seen.insert(key).inserted { keys.append(key) }
        }
        for (i, key) in keys.enumerated() {
            let row = key.withUnsafeBytes { table.insert($0, hash: LogSeriesKeyTable.hash($0)) }
            #expect(row[0] == -1 && row[1] == -1 && row[2] == -1)
            row[0] = Int32(i)
            row[2] = Int32(-i)
            // Everything inserted so far is found; a key not yet inserted is not.
            if i % 500 == 0 || i == keys.count - 1 {
                for j in 0...i {
                    let row = keys[j].withUnsafeBytes { table.find($0, hash: LogSeriesKeyTable.hash($0)) }
                    #expect(row?[0] == Int32(j) && row?[1] == -1 && row?[2] == Int32(-j))
                }
                if i + 1 < keys.count { #expect(keys[i + 1].withUnsafeBytes { table.find($0, hash: LogSeriesKeyTable.hash($0)) } == nil) }
            }
        }
        #expect(table.count == keys.count)
    }

    @Test func theCachedStoreSlotIsTheSlotOfEveryTimeInAnyOrder() throws {
        let h = try MapperHarness(accessLog())
        let resolution = h.store.config.resolution
        var rng = LogsTestRandom(seed: 5)
        var t: Int64 = -3 * resolution
        for _ in 0..<20_000 {
            // Mostly small steps both ways across slot edges, sometimes a jump; before and after 1970.
            let step = Int64(rng.next() % UInt64(3 * resolution)) - resolution
            t = rng.next() % 50 == 0 ? Int64(rng.next() % 1_000_000_000_000) - 500_000_000_000 : t + step
            let expected = t >= 0 ? t / resolution : (t - resolution + 1) / resolution
            #expect(h.mapper.core.storeSlot(of: t) == expected, "time \(t)")
        }
    }

    @Test func countsAccumulateAcrossFlushesAndSamplesCarryTheLineTime() throws {
        let h = try MapperHarness(accessLog())
        h.feed([access("/a", ts: "2024-05-01T11:00:00Z")])
        h.feed([access("/a", ts: "2024-05-01T11:00:01Z"), access("/a", ts: "2024-05-01T11:30:00Z")])
        let samples = h.samples(#"http_requests_total{job="api", route="/a", status="200"}"#)
        #expect(samples.last?.value == 3)
        #expect(samples.last?.timestamp == now - 30 * 60_000)
    }

    @Test func gaugesKeepTheLastValueByTime() throws {
        var mapping = LogMapping(paths: ["x"], metrics: [LogMetricSpec(name: "queue_depth", kind: .gauge, field: "depth")])
        mapping.timestamp = LogTimestampSpec(field: "t", format: .unixMilliseconds)
        let h = try MapperHarness(mapping)
        h.feed([#"{"t":\#(now - 3000),"depth":5}"#, #"{"t":\#(now - 1000),"depth":9}"#, #"{"t":\#(now - 2000),"depth":7}"#])
        #expect(h.values == ["queue_depth": 9])
        h.feed([#"{"t":\#(now - 500),"depth":"2.5"}"#])
        #expect(h.values == ["queue_depth": 2.5])
    }

    @Test func unitScalingConvertsSecondsToMilliseconds() throws {
        var metric = LogMetricSpec(name: "latency_ms", kind: .distribution, field: "duration_s")
        metric.scale = try #require(LogUnit.factor(from: "s", to: "ms"))
        let h = try MapperHarness(LogMapping(paths: ["x"], metrics: [metric]))
        h.feed([#"{"duration_s":0.25}"#, #"{"duration_s":"1.5e-3"}"#])
        let s = try #require(h.summary("latency_ms"))
        #expect(s.count == 2)
        #expect(abs(s.sum - 251.5) < 1e-9)
        #expect(LogUnit.factor(from: "MiB", to: "KiB") == 1024)
        #expect(LogUnit.factor(from: "s", to: "KiB") == nil)
    }

    @Test func nestedFieldsFeedLabelsAndValues() throws {
        let mapping = LogMapping(paths: ["x"], metrics: [
            LogMetricSpec(name: "db_ms", kind: .distribution, field: "timings.db_ms", labels: [LogLabelSpec(field: "http.status")])
        ])
        let h = try MapperHarness(mapping)
        h.feed([#"{"http":{"status":503},"timings":{"db_ms":4}}"#])
        #expect(h.values == [#"db_ms{http_status="503"}"#: 1])
    }

    @Test func labelValuesAreToldApartByEveryByteWhateverTheirLengthSpellingOrPlace() throws {
        let h = try MapperHarness(LogMapping(paths: ["x"], metrics: [
            LogMetricSpec(name: "lines_total", kind: .counter, labels: [LogLabelSpec(field: "route"), LogLabelSpec(field: "m")])
        ]))
        // Long values alike but for their middle; short ones at the line's very end (fewer than
        // eight bytes after them); escaped spellings of the same value; values moved across the
        // field boundary ("ab" + "c" against "a" + "bc").
        var lines: [String] = []
        for i in 0..<50 {
            lines.append(#"{"route":"/api/v1/users/\#(1000 + i)/profile/settings","m":"GET"}"#)
            lines.append(#"{"m":"GET","route":"/api/v1/users/\#(1000 + i)/profile/settings"}"#)
        }
        lines += [
            #"{"m":"ab","route":"c"}"#, #"{"m":"a","route":"bc"}"#, #"{"route":"c","m":"ab"}"#,
            #"{"route":"\u0063","m":"a\u0062"}"#, #"{"route":"/x","m":"P"}"#, #"{"route":"/x","m":"PO"}"#,
        ]
        h.feed(lines)
        var expected: [String: Double] = [:]
        for i in 0..<50 { expected[#"lines_total{m="GET", route="/api/v1/users/\#(1000 + i)/profile/settings"}"#] = 2 }
        expected[#"lines_total{m="ab", route="c"}"#] = 3
        expected[#"lines_total{m="a", route="bc"}"#] = 1
        expected[#"lines_total{m="P", route="/x"}"#] = 1
        expected[#"lines_total{m="PO", route="/x"}"#] = 1
        #expect(h.values == expected)
    }

    @Test func anAbsentLabelFieldLeavesTheLabelOut() throws {
        let h = try MapperHarness(LogMapping(paths: ["x"], metrics: [
            LogMetricSpec(name: "lines_total", kind: .counter, labels: [LogLabelSpec(field: "route"), LogLabelSpec(field: "user")])
        ]))
        h.feed([#"{"route":"/a"}"#, #"{"route":"/a","user":null}"#, #"{"route":"/a","user":""}"#])
        #expect(h.values == [#"lines_total{route="/a"}"#: 3])
    }

    @Test func valueMapsAndRegexesRewriteLabelValues() throws {
        var status = LogLabelSpec(field: "status", name: "class")
        status.valueMap = ["200": "ok", "204": "ok"]
        status.regex = #"(\d)\d\d"#
        status.replacement = "${1}xx"
        var route = LogLabelSpec(field: "route")
        route.regex = #"/users/\d+"#
        route.replacement = "/users/:id"
        var plain = LogLabelSpec(field: "path")
        plain.regex = #"/(?<top>[a-z]+)/.*"#
        let h = try MapperHarness(LogMapping(paths: ["x"], metrics: [
            LogMetricSpec(name: "r_total", kind: .counter, labels: [status, route, plain])
        ]))
        h.feed([
            #"{"status":200,"route":"/users/17","path":"/api/x"}"#,
            #"{"status":204,"route":"/users/18","path":"/api/y"}"#,
            #"{"status":503,"route":"/users/x","path":"nomatch"}"#,
            #"{"status":"404","route":"/users/19","path":"/web/z"}"#,
        ])
        #expect(h.values == [
            #"r_total{class="ok", path="api", route="/users/:id"}"#: 2,
            #"r_total{class="5xx", path="nomatch", route="/users/x"}"#: 1,
            #"r_total{class="4xx", path="web", route="/users/:id"}"#: 1,
        ])
    }

    @Test func valuesPastTheCardinalityCapBecomeOtherAndAreCounted() throws {
        var user = LogLabelSpec(field: "user")
        user.maxValues = 3
        let h = try MapperHarness(LogMapping(paths: ["x"], metrics: [LogMetricSpec(name: "req_total", kind: .counter, labels: [user])]))
        h.feed((0..<10).map { #"{"user":"u\#($0 % 6)"}"# })
        #expect(h.values == [
            #"req_total{user="u0"}"#: 2, #"req_total{user="u1"}"#: 2, #"req_total{user="u2"}"#: 2,
            #"req_total{user="__other__"}"#: 4,
        ])
        #expect(h.mapper.stats.overflowValues == ["user": 3])
        #expect(h.mapper.stats.overflowLines == 4)
    }

    @Test func filtersKeepOnlyTheWantedLines() throws {
        var mapping = LogMapping(paths: ["x"], metrics: [
            LogMetricSpec(name: "error_lines_total", kind: .counter),
        ])
        mapping.filter = LogLineFilter(field: "level", in: ["error", "fatal"])
        var slow = LogMetricSpec(name: "non_debug_total", kind: .counter)
        slow.filter = LogLineFilter(field: "kind", in: ["debug"], negated: true)
        mapping.metrics.append(slow)
        let h = try MapperHarness(mapping)
        h.feed([
            #"{"level":"error"}"#, #"{"level":"info"}"#, #"{"level":"fatal","kind":"debug"}"#, #"{"lvl":"error"}"#,
            #"{"level":"error","kind":"app"}"#, #"{"level":"ERROR"}"#,
        ])
        #expect(h.values == ["error_lines_total": 3, "non_debug_total": 2])
        #expect(h.mapper.stats.filteredLines == 3)
    }

    static let timestamps: [(String, Timestamp?)] = [
        (#""2024-05-01T11:59:00Z""#, now - 60_000),
        (#""2024-05-01T11:59:00.250Z""#, now - 59_750),
        (#""2024-05-01t13:59:00.25+02:00""#, now - 59_750),
        (#""2024-05-01 11:59:00""#, now - 60_000),
        (#""2024-05-01T10:29:00.123456-0130""#, now - 59_877),
        ("\(Double(now - 60_000) / 1000)", now - 60_000),
        ("\(now - 60_000)", now - 60_000),
        (#""\#(now - 60_000)""#, now - 60_000),
        ("\((now - 60_000) * 1000)", now - 60_000),
        ("\((now - 60_000) * 1_000_000)", now - 60_000),
        (#""yesterday""#, nil),
        (#""2024-13-01T00:00:00Z""#, nil),
        (#""2024-05-01T11:59:00+25:00""#, nil),
        ("true", nil),
        ("{}", nil),
    ]

    @Test(arguments: timestamps)
    func lineTimestampsAreReadInEveryCommonForm(json: String, expected: Timestamp?) throws {
        var mapping = LogMapping(paths: ["x"], metrics: [LogMetricSpec(name: "g", kind: .gauge, field: "v")])
        mapping.timestamp = LogTimestampSpec(field: "ts")
        let h = try MapperHarness(mapping)
        h.feed([#"{"ts":\#(json),"v":1}"#])
        if let expected {
            #expect(h.samples("g").map(\.timestamp) == [expected])
        } else {
            #expect(h.malformed == [.badTimestamp: 1])
            #expect(h.values.isEmpty)
        }
    }

    @Test func timestampFormatsCanBePinned() throws {
        for (format, json, expected) in [
            (LogTimestampSpec.Format.unixSeconds, "\(now / 1000 - 5)", now - 5000),
            (.unixMilliseconds, "\(now - 5)", now - 5),
            (.rfc3339, #""2024-05-01T11:59:59Z""#, now - 1000),
        ] {
            var mapping = LogMapping(paths: ["x"], metrics: [LogMetricSpec(name: "g", kind: .gauge, field: "v")])
            mapping.timestamp = LogTimestampSpec(field: "ts", format: format)
            let h = try MapperHarness(mapping)
            h.feed([#"{"ts":\#(json),"v":1}"#])
            #expect(h.samples("g").map(\.timestamp) == [expected], "\(format)")
        }
        var mapping = LogMapping(paths: ["x"], metrics: [LogMetricSpec(name: "g", kind: .gauge, field: "v")])
        mapping.timestamp = LogTimestampSpec(field: "ts", format: .rfc3339)
        let h = try MapperHarness(mapping)
        h.feed([#"{"ts":\#(now),"v":1}"#])
        #expect(h.malformed == [.badTimestamp: 1], "a number is not RFC 3339")
    }

    @Test func linesTooOldOrTooFarAheadAreCountedAndSkippedAndAbsentTimesAreArrivalTimes() throws {
        var mapping = LogMapping(paths: ["x"], metrics: [LogMetricSpec(name: "c_total", kind: .counter)])
        mapping.timestamp = LogTimestampSpec(field: "ts")
        let h = try MapperHarness(mapping)
        h.feed([
            #"{"ts":"2024-05-01T10:00:00Z"}"#,  // two hours ago: the default store keeps one
            #"{"ts":"2024-05-01T12:30:00Z"}"#,  // half an hour ahead: more than the 10 min skew
            #"{"ts":"2024-05-01T12:05:00Z"}"#,
            #"{"msg":"no ts"}"#,
        ])
        #expect(h.mapper.stats.tooOld == 1)
        #expect(h.mapper.stats.tooFarAhead == 1)
        #expect(h.values == ["c_total": 2])
        #expect(h.samples("c_total").last?.timestamp == now + 5 * 60_000)
    }

    @Test func withArrivalTimeEveryLineCountsWhateverItsAgeButBadTimesAreStillMalformed() throws {
        var mapping = LogMapping(paths: ["x"], metrics: [LogMetricSpec(name: "c_total", kind: .counter)])
        mapping.timestamp = LogTimestampSpec(field: "ts")
        let h = try MapperHarness(mapping, time: .arrival)
        h.feed([#"{"ts":"2001-01-01T00:00:00Z"}"#, #"{"ts":"2999-01-01T00:00:00Z"}"#, #"{"ts":"soon"}"#])
        #expect(h.values == ["c_total": 2])
        #expect(h.malformed == [.badTimestamp: 1])
    }

    @Test func malformedLinesAreCountedPerFileAndReasonAndChangeNothing() throws {
        let h = try MapperHarness(accessLog())
        h.feed([
            "not json at all",
            #"{"route":"/a","latency_ms":"#,
            #"["array"]"#,
            #"{"route":{"nested":1},"method":"GET","status":200,"latency_ms":1,"bytes":1}"#,
            #"{"route":"/a","method":"GET","status":200,"latency_ms":"fast","bytes":1}"#,
            #"{"route":"/a","method":"GET","status":200,"latency_ms":1,"bytes":-5}"#,
        ], file: 0)
        var bytes = Array(#"{"route":""#.utf8) + [0xC3, 0x28] + Array(#"","method":"GET","status":200,"latency_ms":1,"bytes":1}"#.utf8)
        bytes.withUnsafeMutableBytes { h.mapper.consume(line: UnsafeRawBufferPointer($0), file: LogFileID(index: 1)) }
        h.mapper.skipped(reason: .tooLong, file: LogFileID(index: 1))
        h.mapper.flush()
        #expect(h.values.isEmpty, "no series was touched by a malformed line")
        let counts = h.mapper.malformedCounts().map { "\($0.file.index) \($0.reason) \($0.count)" }
        #expect(Set(counts) == ["0 not_json 1", "0 truncated 1", "0 not_object 1", "0 wrong_type 3", "1 invalid_utf8 1", "1 too_long 1"])
    }

    @Test func aFullLineKeyCacheSlowsMappingDownButCountsStayExact() throws {
        let h = try MapperHarness(accessLog(), lineKeyLimit: 2)
        let lines = (0..<60).map { access("/r\($0 % 5)", $0 % 2 == 0 ? "GET" : "PUT", status: 200 + $0 % 3) }
        h.feed(lines)
        let reference = try MapperHarness(accessLog())
        reference.feed(lines)
        #expect(h.values == reference.values)
        #expect(h.mapper.stats.labelCacheMisses > 0)
        #expect(reference.mapper.stats.labelCacheMisses == 0)
    }

    @Test func theSeriesLimitIsCountedNotACrash() throws {
        let h = try MapperHarness(
            LogMapping(paths: ["x"], metrics: [LogMetricSpec(name: "c_total", kind: .counter, labels: [LogLabelSpec(field: "k")])]),
            seriesLimit: 2)
        h.feed((0..<5).map { #"{"k":"v\#($0)"}"# })
        #expect(h.values.count == 2)
        #expect(h.mapper.stats.seriesLimited == 3)
    }

    @Test func invalidMappingsReportEveryProblem() {
        var mapping = LogMapping(paths: [], job: "api", metrics: [
            LogMetricSpec(name: "1bad", kind: .counter),
            LogMetricSpec(name: "lat", kind: .distribution),
            LogMetricSpec(name: "lat", kind: .gauge, field: "a..b", labels: [LogLabelSpec(field: "x", name: "__x"), LogLabelSpec(field: "job")]),
        ])
        var bad = LogLabelSpec(field: "r")
        bad.regex = "(unclosed"
        mapping.labels = [bad]
        #expect(throws: LogMappingError.self) { try LogMapper(mapping: mapping, store: SeriesStore()) }
        let problems = mapping.validate()
        #expect(problems.count == 8, "\(problems.joined(separator: "\n"))")
    }
}

@Suite struct LogTimestampParserTests {
    @Test func rfc3339AgreesWithFoundationOnRandomDates() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var rng = LogsTestRandom(seed: 5)
        for _ in 0..<5_000 {
            let c = DateComponents(
                year: 1900 + Int(rng.next() % 300), month: 1 + Int(rng.next() % 12), day: 1 + Int(rng.next() % 28),
                hour: Int(rng.next() % 24), minute: Int(rng.next() % 60), second: Int(rng.next() % 60))
            let text = String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
            let expected = Int64(calendar.date(from: c)!.timeIntervalSince1970) * 1000
            let parsed = Array(text.utf8).withUnsafeBufferPointer { LogTimestampParser.rfc3339($0.baseAddress!, count: $0.count) }
            #expect(parsed == expected, "\(text)")
        }
    }

    @Test func theHourCacheGivesWhatAFullParseGives() {
        var cache = LogTimestampParser.Cache()
        var rng = LogsTestRandom(seed: 9)
        let zones = ["Z", "z", "+02:00", "-0130", "", "+00:00"]
        for i in 0..<20_000 {
            // Mostly the same hour, as in a real log; sometimes a jump, a bad minute or a bad zone.
            let hour = i % 500 == 0 ? Int(rng.next() % 24) : 12
            let minute = rng.next() % 50 == 0 ? 61 : Int(rng.next() % 60)
            let fraction = ["", ".5", ".123", ".123456789", ","][Int(rng.next() % 5)]
            let zone = rng.next() % 100 == 0 ? "+2" : zones[Int(rng.next() % UInt64(zones.count))]
            let text = String(format: "2024-05-%02dT%02d:%02d:%02d", 1 + i / 5000, hour, minute, Int(rng.next() % 61)) + fraction + zone
            Array(text.utf8).withUnsafeBufferPointer { b in
                let full = LogTimestampParser.rfc3339(b.baseAddress!, count: b.count)
                let cached = LogTimestampParser.rfc3339(b.baseAddress!, count: b.count, cache: &cache)
                #expect(full == cached, "\(text)")
            }
        }
    }

    @Test func impossibleDatesAndMalformedTextAreRejected() {
        for text in [
            "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-00-10T00:00:00Z", "2024-05-01T24:00:00Z",
            "2024-05-01T12:60:00Z", "2024-05-01T12:00:00", "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+1",
            "2024-05-01X12:00:00Z", "2024-05-01T12:00:00Zjunk", "24-05-01T12:00:00Z", "",
        ] where text != "2024-05-01T12:00:00" {
            let parsed = Array(text.utf8).withUnsafeBufferPointer { LogTimestampParser.rfc3339($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: $0.count) }
            #expect(parsed == nil, "\(text)")
        }
        #expect(LogTimestampParser.daysInMonth(year: 2000, month: 2) == 29)
        #expect(LogTimestampParser.daysInMonth(year: 1900, month: 2) == 28)
    }
}
