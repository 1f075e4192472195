/// Executing a template the way Go's `text/template` (`exec.go`) does with Prometheus's options
/// (`missingkey=zero`): the same truth, range, variable and call rules, and the same error
/// messages, each naming the template, its `line:column` and the node it happened at.
extension Template {
    /// Renders the template; a failure renders as Prometheus renders it: `<error expanding template: …>`.
    public func render(_ context: TemplateContext) -> String {
        switch execute(context) {
        case .success(let text): text
        case .failure(let error): "<error expanding template: \(error.message)>"
        }
    }

    /// Renders the template, or says why it could not: Prometheus's message and where in the
    /// template's own text (a byte offset) it went wrong.
    public func execute(_ context: TemplateContext) -> Result<String, TemplateRenderError> {
        if name.isEmpty { return .success(source) }
        var executor = TemplateExecutor(template: self, context: context)
        do {
            try executor.walk(executor.data, .list(nodes))
            return .success(String(decoding: executor.output, as: UTF8.self))
        } catch {
            switch error {
            case .failed(let message, let pos):
                let offset = pos.map { max(0, $0 - Template.prefixBytes.count) }
                return .failure(TemplateRenderError(message: "error executing template \(name): " + message, offset: offset))
            case .breakLoop, .continueLoop:
                return .failure(TemplateRenderError(message: "error executing template \(name): break or continue outside range", offset: nil))
            }
        }
    }
}

/// Why a template could not be rendered: Prometheus's message, and the byte offset in the
/// template's text of the node it happened at (nil when it is not in the text).
public struct TemplateRenderError: Error, Sendable, Equatable {
    public var message: String
    public var offset: Int?
}

/// How execution leaves a node early: a `break`/`continue` (caught by the enclosing `range`) or a failure.
enum TemplateSignal: Error {
    case breakLoop
    case continueLoop
    /// The full Go message, and the position of the node it happened at.
    case failed(String, pos: Int?)
}

/// The node execution is at, for messages (Go's `state.node`).
enum TemplateNodeRef {
    case node(Template.Node)
    case pipe(Template.Pipe)
    case command(Template.Command)
    case operand(Template.Operand)

    var pos: Int {
        switch self {
        case .node(let n): n.pos
        case .pipe(let p): p.pos
        case .command(let c): c.pos
        case .operand(let o): o.pos
        }
    }

    var goString: String {
        switch self {
        case .node(let n): n.goString
        case .pipe(let p): p.goString
        case .command(let c): c.goString
        case .operand(let o): o.goString
        }
    }
}

struct TemplateExecutor {
    typealias Node = Template.Node
    typealias Value = TemplateValue

    let template: Template
    let context: TemplateContext
    let data: Value
    var output: [UInt8] = []
    var vars: [(name: String, value: Value)]
    /// The template being executed (`{{template "x"}}` switches it), for messages.
    var executing: String
    var node: TemplateNodeRef?
    var steps = 0
    var queries = 0
    var depth = 0

    /// Most bytes one rendering may produce.
    static let maxOutput = 64 * 1024
    /// Most `query` calls one rendering may make.
    static let maxQueries = 20
    /// Most nodes one rendering may execute (loop bodies count once per iteration).
    static let maxSteps = 100_000
    /// Deepest nesting of `{{template}}` calls.
    static let maxDepth = 100

    init(template: Template, context: TemplateContext) {
        self.template = template
        self.context = context
        data = .alert(AlertData(
            labels: context.labels.labels.map { (name: $0.name, value: $0.value) },
            externalLabels: context.externalLabels.labels.map { (name: $0.name, value: $0.value) },
            externalURL: context.externalURL, value: .float(context.value)))
        vars = [("$", data)]
        executing = template.name
    }

    // MARK: Errors

    mutating func at(_ n: TemplateNodeRef) { node = n }

    /// Go's `state.errorf`: `template: NAME:LINE:COL: executing "NAME" at <NODE>: message`.
    func failure(_ message: String) -> TemplateSignal {
        guard let node else { return .failed("template: \(executing): \(message)", pos: nil) }
        let pos = min(node.pos, template.text.count)
        let before = template.text[..<pos]
        let line = 1 + before.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        let column = before.lastIndex(of: 0x0A).map { pos - ($0 + 1) } ?? pos
        return .failed("template: \(template.name):\(line):\(column): executing \(GoFormat.quote(executing)) at <\(node.goString)>: \(message)", pos: pos)
    }

