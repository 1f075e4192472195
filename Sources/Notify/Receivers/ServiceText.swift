/// How a service counts the length of its text fields.
///
/// Services document limits in "characters" without saying which: where the unit is known it is
/// used (Discord's API and Mattermost's server count code points), elsewhere UTF-16 code units,
/// which are never fewer than code points (an emoji outside the BMP is two), so the limit holds
/// whichever of the two the service means. Whole-message limits in bytes count the UTF-8 body.
enum TextUnit: Sendable {
    case utf16, scalars, utf8

    /// The length of `s` in this unit.
    func count(_ s: String) -> Int {
        switch self {
        case .utf16: s.utf16.count
        case .scalars: s.unicodeScalars.count
        case .utf8: s.utf8.count
        }
    }

    func count(_ scalar: Unicode.Scalar) -> Int {
        switch self {
        case .utf16: scalar.value > 0xFFFF ? 2 : 1
        case .scalars: 1
        case .utf8: scalar.value < 0x80 ? 1 : scalar.value < 0x800 ? 2 : scalar.value < 0x10000 ? 3 : 4
        }
    }
}

/// How text that came from alerts (labels, annotations, rule names) is made inert in one kind of
/// field: it must show as written, never become a mention, a link or formatting.
///
/// Escaping and cutting happen in one pass (`fitted`): the text is cut *before* an escape, never
/// inside one, so `&amp;` or `\*` is never split, and the limit holds on the escaped text.
enum Markup: Sendable {
    /// A field the service shows as is (Teams' `TextRun`, PagerDuty, Slack field titles).
    case plain
    /// Slack: `&`, `<` and `>` as entities, the only escapes Slack has; every mention, channel and
    /// link starts with `<`, so none survives (https://api.slack.com/reference/surfaces/formatting#escaping).
    case slack
    /// Markdown (Discord, Mattermost): a backslash before every character that can start
    /// emphasis, code, a spoiler, a link or a mention (``\ * _ ~ ` | < [ ]``; not `_` inside a word,
    /// where it never emphasises); at a line's start also before quote, heading and list markers.
    /// `@` followed by a name gets a word joiner (U+2060), so `@channel` or `@alice` is no
    /// mention: Mattermost finds mentions in the raw text, where a backslash would not stop it.
    case markdown
    /// Plain text in which a service still finds `@name` mentions (Mattermost's attachment titles
    /// and footers): only the word joiner after `@`.
    case atSigns
    /// HTML (Google Chat card text): `&`, `<`, `>` and `"` as entities.
    case html
    /// Google Chat's text markup: a word joiner after every `<`, so neither `<users/all>` nor
    /// `<url|text>` can form. Its `*`, `_`, `~` and backquotes have no documented escape.
    case chatText

    static let wordJoiner: Unicode.Scalar = "\u{2060}"

    /// Appends the escaped form of `s` (with `prev` before it and `next` after it) to `out`.
    func escape(_ s: Unicode.Scalar, prev: Unicode.Scalar?, next: Unicode.Scalar?, into out: inout String.UnicodeScalarView) {
        switch self {
        case .plain:
            out.append(s)
        case .slack:
            switch s {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            default: out.append(s)
            }
        case .html:
            switch s {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            default: out.append(s)
            }
        case .chatText:
            out.append(s)
            if s == "<" { out.append(Markup.wordJoiner) }
        case .atSigns:
            out.append(s)
            if s == "@", let next, Markup.startsName(next) { out.append(Markup.wordJoiner) }
        case .markdown:
            let lineStart = prev == nil || prev == "\n"
            let alnum = { (c: Unicode.Scalar?) in c.map { $0.properties.isAlphabetic || ("0"..."9").contains($0) } ?? false }
            switch s {
            case "_" where alnum(prev) && alnum(next):
                // Inside a word (`http_requests_total`) an underscore never emphasises (CommonMark, Discord).
                out.append(s)
            case "\\", "*", "_", "~", "`", "|", "<", "[", "]":
                out.append("\\")
                out.append(s)
            case ">" where lineStart, "#" where lineStart, "-" where lineStart, "+" where lineStart:
                out.append("\\")
                out.append(s)
            case "." where ("0"..."9").contains(prev ?? " ") && (next == " " || next == nil):
                // "1. " at a line's start is an ordered list; escaping every "digit. " is simpler than tracking it.
                out.append("\\")
                out.append(s)
            case "@":
                out.append(s)
                if let next, Markup.startsName(next) { out.append(Markup.wordJoiner) }
            default:
                out.append(s)
            }
        }
    }

