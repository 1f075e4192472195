import TimeSeries

/// An HTML document being written, as bytes.
///
/// The model: markup is either our own — a literal (`StaticString`), or text we built from
/// numbers and literals (`trusted(_:)`) — or it is outside text (a label, an annotation, an
/// expression, an error, a path), which goes only through `text(_:)`, `attribute(_:_:)` or
/// `isolated(_:)`, and is escaped there. Outside text is hostile: `<script>`, quotes, `</svg>`,
/// bidirectional overrides and NUL must come out as inert text that reads as what it was.
///
/// Escaping: `& < > " '` become references; NUL, the other C0 controls but tab, LF and CR, DEL
/// and the C1 controls (which HTML parses as errors or remaps) become U+FFFD; a bidirectional
/// embedding, override or isolate the text leaves open is closed at its end (PDF, PDI), so a
/// right-to-left override in a label cannot reorder the page after it ("Trojan Source"). Inline
/// outside text that sits beside other text (a label value in a series name) also goes in
/// `<bdi>`, so even its right-to-left letters leave the text around it alone.
struct HTML {
    private(set) var bytes: [UInt8]

    init(capacity: Int = 32 * 1024) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Our own markup, as written in the source.
    mutating func raw(_ markup: StaticString) {
        markup.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Markup we built from literals and numbers only (never from outside text).
    mutating func trusted(_ markup: String) {
        bytes.append(contentsOf: markup.utf8)
    }

    /// Outside text, escaped.
    mutating func text(_ s: String) {
        HTML.appendEscaped(s.utf8, to: &bytes)
    }

    /// Outside text in a `<bdi>`: bidirectionally isolated from the text around it.
    mutating func isolated(_ s: String) {
        raw("<bdi>")
        text(s)
        raw("</bdi>")
    }

    /// ` name="value"` with the value escaped.
    mutating func attribute(_ name: StaticString, _ value: String) {
        raw(" ")
        raw(name)
        raw("=\"")
        text(value)
        raw("\"")
    }

    /// A number as decimal digits (for coordinates, counts and sizes we computed).
    mutating func integer(_ n: Int) {
        if n < 0 { bytes.append(UInt8(ascii: "-")) }
        var rest = n.magnitude
        var divisor: UInt = 1
        while rest / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(48 + rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// A coordinate with one decimal (tenths), as SVG path data wants it: short and exact enough.
    mutating func tenths(_ v: Double) {
        let scaled = (v * 10).rounded()
        guard scaled.isFinite, abs(scaled) < 1e15 else {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var t = Int(scaled)
        if t < 0 {
            bytes.append(UInt8(ascii: "-"))
            t = -t
        }
        integer(t / 10)
        if t % 10 != 0 {
            bytes.append(UInt8(ascii: "."))
            bytes.append(UInt8(48 + t % 10))
        }
    }

    /// A value as the shortest decimal that reads back as it (for data attributes the page's
    /// script reads); empty for NaN, which the script reads as "no value".
    mutating func shortest(_ v: Double) {
        guard !v.isNaN else { return }
        // Small strings (≤ 15 bytes) live inline: no allocation for the usual values.
        bytes.append(contentsOf: v.description.utf8)
    }

    /// `s` as it would be escaped (for tests and for attribute values built up front).
    static func escape(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        appendEscaped(s.utf8, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// U+FFFD, what control characters become.
    static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    static func appendEscaped(_ utf8: String.UTF8View, to out: inout [UInt8]) {
        // Bidirectional embeddings, overrides and isolates the text opens, innermost last
        // (true: an isolate, closed by PDI; false: closed by PDF). Allocated only when one occurs.
        var open: [Bool] = []
        var previous: UInt8 = 0, beforePrevious: UInt8 = 0
        for b in utf8 {
            switch b {
            case UInt8(ascii: "&"): out.append(contentsOf: [38, 97, 109, 112, 59])  // &amp;
            case UInt8(ascii: "<"): out.append(contentsOf: [38, 108, 116, 59])  // &lt;
            case UInt8(ascii: ">"): out.append(contentsOf: [38, 103, 116, 59])  // &gt;
            case UInt8(ascii: "\""): out.append(contentsOf: [38, 113, 117, 111, 116, 59])  // &quot;
            case UInt8(ascii: "'"): out.append(contentsOf: [38, 35, 51, 57, 59])  // &#39;
            case 0x09, 0x0A, 0x0D: out.append(b)
            case 0x00..<0x20, 0x7F: out.append(contentsOf: replacement)
            case 0x80...0x9F where previous == 0xC2:
                // A C1 control (U+0080…U+009F is C2 80…C2 9F): replace the whole character.
                out.removeLast()
                out.append(contentsOf: replacement)
            default:
                out.append(b)
                // U+202A…U+202E (E2 80 AA…AE) and U+2066…U+2069 (E2 81 A6…A9).
                if beforePrevious == 0xE2, previous == 0x80, b >= 0xAA, b <= 0xAE {
                    if b == 0xAC {
                        if open.last == false { open.removeLast() }
                    } else {
                        open.append(false)
                    }
                } else if beforePrevious == 0xE2, previous == 0x81, b >= 0xA6, b <= 0xA9 {
                    if b == 0xA9 {
                        if let i = open.lastIndex(of: true) { open.removeSubrange(i...) }
                    } else {
                        open.append(true)
                    }
                }
            }
            beforePrevious = previous
            previous = b
        }
        // Close what the text left open, so it cannot reorder the page after it.
        for isolate in open.reversed() {
            out.append(contentsOf: isolate ? [0xE2, 0x81, 0xA9] : [0xE2, 0x80, 0xAC])
        }
    }
}

extension HTML {
    /// A label set as `name{a="x", b="y"}`: the name and each value isolated, values quoted.
    mutating func labels(_ labels: Labels, showName: Bool = true) {
        var name: String?
        var pairs: [Label] = []
        for l in labels.labels {
            if l.name == Labels.metricName { name = l.value } else { pairs.append(l) }
        }
        raw("<span class=\"series\">")
        if showName, let name { isolated(name) }
        if !pairs.isEmpty || name == nil || !showName {
            raw("{")
            for (i, l) in pairs.enumerated() {
                if i > 0 { raw(", ") }
                raw("<span class=\"ln\">")
                text(l.name)
                raw("</span>=\"<span class=\"lv\">")
                isolated(l.value)
                raw("</span>\"")
            }
            raw("}")
        }
        raw("</span>")
    }

    /// Label pairs as a list of chips (`name=value`), for an alert's labels.
    mutating func labelChips(_ labels: Labels, skipping: Set<String> = []) {
        raw("<ul class=\"chips\">")
        for l in labels.labels where !skipping.contains(l.name) {
            raw("<li><span class=\"ln\">")
            text(l.name)
            raw("</span>=<span class=\"lv\">")
            isolated(l.value)
            raw("</span></li>")
        }
        raw("</ul>")
    }
}
