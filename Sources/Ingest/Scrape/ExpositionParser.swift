#if canImport(Glibc)
import Glibc
#endif

/// The metric type a `# TYPE` line declares.
public enum MetricType: UInt8, Sendable, Hashable, CustomStringConvertible {
    case unknown, counter, gauge, histogram, gaugeHistogram, summary, info, stateSet

    public var description: String {
        switch self {
        case .unknown: "unknown"
        case .counter: "counter"
        case .gauge: "gauge"
        case .histogram: "histogram"
        case .gaugeHistogram: "gaugehistogram"
        case .summary: "summary"
        case .info: "info"
        case .stateSet: "stateset"
        }
    }
}

/// Which sample of its family a sample is, from the suffix of its name.
public enum SampleSuffix: UInt8, Sendable, Hashable {
    /// The name is the family name itself (a gauge, a text-format counter, a summary quantile…).
    case none
    case total, created, bucket, count, sum, gcount, gsum, info
}

/// A pull parser over one Prometheus text (0.0.4) or OpenMetrics (1.0) body, handing out views of
/// the input.
///
/// Model: `next()` moves to the next entry (a sample, or a HELP/TYPE/UNIT/comment line) and leaves
/// its parts as offsets into the body; accessors return `UnsafeRawBufferPointer` slices of the body,
/// so a steady-state scrape copies nothing. `series` is the raw bytes `name{labels}` exactly as they
/// appear — the key of the scrape loop's series cache, as in Prometheus's scrape cache — and
/// `forEachLabel` decodes the labels only when a series is new.
///
/// Grammar and leniency follow Prometheus's lexers (`model/textparse/promlex.l`,
/// `openmetricslex.l`): in the text format, blanks may surround every token, blank lines and `#`
/// comments are allowed and a final newline may be missing; OpenMetrics is strict (single spaces,
/// no blank lines or free comments, must end with `# EOF`) and has seconds timestamps, `UNIT` and
/// exemplars (validated, then ignored). Label values keep unknown escapes as written and turn
/// `\\`, `\"` and `\n` into their characters, as Prometheus does. The first malformed line stops
/// the parser with `line N: message`.
///
/// The parser borrows its input: the bytes given to `init` must outlive it (use `withParser`).
public struct ExpositionParser {
    /// What `next()` found.
    public enum Entry: Sendable, Hashable {
        case sample, help, type, unit, comment
    }

    let base: UnsafePointer<UInt8>
    let count: Int
    /// The format being parsed.
    public let format: ExpositionFormat

    var pos = 0
    var nextLine = 1
    var sawEOF = false
    /// 1-based line number of the current entry.
    public private(set) var line = 0

    // The current sample: offsets into the body.
    var nameStart = 0
    var nameEnd = 0
    var seriesEnd = 0
    /// The sample's value (NaNs are all the canonical NaN; a body cannot write a stale marker).
    public private(set) var value: Double = 0
    /// The sample's own timestamp in milliseconds, if it has one.
    public private(set) var timestamp: Int64? = nil
    /// True when the sample carried an OpenMetrics exemplar (which is validated and ignored).
    public private(set) var hasExemplar = false
    /// Number of labels in the sample's label block.
    public private(set) var labelCount = 0
    /// True when some label value contains a backslash escape.
    public private(set) var labelsHaveEscapes = false
    /// The type of the family the sample belongs to (`.unknown` when no TYPE line covers it).
    public private(set) var sampleType: MetricType = .unknown
    /// Which sample of its family the sample is.
    public private(set) var sampleSuffix: SampleSuffix = .none

    // The current metadata line.
    var textStart = 0
    var textEnd = 0
    /// The type a `# TYPE` line declared.
    public private(set) var metricType: MetricType = .unknown

    // The family the last TYPE line declared, to type the samples that follow it.
    var familyStart = 0
    var familyEnd = 0
    var familyType: MetricType = .unknown

    /// A parser over `bytes`, which must stay valid and unchanged while the parser is used.
    public init(bytes: UnsafeRawBufferPointer, format: ExpositionFormat) {
        if let start = bytes.baseAddress, bytes.count > 0 {
            base = start.assumingMemoryBound(to: UInt8.self)
            count = bytes.count
        } else {
            base = emptyBody
            count = 0
        }
        self.format = format
    }

