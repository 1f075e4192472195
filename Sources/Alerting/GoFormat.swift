import Query
import TextRendering
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Go's `fmt` as far as Prometheus templates use it: `Sprint`, `Sprintln` and `Sprintf` with the
/// verbs `%v %s %q %d %f %F %e %E %g %G %x %X %o %b %c %t %T %%`, flags `+ - # 0` and space, width
/// and precision, over every `TemplateValue`. Output matches Go's, including its
/// `%!verb(type=value)` complaints, so that the same rule renders the same annotation here and in
/// Prometheus. (One difference: Go prints pointers nested in a slice or map as memory addresses;
/// here they print as their contents.)
enum GoFormat {
    /// `fmt.Sprint(v)` of one value.
    static func sprint(_ v: TemplateValue) -> String {
        formatV(v, top: true)
    }

    /// `fmt.Sprint(args...)`: a space between operands when neither is a string.
    static func sprint(_ args: [TemplateValue]) -> String {
        var out = ""
        var previousIsString = false
        for (k, a) in args.enumerated() {
            let isString = a.isStringKind
            if k > 0, !isString, !previousIsString { out += " " }
            out += formatV(a, top: true)
            previousIsString = isString
        }
        return out
    }

    /// `fmt.Sprintln(args...)`: spaces between all operands and a newline.
    static func sprintln(_ args: [TemplateValue]) -> String {
        args.map { formatV($0, top: true) }.joined(separator: " ") + "\n"
    }

    /// What a template action prints for a value (text/template's `printValue`): a pointer is
    /// followed first, and a missing value prints as `<no value>`.
    static func printed(_ v: TemplateValue) -> String {
        switch v {
        case .invalid: "<no value>"
        case .sample(let s?): formatSample(s, pointer: false)
        default: formatV(v, top: true)
        }
    }

    /// `%v` of a value.
    static func formatV(_ v: TemplateValue, top: Bool) -> String {
        switch v {
        case .invalid: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .byte(let b): return String(b)
        case .float(let f): return shortest(f, verb: "g")
        case .string(let s), .html(let s): return s
        case .labels(let pairs): return "map[" + pairs.map { "\($0.name):\($0.value)" }.joined(separator: " ") + "]"
        case .map(let pairs): return "map[" + pairs.map { "\($0.key):\(formatV($0.value, top: false))" }.joined(separator: " ") + "]"
        case .alert(let d):
            return "{" + formatV(.labels(d.labels), top: false) + " " + formatV(.labels(d.externalLabels), top: false) + " "
                + d.externalURL + " " + formatV(d.value, top: false) + "}"
        case .sample(let s): return s.map { formatSample($0, pointer: true) } ?? "<nil>"
        case .samples(let list): return "[" + list.map { formatSample($0, pointer: true) }.joined(separator: " ") + "]"
        case .time(let ns): return GoTime.string(nanoseconds: ns)
        case .duration(let ns): return GoTime.durationString(ns)
        }
    }

    static func formatSample(_ s: QuerySample, pointer: Bool) -> String {
        (pointer ? "&{" : "{") + formatV(.labels(s.labels), top: false) + " " + shortest(s.value, verb: "g") + "}"
    }

    /// Go's `strconv.FormatFloat(v, 'g', precision, 64)` (precision ≥ 0), as `%.Ng` prints.
    static func formatG(_ v: Double, precision: Int) -> String {
        if let special = specialFloat(v, plus: false, space: false) { return special }
        return CFormat.printf("%.\(min(max(precision, 0), 1000))g", v)
    }

