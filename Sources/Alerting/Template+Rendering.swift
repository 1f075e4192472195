import Foundation
import RE2
import TimeSeries

extension Template {
    /// Renders the template; a run-time failure renders as Prometheus does: `<error expanding template: …>`.
    public func render(_ context: TemplateContext) -> String {
        var out = ""
        for node in nodes {
            switch node {
            case .text(let t): out += t
            case .action(let p):
                do {
                    out += GoFormat.sprint(try Template.evaluate(p, context))
                } catch {
                    return "<error expanding template: \(error.message)>"
                }
            }
        }
        return out
    }

    struct RenderError: Error {
        var message: String
    }

    static func evaluate(_ p: Pipeline, _ context: TemplateContext) throws(RenderError) -> TemplateValue {
        var piped: TemplateValue?
        for command in p.commands {
            switch command {
            case .operand(let o):
                piped = try evaluate(o, context)
            case .call(let f, let operands, _):
                var args: [TemplateValue] = []
                args.reserveCapacity(operands.count + 1)
                for o in operands { args.append(try evaluate(o, context)) }
                if let piped { args.append(piped) }
                piped = try call(f, args)
            }
        }
        return piped ?? .string("")
    }

    static func evaluate(_ o: Operand, _ context: TemplateContext) throws(RenderError) -> TemplateValue {
        switch o {
        case .string(let s): return .string(s)
        case .int(let i): return .int(i)
        case .float(let f): return .float(f)
        case .pipeline(let p): return try evaluate(p, context)
        case .variable(let v):
            switch v {
            case .value: return .float(context.value)
            case .externalURL: return .string(context.externalURL)
            case .label(let name): return .string(context.labels[name] ?? "")
            case .externalLabel(let name): return .string(context.externalLabels[name] ?? "")
            case .labels: return .map(context.labels.labels.map { ($0.name, $0.value) })
            case .externalLabels: return .map(context.externalLabels.labels.map { ($0.name, $0.value) })
            }
        }
    }

    static func call(_ f: Function, _ args: [TemplateValue]) throws(RenderError) -> TemplateValue {
        switch f {
        case .humanize: return .string(TemplateFunctions.humanize(try float(args[0], f)))
        case .humanize1024: return .string(TemplateFunctions.humanize1024(try float(args[0], f)))
        case .humanizePercentage: return .string(TemplateFunctions.humanizePercentage(try float(args[0], f)))
        case .humanizeDuration: return .string(TemplateFunctions.humanizeDuration(try float(args[0], f)))
        case .toUpper: return .string(TemplateFunctions.mapScalars(string(args[0]), upper: true))
        case .toLower: return .string(TemplateFunctions.mapScalars(string(args[0]), upper: false))
        case .title: return .string(TemplateFunctions.title(string(args[0])))
        case .printf:
            return .string(GoFormat.sprintf(string(args[0]), Array(args.dropFirst())))
        case .reReplaceAll:
            do {
                return .string(try TemplateFunctions.reReplaceAll(pattern: string(args[0]), replacement: string(args[1]), in: string(args[2])))
            } catch {
                throw RenderError(message: "error calling reReplaceAll: \(error.message)")
            }
        }
    }

    static func string(_ v: TemplateValue) -> String {
        if case .string(let s) = v { return s }
        return GoFormat.sprint(v)
    }

    /// Prometheus's `convertToFloat`: numbers as they are, strings parsed.
    static func float(_ v: TemplateValue, _ f: Function) throws(RenderError) -> Double {
        switch v {
        case .float(let d): return d
        case .int(let i): return Double(i)
        case .string(let s):
            if let d = TemplateFunctions.parseGoFloat(s) { return d }
            throw RenderError(message: "error calling \(f.rawValue): strconv.ParseFloat: parsing \(GoFormat.quote(s)): invalid syntax")
        case .map:
            throw RenderError(message: "error calling \(f.rawValue): can't convert map[string]string to float")
        }
    }
}

