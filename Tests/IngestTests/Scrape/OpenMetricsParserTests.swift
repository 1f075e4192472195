import Testing

@testable import Ingest

/// OpenMetrics 1.0: strict whitespace, seconds timestamps, UNIT, exemplars and `# EOF`.
@Suite struct OpenMetricsParserTests {
    @Test func everyMetricTypeOfTheSpecificationParses() throws {
        let page = """
            # TYPE acme_http_router_request_seconds summary
            # UNIT acme_http_router_request_seconds seconds
            # HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
            acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
            acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
            acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
            # TYPE go_goroutines gauge
            go_goroutines 69
            # TYPE process_cpu_seconds counter
            # UNIT process_cpu_seconds seconds
            process_cpu_seconds_total 4.20072246e+06
            process_cpu_seconds_created 1.6e9
            # TYPE rpc_latency histogram
            rpc_latency_bucket{le="0.01"} 0 # {trace_id="KOO5S4vxi0o"} 0.004 1600000000.5
            rpc_latency_bucket{le="+Inf"} 17 # {} 12
            rpc_latency_sum 324789.3
            rpc_latency_count 17
            # TYPE queue_size gaugehistogram
            queue_size_bucket{le="10"} 2
            queue_size_gcount 2
            queue_size_gsum 11
            # TYPE build info
            build_info{version="1.2"} 1
            # TYPE feature stateset
            feature{feature="a"} 1
            # TYPE mystery unknown
            mystery 3 1600000000
            # EOF
            """
        let entries = try parseAll(page + "\n", .openMetrics).get()
        let sampleEntries = entries.compactMap { if case .sample(let s) = $0 { s } else { nil } }
        #expect(
            sampleEntries == [
                ParsedSample("acme_http_router_request_seconds_sum", ["path=/api/v1", "method=GET"], 9036.32, type: .summary, suffix: .sum),
                ParsedSample("acme_http_router_request_seconds_count", ["path=/api/v1", "method=GET"], 807283, type: .summary, suffix: .count),
                ParsedSample("acme_http_router_request_seconds_created", ["path=/api/v1", "method=GET"], 1_605_281_325, type: .summary, suffix: .created),
                ParsedSample("go_goroutines", [], 69, type: .gauge),
                ParsedSample("process_cpu_seconds_total", [], 4.20072246e+06, type: .counter, suffix: .total),
                ParsedSample("process_cpu_seconds_created", [], 1.6e9, type: .counter, suffix: .created),
                ParsedSample("rpc_latency_bucket", ["le=0.01"], 0, type: .histogram, suffix: .bucket, exemplar: true),
                ParsedSample("rpc_latency_bucket", ["le=+Inf"], 17, type: .histogram, suffix: .bucket, exemplar: true),
                ParsedSample("rpc_latency_sum", [], 324789.3, type: .histogram, suffix: .sum),
                ParsedSample("rpc_latency_count", [], 17, type: .histogram, suffix: .count),
                ParsedSample("queue_size_bucket", ["le=10"], 2, type: .gaugeHistogram, suffix: .bucket),
                ParsedSample("queue_size_gcount", [], 2, type: .gaugeHistogram, suffix: .gcount),
                ParsedSample("queue_size_gsum", [], 11, type: .gaugeHistogram, suffix: .gsum),
                ParsedSample("build_info", ["version=1.2"], 1, type: .info, suffix: .info),
                ParsedSample("feature", ["feature=a"], 1, type: .stateSet),
                ParsedSample("mystery", [], 3, ts: 1_600_000_000_000),
            ])
        #expect(entries.contains(.unit("acme_http_router_request_seconds", "seconds")))
        #expect(entries.contains(.help("acme_http_router_request_seconds", "Latency though all of ACME's HTTP request router.")))
        #expect(entries.contains(.type("queue_size", .gaugeHistogram)))
        // `# EOF` without its newline ends the data as well.
        #expect(parseError(page, .openMetrics) == nil)
    }

    @Test(arguments: [
        ("1520879607.789", 1_520_879_607_789),
        ("1520879607", 1_520_879_607_000),
        ("1520879607.7", 1_520_879_607_700),
        ("1520879607.78999", 1_520_879_607_789),
        ("0", 0),
        ("-1.5", -1500),
        ("1.5e3", 1_500_000),
        ("+2", 2000),
    ] as [(String, Int64)])
    func timestampsAreSecondsAndBecomeExactMilliseconds(written: String, ms: Int64) {
        #expect(samples("m 1 \(written)\n# EOF\n", .openMetrics) == [ParsedSample("m", [], 1, ts: ms)])
    }

    @Test func textTimestampsAreMillisecondsAlready() {
        #expect(samples("m 1 1520879607789\n", .prometheusText) == [ParsedSample("m", [], 1, ts: 1_520_879_607_789)])
    }

    @Test func exemplarsAreValidatedAndIgnored() {
        let page = "c_total 5 # {id=\"x\",span=\"y\\\"z\"} 1.5 1600000000.123\nd_total 6 1600000000 # {} 2\n# EOF\n"
        #expect(
            samples(page, .openMetrics) == [
                ParsedSample("c_total", [], 5, exemplar: true),
                ParsedSample("d_total", [], 6, ts: 1_600_000_000_000, exemplar: true),
            ])
    }

    @Test func helpEscapesIncludeTheQuote() throws {
        let entries = try parseAll(#"# HELP m a\\b\nc\"d"# + "\n# EOF\n", .openMetrics).get()
        #expect(entries == [.help("m", "a\\b\nc\"d")])
    }

    @Test(arguments: [
        ("m 1\n", "line 2: data does not end with \"# EOF\""),
        ("m 1", "line 1: data does not end with \"# EOF\""),
        ("", "line 1: data does not end with \"# EOF\""),
        ("# EOF\nm 1\n", "line 2: unexpected data after \"# EOF\""),
        ("# EOF\n\n", "line 2: unexpected data after \"# EOF\""),
        ("m 1\n\n# EOF\n", "line 2: unexpected blank line"),
        ("# a comment\n# EOF\n", "line 1: expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\", got \"#\""),
        ("#HELP m x\n# EOF\n", "line 1: expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\", got \"#HELP\""),
        ("m  1\n# EOF\n", "line 1: expected a value after the metric, got \" 1\""),
        ("m\t1\n# EOF\n", "line 1: expected a space and a value after the metric, got \"\\t1\""),
        ("m{a=\"1\", b=\"2\"} 1\n# EOF\n", "line 1: expected a label name or \"}\", got \" b=\\\"2\\\"}\""),
        ("m {a=\"1\"} 1\n# EOF\n", "line 1: invalid value \"{a=\\\"1\\\"}\" for metric \"m\""),
        ("m{a=\"x\ny\"} 1\n# EOF\n", "line 1: invalid label value \"\\\"x\": new line before the closing quote"),
        ("m 1 abc\n# EOF\n", "line 1: invalid timestamp \"abc\""),
        ("m 1 NaN\n# EOF\n", "line 1: invalid timestamp \"NaN\""),
        ("m 1 \n# EOF\n", "line 1: invalid timestamp \"\""),
        ("m 1 2 3\n# EOF\n", "line 1: expected \"# {\" (an exemplar) or a new line after the timestamp, got \"3\""),
        ("m 1 # {a=\"b\"}\n# EOF\n", "line 1: expected a space and a value after the exemplar's labels, got \"\\n\""),
        ("m 1 # {a=\"b\"} x\n# EOF\n", "line 1: invalid exemplar value \"x\""),
        ("m 1 # a\n# EOF\n", "line 1: expected \"# {\" to start an exemplar, got \"#\""),
        ("m 1 # {a=\"b\"} 1 z\n# EOF\n", "line 1: invalid timestamp \"z\""),
        ("# TYPE m untyped\n# EOF\n", "line 1: invalid metric type \"untyped\""),
        ("# UNIT m_bytes seconds\n# EOF\n", "line 1: unit \"seconds\" is not a suffix of metric \"m_bytes\""),
        ("# UNIT seconds seconds\n# EOF\n", "line 1: unit \"seconds\" is not a suffix of metric \"seconds\""),
        ("# TYPE m gauge", "line 1: data does not end with \"# EOF\""),
        ("m 1\r\n# EOF\n", "line 1: invalid value \"1\\r\" for metric \"m\""),
        ("# EOF \n", "line 1: expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\", got \"#\""),
    ])
    func malformedLinesFailWithTheirLineNumber(page: String, message: String) {
        #expect(parseError(page, .openMetrics) == message)
    }

    @Test func anEmptyUnitIsAllowed() throws {
        #expect(try parseAll("# UNIT m \n# EOF\n", .openMetrics).get() == [.unit("m", "")])
    }

    @Test func trailingCommasInLabelSetsAreAcceptedAsPrometheusDoes() {
        #expect(samples("m{a=\"1\",} 1\n# EOF\n", .openMetrics) == [ParsedSample("m", ["a=1"], 1)])
    }

    @Test(arguments: [
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", ExpositionFormat.openMetrics),
        ("Application/OpenMetrics-Text", .openMetrics),
        ("text/plain; version=0.0.4; charset=utf-8", .prometheusText),
        ("text/plain", .prometheusText),
        ("text/html", .prometheusText),
        ("", .prometheusText),
        ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily", .prometheusText),
    ])
    func theFormatComesFromTheContentTypeWithAFallback(contentType: String, format: ExpositionFormat) {
        #expect(ExpositionFormat(contentType: contentType) == format)
    }

    @Test func aMissingContentTypeUsesTheConfiguredFallback() {
        #expect(ExpositionFormat(contentType: nil) == .prometheusText)
        #expect(ExpositionFormat(contentType: nil, fallback: .openMetrics) == .openMetrics)
        #expect(ExpositionFormat(contentType: "text/html", fallback: .openMetrics) == .openMetrics)
    }
}