    mutating func step() throws(TemplateSignal) {
        steps += 1
        if steps > Self.maxSteps { throw failure("template execution took more than \(Self.maxSteps) steps (the agent's limit)") }
    }

    mutating func write(_ s: String) throws(TemplateSignal) {
        let bytes = s.utf8
        guard output.count + bytes.count <= Self.maxOutput else {
            throw failure("template output exceeds \(Self.maxOutput) bytes (the agent's limit)")
        }
        output.append(contentsOf: bytes)
    }

    // MARK: Variables

    mutating func push(_ name: String, _ value: Value) { vars.append((name, value)) }

    mutating func setVar(_ name: String, _ value: Value) throws(TemplateSignal) {
        guard let i = vars.lastIndex(where: { $0.name == name }) else { throw failure("undefined variable: \(name)") }
        vars[i].value = value
    }

    func varValue(_ name: String) throws(TemplateSignal) -> Value {
        guard let v = vars.last(where: { $0.name == name }) else { throw failure("undefined variable: \(name)") }
        return v.value
    }

    // MARK: Walking

    mutating func walk(_ dot: Value, _ node: Node) throws(TemplateSignal) {
        try step()
        at(.node(node))
        switch node {
        case .action(_, let pipe):
            // Variables declared here persist to the next {{end}}; a declaration prints nothing.
            let value = try evalPipeline(dot, pipe)
            if pipe.decls.isEmpty { try write(GoFormat.printed(value)) }
        case .breakLoop: throw .breakLoop
        case .continueLoop: throw .continueLoop
        case .branch(let b):
            if b.kind == .range { try walkRange(dot, b) } else { try walkIfOrWith(dot, b) }
        case .list(let nodes):
            for n in nodes { try walk(dot, n) }
        case .template(_, let name, _, let pipe):
            try walkTemplate(dot, name: name, pipe: pipe)
        case .text(_, let t):
            try write(t)
        }
    }

    mutating func walkIfOrWith(_ dot: Value, _ b: Template.Branch) throws(TemplateSignal) {
        let mark = vars.count
        defer { vars.removeSubrange(mark...) }
        let value = try evalPipeline(dot, b.pipe)
        if value.isTrue {
            try walk(b.kind == .with ? value : dot, .list(b.list))
        } else if let e = b.elseList {
            try walk(dot, .list(e))
        }
    }

    mutating func walkRange(_ dot: Value, _ b: Template.Branch) throws(TemplateSignal) {
        at(.node(.branch(b)))
        let mark = vars.count
        defer { vars.removeSubrange(mark...) }
        let value = try evalPipeline(dot, b.pipe)
        let bodyMark = vars.count
        let decls = b.pipe.decls
        func iterate(_ executor: inout TemplateExecutor, _ index: Value, _ element: Value) throws(TemplateSignal) -> Bool {
            if let first = decls.first {
                if b.pipe.isAssign {
                    try executor.setVar(first.name, decls.count > 1 ? index : element)
                } else {
                    executor.vars[executor.vars.count - 1].value = element
                }
            }
            if decls.count > 1 {
                if b.pipe.isAssign {
                    try executor.setVar(decls[1].name, element)
                } else {
                    executor.vars[executor.vars.count - 2].value = index
                }
            }
            defer { executor.vars.removeSubrange(bodyMark...) }
            do {
                try executor.walk(element, .list(b.list))
            } catch {
                switch error {
                case .continueLoop: break
                case .breakLoop: return false
                case .failed: throw error
                }
            }
            return true
        }
        let elements: [(Value, Value)]
        switch value {
        case .samples(let list): elements = list.enumerated().map { (.int($0.offset), .sample($0.element)) }
        case .labels(let pairs): elements = pairs.map { (.string($0.name), .string($0.value)) }
        case .map(let pairs): elements = pairs.map { (.string($0.key), $0.value) }
        case .int, .byte:
            let count = Int(value.integer ?? 0)
            if decls.count > 1 { throw failure("can't use \(GoFormat.sprint(value)) to iterate over more than one variable") }
            // Go 1.22: ranging over an integer n gives 0 … n−1.
            guard count > 0 else { return try runElse(dot, b) }
            for i in 0..<count {
                try step()
                if try !iterate(&self, .invalid, .int(i)) { break }
            }
            return
        case .invalid: return try runElse(dot, b)
        default:
            throw failure("range can't iterate over \(GoFormat.printed(value))")
        }
        guard !elements.isEmpty else { return try runElse(dot, b) }
        for (index, element) in elements {
            try step()
            if try !iterate(&self, index, element) { break }
        }
    }

