#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RE2
import TimeSeries

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
            let duration = goInt64(v)
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
    /// Prometheus 3's `title` (`cases.Title(language.AmericanEnglish, cases.NoLower)`): the first
    /// letter of each word in title case, the rest unchanged. As in Unicode word segmentation, an
    /// apostrophe, period or colon between letters does not end a word (`it's` → `It's`, where
    /// Prometheus 2's `strings.Title` gave `It'S`).
    static func title(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var previous: Unicode.Scalar = " "
        var beforePrevious: Unicode.Scalar = " "
        for u in s.unicodeScalars {
            let midWord = "'.:’·".unicodeScalars.contains(previous) && !isSeparator(beforePrevious) && !isSeparator(u)
            if isSeparator(previous) && !midWord {
                let mapped = u.properties.titlecaseMapping
                if mapped.unicodeScalars.count == 1 { out.append(mapped.unicodeScalars.first!) } else { out.append(u) }
            } else {
                out.append(u)
            }
            beforePrevious = previous
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

    /// Go's `regexp.MatchString(pattern, text)`: whether the pattern matches anywhere in the text.
    static func match(pattern: String, in text: String) throws(RegexError) -> Bool {
        try compile(pattern).matches(text)
    }

    /// Go's `regexp.ReplaceAllString`: `$1`, `${1}`, `$name`, `${name}` and `$$` in the replacement.
    static func reReplaceAll(pattern: String, replacement: String, in text: String) throws(RegexError) -> String {
        try compile(pattern).replacingAll(in: text, with: replacement)
    }
}

extension String {
    /// Go number literals may contain `_` between digits.
    func replacingUnderscores() -> String { String(self.filter { $0 != "_" }) }
}
