import Query
import TextRendering
import Foundation

/// A value inside a template: Go's types as far as the supported templates can produce them.
enum TemplateValue: Sendable, Equatable {
    case string(String)
    case float(Double)
    case int(Int)
    /// A label set (`$labels`), printed as Go prints a `map[string]string`.
    case map([(String, String)])

    static func == (a: TemplateValue, b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): x == y
        case (.float(let x), .float(let y)): x == y || (x.isNaN && y.isNaN)
        case (.int(let x), .int(let y)): x == y
        case (.map(let x), .map(let y)): x.elementsEqual(y, by: ==)
        default: false
        }
    }

    var goType: String {
        switch self {
        case .string: "string"
        case .float: "float64"
        case .int: "int"
        case .map: "map[string]string"
        }
    }
}

/// Go's `fmt` as far as Prometheus templates use it: `Sprint` of a value and `Sprintf` with the
/// verbs `%v %s %q %d %f %F %e %E %g %G %x %X %o %b %c %t %%`, flags `+ - # 0` and space, width
/// and precision. Output matches Go's, including its `%!verb(type=value)` complaints, so that the
/// same rule renders the same annotation here and in Prometheus.
enum GoFormat {
    /// `fmt.Sprint(v)`.
    static func sprint(_ v: TemplateValue) -> String {
        switch v {
        case .string(let s): s
        case .int(let i): String(i)
        case .float(let f): shortest(f, verb: "g")
        case .map(let pairs): "map[" + pairs.sorted { $0.0 < $1.0 }.map { "\($0.0):\($0.1)" }.joined(separator: " ") + "]"
        }
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
            out += "%!(EXTRA " + args[argIndex...].map { "\($0.goType)=\(sprint($0))" }.joined(separator: ", ") + ")"
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
        case .string(let s):
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
        case .map:
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