    static func startsName(_ s: Unicode.Scalar) -> Bool {
        s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "_" || s == "&"
    }

    /// `raw` escaped.
    func escaped(_ raw: String) -> String {
        var out = String.UnicodeScalarView()
        forEachPiece(of: raw) { piece, _ in
            out.append(contentsOf: piece)
            return true
        }
        return String(out)
    }

    /// Calls `body` with the escaped form of each scalar of `raw` in turn, until it returns false.
    func forEachPiece(of raw: String, _ body: (String.UnicodeScalarView, Int) -> Bool) {
        var piece = String.UnicodeScalarView()
        var iterator = raw.unicodeScalars.makeIterator()
        var prev: Unicode.Scalar? = nil
        var current = iterator.next()
        var index = 0
        while let s = current {
            let next = iterator.next()
            piece.removeAll(keepingCapacity: true)
            escape(s, prev: prev, next: next, into: &piece)
            if !body(piece, index) { return }
            prev = s
            current = next
            index += 1
        }
    }

    /// `raw` escaped and, when that is longer than `limit` in `unit`, cut before the escape that
    /// would pass `limit - 1` and ended with `…`: at most `limit` long, never a split escape.
    ///
    /// - Complexity: O(`limit`) whatever the length of `raw` (a 64 KB annotation costs what its
    ///   first `limit` characters do); text without special characters is cut by the standard
    ///   library's views, not scalar by scalar.
    func fitted(_ raw: String, _ limit: Int, _ unit: TextUnit) -> String {
        guard limit > 0 else { return "" }
        // No scalar escapes to less than one unit: the first `limit + 1` scalars decide.
        let scalars = raw.unicodeScalars
        let end = scalars.index(scalars.startIndex, offsetBy: limit + 1, limitedBy: scalars.endIndex) ?? scalars.endIndex
        let bounded = Substring(raw.unicodeScalars[..<end])
        if !needsEscaping(bounded) { return Markup.cut(bounded, whole: end == scalars.endIndex, limit, unit) }
        let budget = limit - unit.count(MessageText.marker)
        var out = String.UnicodeScalarView()
        var used = 0
        var count = 0
        var cut = 0  // scalars of `out` that fit in `budget`
        var overflow = false
        forEachPiece(of: String(bounded)) { piece, _ in
            let n = piece.reduce(0) { $0 + unit.count($1) }
            if used + n > limit {
                overflow = true
                return false
            }
            out.append(contentsOf: piece)
            used += n
            count += piece.count
            if used <= budget { cut = count }
            return true
        }
        guard overflow else { return String(out) }
        guard budget >= 0 else { return "" }
        return String(String.UnicodeScalarView(out.prefix(cut))) + MessageText.marker
    }

    /// Whether `text` holds a character this markup changes (a quick test on its UTF-8 bytes).
    func needsEscaping(_ text: Substring) -> Bool {
        let special: [UInt8]
        switch self {
        case .plain: return false
        case .slack: special = Array("&<>".utf8)
        case .html: special = Array("&<>\"".utf8)
        case .chatText: special = Array("<".utf8)
        case .atSigns: special = Array("@".utf8)
        case .markdown: special = Array("\\*_~`|<[]@>#+-.\n".utf8)
        }
        return text.utf8.contains { special.contains($0) }
    }

    /// `text` (no escapes needed) cut as `fitted` does, with the standard library's views.
    static func cut(_ text: Substring, whole: Bool, _ limit: Int, _ unit: TextUnit) -> String {
        let length: Int
        switch unit {
        case .utf16: length = text.utf16.count
        case .scalars: length = text.unicodeScalars.count
        case .utf8: length = text.utf8.count
        }
        if length <= limit, whole { return String(text) }
        let budget = limit - unit.count(MessageText.marker)
        guard budget >= 0 else { return "" }
        var index: String.Index
        switch unit {
        case .utf16: index = text.utf16.index(text.startIndex, offsetBy: budget, limitedBy: text.endIndex) ?? text.endIndex
        case .scalars: index = text.unicodeScalars.index(text.startIndex, offsetBy: budget, limitedBy: text.endIndex) ?? text.endIndex
        case .utf8: index = text.utf8.index(text.startIndex, offsetBy: budget, limitedBy: text.endIndex) ?? text.endIndex
        }
        // Back to a scalar boundary (never half a surrogate pair or of a UTF-8 sequence).
        switch unit {
        case .utf16:
            if index > text.startIndex, index < text.endIndex, UTF16.isTrailSurrogate(text.utf16[index]) { index = text.utf16.index(before: index) }
        case .utf8:
            while index > text.startIndex, index < text.endIndex, text.utf8[index] & 0xC0 == 0x80 { index = text.utf8.index(before: index) }
        case .scalars:
            break
        }
        return String(text.unicodeScalars[..<index]) + MessageText.marker
    }
}

