/// The named classes of RE2's syntax: Perl's `\d \s \w`, POSIX's `[:alpha:]`, and Unicode's
/// general categories for `\p{…}`.
extension CharSet {
    /// `\d`, `\s`, `\w` (ASCII only, as in RE2: `\s` is `[\t\n\f\r ]`).
    static let perl: [UInt8: [ClosedRange<UInt32>]] = [
        UInt8(ascii: "d"): [0x30...0x39],
        UInt8(ascii: "s"): [0x09...0x0A, 0x0C...0x0D, 0x20...0x20],
        UInt8(ascii: "w"): [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A],
    ]

    /// `[:name:]` inside a class.
    static let posix: [String: [ClosedRange<UInt32>]] = [
        "alnum": [0x30...0x39, 0x41...0x5A, 0x61...0x7A],
        "alpha": [0x41...0x5A, 0x61...0x7A],
        "ascii": [0x00...0x7F],
        "blank": [0x09...0x09, 0x20...0x20],
        "cntrl": [0x00...0x1F, 0x7F...0x7F],
        "digit": [0x30...0x39],
        "graph": [0x21...0x7E],
        "lower": [0x61...0x7A],
        "print": [0x20...0x7E],
        "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E],
        "space": [0x09...0x0D, 0x20...0x20],
        "upper": [0x41...0x5A],
        "word": [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A],
        "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66],
    ]

    /// What `\p{name}` means, after Go's canonicalisation of `name`.
    enum UnicodeClass {
        case ranges([ClosedRange<UInt32>])
        case categories([Unicode.GeneralCategory], negated: Bool)
    }

    /// `\p{name}`: the general categories (one- and two-letter names, `LC`, the long aliases such
    /// as `Uppercase_Letter`), `Any`, `Assigned` and `ASCII`; nil for anything else.
    static func unicodeClass(_ name: String) -> UnicodeClass? {
        let key = canonicalName(name)
        switch key {
        case "Any": return .ranges([0...0x10FFFF])
        case "Ascii": return .ranges([0...0x7F])
        case "Assigned": return .categories([.unassigned], negated: true)
        default: break
        }
        if let short = categoryAliases[key], let categories = generalCategories[short] { return .categories(categories, negated: false) }
        if let categories = generalCategories[key] { return .categories(categories, negated: false) }
        return nil
    }

    /// Go's `canonicalName`: first letter upper-case, the rest lower-case, `_`, `-` and spaces dropped.
    static func canonicalName(_ name: String) -> String {
        var out = ""
        var first = true
        for u in name.unicodeScalars {
            if u == "_" || u == "-" || u == " " { continue }
            if first {
                out.unicodeScalars.append(u.isASCII ? Unicode.Scalar(UInt8(u.value)).uppercasedASCII : u)
                first = false
            } else {
                out.unicodeScalars.append(u.isASCII ? Unicode.Scalar(UInt8(u.value)).lowercasedASCII : u)
            }
        }
        return out
    }

    /// Categories by canonical name (`Lu`, `L`, `Lc` for LC); `C` is Cc, Cf, Co and Cs as in Go.
    static let generalCategories: [String: [Unicode.GeneralCategory]] = {
        let pairs: [(String, Unicode.GeneralCategory)] = [
            ("Lu", .uppercaseLetter), ("Ll", .lowercaseLetter), ("Lt", .titlecaseLetter), ("Lm", .modifierLetter), ("Lo", .otherLetter),
            ("Mn", .nonspacingMark), ("Mc", .spacingMark), ("Me", .enclosingMark),
            ("Nd", .decimalNumber), ("Nl", .letterNumber), ("No", .otherNumber),
            ("Pc", .connectorPunctuation), ("Pd", .dashPunctuation), ("Ps", .openPunctuation), ("Pe", .closePunctuation),
            ("Pi", .initialPunctuation), ("Pf", .finalPunctuation), ("Po", .otherPunctuation),
            ("Sm", .mathSymbol), ("Sc", .currencySymbol), ("Sk", .modifierSymbol), ("So", .otherSymbol),
            ("Zs", .spaceSeparator), ("Zl", .lineSeparator), ("Zp", .paragraphSeparator),
            ("Cc", .control), ("Cf", .format), ("Cs", .surrogate), ("Co", .privateUse),
        ]
        var out: [String: [Unicode.GeneralCategory]] = [:]
        for (name, category) in pairs {
            out[name] = [category]
            out[String(name.prefix(1)), default: []].append(category)
        }
        out["Lc"] = [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter]
        return out
    }()