    mutating func runElse(_ dot: Value, _ b: Template.Branch) throws(TemplateSignal) {
        if let e = b.elseList { try walk(dot, .list(e)) }
    }

    mutating func walkTemplate(_ dot: Value, name: String, pipe: Template.Pipe?) throws(TemplateSignal) {
        guard let body = template.definitions[name] else { throw failure("template \(GoFormat.quote(name)) not defined") }
        if depth >= Self.maxDepth { throw failure("exceeded maximum template depth (\(Self.maxDepth))") }
        let newDot = try pipe.map { p throws(TemplateSignal) in try evalPipeline(dot, p) } ?? .invalid
        // No dynamic scoping: the called template sees only `$`, its dot.
        let (savedVars, savedName) = (vars, executing)
        vars = [("$", newDot)]
        executing = name
        depth += 1
        defer {
            vars = savedVars
            executing = savedName
            depth -= 1
        }
        try walk(newDot, .list(body))
    }

    // MARK: Pipelines and commands

    mutating func evalPipeline(_ dot: Value, _ pipe: Template.Pipe) throws(TemplateSignal) -> Value {
        at(.pipe(pipe))
        var value: Value? = nil
        for cmd in pipe.commands {
            value = try evalCommand(dot, cmd, final: value)
        }
        let result = value ?? .invalid
        for decl in pipe.decls {
            if pipe.isAssign { try setVar(decl.name, result) } else { push(decl.name, result) }
        }
        return result
    }

    mutating func notAFunction(_ args: [Template.Operand], _ final: Value?) throws(TemplateSignal) {
        if args.count > 1 || final != nil { throw failure("can't give argument to non-function \(args[0].goString)") }
    }

    mutating func evalCommand(_ dot: Value, _ cmd: Template.Command, final: Value?) throws(TemplateSignal) -> Value {
        try step()
        let first = cmd.args[0]
        switch first {
        case .field(_, let idents):
            at(.operand(first))
            return try evalFieldChain(dot, receiver: dot, node: first, idents, args: cmd.args, final: final)
        case .chain(_, let inner, let fields):
            return try evalChain(dot, first, inner, fields, args: cmd.args, final: final)
        case .identifier(_, let name):
            return try evalFunction(dot, name, identifier: first, cmd: .command(cmd), args: cmd.args, final: final)
        case .pipe(let p):
            try notAFunction(cmd.args, final)
            return try evalPipeline(dot, p)
        case .variable(_, let parts):
            return try evalVariable(dot, first, parts, args: cmd.args, final: final)
        default:
            break
        }
        at(.operand(first))
        try notAFunction(cmd.args, final)
        switch first {
        case .bool(_, let b): return .bool(b)
        case .dot: return dot
        case .nilValue: throw failure("nil is not a command")
        case .number(_, let n): return try idealConstant(n)
        case .string(_, _, let text): return .string(text)
        default: throw failure("can't evaluate command \(GoFormat.quote(first.goString))")
        }
    }

    /// A number constant without a type to fit: a float when written as one, else an int.
    mutating func idealConstant(_ n: Template.NumberConstant) throws(TemplateSignal) -> Value {
        if n.isComplex { throw failure("complex constant \(n.text) is not supported") }
        let lower = n.text.lowercased()
        let isHexInt = lower.hasPrefix("0x") && !lower.contains("p")
        if let f = n.float, !isHexInt, !n.isChar, n.text.contains(where: { ".eEpP".contains($0) }) { return .float(f) }
        if let i = n.int { return .int(Int(i)) }
        if n.uint != nil { throw failure("\(n.text) overflows int") }
        return .invalid
    }