    /// Runs `body` with a parser over `bytes`.
    public static func withParser<R>(
        _ bytes: [UInt8], format: ExpositionFormat, _ body: (inout ExpositionParser) throws -> R
    ) rethrows -> R {
        try bytes.withUnsafeBytes { raw in
            var parser = ExpositionParser(bytes: raw, format: format)
            return try body(&parser)
        }
    }

    // MARK: Accessors

    /// The sample's raw `name{labels}` bytes, as written (the series cache key).
    @inline(__always)
    public var series: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + nameStart, count: seriesEnd - nameStart)
    }

    /// The sample's metric name, or the name a HELP/TYPE/UNIT line is about.
    public var metricName: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + nameStart, count: nameEnd - nameStart)
    }

    /// The raw text of a HELP line (still escaped), the unit of a UNIT line, or a comment's text.
    public var text: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + textStart, count: textEnd - textStart)
    }

    /// The HELP text with its escapes resolved (`\\` and `\n`; OpenMetrics also `\"`).
    public var helpText: String { helpText(maxBytes: .max) }

    /// The HELP text's first `maxBytes` raw bytes (cut back to a character boundary) with their
    /// escapes resolved.
    public func helpText(maxBytes: Int) -> String {
        var end = textEnd
        if end - textStart > maxBytes {
            end = textStart + maxBytes
            while end > textStart && base[end] & 0xC0 == 0x80 { end -= 1 }
        }
        var out: [UInt8] = []
        out.reserveCapacity(end - textStart)
        var i = textStart
        while i < end {
            let c = base[i]
            if c == UInt8(ascii: "\\"), i + 1 < end {
                let e = base[i + 1]
                if e == UInt8(ascii: "\\") || e == UInt8(ascii: "n") || (format == .openMetrics && e == UInt8(ascii: "\"")) {
                    out.append(e == UInt8(ascii: "n") ? UInt8(ascii: "\n") : e)
                    i += 2
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Iteration

    /// Moves to the next entry; nil at the end of the body.
    ///
    /// - Throws: `ExpositionError` for the first malformed line; the parser must not be used after.
    public mutating func next() throws(ExpositionError) -> Entry? {
        let p = base
        while true {
            if pos >= count {
                line = nextLine
                if format == .openMetrics && !sawEOF {
                    throw ExpositionError(line: line, message: "data does not end with \"# EOF\"")
                }
                return nil
            }
            line = nextLine
            if sawEOF {
                throw ExpositionError(line: line, message: "unexpected data after \"# EOF\"")
            }
            var c = p[pos]
            if format == .prometheusText {
                while c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") {
                    pos += 1
                    if pos == count { return nil }
                    c = p[pos]
                }
            }
            if c == UInt8(ascii: "\n") {
                if format == .openMetrics {
                    throw ExpositionError(line: line, message: "unexpected blank line")
                }
                pos += 1
                nextLine += 1
                continue
            }
            if c == UInt8(ascii: "#") {
                if let entry = try parseCommentLine() { return entry }
                continue
            }
            if isNameStart(c) {
                try parseSample()
                return .sample
            }
            throw failure("expected a metric name or \"#\"", at: pos)
        }
    }

    // MARK: Samples

    @inline(__always)
    mutating func parseSample() throws(ExpositionError) {
        let p = base
        let n = count
        let text = format == .prometheusText
        nameStart = pos
        pos += 1
        while pos < n && isNameChar(p[pos]) { pos += 1 }
        nameEnd = pos
        seriesEnd = pos
        labelCount = 0
        labelsHaveEscapes = false
        if text { skipBlanks() }
        if pos < n && p[pos] == UInt8(ascii: "{") {
            try parseLabels()
            seriesEnd = pos
            if text { skipBlanks() }
        }
        classifySample()

        // The value.
        if !text {
            guard pos < n, p[pos] == UInt8(ascii: " ") else {
                throw failure("expected a space and a value after the metric", at: pos)
            }
            pos += 1
        }
        let valueStart = pos
        if text {
            while pos < n {
                let c = p[pos]
                if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "{") { break }
                pos += 1
            }
        } else {
            while pos < n {
                let c = p[pos]
                if c == UInt8(ascii: " ") || c == UInt8(ascii: "\n") { break }
                pos += 1
            }
        }
        if pos == valueStart {
            throw failure("expected a value after the metric", at: pos)
        }
        guard let v = parseExpositionDouble(p, valueStart, pos) else {
            throw ExpositionError(
                line: line, message: "invalid value \(quoteRange(valueStart, pos)) for metric \(quoteRange(nameStart, nameEnd))")
        }
        value = v
        timestamp = nil
        hasExemplar = false

        if text {
            skipBlanks()
            if pos < n && p[pos] != UInt8(ascii: "\n") {
                let tsStart = pos
                while pos < n && p[pos] &- UInt8(ascii: "0") < 10 { pos += 1 }
                guard pos > tsStart, let ts = parseInteger(p, tsStart, pos) else {
                    throw failure("expected a timestamp or a new line after the value", at: tsStart)
                }
                timestamp = ts
                skipBlanks()
                if pos < n && p[pos] != UInt8(ascii: "\n") {
                    throw failure("expected a new line after the timestamp", at: pos)
                }
            }
            if pos < n {  // the newline; a missing final newline is fine
                pos += 1
                nextLine += 1
            }
            return
        }

        // OpenMetrics: [" " timestamp] [" # " exemplar] "\n"
        if pos < n && p[pos] == UInt8(ascii: " ") {
            pos += 1
            if pos < n && p[pos] != UInt8(ascii: "#") {
                let tsStart = pos
                while pos < n && p[pos] != UInt8(ascii: " ") && p[pos] != UInt8(ascii: "\n") { pos += 1 }
                timestamp = try parseOpenMetricsTimestamp(tsStart, pos)
                if pos < n && p[pos] == UInt8(ascii: " ") {
                    pos += 1
                    guard pos < n, p[pos] == UInt8(ascii: "#") else {
                        throw failure("expected \"# {\" (an exemplar) or a new line after the timestamp", at: pos)
                    }
                }
            }
            if pos < n && p[pos] == UInt8(ascii: "#") {
                try parseExemplar()
            }
        }
        guard pos < n, p[pos] == UInt8(ascii: "\n") else {
            if pos >= n {
                throw ExpositionError(line: line, message: "data does not end with \"# EOF\"")
            }
            throw failure("expected a new line after the sample", at: pos)
        }
        pos += 1
        nextLine += 1
    }

    /// Scans a `{…}` label block, validating it; `pos` is at `{` and ends after `}`.
    @inline(__always)
    mutating func parseLabels() throws(ExpositionError) {
        let p = base
        let n = count
        let text = format == .prometheusText
        pos += 1
        while true {
            if text { skipBlanks() }
            guard pos < n else { throw ExpositionError(line: line, message: "unexpected end of data in the label set") }
            var c = p[pos]
            if c == UInt8(ascii: "}") {
                pos += 1
                return
            }
            guard isLabelNameStart(c) else {
                throw failure("expected a label name or \"}\"", at: pos)
            }
            let labelNameStart = pos
            pos += 1
            while pos < n && isLabelNameChar(p[pos]) { pos += 1 }
            if text { skipBlanks() }
            guard pos < n, p[pos] == UInt8(ascii: "=") else {
                throw failure("expected \"=\" after label name \(quoteRange(labelNameStart, pos))", at: pos)
            }
            pos += 1
            if text { skipBlanks() }
            guard pos < n, p[pos] == UInt8(ascii: "\"") else {
                throw failure("expected a quoted label value", at: pos)
            }
            pos += 1
            let valueStart = pos
            while true {
                guard pos < n else {
                    throw ExpositionError(
                        line: line, message: "invalid label value \(quoteRange(valueStart - 1, n)): no closing quote")
                }
                c = p[pos]
                if c == UInt8(ascii: "\"") { break }
                if c == UInt8(ascii: "\\") {
                    labelsHaveEscapes = true
                    pos += 2
                    if pos > n { pos = n }
                    continue
                }
                if c == UInt8(ascii: "\n") {
                    // Prometheus's text lexer lets a raw newline into a label value; OpenMetrics does not.
                    if !text {
                        throw ExpositionError(
                            line: line, message: "invalid label value \(quoteRange(valueStart - 1, pos)): new line before the closing quote")
                    }
                    nextLine += 1
                }
                pos += 1
            }
            pos += 1
            labelCount += 1
            if text { skipBlanks() }
            guard pos < n else { throw ExpositionError(line: line, message: "unexpected end of data in the label set") }
            c = p[pos]
            if c == UInt8(ascii: ",") {
                pos += 1
            } else if c != UInt8(ascii: "}") {
                throw failure("expected \",\" or \"}\" after a label value", at: pos)
            }
        }
    }

    /// Validates an exemplar ` # {labels} value [timestamp]`; `pos` is at `#`.
    mutating func parseExemplar() throws(ExpositionError) {
        let p = base
        let n = count
        guard pos + 2 < n, p[pos + 1] == UInt8(ascii: " "), p[pos + 2] == UInt8(ascii: "{") else {
            throw failure("expected \"# {\" to start an exemplar", at: pos)
        }
        pos += 2
        let savedCount = labelCount
        let savedEscapes = labelsHaveEscapes
        try parseLabels()
        labelCount = savedCount
        labelsHaveEscapes = savedEscapes
        guard pos < n, p[pos] == UInt8(ascii: " ") else {
            throw failure("expected a space and a value after the exemplar's labels", at: pos)
        }
        pos += 1
        let valueStart = pos
        while pos < n && p[pos] != UInt8(ascii: " ") && p[pos] != UInt8(ascii: "\n") { pos += 1 }
        guard pos > valueStart, parseExpositionDouble(p, valueStart, pos) != nil else {
            throw ExpositionError(line: line, message: "invalid exemplar value \(quoteRange(valueStart, pos))")
        }
        if pos < n && p[pos] == UInt8(ascii: " ") {
            pos += 1
            let tsStart = pos
            while pos < n && p[pos] != UInt8(ascii: " ") && p[pos] != UInt8(ascii: "\n") { pos += 1 }
            _ = try parseOpenMetricsTimestamp(tsStart, pos)
        }
        hasExemplar = true
    }

    /// Finds the sample's family from the last TYPE line and which of its samples this one is.
    @inline(__always)
    mutating func classifySample() {
        sampleType = .unknown
        sampleSuffix = .none
        let familyLength = familyEnd - familyStart
        let nameLength = nameEnd - nameStart
        guard familyType != .unknown, nameLength >= familyLength,
            memcmp(base + nameStart, base + familyStart, familyLength) == 0
        else { return }
        let suffix = UnsafeRawBufferPointer(start: base + nameStart + familyLength, count: nameLength - familyLength)
        let kind: SampleSuffix
        if suffix.isEmpty {
            kind = .none
        } else if let s = sampleSuffix(suffix) {
            kind = s
        } else {
            return
        }
        let belongs: Bool
        switch familyType {
        case .unknown: belongs = false
        case .counter: belongs = format == .openMetrics ? (kind == .total || kind == .created) : kind == .none
        case .gauge, .stateSet: belongs = kind == .none
        case .histogram: belongs = kind == .bucket || kind == .count || kind == .sum || kind == .created
        case .gaugeHistogram: belongs = kind == .bucket || kind == .gcount || kind == .gsum
        case .summary: belongs = kind == .none || kind == .count || kind == .sum || kind == .created
        case .info: belongs = format == .openMetrics ? kind == .info : kind == .none
        }
        if belongs {
            sampleType = familyType
            sampleSuffix = kind
        }
    }

    func sampleSuffix(_ s: UnsafeRawBufferPointer) -> SampleSuffix? {
        func equals(_ literal: StaticString) -> Bool {
            literal.utf8CodeUnitCount == s.count && memcmp(literal.utf8Start, s.baseAddress!, s.count) == 0
        }
        if equals("_total") { return .total }
        if equals("_bucket") { return .bucket }
        if equals("_count") { return .count }
        if equals("_sum") { return .sum }
        if equals("_created") { return .created }
        if equals("_gcount") { return .gcount }
        if equals("_gsum") { return .gsum }
        if equals("_info") { return .info }
        return nil
    }

    // MARK: Comment lines

    /// Parses a line starting with `#`; nil for a plain comment in the text format, which is skipped.
    mutating func parseCommentLine() throws(ExpositionError) -> Entry? {
        let p = base
        let n = count
        let lineStart = pos
        pos += 1
        if format == .openMetrics {
            guard pos < n, p[pos] == UInt8(ascii: " ") else {
                throw failure("expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\"", at: lineStart)
            }
            pos += 1
            if hasWord("EOF") && (pos + 3 == n || p[pos + 3] == UInt8(ascii: "\n")) {
                pos = min(pos + 4, n)
                nextLine += 1
                sawEOF = true
                return try next()
            }
            let entry: Entry
            if hasWord("HELP ") { entry = .help } else if hasWord("TYPE ") { entry = .type } else if hasWord("UNIT ") { entry = .unit } else {
                throw failure("expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\"", at: lineStart)
            }
            pos += 5
            return try parseMetadata(entry)
        }

        // Prometheus text: "#" blanks ("HELP"|"TYPE") blanks …; anything else is a comment.
        let afterHash = pos
        skipBlanks()
        if pos > afterHash {
            var entry: Entry? = nil
            if hasWord("HELP") { entry = .help } else if hasWord("TYPE") { entry = .type }
            if let entry, pos + 4 < n, p[pos + 4] == UInt8(ascii: " ") || p[pos + 4] == UInt8(ascii: "\t") {
                pos += 4
                skipBlanks()
                return try parseMetadata(entry)
            }
        }
        textStart = pos
        while pos < n && p[pos] != UInt8(ascii: "\n") { pos += 1 }
        textEnd = pos
        if pos < n {
            pos += 1
            nextLine += 1
        }
        return .comment
    }

    /// Parses `name [text]` after HELP/TYPE/UNIT and the keyword's blank.
    mutating func parseMetadata(_ entry: Entry) throws(ExpositionError) -> Entry {
        let p = base
        let n = count
        let keyword = entry == .help ? "HELP" : entry == .type ? "TYPE" : "UNIT"
        guard pos < n, isNameStart(p[pos]) else {
            throw failure("expected a metric name after \(keyword)", at: pos)
        }
        nameStart = pos
        while pos < n && isNameChar(p[pos]) { pos += 1 }
        nameEnd = pos
        textStart = pos
        textEnd = pos
        if pos < n && p[pos] != UInt8(ascii: "\n") {
            let c = p[pos]
            guard c == UInt8(ascii: " ") || (format == .prometheusText && c == UInt8(ascii: "\t")) else {
                throw failure("expected a space after the metric name in \(keyword)", at: pos)
            }
            pos += 1
            textStart = pos
            while pos < n && p[pos] != UInt8(ascii: "\n") { pos += 1 }
            textEnd = pos
        }
        if pos < n {
            pos += 1
            nextLine += 1
        } else if format == .openMetrics {
            throw ExpositionError(line: line, message: "data does not end with \"# EOF\"")
        }
        switch entry {
        case .type:
            // Trailing blanks are forgiven; the type itself must be exact.
            var end = textEnd
            while end > textStart && (p[end - 1] == UInt8(ascii: " ") || p[end - 1] == UInt8(ascii: "\t")) { end -= 1 }
            let word = UnsafeRawBufferPointer(start: p + textStart, count: end - textStart)
            guard let type = metricType(word) else {
                throw ExpositionError(line: line, message: "invalid metric type \(ExpositionError.quote(word))")
            }
            metricType = type
            familyStart = nameStart
            familyEnd = nameEnd
            familyType = type
        case .unit:
            let unit = UnsafeRawBufferPointer(start: p + textStart, count: textEnd - textStart)
            let nameLength = nameEnd - nameStart
            if !unit.isEmpty {
                let suffixOK = nameLength > unit.count && p[nameEnd - unit.count - 1] == UInt8(ascii: "_")
                    && memcmp(p + nameEnd - unit.count, unit.baseAddress!, unit.count) == 0
                guard suffixOK else {
                    throw ExpositionError(
                        line: line,
                        message: "unit \(ExpositionError.quote(unit)) is not a suffix of metric \(quoteRange(nameStart, nameEnd))")
                }
            }
        default:
            break
        }
        return entry
    }

    func metricType(_ word: UnsafeRawBufferPointer) -> MetricType? {
        func equals(_ literal: StaticString) -> Bool {
            literal.utf8CodeUnitCount == word.count && (word.isEmpty || memcmp(literal.utf8Start, word.baseAddress!, word.count) == 0)
        }
        if equals("counter") { return .counter }
        if equals("gauge") { return .gauge }
        if equals("histogram") { return .histogram }
        if equals("summary") { return .summary }
        if format == .prometheusText {
            if equals("untyped") { return .unknown }
            return nil
        }
        if equals("gaugehistogram") { return .gaugeHistogram }
        if equals("info") { return .info }
        if equals("stateset") { return .stateSet }
        if equals("unknown") { return .unknown }
        return nil
    }

    // MARK: Small scanners

    @inline(__always)
    mutating func skipBlanks() {
        while pos < count && (base[pos] == UInt8(ascii: " ") || base[pos] == UInt8(ascii: "\t")) { pos += 1 }
    }

    func hasWord(_ word: StaticString) -> Bool {
        pos + word.utf8CodeUnitCount <= count && memcmp(base + pos, word.utf8Start, word.utf8CodeUnitCount) == 0
    }

    /// An OpenMetrics timestamp (seconds, possibly fractional) in milliseconds, exactly for decimals.
    func parseOpenMetricsTimestamp(_ start: Int, _ end: Int) throws(ExpositionError) -> Int64 {
        if let ms = parseDecimalSecondsAsMilliseconds(base, start, end) { return ms }
        if let seconds = parseExpositionDouble(base, start, end), seconds.isFinite, abs(seconds) < 9.2e15 {
            return Int64(seconds * 1000)
        }
        throw ExpositionError(line: line, message: "invalid timestamp \(quoteRange(start, end))")
    }

    func quoteRange(_ start: Int, _ end: Int) -> String {
        ExpositionError.quote(UnsafeRawBufferPointer(start: base + start, count: max(0, min(end, count) - start)))
    }

    /// An error quoting the token at `at` (up to the next blank or end of line).
    func failure(_ message: String, at: Int) -> ExpositionError {
        var end = at
        while end < count && end - at < 40 {
            let c = base[end]
            if c == UInt8(ascii: "\n") || ((c == UInt8(ascii: " ") || c == UInt8(ascii: "\t")) && end > at) { break }
            end += 1
        }
        if end == at && at < count { end = at + 1 }
        let got = at >= count ? "end of data" : quoteRange(at, end)
        return ExpositionError(line: line, message: "\(message), got \(got)")
    }
}

nonisolated(unsafe) private let emptyBody: UnsafePointer<UInt8> = {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UnsafePointer(p)
}()

/// `[a-zA-Z_:]`
@inline(__always) func isNameStart(_ c: UInt8) -> Bool {
    (c | 0x20) &- UInt8(ascii: "a") < 26 || c == UInt8(ascii: "_") || c == UInt8(ascii: ":")
}

/// `[a-zA-Z0-9_:]`
@inline(__always) func isNameChar(_ c: UInt8) -> Bool {
    isNameStart(c) || c &- UInt8(ascii: "0") < 10
}

/// `[a-zA-Z_]`
@inline(__always) func isLabelNameStart(_ c: UInt8) -> Bool {
    (c | 0x20) &- UInt8(ascii: "a") < 26 || c == UInt8(ascii: "_")
}

/// `[a-zA-Z0-9_]`
@inline(__always) func isLabelNameChar(_ c: UInt8) -> Bool {
    isLabelNameStart(c) || c &- UInt8(ascii: "0") < 10
}
