/// An error from parsing or evaluating an expression, with the position it refers to.
///
/// `description` reads `line:column: message`, e.g. `1:17: unexpected ")" — expected a label
/// matcher`. Line and column are 1-based within the expression (columns count Unicode scalars);
/// a rule file adds its own line with `located(inFileAtLine:column:)`.
public struct QueryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, broadly.
    public enum Kind: Sendable, Equatable {
        /// The text is not a well-formed expression.
        case parse
        /// Well-formed, but an operand has the wrong type (e.g. a range vector where an instant vector is needed).
        case type
        /// A PromQL construct this engine does not implement; the message names it.
        case unsupported
        /// The expression failed while being evaluated (e.g. many-to-many matching).
        case evaluation
        /// A bound was hit (expression size, nesting depth, series or sample count).
        case limit
        /// The query ran past its time limit (Prometheus's `--query.timeout`).
        case timeout
        /// The query was cancelled (its client went away, or the agent is stopping).
        case canceled
    }

    /// What went wrong, broadly.
    public var kind: Kind
    /// The message without position, e.g. `unexpected ")" — expected a label matcher`.
    public var message: String
    /// Byte range within the expression that the error refers to, when known.
    public var range: Range<Int>?
    /// 1-based line within the expression (0 when the error has no position).
    public var line: Int
    /// 1-based column within that line, in Unicode scalars (0 when the error has no position).
    public var column: Int

    /// An error with a position.
    public init(kind: Kind, message: String, range: Range<Int>?, line: Int, column: Int) {
        self.kind = kind
        self.message = message
        self.range = range
        self.line = line
        self.column = column
    }

    /// An error without a position (evaluation errors that concern the data, not the text).
    public init(kind: Kind, message: String) {
        self.init(kind: kind, message: message, range: nil, line: 0, column: 0)
    }

    /// `line:column: message`, or just the message when there is no position.
    public var description: String {
        line > 0 ? "\(line):\(column): \(message)" : message
    }

    /// The same error with its position moved into a file where the expression starts at
    /// `fileLine`:`fileColumn` (both 1-based), for `rules.yaml:14:9: …` messages.
    public func located(inFileAtLine fileLine: Int, column fileColumn: Int) -> QueryError {
        guard line > 0 else { return self }
        var copy = self
        copy.column = line == 1 ? fileColumn + column - 1 : column
        copy.line = fileLine + line - 1
        return copy
    }
}