    mutating func evalChain(_ dot: Value, _ node: Template.Operand, _ inner: Template.Operand, _ fields: [String], args: [Template.Operand]?,
                            final: Value?) throws(TemplateSignal) -> Value {
        at(.operand(node))
        if case .nilValue = inner { throw failure("indirection through explicit nil in \(node.goString)") }
        let receiver = try evalArg(dot, .any, inner)
        return try evalFieldChain(dot, receiver: receiver, node: node, fields, args: args, final: final)
    }

    mutating func evalVariable(_ dot: Value, _ node: Template.Operand, _ parts: [String], args: [Template.Operand]?,
                               final: Value?) throws(TemplateSignal) -> Value {
        at(.operand(node))
        let value = try varValue(parts[0])
        if parts.count == 1 {
            try notAFunction(args ?? [node], final)
            return value
        }
        return try evalFieldChain(dot, receiver: value, node: node, Array(parts.dropFirst()), args: args, final: final)
    }

    mutating func evalFieldChain(_ dot: Value, receiver start: Value, node: Template.Operand, _ idents: [String], args: [Template.Operand]?,
                                 final: Value?) throws(TemplateSignal) -> Value {
        var receiver = start
        for (i, name) in idents.enumerated() {
            let last = i == idents.count - 1
            receiver = try evalField(dot, name, node: node, args: last ? args : nil, final: last ? final : nil, receiver: receiver)
        }
        return receiver
    }

    /// `.Name` of a value: a field of a struct, an entry of a map (missing: the zero value), or a method.
    mutating func evalField(_ dot: Value, _ name: String, node: Template.Operand, args: [Template.Operand]?, final: Value?,
                            receiver: Value) throws(TemplateSignal) -> Value {
        if receiver == .invalid { return .invalid }
        let typeName = receiver.goType
        if let method = TemplateMethods.lookup(receiver, name) {
            return try evalCall(dot, method, node: .operand(node), args: args, final: final)
        }
        let hasArgs = (args?.count ?? 0) > 1 || final != nil
        switch receiver {
        case .alert(let d):
            let field: Value?
            switch name {
            case "Labels": field = .labels(d.labels)
            case "ExternalLabels": field = .labels(d.externalLabels)
            case "ExternalURL": field = .string(d.externalURL)
            case "Value": field = d.value
            default: field = nil
            }
            if let field {
                if hasArgs { throw failure("\(name) has arguments but cannot be invoked as function") }
                return field
            }
        case .sample(let s):
            guard name == "Labels" || name == "Value" else { break }
            guard let s else { throw failure("nil pointer evaluating \(typeName).\(name)") }
            if hasArgs { throw failure("\(name) has arguments but cannot be invoked as function") }
            return name == "Labels" ? .labels(s.labels) : .float(s.value)
        case .labels(let pairs):
            if hasArgs { throw failure("\(name) is not a method but has arguments") }
            return .string(pairs.first { $0.name == name }?.value ?? "")
        case .map(let pairs):
            if hasArgs { throw failure("\(name) is not a method but has arguments") }
            return pairs.first { $0.key == name }?.value ?? .invalid
        default:
            break
        }
        throw failure("can't evaluate field \(name) in type \(typeName)")
    }

    mutating func evalFunction(_ dot: Value, _ name: String, identifier: Template.Operand, cmd: TemplateNodeRef, args: [Template.Operand]?,
                               final: Value?) throws(TemplateSignal) -> Value {
        at(.operand(identifier))
        guard let function = TemplateFunctions.table[name] else { throw failure("\(GoFormat.quote(name)) is not a defined function") }
        return try evalCall(dot, function, node: cmd, args: args, final: final)
    }

