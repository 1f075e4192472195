import Foundation
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

    /// Compiles a Go (RE2) regular expression; `(?P<name>…)` is accepted as Go spells named groups.
    static func compile(_ pattern: String) throws(RegexError) -> NSRegularExpression {
        let translated = pattern.replacingOccurrences(of: "(?P<", with: "(?<")
        do {
            return try NSRegularExpression(pattern: translated, options: [])
        } catch {
            throw RegexError(message: "error parsing regexp \(GoFormat.quote(pattern))")
        }
    }

    /// Go's `regexp.MatchString(pattern, text)`: whether the pattern matches anywhere in the text.
    static func match(pattern: String, in text: String) throws(RegexError) -> Bool {
        let re = try compile(pattern)
        return re.firstMatch(in: text, range: NSRange(location: 0, length: (text as NSString).length)) != nil
    }

    /// Go's `regexp.ReplaceAllString`: `$1`, `${1}`, `$name`, `${name}` and `$$` in the replacement.
    static func reReplaceAll(pattern: String, replacement: String, in text: String) throws(RegexError) -> String {
        let re = try compile(pattern)
        let ns = text as NSString
        let names = groupNames(pattern)
        var out = ""
        var last = 0
        var lastMatchEnd = -1
        for match in re.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            // Go ignores an empty match right after the previous match.
            if match.range.length == 0, match.range.location == lastMatchEnd { continue }
            out += ns.substring(with: NSRange(location: last, length: match.range.location - last))
            out += expand(replacement, match: match, in: ns, names: names)
            last = match.range.location + match.range.length
            lastMatchEnd = last
        }
        out += ns.substring(from: last)
        return out
    }

    /// Names of `(?P<name>…)`/`(?<name>…)` groups, by group number.
    static func groupNames(_ pattern: String) -> [String: Int] {
        var result: [String: Int] = [:]
        let p = Array(pattern.unicodeScalars)
        var group = 0
        var i = 0
        while i < p.count {
            if p[i] == "\\" {
                i += 2
                continue
            }
            if p[i] == "(" {
                if i + 1 < p.count, p[i + 1] == "?" {
                    var j = i + 2
                    if j < p.count, p[j] == "P" { j += 1 }
                    if j < p.count, p[j] == "<" {
                        group += 1
                        var name = ""
                        j += 1
                        while j < p.count, p[j] != ">" {
                            name.unicodeScalars.append(p[j])
                            j += 1
                        }
                        result[name] = group
                    }
                } else {
                    group += 1
                }
            }
            i += 1
        }
        return result
    }

    static func expand(_ template: String, match: NSTextCheckingResult, in text: NSString, names: [String: Int]) -> String {
        let t = Array(template.unicodeScalars)
        var out = ""
        var i = 0
        func group(_ name: String) -> String {
            let index: Int? = Int(name) ?? names[name]
            guard let index, index < match.numberOfRanges else { return "" }
            let r = match.range(at: index)
            return r.location == NSNotFound ? "" : text.substring(with: r)
        }
        func isNameScalar(_ u: Unicode.Scalar) -> Bool {
            u == "_" || (u.isASCII && (u.properties.isAlphabetic || u.properties.numericType != nil))
        }
        while i < t.count {
            guard t[i] == "$", i + 1 < t.count else {
                out.unicodeScalars.append(t[i])
                i += 1
                continue
            }
            if t[i + 1] == "$" {
                out += "$"
                i += 2
                continue
            }
            if t[i + 1] == "{" {
                if let close = t[(i + 2)...].firstIndex(of: "}") {
                    let name = String(String.UnicodeScalarView(t[(i + 2)..<close]))
                    if !name.isEmpty, name.unicodeScalars.allSatisfy(isNameScalar) {
                        out += group(name)
                        i = close + 1
                        continue
                    }
                }
                out += "$"
                i += 1
                continue
            }
            var j = i + 1
            while j < t.count, isNameScalar(t[j]) { j += 1 }
            if j == i + 1 {
                out += "$"
                i += 1
                continue
            }
            out += group(String(String.UnicodeScalarView(t[(i + 1)..<j])))
            i = j
        }
        return out
    }
}

extension String {
    /// Go number literals may contain `_` between digits.
    func replacingUnderscores() -> String { String(self.filter { $0 != "_" }) }
}