extension Template {
    /// Checks argument counts and types of every call (all types are known when the file loads).
    static func check(_ nodes: [Node]) throws(TemplateError) {
        for node in nodes {
            if case .action(let p) = node { _ = try check(p) }
        }
    }

    static func check(_ p: Pipeline) throws(TemplateError) -> ValueType {
        var piped: ValueType?
        for command in p.commands {
            switch command {
            case .operand(let o):
                piped = try check(o)
            case .call(let f, let operands, let offset):
                var types: [ValueType] = []
                for o in operands { types.append(try check(o)) }
                if let piped { types.append(piped) }
                try checkCall(f, types, operands: operands, offset: offset)
                piped = .string
            }
        }
        return piped ?? .string
    }

    static func check(_ o: Operand) throws(TemplateError) -> ValueType {
        switch o {
        case .string: .string
        case .int: .int
        case .float: .float
        case .pipeline(let p): try check(p)
        case .variable(let v):
            switch v {
            case .value: .float
            case .labels, .externalLabels: .map
            case .label, .externalLabel, .externalURL: .string
            }
        }
    }

    static func checkCall(_ f: Function, _ types: [ValueType], operands: [Operand], offset: Int) throws(TemplateError) {
        func fail(_ message: String) -> TemplateError { TemplateError(message: message, offset: offset) }
        let name = f.rawValue
        switch f {
        case .humanize, .humanize1024, .humanizePercentage, .humanizeDuration:
            guard types.count == 1 else { throw fail("\(name) takes 1 argument, got \(types.count)") }
            if types[0] == .map { throw fail("\(name) takes a number, got \(types[0])") }
        case .toUpper, .toLower, .title:
            guard types.count == 1 else { throw fail("\(name) takes 1 argument, got \(types.count)") }
            guard types[0] == .string else {
                throw fail("\(name) takes a string, got \(types[0]) — format the number first, e.g. printf \"%.2f\"")
            }
        case .printf:
            guard !types.isEmpty else { throw fail("printf needs a format string") }
            guard types[0] == .string else { throw fail("printf's first argument must be the format string, got \(types[0])") }
        case .reReplaceAll:
            guard types.count == 3 else { throw fail("reReplaceAll takes 3 arguments (pattern, replacement, text), got \(types.count)") }
            for (k, t) in types.enumerated() where t != .string {
                throw fail("reReplaceAll's argument \(k + 1) must be a string, got \(t)")
            }
            if case .string(let pattern)? = operands.first {
                do {
                    _ = try TemplateFunctions.compile(pattern)
                } catch {
                    throw fail("reReplaceAll: \(error.message)")
                }
            }
        }
    }
}

/// The functions Prometheus offers to templates, with its exact output formats.
enum TemplateFunctions {
    static let siPrefixes = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"]
    static let smallPrefixes = ["", "m", "u", "n", "p", "f", "a", "z", "y"]

    /// `humanize`: SI prefixes, 4 significant digits (`1.235k`, `12.5m`).
    static func humanize(_ value: Double) -> String {
        var v = value
        if v == 0 || v.isNaN || v.isInfinite { return GoFormat.formatG(v, precision: 4) }
        if abs(v) >= 1 {
            var k = 0
            while abs(v) >= 1000, k < siPrefixes.count - 1 {
                v /= 1000
                k += 1
            }
            return GoFormat.formatG(v, precision: 4) + siPrefixes[k]
        }
        var k = 0
        while abs(v) < 1, k < smallPrefixes.count - 1 {
            v *= 1000
            k += 1
        }
        return GoFormat.formatG(v, precision: 4) + smallPrefixes[k]
    }

    /// `humanize1024`: binary prefixes (`1ki`, `1.5Mi`).
    static func humanize1024(_ value: Double) -> String {
        var v = value
        if abs(v) <= 1 || v.isNaN || v.isInfinite { return GoFormat.formatG(v, precision: 4) }
        let prefixes = ["", "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"]
        var k = 0
        while abs(v) >= 1024, k < prefixes.count - 1 {
            v /= 1024
            k += 1
        }
        return GoFormat.formatG(v, precision: 4) + prefixes[k]
    }

