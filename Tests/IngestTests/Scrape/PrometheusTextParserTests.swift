import Foundation
import Testing

@testable import Ingest
import TimeSeries

/// The Prometheus text format 0.0.4, as Prometheus's own parser reads it.
@Suite struct PrometheusTextParserTests {
    @Test func aTypicalPageGivesEveryEntryInOrder() throws {
        let page = """
            # HELP http_requests_total The total number of HTTP requests.
            # TYPE http_requests_total counter
            http_requests_total{method="post",code="200"} 1027 1395066363000
            http_requests_total{method="post",code="400"}    3 1395066363000

            # Escaping in label values:
            msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

            # Minimalistic line:
            metric_without_timestamp_and_labels 12.47
            """
        let entries = try parseAll(page, .prometheusText).get()
        #expect(
            entries == [
                .help("http_requests_total", "The total number of HTTP requests."),
                .type("http_requests_total", .counter),
                .sample(ParsedSample("http_requests_total", ["method=post", "code=200"], 1027, ts: 1_395_066_363_000, type: .counter)),
                .sample(ParsedSample("http_requests_total", ["method=post", "code=400"], 3, ts: 1_395_066_363_000, type: .counter)),
                .comment,
                .sample(ParsedSample("msdos_file_access_time_seconds", ["path=C:\\DIR\\FILE.TXT", "error=Cannot find file:\n\"FILE.TXT\""], 1.458255915e9)),
                .comment,
                .sample(ParsedSample("metric_without_timestamp_and_labels", [], 12.47)),
            ])
    }

    /// A negative timestamp is not a timestamp in 0.0.4: Prometheus's lexer takes digits only.
    @Test func negativeTimestampsAreRejectedAsPrometheusDoes() {
        #expect(parseError("something_weird{problem=\"division by zero\"} +Inf -3982045\n", .prometheusText)?.hasPrefix("line 1: expected a timestamp or a new line after the value") == true)
    }

    @Test func labelValueEscapesResolveAsInPrometheus() {
        let cases: [(written: String, value: String)] = [
            (#"a\\b"#, #"a\b"#),
            (#"a\"b"#, #"a"b"#),
            (#"a\nb"#, "a\nb"),
            (#"a\tb"#, #"a\tb"#),  // unknown escapes stay as written
            (#"\\\\"#, #"\\"#),
            (#"\\n"#, #"\n"#),  // an escaped backslash then a plain n
            (#"ünïcödé ✓"#, "ünïcödé ✓"),
            (#"{},= #"#, "{},= #"),
            ("", ""),
        ]
        for (written, value) in cases {
            let parsed = samples("m{l=\"\(written)\"} 1\n", .prometheusText)
            #expect(parsed == [ParsedSample("m", ["l=\(value)"], 1)], "written \(written)")
            let om = samples("m{l=\"\(written)\"} 1\n# EOF\n", .openMetrics)
            #expect(om == [ParsedSample("m", ["l=\(value)"], 1)], "written \(written) in OpenMetrics")
        }
    }

    @Test func helpTextUnescapesBackslashAndNewlineOnly() throws {
        let entries = try parseAll(#"# HELP m a\\b\nc\"d"# + "\n# HELP n\n#  HELP\to\ttabbed\n", .prometheusText).get()
        #expect(entries == [.help("m", "a\\b\nc\\\"d"), .help("n", ""), .help("o", "tabbed")])
    }

    @Test func blanksMaySurroundEveryToken() {
        let page = "  \t m_1 { a = \"1\" ,\tb=\"2\" , } \t 3 \t 42 \t \n\t\n   \nm_2{}4\n"
        #expect(
            samples(page, .prometheusText) == [
                ParsedSample("m_1", ["a=1", "b=2"], 3, ts: 42),
                ParsedSample("m_2", [], 4),
            ])
    }

    @Test func theFinalNewlineMayBeMissing() {
        for page in ["m 1", "m 1 5", "m{a=\"b\"} 1", "m 1 ", "# comment", "# TYPE m gauge"] {
            #expect(parseError(page, .prometheusText) == nil, "page \(page.debugDescription)")
        }
        #expect(samples("a 1\nm 2", .prometheusText) == [ParsedSample("a", [], 1), ParsedSample("m", [], 2)])
    }

    @Test func anEmptyBodyHasNoEntries() throws {
        #expect(try parseAll("", .prometheusText).get().isEmpty)
        #expect(try parseAll("\n\n  \n", .prometheusText).get().isEmpty)
    }

    @Test func commentsAreAnyHashLineThatIsNotHelpOrType() throws {
        let entries = try parseAll("#\n#HELP m x\n# HELPER m\n# UNIT m_s s\n# EOF\n#TYPE\n# TYPE\n", .prometheusText).get()
        #expect(entries == Array(repeating: .comment, count: 7))
    }

    @Test func specialValuesParseLikeGoParseFloat() {
        let cases: [(String, Double)] = [
            ("NaN", .nan), ("nan", .nan), ("+Inf", .infinity), ("-Inf", -.infinity), ("Inf", .infinity),
            ("inf", .infinity), ("+infinity", .infinity), ("-0", -0.0), ("0", 0), ("1e3", 1000), ("1E-3", 0.001),
            ("+5", 5), (".5", 0.5), ("5.", 5), ("0x1p-2", 0.25), ("1.7976931348623157e308", .greatestFiniteMagnitude),
            ("4.9e-324", .leastNonzeroMagnitude), ("123456789012345678901234567890", 1.2345678901234568e29),
            ("0.000000000000000000000000000001", 1e-30), ("-1.5e+10", -1.5e10),
        ]
        for (written, value) in cases {
            let parsed = samples("m \(written)\n", .prometheusText)
            #expect(parsed.count == 1, "\(written)")
            if let v = parsed.first?.value {
                if value.isNaN {
                    #expect(v.isNaN && v.bitPattern == Double.nan.bitPattern, "\(written) gives the canonical NaN")
                    #expect(!v.isStaleMarker)
                } else {
                    #expect(v.bitPattern == value.bitPattern, "\(written) → \(v), expected \(value)")
                }
            }
        }
    }

    @Test func malformedValuesFail() {
        for written in ["abc", "1e", "1.2.3", "--1", "0x", "1_000", "nan(1)", "snan", "1,5", "١"] {
            let error = parseError("m \(written)\n", .prometheusText)
            #expect(error?.hasPrefix("line 1: invalid value") == true, "\(written): \(error ?? "parsed")")
        }
    }

    @Test func theFastNumberPathAgreesWithTheStandardLibraryBitForBit() {
        var rng = SystemRandomNumberGenerator()
        var texts: [String] = []
        for _ in 0..<20_000 {
            let v = Double(bitPattern: rng.next() & 0x7FFF_FFFF_FFFF_FFFF)
            if v.isFinite { texts.append("\(v)") }
            let m = Int64.random(in: -9_999_999_999_999_999...9_999_999_999_999_999, using: &rng)
            let e = Int.random(in: -30...30, using: &rng)
            texts.append("\(m)e\(e)")
            let digits = String(UInt64.random(in: 0...UInt64.max, using: &rng))
            let point = Int.random(in: 0...digits.count, using: &rng)
            texts.append(String(digits.prefix(point)) + "." + String(digits.dropFirst(point)))
            texts.append(String(format: "%.*g", Int.random(in: 1...17, using: &rng), Double.random(in: -1e6...1e6, using: &rng)))
        }
        for text in texts {
            let expected = Double(text)
            let bytes = Array(text.utf8)
            let got = bytes.withUnsafeBufferPointer { parseExpositionDouble($0.baseAddress!, 0, $0.count) }
            #expect(got?.bitPattern == expected?.bitPattern, "\(text): \(String(describing: got)) vs \(String(describing: expected))")
        }
    }

    @Test func typesAttachToTheSamplesOfTheirFamily() {
        let page = """
            # TYPE c counter
            c 1
            c_total 2
            # TYPE g gauge
            g 3
            # TYPE h histogram
            h_bucket{le="0.5"} 4
            h_bucket{le="+Inf"} 5
            h_sum 6.5
            h_count 5
            h 7
            # TYPE s summary
            s{quantile="0.99"} 8
            s_sum 9
            s_count 10
            # TYPE u untyped
            u 11
            other 12
            """
        #expect(
            samples(page, .prometheusText) == [
                ParsedSample("c", [], 1, type: .counter),
                ParsedSample("c_total", [], 2),
                ParsedSample("g", [], 3, type: .gauge),
                ParsedSample("h_bucket", ["le=0.5"], 4, type: .histogram, suffix: .bucket),
                ParsedSample("h_bucket", ["le=+Inf"], 5, type: .histogram, suffix: .bucket),
                ParsedSample("h_sum", [], 6.5, type: .histogram, suffix: .sum),
                ParsedSample("h_count", [], 5, type: .histogram, suffix: .count),
                ParsedSample("h", [], 7),
                ParsedSample("s", ["quantile=0.99"], 8, type: .summary),
                ParsedSample("s_sum", [], 9, type: .summary, suffix: .sum),
                ParsedSample("s_count", [], 10, type: .summary, suffix: .count),
                ParsedSample("u", [], 11),
                ParsedSample("other", [], 12),
            ])
    }

    @Test func aRawNewlineInsideALabelValueIsKeptAndCountedAsALine() {
        let page = "m{a=\"x\ny\"} 1\nbad\n"
        #expect(parseError(page, .prometheusText) == "line 3: expected a value after the metric, got \"\\n\"")
        #expect(samples("m{a=\"x\ny\"} 1\n", .prometheusText) == [ParsedSample("m", ["a=x\ny"], 1)])
    }

    @Test func theSeriesIsTheRawNameAndLabelBytes() {
        let page = "m{a=\"1\"} 2 3\nn  4\no { b = \"\\\"\" }5\n"
        var series: [String] = []
        var names: [String] = []
        ExpositionParser.withParser(Array(page.utf8), format: .prometheusText) { parser in
            while let entry = try? parser.next() {
                if entry == .sample {
                    series.append(String(decoding: parser.series, as: UTF8.self))
                    names.append(String(decoding: parser.metricName, as: UTF8.self))
                }
            }
        }
        #expect(series == ["m{a=\"1\"}", "n", "o { b = \"\\\"\" }"])
        #expect(names == ["m", "n", "o"])
    }

    @Test(arguments: [
        ("m{a=\"b\" 1\n", "line 1: expected \",\" or \"}\" after a label value, got \"1\""),
        ("m{a=b} 1\n", "line 1: expected a quoted label value, got \"b}\""),
        ("m{=\"b\"} 1\n", "line 1: expected a label name or \"}\", got \"=\\\"b\\\"}\""),
        ("m{1a=\"b\"} 1\n", "line 1: expected a label name or \"}\", got \"1a=\\\"b\\\"}\""),
        ("m{a-b=\"c\"} 1\n", "line 1: expected \"=\" after label name \"a\", got \"-b=\\\"c\\\"}\""),
        ("m{a=\"b} 1\n", "line 1: invalid label value \"\\\"b} 1\\n\": no closing quote"),
        ("m{a=\"b\\", "line 1: invalid label value \"\\\"b\\\\\": no closing quote"),
        ("m{a=\"b\"", "line 1: unexpected end of data in the label set"),
        ("m{", "line 1: unexpected end of data in the label set"),
        ("m abc\n", "line 1: invalid value \"abc\" for metric \"m\""),
        ("m\n", "line 1: expected a value after the metric, got \"\\n\""),
        ("m", "line 1: expected a value after the metric, got end of data"),
        ("m 1 abc\n", "line 1: expected a timestamp or a new line after the value, got \"abc\""),
        ("m 1 12 13\n", "line 1: expected a new line after the timestamp, got \"13\""),
        ("m 1 12x\n", "line 1: expected a new line after the timestamp, got \"x\""),
        ("m 1 99999999999999999999\n", "line 1: expected a timestamp or a new line after the value, got \"99999999999999999999\""),
        ("m 1\r\n", "line 1: invalid value \"1\\r\" for metric \"m\""),
        ("m 1{\n", "line 1: expected a timestamp or a new line after the value, got \"{\""),
        ("{a=\"b\"} 1\n", "line 1: expected a metric name or \"#\", got \"{a=\\\"b\\\"}\""),
        ("1m 1\n", "line 1: expected a metric name or \"#\", got \"1m\""),
        ("m.x 1\n", "line 1: invalid value \".x\" for metric \"m\""),
        ("# TYPE m bogus\n", "line 1: invalid metric type \"bogus\""),
        ("# TYPE m gaugehistogram\n", "line 1: invalid metric type \"gaugehistogram\""),
        ("# TYPE m\n", "line 1: invalid metric type \"\""),
        ("# TYPE 1m counter\n", "line 1: expected a metric name after TYPE, got \"1m\""),
        ("# HELP m-x help\n", "line 1: expected a space after the metric name in HELP, got \"-x\""),
        ("a 1\nb 2\n\nc{x=\"1\",,} 3\n", "line 4: expected a label name or \"}\", got \",}\""),
        ("\u{0}m 1\n", "line 1: expected a metric name or \"#\", got \"\\u{0}m\""),
    ])
    func malformedLinesFailWithTheirLineNumber(page: String, message: String) {
        #expect(parseError(page, .prometheusText) == message)
    }
}
