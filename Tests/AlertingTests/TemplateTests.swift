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
        // Prometheus 3's cases.Title: an apostrophe or period inside a word does not start another.
        ("{{ title \"it's e.g. x_y 1st\" }}", 0, "It's E.g. X_y 1st"),
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

    @Test("a label that is not a number renders Prometheus's error text, with the template's name and position")
    func runtimeError() throws {
        let template = try Template.parse("{{ humanize $labels.x }}", ruleName: "Disk")
        let out = template.render(TemplateContext(labels: Labels(["x": "abc"]), value: 0))
        #expect(out == "<error expanding template: error executing template __alert_Disk: template: __alert_Disk:1:115: executing \"__alert_Disk\" at <humanize $labels.x>: error calling humanize: strconv.ParseFloat: parsing \"abc\": invalid syntax>")
        guard case .failure(let e) = template.execute(TemplateContext(labels: Labels(["x": "abc"]), value: 0)) else { Issue.record(); return }
        #expect(e.offset == 3)
        #expect(try render("{{ humanize $labels.x }}", labels: ["x": "2048"]) == "2.048k")
    }

    /// (template, expected output) over labels {job="api", instance="host-1:9090"} and $value 0.75.
    static let language: [(String, String)] = [
        ("{{ if gt $value 0.5 }}high{{ else }}low{{ end }}", "high"),
        ("{{ if gt $value 0.9 }}a{{ else if gt $value 0.5 }}b{{ else }}c{{ end }}", "b"),
        ("{{ if and (eq $labels.job \"api\") (lt $value 1.0) }}yes{{ end }}", "yes"),
        ("{{ if or false \"\" 0 }}t{{ else }}f{{ end }}", "f"),
        ("{{ if not $labels.missing }}absent{{ end }}", "absent"),
        ("{{ with $labels.job }}job={{ . }}{{ end }}", "job=api"),
        ("{{ with $labels.nothing }}x{{ else }}none{{ end }}", "none"),
        ("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", "instance=host-1:9090;job=api;"),
        ("{{ range $labels }}{{ . }} {{ end }}", "host-1:9090 api "),
        ("{{ range $i, $v := args \"a\" \"b\" }}{{ $i }}:{{ $v }} {{ end }}", "arg0:a arg1:b "),
        ("{{ range $k, $v := $labels }}{{ if eq $k \"job\" }}{{ break }}{{ end }}{{ $k }}{{ end }}", "instance"),
        ("{{ range $k, $v := $labels }}{{ if eq $k \"instance\" }}{{ continue }}{{ end }}{{ $k }}{{ end }}", "job"),
        ("{{ range (args 1).missing }}x{{ else }}empty{{ end }}", "empty"),
        ("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2"),
        ("{{ $total := 0.0 }}{{ $total }}", "0"),
        ("{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" $labels.job }}", "[api]"),
        ("{{ block \"b\" $value }}<{{ . }}>{{ end }}", "<0.75>"),
        ("{{ len $labels }} {{ len \"abc\" }} {{ index $labels \"job\" }} {{ slice \"abcdef\" 1 3 }}", "2 3 api bc"),
        ("{{ print 1 2 \"x\" 3 }}|{{ println \"a\" 1 }}|", "1 2x3|a 1\n|"),
        ("{{ html \"<b>&\" }} {{ js \"a'b<\" }} {{ urlquery \"a b&c\" }}", "&lt;b&gt;&amp; a\\'b\\u003C a+b%26c"),
        ("{{ $labels.instance | stripPort }} {{ \"a.b.c:80\" | stripDomain }} {{ \"10.0.0.1:80\" | stripDomain }}", "host-1 a:80 10.0.0.1:80"),
        ("{{ match \"^ap\" $labels.job }} {{ match \"^x\" $labels.job }}", "true false"),
        ("{{ graphLink \"rate(x[5m])\" }}", "/graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=0"),
        ("{{ tableLink \"up\" }}", "/graph?g0.expr=up&g0.tab=1"),
        ("{{ parseDuration \"1h30m\" }} {{ parseDuration \"-5m\" }}", "5400 -300"),
        ("{{ humanizeTimestamp 1600000000 }}", "2020-09-13 12:26:40 +0000 UTC"),
        ("{{ toTime 1600000000.5 }}", "2020-09-13 12:26:40.5 +0000 UTC"),
        ("{{ (toTime 1600000000).Format \"2006-01-02T15:04:05Z07:00\" }}", "2020-09-13T12:26:40Z"),
        ("{{ toDuration 90.5 }} {{ (toDuration 3600).Hours }}", "1m30.5s 1"),
        ("{{ safeHtml \"<i>\" }} {{ \"x\" | printf \"%s%s\" \"y\" }}", "<i> yx"),
        ("{{ (args 1 \"a\").arg1 }} {{ (args 1).missing }}", "a <no value>"),
        ("{{ . }}", "{map[instance:host-1:9090 job:api] map[] http://x 0.75}"),
        ("{{ $ }}", "{map[instance:host-1:9090 job:api] map[] http://x 0.75}"),
        ("{{ printf \"%T %T %T %T\" $value 1 \"s\" $labels }}", "float64 int string map[string]string"),
        ("a  {{- 1 -}}  b {{- /* c */ -}} c", "a1bc"),
        ("{{ 0x1F }} {{ 1e3 }} {{ 'a' }} {{ 1_000 }} {{ -2 }}", "31 1000 97 1000 -2"),
        ("{{ pathPrefix }} {{ externalURL }}", " http://x"),
    ]

    @Test("the whole language: control structures, variables, definitions and the functions", arguments: 0..<language.count)
    func languageRenders(index: Int) throws {
        let (source, expected) = Self.language[index]
        #expect(try render(source, value: 0.75, labels: ["job": "api", "instance": "host-1:9090"], url: "http://x") == expected, "\(source)")
    }

    @Test("query runs PromQL through the context; first, value, label, sortByLabel and range read its result")
    func query() throws {
        let samples = [
            QuerySample(labels: [("__name__", "up"), ("job", "b")], value: 0),
            QuerySample(labels: [("__name__", "up"), ("job", "a")], value: 1),
        ]
        let calls = Counter()
        let context = TemplateContext(labels: Labels(), value: 0, time: 1_600_000_000_000) { q throws(TemplateQueryError) in
            calls.add()
            guard q == "up" else { throw TemplateQueryError(message: "unknown \(q)") }
            return samples
        }
        func out(_ s: String) throws -> String { try Template.parse(s, ruleName: "Q").render(context) }
        #expect(try out("{{ query \"up\" | first | value }}") == "0")
        #expect(try out("{{ with query \"up\" }}{{ . | first | label \"job\" }}{{ end }}") == "b")
        #expect(try out("{{ range query \"up\" | sortByLabel \"job\" }}{{ .Labels.job }}={{ .Value }} {{ end }}") == "a=1 b=0 ")
        #expect(try out("{{ len (query \"up\") }} {{ now }}") == "2 1.6e+09")
        #expect(try out("{{ query \"bad\" }}").hasSuffix("error calling query: unknown bad>"))
        #expect(try out("{{ query \"up\" | first | strvalue }}") == "")
        #expect(calls.value == 6)
    }

    final class Counter: @unchecked Sendable {
        var value = 0
        func add() { value += 1 }
    }

    /// Execution errors as Go words them (the part after the template's name and position).
    static let executionErrors: [(String, String)] = [
        ("{{ gt $value 1 }}", "error calling gt: incompatible types for comparison"),
        ("{{ $value | toUpper }}", "wrong type for value; expected string; got float64"),
        ("{{ humanize }}", "wrong number of args for humanize: want 1 got 0"),
        ("{{ humanize 1 2 }}", "wrong number of args for humanize: want 1 got 2"),
        ("{{ printf 1 }}", "expected string; found 1"),
        ("{{ $labels.job 1 }}", "job is not a method but has arguments"),
        ("{{ $value.x }}", "can't evaluate field x in type float64"),
        ("{{ .Nope }}", "can't evaluate field Nope in type struct"),
        ("{{ template \"missing\" }}", "template \"missing\" not defined"),
        ("{{ range 1.5 }}{{ end }}", "range can't iterate over 1.5"),
        ("{{ index $labels 1 }}", "error calling index: value has type int; should be string"),
        ("{{ index \"ab\" 5 }}", "error calling index: index out of range: 5"),
        ("{{ len 3 }}", "error calling len: len of type int"),
        ("{{ first (query \"x\") }}", "error calling query: no store to query here"),
        ("{{ toTime \"x\" }}", "error calling toTime: strconv.ParseFloat: parsing \"x\": invalid syntax"),
        ("{{ humanize $labels }}", "error calling humanize: can't convert map[string]string to float"),
        ("{{ 1 | 2 }}", ""),
        ("{{ reReplaceAll \"(\" \"b\" \"c\" }}", "error calling reReplaceAll: regexp: Compile(\"(\")"),
    ]

    @Test("execution errors render as Prometheus renders them", arguments: 0..<executionErrors.count)
    func executionError(index: Int) throws {
        let (source, message) = Self.executionErrors[index]
        guard let template = try? Template.parse(source, ruleName: "X") else {
            #expect(message.isEmpty, "\(source) did not parse")
            return
        }
        let out = template.render(TemplateContext(labels: Labels(["job": "api"]), value: 0.5))
        #expect(out.hasPrefix("<error expanding template: error executing template __alert_X: template: __alert_X:1:"), "\(out)")
        #expect(out.contains(message), "\(source): \(out)")
    }

    @Test("rendering is bounded: output, query calls, steps and template depth; each cap is an error naming it")
    func bounds() throws {
        func out(_ s: String) throws -> String {
            try Template.parse(s, ruleName: "B").render(TemplateContext(labels: Labels(), value: 1) { _ throws(TemplateQueryError) in [] })
        }
        #expect(try out("{{ range 100000 }}xxxxxxxxxx{{ end }}").contains("template output exceeds 65536 bytes"))
        #expect(try out("{{ range 30 }}{{ query \"up\" }}{{ end }}").contains("more than 20 query calls"))
        #expect(try out("{{ range 1000000 }}{{ end }}").contains("more than 100000 steps"))
        #expect(try out("{{ define \"r\" }}{{ template \"r\" }}{{ end }}{{ template \"r\" }}").contains("exceeded maximum template depth (100)"))
    }

    /// Templates Prometheus refuses when it loads a rule: Go's parse errors, at their offset.
    static let refused: [(String, String, Int)] = [
        ("{{ $foo }}", "undefined variable \"$foo\"", 3),
        ("{{ $lables.x }}", "undefined variable \"$lables\"", 3),
        ("{{ humanise $value }}", "function \"humanise\" not defined", 3),
        ("{{ tmpl \"x\" . }}", "function \"tmpl\" not defined", 3),
        ("{{ $value", "unclosed action", 9),
        ("{{ }}", "missing value for command", 3),
        ("{{ \"abc }}", "unterminated quoted string", 3),
        ("{{ if true }}x", "unexpected EOF", 14),
        ("{{ end }}", "unexpected {{end}}", 7),
        ("{{ else }}", "unexpected {{else}}", 8),
        ("{{ break }}", "{{break}} outside {{range}}", 9),
        ("{{ range $a, $b, $c := . }}{{ end }}", "too many declarations in range", 15),
        ("{{ $x, $y := 1 }}", "too many declarations in command", 5),
        ("{{ 1 | 2 }}", "non executable command in pipeline stage 2", 9),
        ("{{ .x. }}", "unexpected <.> in operand", 5),
        ("{{ 3k }}", "bad number syntax: \"3k\"", 3),
        ("{{ \"a\".x }}", "unexpected . after term \"\\\"a\\\"\"", 8),
        ("{{ define \"a\" }}x{{ end }}{{ define \"a\" }}y{{ end }}", "multiple definition of template \"a\"", 50),
        ("{{/* x }}", "unclosed comment", 2),
        ("{{ /* x */ }}", "unexpected \"/\" in command", 3),
        ("{{ ( }}", "unclosed left paren", 5),
        ("{{ ) }}", "unexpected right paren", 3),
        ("{{ a.b }}", "function \"a\" not defined", 3),
    ]

    @Test("Go's parse errors are load-time errors, at their offset in the template", arguments: 0..<refused.count)
    func refusedConstructs(index: Int) {
        let (source, message, offset) = Self.refused[index]
        #expect {
            _ = try Template.parse(source)
        } throws: { error in
            guard let e = error as? TemplateError else { return false }
            return e.message.contains(message) && e.offset == offset
        }
        if let e = (try? Template.parse(source)).map({ _ in TemplateError(message: "", offset: -1) }) ?? catchError(source) {
            #expect(e.offset == offset, "\(source): \(e.message) at \(e.offset)")
        }
    }

    func catchError(_ source: String) -> TemplateError? {
        do {
            _ = try Template.parse(source)
            return nil
        } catch {
            return error
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