    /// `humanizePercentage`: a ratio as a percentage (`0.0534` → `5.34%`).
    static func humanizePercentage(_ v: Double) -> String {
        GoFormat.formatG(v * 100, precision: 4) + "%"
    }

    /// `humanizeDuration`: seconds as `1d 2h 3m 4s`, or `1.5s`, `12ms`.
    static func humanizeDuration(_ value: Double) -> String {
        var v = value
        if v.isNaN || v.isInfinite { return GoFormat.formatG(v, precision: 4) }
        if v == 0 { return GoFormat.formatG(v, precision: 4) + "s" }
        if abs(v) >= 1 {
            var sign = ""
            if v < 0 {
                sign = "-"
                v = -v
            }
            let duration = v >= 9.2e18 ? Int64.max : Int64(v)
            let seconds = duration % 60
            let minutes = (duration / 60) % 60
            let hours = (duration / 3600) % 24
            let days = duration / 86400
            if days != 0 { return "\(sign)\(days)d \(hours)h \(minutes)m \(seconds)s" }
            if hours != 0 { return "\(sign)\(hours)h \(minutes)m \(seconds)s" }
            if minutes != 0 { return "\(sign)\(minutes)m \(seconds)s" }
            return sign + GoFormat.formatG(v, precision: 4) + "s"
        }
        var prefix = ""
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if abs(v) >= 1 { break }
            prefix = p
            v *= 1000
        }
        return GoFormat.formatG(v, precision: 4) + prefix + "s"
    }

    /// Go's `strings.ToUpper`/`ToLower`: per-character simple case mapping (`ß` stays `ß`).
    static func mapScalars(_ s: String, upper: Bool) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            let mapped = upper ? u.properties.uppercaseMapping : u.properties.lowercaseMapping
            if mapped.unicodeScalars.count == 1 {
                out.append(mapped.unicodeScalars.first!)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// Go's `strings.Title`: the first letter of each word in title case, the rest unchanged.
    static func title(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var previous: Unicode.Scalar = " "
        for u in s.unicodeScalars {
            if isSeparator(previous) {
                let mapped = u.properties.titlecaseMapping
                if mapped.unicodeScalars.count == 1 { out.append(mapped.unicodeScalars.first!) } else { out.append(u) }
            } else {
                out.append(u)
            }
            previous = u
        }
        return String(out)
    }

    /// Go's word separator for `strings.Title`.
    static func isSeparator(_ u: Unicode.Scalar) -> Bool {
        if u.value <= 0x7F {
            let c = UInt8(u.value)
            if (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F { return false }
            return true
        }
        if u.properties.isAlphabetic || u.properties.numericType != nil { return false }
        return u.properties.isWhitespace
    }

    /// Go's `strconv.ParseFloat(s, 64)` for the forms a label value takes.
    static func parseGoFloat(_ s: String) -> Double? {
        let t = s.replacingUnderscores()
        switch t.lowercased() {
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan": return .nan
        default: break
        }
        guard !t.isEmpty, t.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eExXpPabcdefABCDEF".contains($0)) }) else { return nil }
        return Double(t)
    }

    struct RegexError: Error {
        var message: String
    }

    /// Compiles a Go regular expression (RE2 syntax, unanchored, as `regexp.MustCompile`) on the
    /// linear-time RE2 engine.
    static func compile(_ pattern: String) throws(RegexError) -> RegularExpression {
        do {
            return try RegularExpression(pattern, options: .go)
        } catch {
            throw RegexError(message: "error parsing regexp: \(error.message)")
        }
    }

    /// Go's `regexp.ReplaceAllString`: `$1`, `${1}`, `$name`, `${name}` and `$$` in the replacement.
    static func reReplaceAll(pattern: String, replacement: String, in text: String) throws(RegexError) -> String {
        try compile(pattern).replacingAll(in: text, with: replacement)
    }
}
