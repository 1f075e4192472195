extension Node {
    /// The node in a few words for an error message: `a mapping`, `a list`, `nothing (null)`,
    /// `the number 5`, `the boolean yes`, `the string "…"` (cut at 40 characters). A quoted number
    /// is a string.
    public var summary: String {
        switch self {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s):
            if null != nil { return "nothing (null)" }
            if s.style == .plain {
                if int != nil || float != nil { return "the number \(s.string)" }
                if bool != nil { return "the boolean \(s.string)" }
            }
            let text = s.string.count > 40 ? String(s.string.prefix(40)) + "…" : s.string
            return "the string \"\(text)\""
        }
    }
}

/// A YAML text's lines, to place a position inside a scalar's value in the file: an error at
/// line 2, column 5 of a `|` block's text is at the block's second line, after its indentation.
public struct YAMLLines: Sendable {
    /// The text's lines, split at `\n`.
    public let lines: [Substring]

    public init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Where line `line`, column `column` of `node`'s value (1-based, columns in characters) is
    /// in the file, following how the scalar is written (plain, quoted, or a `|`/`>` block); the
    /// node's own position when it is no scalar or the position falls outside the text.
    public func mark(inScalar node: Node, line: Int, column: Int) -> Mark? {
        guard let start = node.mark else { return nil }
        guard case .scalar(let s) = node else { return start }
        switch s.style {
        case .literal, .folded:
            // The content begins on the first non-blank line after the indicator; its indentation
            // is that of the block.
            var first = start.line + 1
            while first - 1 < lines.count, lines[first - 1].allSatisfy({ $0 == " " }) { first += 1 }
            guard first - 1 < lines.count else { return start }
            let indent = lines[first - 1].prefix(while: { $0 == " " }).count
            return Mark(line: first + line - 1, column: indent + column)
        case .singleQuoted, .doubleQuoted:
            if line == 1 { return Mark(line: start.line, column: start.column + column) }
        default:
            if line == 1 { return Mark(line: start.line, column: start.column + column - 1) }
        }
        // A plain or quoted scalar continued over several lines: the continuation lines are indented.
        let fileLine = start.line + line - 1
        guard fileLine - 1 < lines.count else { return start }
        let indent = lines[fileLine - 1].prefix(while: { $0 == " " }).count
        return Mark(line: fileLine, column: indent + column)
    }

    /// `mark(inScalar:line:column:)` for a UTF-8 byte offset within the scalar's value.
    public func mark(inScalar node: Node, byteOffset: Int) -> Mark? {
        guard case .scalar(let s) = node else { return node.mark }
        var line = 1
        var column = 1
        var consumed = 0
        for u in s.string.unicodeScalars {
            if consumed >= byteOffset { break }
            consumed += UTF8.width(u)
            if u == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return mark(inScalar: node, line: line, column: column)
    }
}
