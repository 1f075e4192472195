import Testing
import TimeSeries
@testable import Alerting

func render(_ source: String, value: Double = 0, labels: [String: String] = [:], external: [String: String] = [:],
            url: String = "") throws -> String {
    try Template.parse(source).render(
        TemplateContext(labels: Labels(labels), value: value, externalLabels: Labels(external), externalURL: url))
}

@Suite("Templates")
struct TemplateTests {
    /// (template, $value, expected) — outputs are Prometheus's (Go) outputs for the same input.
    static let functionCases: [(String, Double, String)] = [
        ("{{ $value }}", 0.05, "0.05"),
        ("{{ $value }}", 1_000_000, "1e+06"),
        ("{{ $value }}", 123_456, "123456"),
        ("{{ $value }}", 0.00001, "1e-05"),
        ("{{ $value }}", 3, "3"),
        ("{{ $value }}", .nan, "NaN"),
        ("{{ $value }}", -.infinity, "-Inf"),
        ("{{ .Value }}", 2.5, "2.5"),
        ("{{ humanize $value }}", 1234.5678, "1.235k"),
        ("{{ humanize $value }}", 0.012, "12m"),
        ("{{ humanize $value }}", 0, "0"),
        ("{{ humanize $value }}", 2_500_000_000, "2.5G"),
        ("{{ $value | humanize }}", 999, "999"),
        ("{{ humanize1024 $value }}", 1024, "1ki"),
        ("{{ humanize1024 $value }}", 1_572_864, "1.5Mi"),
        ("{{ humanize1024 $value }}", 0.5, "0.5"),
        ("{{ humanizePercentage $value }}", 0.0534, "5.34%"),
        ("{{ $value | humanizePercentage }}", 0.25, "25%"),
        ("{{ humanizeDuration $value }}", 0, "0s"),
        ("{{ humanizeDuration $value }}", 0.1234, "123.4ms"),
        ("{{ humanizeDuration $value }}", 1.5, "1.5s"),
        ("{{ humanizeDuration $value }}", 90, "1m 30s"),
        ("{{ humanizeDuration $value }}", 3960, "1h 6m 0s"),
        ("{{ humanizeDuration $value }}", 93784, "1d 2h 3m 4s"),
        ("{{ humanizeDuration $value }}", -90, "-1m 30s"),
        ("{{ humanizeDuration $value }}", 0.000_002, "2us"),
        ("{{ printf \"%.2f\" $value }}", 3.14159, "3.14"),
        ("{{ printf \"%.0f%%\" $value }}", 99.5, "100%"),
        ("{{ printf \"%5.1f|\" $value }}", 2.25, "  2.2|"),
        ("{{ printf \"%-6.1f|\" $value }}", 2.25, "2.2   |"),
        ("{{ printf \"%e\" $value }}", 1234.5, "1.234500e+03"),
        ("{{ printf \"%g\" $value }}", 1e21, "1e+21"),
        ("{{ printf \"%v and %s\" $value \"x\" }}", 0.5, "0.5 and x"),
        ("{{ printf \"%d\" 42 }}", 0, "42"),
        ("{{ printf \"%05d\" 42 }}", 0, "00042"),
        ("{{ printf \"%x\" 255 }}", 0, "ff"),
        ("{{ printf \"%q\" \"a\\\"b\" }}", 0, "\"a\\\"b\""),
        ("{{ printf \"%d\" $value }}", 1.5, "%!d(float64=1.5)"),
        ("{{ printf \"%s %s\" \"a\" }}", 0, "a %!s(MISSING)"),
        ("{{ printf \"%s\" \"a\" \"b\" }}", 0, "a%!(EXTRA string=b)"),
        ("{{ printf \"%.3s\" \"abcdef\" }}", 0, "abc"),
        ("{{ toUpper \"straße\" }}", 0, "STRAßE"),
        ("{{ \"ABC\" | toLower }}", 0, "abc"),
        ("{{ title \"api error-rate high\" }}", 0, "Api Error-Rate High"),
        ("{{ reReplaceAll \"(.*):.*\" \"$1\" \"host:9090\" }}", 0, "host"),
        ("{{ reReplaceAll \"o\" \"0\" \"foo boo\" }}", 0, "f00 b00"),
        ("{{ reReplaceAll \"(?P<h>[a-z]+)-(\\\\d+)\" \"${h}#$2\" \"web-12\" }}", 0, "web#12"),
        ("{{ reReplaceAll \"x\" \"$$\" \"axb\" }}", 0, "a$b"),
    ]

    @Test("functions and value printing match Prometheus's output", arguments: 0..<functionCases.count)
    func functions(index: Int) throws {
        let (source, value, expected) = Self.functionCases[index]
        #expect(try render(source, value: value) == expected, "\(source)")
    }