    /// `fmt.Sprintf(format, args...)`.
    static func sprintf(_ format: String, _ args: [TemplateValue]) -> String {
        var out = ""
        let f = Array(format.unicodeScalars)
        var i = 0
        var argIndex = 0
        while i < f.count {
            let c = f[i]
            guard c == "%" else {
                out.unicodeScalars.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < f.count else {
                out += "%!(NOVERB)"
                break
            }
            var spec = Spec()
            flags: while i < f.count {
                switch f[i] {
                case "+": spec.plus = true
                case "-": spec.minus = true
                case "#": spec.sharp = true
                case "0": spec.zero = true
                case " ": spec.space = true
                default: break flags
                }
                i += 1
            }
            spec.width = readNumber(f, &i)
            if i < f.count, f[i] == "." {
                i += 1
                spec.precision = readNumber(f, &i) ?? 0
            }
            guard i < f.count else {
                out += "%!(NOVERB)"
                break
            }
            let verb = f[i]
            i += 1
            if verb == "%" {
                out += "%"
                continue
            }
            guard argIndex < args.count else {
                out += "%!\(verb)(MISSING)"
                continue
            }
            out += formatValue(args[argIndex], verb: verb, spec: spec)
            argIndex += 1
        }
        if argIndex < args.count {
            out += "%!(EXTRA " + args[argIndex...].map { $0 == .invalid ? "<nil>" : "\($0.goType)=\(sprint($0))" }.joined(separator: ", ") + ")"
        }
        return out
    }

    struct Spec {
        var plus = false, minus = false, sharp = false, zero = false, space = false
        var width: Int?
        var precision: Int?
    }

    static func readNumber(_ f: [Unicode.Scalar], _ i: inout Int) -> Int? {
        var n: Int?
        while i < f.count, let d = f[i].properties.numericType == .decimal ? Int(String(f[i])) : nil {
            n = min((n ?? 0) * 10 + d, 1_000_000)
            i += 1
        }
        return n
    }

    static func formatValue(_ value: TemplateValue, verb: Unicode.Scalar, spec: Spec) -> String {
        if verb == "T" { return pad(value == .invalid ? "<nil>" : value.goType, spec, numeric: false) }
        switch value {
        case .float(let v):
            switch verb {
            case "v", "g", "G":
                if let p = spec.precision { return pad(cFloat(v, verb: verb == "v" ? "g" : verb, precision: p, spec: spec), spec, numeric: true) }
                var s = shortest(v, verb: verb == "G" ? "G" : "g")
                s = signed(s, v, spec)
                return pad(s, spec, numeric: v.isFinite)
            case "e", "E", "f", "F":
                return pad(cFloat(v, verb: verb, precision: spec.precision ?? 6, spec: spec), spec, numeric: v.isFinite)
            default:
                return bad(verb, value)
            }
        case .byte(let b):
            return formatValue(.int(Int(b)), verb: verb, spec: spec).replacingScalars(of: "(int=", with: "(uint8=")
        case .bool(let b):
            switch verb {
            case "v", "t": return pad(b ? "true" : "false", spec, numeric: false)
            default: return bad(verb, value)
            }
        case .invalid:
            return verb == "v" ? pad("<nil>", spec, numeric: false) : "%!\(verb)(<nil>)"
        case .int(let n):
            switch verb {
            case "v", "d": return padInt(String(n.magnitude), negative: n < 0, spec)
            case "x": return padInt((spec.sharp ? "0x" : "") + String(n.magnitude, radix: 16), negative: n < 0, spec)
            case "X": return padInt((spec.sharp ? "0X" : "") + String(n.magnitude, radix: 16).uppercased(), negative: n < 0, spec)
            case "o": return padInt((spec.sharp ? "0" : "") + String(n.magnitude, radix: 8), negative: n < 0, spec)
            case "b": return padInt(String(n.magnitude, radix: 2), negative: n < 0, spec)
            case "c":
                return pad(Unicode.Scalar(UInt32(truncatingIfNeeded: n)).map { String(Character($0)) } ?? "\u{FFFD}", spec, numeric: false)
            case "q":
                let s = Unicode.Scalar(UInt32(truncatingIfNeeded: n)).map { String(Character($0)) } ?? "\u{FFFD}"
                return pad("'" + s + "'", spec, numeric: false)
            default: return bad(verb, value)
            }
        case .string(let s), .html(let s):
            switch verb {
            case "v", "s":
                var t = s
                if let p = spec.precision { t = String(t.unicodeScalars.prefix(p).map(Character.init)) }
                return pad(t, spec, numeric: false)
            case "q": return pad(quote(s), spec, numeric: false)
            case "x", "X":
                var hex = s.utf8.map { byte -> String in
                    let h = String(byte, radix: 16)
                    return h.count == 1 ? "0" + h : h
                }.joined()
                if verb == "X" { hex = hex.uppercased() }
                return pad(hex, spec, numeric: false)
            default: return bad(verb, value)
            }
        case .time, .duration:
            // Stringers: %v, %s and %q format what String() returns.
            switch verb {
            case "v", "s": return pad(sprint(value), spec, numeric: false)
            case "q": return pad(quote(sprint(value)), spec, numeric: false)
            default: return bad(verb, value)
            }
        case .labels, .map, .alert, .sample, .samples:
            switch verb {
            case "v", "s": return pad(sprint(value), spec, numeric: false)
            default: return bad(verb, value)
            }
        }
    }

    static func bad(_ verb: Unicode.Scalar, _ value: TemplateValue) -> String {
        "%!\(verb)(\(value.goType)=\(sprint(value)))"
    }

    /// A float through C's printf, which rounds exactly as Go does; NaN and infinities as Go writes them.
    static func cFloat(_ v: Double, verb: Unicode.Scalar, precision: Int, spec: Spec) -> String {
        if let special = specialFloat(v, plus: spec.plus, space: spec.space) { return special }
        var flags = ""
        if spec.plus { flags += "+" } else if spec.space { flags += " " }
        if spec.sharp { flags += "#" }
        let p = min(precision, 1000)
        return CFormat.printf("%\(flags).\(p)\(verb)", v)
    }

    static func specialFloat(_ v: Double, plus: Bool, space: Bool) -> String? {
        if v.isNaN { return plus ? "+NaN" : (space ? " NaN" : "NaN") }
        if v.isInfinite { return v > 0 ? (plus || !space ? "+Inf" : " Inf") : "-Inf" }
        return nil
    }

    static func signed(_ s: String, _ v: Double, _ spec: Spec) -> String {
        guard !s.hasPrefix("-"), !s.hasPrefix("+") else { return s }
        if spec.plus { return "+" + s }
        if spec.space { return " " + s }
        return s
    }

    /// Go's shortest representation (`%v`, `%g` without precision): `strconv.FormatFloat(v, 'g', -1, 64)`.
    static func shortest(_ v: Double, verb: Unicode.Scalar) -> String {
        if let special = specialFloat(v, plus: false, space: false) { return special == "+Inf" ? "+Inf" : special }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (digits, point) = shortestDigits(v)
        let exp = point - 1
        var out = v < 0 ? "-" : ""
        // Go switches to exponent form when the exponent is < -4 or >= 6 (the "shortest" precision rule).
        if exp < -4 || exp >= 6 {
            out.append(Character(Unicode.Scalar(digits[0])))
            if digits.count > 1 {
                out += "."
                out += String(decoding: digits[1...], as: UTF8.self)
            }
            out += verb == "G" ? "E" : "e"
            out += exp < 0 ? "-" : "+"
            let e = abs(exp)
            out += e < 10 ? "0\(e)" : "\(e)"
            return out
        }
        if point <= 0 {
            out += "0." + String(repeating: "0", count: -point) + String(decoding: digits, as: UTF8.self)
        } else if point >= digits.count {
            out += String(decoding: digits, as: UTF8.self) + String(repeating: "0", count: point - digits.count)
        } else {
            out += String(decoding: digits[..<point], as: UTF8.self) + "." + String(decoding: digits[point...], as: UTF8.self)
        }
        return out
    }

    /// The shortest round-tripping digits of |v| and the decimal point's position (|v| = 0.d₁d₂… × 10^point).
    static func shortestDigits(_ v: Double) -> (digits: [UInt8], point: Int) {
        let d = PrometheusFormat.decompose(v)
        return (d.digits, d.point)
    }

    static func padInt(_ magnitude: String, negative: Bool, _ spec: Spec) -> String {
        var digits = magnitude
        if let p = spec.precision, digits.count < p { digits = String(repeating: "0", count: p - digits.count) + digits }
        let sign = negative ? "-" : (spec.plus ? "+" : (spec.space ? " " : ""))
        if spec.zero, !spec.minus, spec.precision == nil, let w = spec.width, sign.count + digits.count < w {
            return sign + String(repeating: "0", count: w - sign.count - digits.count) + digits
        }
        return pad(sign + digits, spec, numeric: false)
    }

    /// Pads to the width: spaces on the left (right with `-`), zeros after the sign with `0` for numbers.
    static func pad(_ s: String, _ spec: Spec, numeric: Bool) -> String {
        guard let w = spec.width else { return s }
        let n = s.unicodeScalars.count
        guard n < w else { return s }
        if spec.minus { return s + String(repeating: " ", count: w - n) }
        if spec.zero {
            if numeric, let first = s.first, first == "-" || first == "+" || first == " " {
                return String(first) + String(repeating: "0", count: w - n) + s.dropFirst()
            }
            return String(repeating: "0", count: w - n) + s
        }
        return String(repeating: " ", count: w - n) + s
    }

    /// Go's `strconv.Quote`.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{0B}": out += "\\v"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    let h = String(u.value, radix: 16)
                    out += "\\x" + (h.count == 1 ? "0" : "") + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
