/// Why a log line was skipped; lines are counted per file and reason (`agent_log_lines_malformed_total`).
public enum MalformedLineReason: UInt8, CaseIterable, Sendable, Error, CustomStringConvertible {
    /// The line does not start like JSON at all (`GET /index.html ...`).
    case notJSON
    /// The line is JSON but not an object (`[1,2]`, `"text"`, `42`).
    case notObject
    /// The line ended inside a value: a writer crashed mid-line, or the line was cut.
    case truncated
    /// Invalid JSON: a bad token, a missing comma or colon, a raw control character in a string,
    /// an invalid escape, or data after the closing brace.
    case syntax
    /// Objects or arrays nested deeper than the extractor's limit.
    case tooDeep
    /// A string used for a label or a number is not valid UTF-8.
    case invalidUTF8
    /// A mapped field has a type the mapping cannot use (an object as a label, `"abc"` as a number,
    /// a negative counter increment).
    case wrongType
    /// The timestamp field is present but is neither RFC 3339 nor a number of epoch seconds or milliseconds.
    case badTimestamp
    /// The line is longer than `max_line_bytes`; it is skipped without being read into memory.
    case tooLong

    /// The reason as it appears in the `reason` label and on stderr.
    public var description: String {
        switch self {
        case .notJSON: "not_json"
        case .notObject: "not_object"
        case .truncated: "truncated"
        case .syntax: "syntax"
        case .tooDeep: "too_deep"
        case .invalidUTF8: "invalid_utf8"
        case .wrongType: "wrong_type"
        case .badTimestamp: "bad_timestamp"
        case .tooLong: "too_long"
        }
    }
}
