extension Matcher {
    /// Reads one matcher in Alertmanager's syntax: `name="value"`, `name!="value"`, `name=~"re"`,
    /// `name!~"re"`; the value may also be unquoted (`severity=critical`). Spaces around the parts are ignored.
    public static func parse(_ text: String) throws(MatcherError) -> Matcher {
        var reader = MatcherReader(text)
        reader.skipSpaces()
        let matcher = try reader.matcher(insideBraces: false)
        reader.skipSpaces()
        if !reader.atEnd {
            throw reader.error("unexpected \(reader.peekDescription) after the matcher")
        }
        return matcher
    }

    /// Reads a list: `{a="1", b=~"x|y"}`, or the same without braces. An empty list (`{}`) is allowed.
    public static func parseList(_ text: String) throws(MatcherError) -> [Matcher] {
        var reader = MatcherReader(text)
        reader.skipSpaces()
        let braces = reader.consume("{")
        var result: [Matcher] = []
        reader.skipSpaces()
        if braces, reader.consume("}") {
            reader.skipSpaces()
            guard reader.atEnd else { throw reader.error("unexpected \(reader.peekDescription) after \"}\"") }
            return result
        }
        while true {
            reader.skipSpaces()
            if reader.atEnd {
                throw reader.error(braces ? "missing \"}\" at the end of the matcher list" : "expected a matcher")
            }
            result.append(try reader.matcher(insideBraces: true))
            reader.skipSpaces()
            if reader.consume(",") {
                reader.skipSpaces()
                if braces, reader.consume("}") { break }  // a trailing comma, as PromQL allows
                if !braces, reader.atEnd { break }
                continue
            }
            if braces {
                guard reader.consume("}") else {
                    throw reader.error(reader.atEnd ? "missing \"}\" at the end of the matcher list" : "expected \",\" or \"}\", found \(reader.peekDescription)")
                }
                break
            }
            guard reader.atEnd else { throw reader.error("expected \",\" between matchers, found \(reader.peekDescription)") }
            break
        }
        reader.skipSpaces()
        guard reader.atEnd else { throw reader.error("unexpected \(reader.peekDescription) after the matcher list") }
        return result
    }
}

/// A cursor over a matcher's characters that reports errors by column.
struct MatcherReader {
    let text: String
    let scalars: [Unicode.Scalar]
    var position = 0

    init(_ text: String) {
        self.text = text
        scalars = Array(text.unicodeScalars)
    }

    var atEnd: Bool { position >= scalars.count }

    var peekDescription: String {
        atEnd ? "end of input" : "\"\(scalars[position])\""
    }

    func error(_ message: String, at column: Int? = nil) -> MatcherError {
        MatcherError(input: text, column: (column ?? position) + 1, message: message)
    }

    mutating func skipSpaces() {
        while position < scalars.count, scalars[position] == " " || scalars[position] == "\t" { position += 1 }
    }

    mutating func consume(_ s: Unicode.Scalar) -> Bool {
        guard position < scalars.count, scalars[position] == s else { return false }
        position += 1
        return true
    }

    mutating func matcher(insideBraces: Bool) throws(MatcherError) -> Matcher {
        let nameStart = position
        let name: String
        if consume("\"") {
            name = try quoted(openedAt: nameStart)
        } else {
            while position < scalars.count, scalars[position].isASCII, Matcher.isNameByte(UInt8(scalars[position].value)) {
                position += 1
            }
            name = String(String.UnicodeScalarView(scalars[nameStart..<position]))
        }
        guard !name.isEmpty else {
            throw error("expected a label name, found \(peekDescription)")
        }
        guard Matcher.isValidLabelName(name) else {
            throw error("\"\(name)\" is not a label name (letters, digits and _; not starting with a digit)", at: nameStart)
        }
        skipSpaces()
        let opStart = position
        let kind: Matcher.Kind
        if consume("=") {
            kind = consume("~") ? .regexMatch : .equal
            if kind == .equal, position < scalars.count, scalars[position] == "=" {
                throw error("\"==\" is not an operator; write \"=\"", at: opStart)
            }
        } else if consume("!") {
            if consume("=") { kind = .notEqual } else if consume("~") { kind = .regexNoMatch } else {
                throw error("expected \"!=\" or \"!~\" after \(name)", at: opStart)
            }
        } else {
            throw error("expected one of =, !=, =~, !~ after \"\(name)\", found \(peekDescription)")
        }
        skipSpaces()
        let valueStart = position
        let value: String
        if consume("\"") {
            value = try quoted(openedAt: valueStart)
        } else {
            while position < scalars.count {
                let c = scalars[position]
                if insideBraces, c == "," || c == "}" { break }
                if c == "\"" { throw error("unexpected quote inside an unquoted value") }
                position += 1
            }
            var end = position
            while end > valueStart, scalars[end - 1] == " " || scalars[end - 1] == "\t" { end -= 1 }
            value = String(String.UnicodeScalarView(scalars[valueStart..<end]))
        }
        do {
            return try Matcher(name: name, kind, value)
        } catch {
            throw self.error(error.message, at: valueStart)
        }
    }

    /// The rest of a `"…"` string whose opening quote was at `openedAt`; understands `\"`, `\\`, `\n`, `\t`.
    mutating func quoted(openedAt: Int) throws(MatcherError) -> String {
        var out = String.UnicodeScalarView()
        while position < scalars.count {
            let c = scalars[position]
            position += 1
            if c == "\"" { return String(out) }
            if c == "\\" {
                guard position < scalars.count else { break }
                let e = scalars[position]
                position += 1
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\\": out.append("\\")
                case "\"": out.append("\"")
                default:
                    // Regexes keep their own escapes (`\d`, `\.`): pass the backslash through.
                    out.append("\\")
                    out.append(e)
                }
                continue
            }
            out.append(c)
        }
        throw error("unterminated quoted string (no closing \")", at: openedAt)
    }
}
