/// Why a pattern was rejected, worded as Go's `regexp/syntax` words it
/// (``missing closing ): `(a` ``), with where in the pattern it happened.
public struct RegularExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong; the raw values are Go's `syntax.ErrorCode` texts, plus one for what RE2
    /// has and this engine does not (Unicode scripts).
    public enum Code: String, Sendable {
        case invalidCharClass = "invalid character class"
        case invalidCharRange = "invalid character class range"
        case invalidEscape = "invalid escape sequence"
        case invalidNamedCapture = "invalid named capture"
        case invalidPerlOp = "invalid or unsupported Perl syntax"
        case invalidRepeatOp = "invalid nested repetition operator"
        case invalidRepeatSize = "invalid repeat count"
        case missingBracket = "missing closing ]"
        case missingParen = "missing closing )"
        case missingRepeatArgument = "missing argument to repetition operator"
        case trailingBackslash = "trailing backslash at end of expression"
        case unexpectedParen = "unexpected )"
        case nestingDepth = "expression nests too deeply"
        case large = "expression too large"
        case unsupportedScript = "Unicode scripts are not supported (general categories such as \\pL are)"
    }

    /// The kind of problem, for callers that answer differently (Prometheus's `unsupported` vs `bad_data`).
    public enum Kind: Sendable, Equatable {
        /// Not a regular expression in any dialect.
        case syntax
        /// A construct of other dialects (PCRE's look-around, backreferences, possessive
        /// quantifiers, atomic groups, `\C`, `\Z`; Unicode scripts) that RE2 or this engine rejects.
        case unsupported
        /// Within the syntax but beyond a size limit (repeat counts, nesting, program size).
        case limit
    }

    /// What is wrong.
    public var code: Code
    /// The offending part of the pattern, as Go quotes it (cut at 200 characters and marked `…`,
    /// as Go quotes the whole pattern for unbalanced parentheses and size limits).
    public var fragment: String
    /// Where the fragment starts in the pattern, in UTF-8 bytes.
    public var offset: Int
    /// The kind of problem.
    public var kind: Kind

    /// An error; `offset` counts UTF-8 bytes into the pattern.
    public init(code: Code, fragment: String, offset: Int, kind: Kind = .syntax) {
        self.code = code
        self.fragment = fragment.unicodeScalars.count > 200 ? String(String.UnicodeScalarView(fragment.unicodeScalars.prefix(200))) + "…" : fragment
        self.offset = offset
        self.kind = kind
    }

    /// Go's wording without its `error parsing regexp: ` prefix: ``missing closing ): `(a` ``.
    public var message: String { "\(code.rawValue): `\(fragment)`" }

    /// The message.
    public var description: String { message }
}