    /// Unicode's long category names (canonicalised) to the short ones above.
    static let categoryAliases: [String: String] = [
        "Letter": "L", "Casedletter": "Lc", "Uppercaseletter": "Lu", "Lowercaseletter": "Ll", "Titlecaseletter": "Lt",
        "Modifierletter": "Lm", "Otherletter": "Lo", "Mark": "M", "Combiningmark": "M", "Nonspacingmark": "Mn",
        "Spacingmark": "Mc", "Enclosingmark": "Me", "Number": "N", "Decimalnumber": "Nd", "Digit": "Nd",
        "Letternumber": "Nl", "Othernumber": "No", "Punctuation": "P", "Punct": "P", "Connectorpunctuation": "Pc",
        "Dashpunctuation": "Pd", "Openpunctuation": "Ps", "Closepunctuation": "Pe", "Initialpunctuation": "Pi",
        "Finalpunctuation": "Pf", "Otherpunctuation": "Po", "Symbol": "S", "Mathsymbol": "Sm", "Currencysymbol": "Sc",
        "Modifiersymbol": "Sk", "Othersymbol": "So", "Separator": "Z", "Spaceseparator": "Zs", "Lineseparator": "Zl",
        "Paragraphseparator": "Zp", "Other": "C", "Control": "Cc", "Cntrl": "Cc", "Format": "Cf", "Surrogate": "Cs",
        "Privateuse": "Co",
    ]

    /// Script names RE2 accepts in `\p{…}`; this engine names them in its error rather than
    /// calling them invalid (Swift does not expose a scalar's script).
    static let scripts: Set<String> = [
        "Adlam", "Ahom", "Arabic", "Armenian", "Avestan", "Balinese", "Bamum", "Batak", "Bengali", "Bopomofo", "Braille",
        "Buginese", "Buhid", "Canadian_Aboriginal", "Cham", "Cherokee", "Common", "Coptic", "Cuneiform", "Cypriot",
        "Cyrillic", "Deseret", "Devanagari", "Egyptian_Hieroglyphs", "Ethiopic", "Georgian", "Glagolitic", "Gothic",
        "Greek", "Gujarati", "Gurmukhi", "Han", "Hangul", "Hanunoo", "Hebrew", "Hiragana", "Inherited", "Javanese",
        "Kannada", "Katakana", "Kayah_Li", "Khmer", "Lao", "Latin", "Lepcha", "Limbu", "Linear_B", "Lisu", "Malayalam",
        "Mongolian", "Myanmar", "New_Tai_Lue", "Nko", "Ogham", "Ol_Chiki", "Oriya", "Osmanya", "Runic", "Samaritan",
        "Saurashtra", "Sinhala", "Sundanese", "Syriac", "Tagalog", "Tai_Le", "Tamil", "Telugu", "Thaana", "Thai",
        "Tibetan", "Tifinagh", "Vai", "Yi",
    ]
}

extension Unicode.Scalar {
    fileprivate var uppercasedASCII: Unicode.Scalar { value >= 0x61 && value <= 0x7A ? Unicode.Scalar(UInt8(value - 32)) : self }
    fileprivate var lowercasedASCII: Unicode.Scalar { value >= 0x41 && value <= 0x5A ? Unicode.Scalar(UInt8(value + 32)) : self }
}