    /// Calls a function or method: checks the number of arguments, evaluates and checks each for
    /// the parameter's type (`and`/`or` stop at the first that decides), and wraps its error.
    mutating func evalCall(_ dot: Value, _ function: TemplateFunction, node: TemplateNodeRef, args allArgs: [Template.Operand]?,
                           final: Value?) throws(TemplateSignal) -> Value {
        let args = allArgs.map { Array($0.dropFirst()) } ?? []
        let numIn = args.count + (final == nil ? 0 : 1)
        let numFixed = function.fixed.count
        if function.variadic != nil {
            if numIn < numFixed {
                throw failure("wrong number of args for \(function.name): want at least \(numFixed) got \(args.count)")
            }
        } else if numIn != numFixed {
            throw failure("wrong number of args for \(function.name): want \(numFixed) got \(numIn)")
        }
        if function.name == "and" || function.name == "or" {
            var v: Value = .invalid
            for arg in args {
                v = try evalArg(dot, .reflectValue, arg)
                if v.isTrue == (function.name == "or") { return v }
            }
            if let final { v = final }
            return v
        }
        var argv: [Value] = []
        argv.reserveCapacity(numIn)
        for (i, arg) in args.enumerated() {
            argv.append(try evalArg(dot, i < numFixed ? function.fixed[i] : function.variadic!, arg))
        }
        if let final {
            let type = function.variadic == nil || numIn - 1 < numFixed ? function.fixed[numIn - 1] : function.variadic!
            argv.append(try validateType(final, type))
        }
        if function.name == "call" {
            let callee = args.first?.goString ?? GoFormat.sprint(final ?? .invalid)
            at(node)
            if argv.first == .invalid { throw failure("error calling call: call of nil") }
            throw failure("error calling call: non-function \(callee) of type \(argv.first?.goType ?? "<nil>")")
        }
        do {
            return try function.body(argv, &self)
        } catch {
            at(node)
            throw failure("error calling \(function.name): \(error.message)")
        }
    }

    /// A function argument of the parameter's type: constants take the type, values must fit it.
    mutating func evalArg(_ dot: Value, _ type: TemplateParameter, _ n: Template.Operand) throws(TemplateSignal) -> Value {
        at(.operand(n))
        // The value is worked out first: a failing check names the node evaluated last, as Go's does.
        let value: Value
        switch n {
        case .dot: value = dot
        case .nilValue:
            if let zero = type.zero { return zero }
            throw failure("cannot assign nil to \(type.goType)")
        case .field(_, let idents): value = try evalFieldChain(dot, receiver: dot, node: n, idents, args: [n], final: nil)
        case .variable(_, let parts): value = try evalVariable(dot, n, parts, args: nil, final: nil)
        case .pipe(let p): value = try evalPipeline(dot, p)
        case .identifier(_, let name): value = try evalFunction(dot, name, identifier: n, cmd: .operand(n), args: nil, final: nil)
        case .chain(_, let inner, let fields): value = try evalChain(dot, n, inner, fields, args: nil, final: nil)
        default: return try evalConstant(n, type)
        }
        return try validateType(value, type)
    }

    /// A constant argument: it takes the parameter's type.
    mutating func evalConstant(_ n: Template.Operand, _ type: TemplateParameter) throws(TemplateSignal) -> Value {
        switch type {
        case .string:
            if case .string(_, _, let text) = n { return .string(text) }
            throw failure("expected string; found \(n.goString)")
        case .any, .reflectValue:
            switch n {
            case .bool(_, let b): return .bool(b)
            case .number(_, let num): return try idealConstant(num)
            case .string(_, _, let text): return .string(text)
            default: break
            }
        case .samplePointer, .queryResult:
            break
        }
        throw failure("can't handle \(n.goString) for arg of type \(type.goType)")
    }

    /// Go's `validateType`: a value must be assignable to the parameter's type.
    func validateType(_ value: Value, _ type: TemplateParameter) throws(TemplateSignal) -> Value {
        if value == .invalid {
            if let zero = type.zero { return zero }
            throw failure("invalid value; expected \(type.goType)")
        }
        switch type {
        case .any, .reflectValue: return value
        case .string: if case .string = value { return value }
        case .samplePointer: if case .sample = value { return value }
        case .queryResult: if case .samples = value { return value }
        }
        throw failure("wrong type for value; expected \(type.goType); got \(value.goType)")
    }
}

extension TemplateValue {
    /// The value of an integer kind.
    var integer: Int64? {
        switch self {
        case .int(let i): Int64(i)
        case .byte(let b): Int64(b)
        default: nil
        }
    }
}