    @Test("labels, external labels and the external URL")
    func variables() throws {
        let labels = ["instance": "10.0.0.1:9090", "job": "api"]
        #expect(try render("{{ $labels.instance }} of {{ $labels.job }}", labels: labels) == "10.0.0.1:9090 of api")
        #expect(try render("{{ .Labels.job }}", labels: labels) == "api")
        #expect(try render("[{{ $labels.missing }}]", labels: labels) == "[]")
        #expect(try render("{{ $labels }}", labels: labels) == "map[instance:10.0.0.1:9090 job:api]")
        #expect(try render("{{ $externalLabels.host }}", external: ["host": "api-1"]) == "api-1")
        #expect(try render("{{ .ExternalLabels.host }}", external: ["host": "api-1"]) == "api-1")
        #expect(try render("{{ $externalURL }}/alerts", url: "https://x") == "https://x/alerts")
        #expect(try render("{{ $labels.job | toUpper | printf \"%s!\" }}", labels: labels) == "API!")
        #expect(try render("{{ printf \"%s=%s\" \"job\" (toUpper $labels.job) }}", labels: labels) == "job=API")
    }

    @Test("trim markers and comments")
    func trimAndComments() throws {
        #expect(try render("a  {{- $value -}}  b", value: 1) == "a1b")
        #expect(try render("a {{/* note */}}b") == "a b")
        #expect(try render("a {{- /* note */ -}} b") == "ab")
        #expect(try render("{{ `raw $value` }}") == "raw $value")
        #expect(try render("no actions at all") == "no actions at all")
    }

    @Test("a label that is not a number renders Prometheus's error text")
    func runtimeError() throws {
        let out = try render("{{ humanize $labels.x }}", labels: ["x": "abc"])
        #expect(out.hasPrefix("<error expanding template:") && out.contains("humanize") && out.contains("abc"))
        #expect(try render("{{ humanize $labels.x }}", labels: ["x": "2048"]) == "2.048k")
    }

    /// Constructs outside the subset: each is refused when the file loads, naming the construct.
    static let refused: [(String, String, Int)] = [
        ("{{ if gt $value 1.0 }}x{{ end }}", "template action \"if\" is not supported", 3),
        ("{{ range $labels }}x{{ end }}", "template action \"range\" is not supported", 3),
        ("{{ with $value }}x{{ end }}", "template action \"with\" is not supported", 3),
        ("{{ define \"x\" }}{{ end }}", "template action \"define\" is not supported", 3),
        ("{{ template \"x\" }}", "template action \"template\" is not supported", 3),
        ("{{ query \"up\" }}", "template function \"query\" is not supported", 3),
        ("{{ index $labels \"a\" }}", "template function \"index\" is not supported", 3),
        ("{{ $x := 1 }}", "template variable declaration \"$x :=\" is not supported", 3),
        ("{{ $foo }}", "undefined template variable \"$foo\"", 3),
        ("{{ $lables.x }}", "undefined template variable \"$lables\" (did you mean \"$labels\"?)", 3),
        ("{{ humanise $value }}", "unknown template function \"humanise\" (did you mean \"humanize\"?)", 3),
        ("{{ .Foo }}", "unknown template field \".Foo\"", 3),
        ("{{ . }}", "the data root", 3),
        ("{{ $value.x }}", "$value has no field \"x\"", 3),
        ("{{ $labels.a.b }}", "is a string and has no field \"b\"", 3),
        ("{{ $value", "unclosed action", 0),
        ("{{ }}", "empty action", 3),
        ("{{ \"abc }}", "unterminated string", 3),
        ("{{ humanize }}", "humanize takes 1 argument, got 0", 3),
        ("{{ humanize 1 2 }}", "humanize takes 1 argument, got 2", 3),
        ("{{ $value | toUpper }}", "toUpper takes a string, got float64", 12),
        ("{{ printf 1 }}", "printf's first argument must be the format string", 3),
        ("{{ reReplaceAll \"a\" \"b\" }}", "reReplaceAll takes 3 arguments", 3),
        ("{{ reReplaceAll \"(\" \"b\" \"c\" }}", "reReplaceAll: error parsing regexp", 3),
        ("{{ $value | 3 }}", "cannot pipe into a number", 3),
        ("{{ $value 3 }}", "only a function takes arguments", 10),
        ("{{ humanize (toUpper $value) }}", "toUpper takes a string", 13),
        ("{{ 'a' }}", "character constants", 3),
        ("{{ true }}", "template constant \"true\" is not supported", 3),
        ("{{ /* x }}", "unclosed comment", 3),
    ]

    @Test("anything outside the subset is a load-time error naming the construct, at its offset", arguments: 0..<refused.count)
    func refusedConstructs(index: Int) {
        let (source, message, offset) = Self.refused[index]
        #expect {
            _ = try Template.parse(source)
        } throws: { error in
            guard let e = error as? TemplateError else { return false }
            return e.message.contains(message) && e.offset == offset
        }
    }

    @Test("hostile templates: huge, deeply nested, truncated at every byte")
    func hostile() {
        _ = try? Template.parse(String(repeating: "{{ $value }}", count: 10_000))
        _ = try? Template.parse("{{ " + String(repeating: "(", count: 1000) + "$value" + String(repeating: ")", count: 1000) + " }}")
        let source = "{{- printf \"%.2f %s\" $value ($labels.job | toUpper) | reReplaceAll \"(a)\" \"$1\" -}} {{/* c */}}"
        for n in 0...source.utf8.count {
            let prefix = String(decoding: Array(source.utf8)[..<n], as: UTF8.self)
            if let t = try? Template.parse(prefix) { _ = t.render(TemplateContext(labels: Labels(), value: 1)) }
        }
        #expect(throws: TemplateError.self) { try Template.parse(String(repeating: "x", count: 70_000)) }
    }
}
