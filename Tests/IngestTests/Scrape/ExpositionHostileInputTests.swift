import Testing

@testable import Ingest

/// Truncated, mutated, huge and random bodies: the parser answers with entries or one error, never
/// a crash, and its error always names a line of the input.
@Suite struct ExpositionHostileInputTests {
    static let textPage = """
        # HELP http_requests_total The total number of HTTP requests.
        # TYPE http_requests_total counter
        http_requests_total{method="post",code="200"} 1027 1395066363000
        msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
        # TYPE h histogram
        h_bucket{le="0.5"} 4
        h_bucket { le = "+Inf" , } 5
        h_sum NaN
        h_count -Inf 12

        metric_without_timestamp_and_labels 12.47

        """
    static let openMetricsPage = """
        # TYPE rpc_latency_seconds histogram
        # UNIT rpc_latency_seconds seconds
        # HELP rpc_latency_seconds Latency \\"quoted\\".
        rpc_latency_seconds_bucket{le="0.01"} 0 # {trace_id="KOO5S4vxi0o"} 0.004 1600000000.5
        rpc_latency_seconds_bucket{le="+Inf"} 17 1600000000.123 # {} 12
        rpc_latency_seconds_sum 324789.3
        rpc_latency_seconds_count 17
        # TYPE c counter
        c_total{a="\\\\\\n\\""} 1e3 -5
        # EOF

        """

    /// Checks that parsing `bytes` ends in success or in an error on a line the input has.
    func checkParses(_ bytes: [UInt8], _ format: ExpositionFormat, _ context: @autoclosure () -> String) {
        let lines = bytes.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        switch parseAll(bytes, format) {
        case .success: break
        case .failure(let error):
            #expect(error.line >= 1 && error.line <= lines, "\(context()): \(error) but the input has \(lines) lines")
            #expect(!error.message.isEmpty)
        }
    }

    @Test(arguments: [ExpositionFormat.prometheusText, .openMetrics])
    func everyPrefixOfAValidPageParsesOrFailsCleanly(format: ExpositionFormat) {
        let page = Array((format == .openMetrics ? Self.openMetricsPage : Self.textPage).utf8)
        #expect(parseError(String(decoding: page, as: UTF8.self), format) == nil, "the whole page is valid")
        for length in 0...page.count {
            checkParses(Array(page.prefix(length)), format, "prefix of \(length) bytes")
        }
    }

    @Test(arguments: [ExpositionFormat.prometheusText, .openMetrics])
    func everySingleByteMutationParsesOrFailsCleanly(format: ExpositionFormat) {
        let page = Array((format == .openMetrics ? Self.openMetricsPage : Self.textPage).utf8)
        let hostile: [UInt8] = [0x22, 0x5C, 0x7B, 0x7D, 0x0A, 0x20, 0x09, 0x23, 0x3D, 0x2C, 0x00, 0xFF, 0x80, 0x65, 0x2E, 0x2D, 0x0D]
        for position in page.indices {
            for byte in hostile {
                var mutated = page
                mutated[position] = byte
                checkParses(mutated, format, "byte \(byte) at \(position)")
            }
            var removed = page
            removed.remove(at: position)
            checkParses(removed, format, "byte removed at \(position)")
        }
    }

    @Test(arguments: [ExpositionFormat.prometheusText, .openMetrics])
    func randomBytesParseOrFailCleanly(format: ExpositionFormat) {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("m_{}=\",\\ \n#0123456789.e+-InfNaTYPEHLUO".utf8) + [0, 0xFF, 0x09]
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...200, using: &rng)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            checkParses(bytes, format, "random \(bytes)")
        }
    }

    @Test func aHugeLabelValueIsOneSample() throws {
        let value = String(repeating: "x", count: 4 << 20)
        let parsed = samples("m{a=\"\(value)\"} 1\n", .prometheusText)
        #expect(parsed.count == 1)
        #expect(parsed.first?.labels.first?.count == value.count + 2)
    }

    @Test func aSampleWithAHundredThousandLabelsParses() {
        var page = "m{"
        for i in 0..<100_000 { page += "l\(i)=\"\(i)\"," }
        page += "} 1\n"
        let parsed = samples(page, .prometheusText)
        #expect(parsed.first?.labels.count == 100_000)
    }

    @Test func aBodyOfTwoHundredThousandSamplesParses() {
        var page = "# TYPE m counter\n"
        for i in 0..<200_000 { page += "m{i=\"\(i)\"} \(i)\n" }
        page += "# EOF\n"
        #expect(samples(page, .openMetrics).count == 200_000)
    }

    @Test(arguments: ([
        (String(repeating: "{", count: 1 << 20), "line 1: expected a metric name or \"#\""),
        ("m{a=\"" + String(repeating: "\\", count: 1 << 20) + "\"} 1\n", nil),
        ("m{a=\"" + String(repeating: "\\", count: (1 << 20) + 1) + "\"} 1\n", "line 1: invalid label value"),
        ("# " + String(repeating: "c", count: 1 << 20), nil),
        (String(repeating: "\n", count: 1 << 20) + "m x", "line 1048577: invalid value \"x\""),
        ("m" + String(repeating: "_", count: 1 << 20) + " 1", nil),
        ("m " + String(repeating: "1", count: 1 << 20), "line 1: invalid value"),
        (String(repeating: "m 1 2\n", count: 100_000) + "m 1 2 3", "line 100001: expected a new line after the timestamp"),
    ] as [(String, String?)]).map { HostilePage($0.0, $0.1) })
    func pathologicalBodiesEndInTimeWithTheRightAnswer(_ hostile: HostilePage) {
        let error = parseError(hostile.page, .prometheusText)
        if let errorPrefix = hostile.errorPrefix {
            #expect(error?.hasPrefix(errorPrefix) == true, "\(String(describing: error))")
            #expect((error?.count ?? 0) < 200, "the error quotes a bounded excerpt")
        } else {
            #expect(error == nil)
        }
    }
}

/// A pathological page and the error it must end with; described by its size and first bytes, so the
/// test log does not print a megabyte per case.
struct HostilePage: CustomTestStringConvertible, Sendable {
    let page: String
    let errorPrefix: String?
    init(_ page: String, _ errorPrefix: String?) {
        self.page = page
        self.errorPrefix = errorPrefix
    }
    var testDescription: String {
        let head = page.utf8.prefix(12).map { $0 == 10 ? "\\n" : String(UnicodeScalar($0)) }.joined()
        return "\(page.utf8.count) bytes starting \"\(head)…\""
    }
}
