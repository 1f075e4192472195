public import TimeSeries

/// A label or annotation template: Go's `text/template` as Prometheus runs it for alerting rules.
///
/// The whole language: text and `{{ … }}` actions with `{{-`/`-}}` trimming and `{{/* comments */}}`;
/// pipelines, parenthesised pipelines, variables (`$x := …`, `$x = …`), field chains; `if`/`else
/// if`/`else`, `range` (with `$i, $v :=`, `else`, `break`, `continue`), `with`/`else with`,
/// `define`/`template`/`block`; Go's builtins and every function of Prometheus's template package
/// (`query`, `first`, `humanize`, `humanizeTimestamp`, `toTime`, `reReplaceAll`, …; see
/// `TemplateFunctions.table`).
///
/// As in Prometheus, the text is parsed behind the definitions `{{$labels := .Labels}}`,
/// `{{$externalLabels := .ExternalLabels}}`, `{{$externalURL := .ExternalURL}}` and
/// `{{$value := .Value}}`, as a template named `__alert_<rule name>`: positions and names in
/// error messages are the ones Prometheus prints. Parse errors (unknown functions, undefined
/// variables, syntax) are load-time errors; everything else renders as Prometheus renders it —
/// an error as `<error expanding template: …>`.
///
/// Rendering is bounded: its output, its `query` calls, its steps (loop iterations, nodes) and its
/// template-call depth are capped, and hitting a cap is an error naming it.
public struct Template: Sendable, CustomStringConvertible {
    /// The template's text, as written.
    public let source: String
    /// `__alert_<rule name>`: the name Go's messages give the template.
    let name: String
    /// The full text parsed (the variable definitions, then `source`), which positions refer to.
    let text: [UInt8]
    let nodes: [Node]
    let definitions: [String: [Node]]
    /// True when rendering may depend on more than the data (labels, value, external labels and
    /// URL): the template calls `query` or `now`.
    public let readsStoreOrClock: Bool

    /// Prometheus's variable definitions, parsed in front of every alert template.
    static let prefix = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
    static let prefixBytes = Array(prefix.utf8)

    /// Longest template accepted, in bytes.
    public static let maxBytes = 64 * 1024

    /// Parses `source` as the template of a label or annotation of the alerting rule `ruleName`.
    public static func parse(_ source: String, ruleName: String = "") throws(TemplateError) -> Template {
        let body = Array(source.utf8)
        guard body.count <= maxBytes else {
            throw TemplateError(message: "template is \(body.count) bytes long — the limit is \(maxBytes)", offset: 0)
        }
        let text = prefixBytes + body
        var parser = TemplateParser(text: text, functions: TemplateFunctions.names)
        do {
            let nodes = try parser.parse()
            return Template(source: source, name: "__alert_" + ruleName, text: text, nodes: nodes, definitions: parser.definitions,
                            readsStoreOrClock: parser.calledFunctions.contains("query") || parser.calledFunctions.contains("now"))
        } catch {
            throw TemplateError(message: error.message, offset: max(0, error.pos - prefixBytes.count))
        }
    }

    /// A template that is only text (no actions), rendered as itself.
    public init(literal text: String) {
        source = text
        name = ""
        self.text = Array(text.utf8)
        nodes = [.text(pos: 0, text)]
        definitions = [:]
        readsStoreOrClock = false
    }

    init(source: String, name: String, text: [UInt8], nodes: [Node], definitions: [String: [Node]], readsStoreOrClock: Bool) {
        self.source = source
        self.name = name
        self.text = text
        self.nodes = nodes
        self.definitions = definitions
        self.readsStoreOrClock = readsStoreOrClock
    }

    /// True when the template has no action: it renders to its own text.
    public var isConstant: Bool { !source.contains("{{") }

    public var description: String { source }
}

/// What a template can read when it is rendered.
public struct TemplateContext: Sendable {
    /// The alert's labels (`$labels`).
    public var labels: Labels
    /// The expression's value (`$value`).
    public var value: Double
    /// The agent's external labels (`$externalLabels`).
    public var externalLabels: Labels
    /// The agent's external URL (`$externalURL`, `externalURL`, `pathPrefix`).
    public var externalURL: String
    /// The evaluation time: `now`, and the time `query` runs its expressions at.
    public var time: Timestamp
    /// Runs PromQL for the template's `query` function at `time`; nil when there is no store to ask.
    public var query: (@Sendable (String) throws(TemplateQueryError) -> [QuerySample])?

    public init(labels: Labels, value: Double, externalLabels: Labels = Labels(), externalURL: String = "", time: Timestamp = 0,
                query: (@Sendable (String) throws(TemplateQueryError) -> [QuerySample])? = nil) {
        self.labels = labels
        self.value = value
        self.externalLabels = externalLabels
        self.externalURL = externalURL
        self.time = time
        self.query = query
    }
}

/// Why a template's `query` failed (the query's own message).
public struct TemplateQueryError: Error, Sendable {
    public var message: String
    public init(message: String) { self.message = message }
}

/// A template that does not parse: Go's message and the byte offset in the template's text.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// UTF-8 byte offset within the template's text.
    public var offset: Int
    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { message }
}