extension MessageText {
    /// `url` when a chat service can open it as a link: absolute `http` or `https`, with a host,
    /// no spaces or control characters, at most 2,048 bytes. A relative path (a rule's
    /// `{{ $externalURL }}/runbooks/x` without `external_url` configured) or another scheme is
    /// refused by Discord (`URL_TYPE_INVALID_SCHEME`) and broken elsewhere; the builders then drop
    /// the link field and keep the address in the text.
    static func linkURL(_ url: String) -> String? { linkURL(url, maxBytes: 2048) }

    /// `linkURL` with another bound on its length (Alertmanager's `uri` has none).
    static func linkURL(_ url: String, maxBytes: Int) -> String? {
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") {
            rest = url.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            rest = url.dropFirst(7)
        } else {
            return nil
        }
        guard let first = rest.unicodeScalars.first, first != "/", first != "?", first != "#", url.utf8.count <= maxBytes else { return nil }
        let forbidden: Set<Unicode.Scalar> = [" ", "\"", "<", ">", "\\", "^", "`", "{", "|", "}"]
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && !forbidden.contains($0) && $0.value < 0x80 }) else { return nil }
        return url
    }
}

/// How much of a group a payload shows. Builders render any `Detail`; `Detail.fit` picks the
/// richest that the service accepts, cutting the least important part first:
/// 1. the one-line list of the alerts after the detailed ones (its tail becomes "… and N more"),
/// 2. then the descriptions of the detailed alerts (each cut to the same length, marked `…`),
/// 3. then detailed alerts themselves (they join the "… and N more" count),
/// 4. then their label fields.
struct Detail: Equatable, Sendable {
    /// Alerts shown with their own section (attachment, embed, widget): the first `detailed`.
    var detailed: Int
    /// Alerts after those shown as one line each; the rest are counted ("… and N more").
    var listed: Int
    /// The longest description of a detailed alert, in the service's unit, after escaping.
    var description: Int
    /// Whether detailed alerts show their labels.
    var labels: Bool

    /// Alerts neither detailed nor listed, given `total` in the group.
    func hidden(of total: Int) -> Int { max(0, total - detailed - listed) }

    /// The richest detail for `total` alerts, at most `cap` of them detailed and descriptions at
    /// most `descriptionLimit`, for which `fits` holds; the barest (one alert, no description, no
    /// labels, nothing listed) when none does. `fits` is monotone: less detail never makes a
    /// payload longer. About 2 log₂ of the knobs' ranges renders in the worst case.
    static func fit(total: Int, cap: Int, descriptionLimit: Int, _ fits: (Detail) -> Bool) -> Detail {
        let detailed = min(total, cap)
        let full = Detail(detailed: detailed, listed: total - detailed, description: descriptionLimit, labels: true)
        if fits(full) { return full }
        // 1. The list.
        var d = full
        d.listed = 0
        if fits(d) { return largest(d, upTo: full.listed, \.listed, fits) }
        // 2. Descriptions.
        d.description = 0
        if fits(d) { return largest(d, upTo: descriptionLimit, \.description, fits) }
        // 3. Detailed alerts.
        d.detailed = min(1, total)
        if d.detailed < full.detailed, fits(d) { return largest(d, upTo: full.detailed, \.detailed, fits) }
        // 4. Labels.
        d.labels = false
        return d
    }

    /// `d` with `key` as large as possible in `d[key]...upper` while `fits` holds (it holds at `d[key]`).
    static func largest(_ d: Detail, upTo upper: Int, _ key: WritableKeyPath<Detail, Int>, _ fits: (Detail) -> Bool) -> Detail {
        var low = d[keyPath: key], high = upper
        var best = d
        while low < high {
            let mid = low + (high - low + 1) / 2
            var probe = d
            probe[keyPath: key] = mid
            if fits(probe) {
                low = mid
                best = probe
            } else {
                high = mid - 1
            }
        }
        return best
    }
}
