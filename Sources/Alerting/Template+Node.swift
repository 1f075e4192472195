/// The parse tree of a template, as Go's `text/template/parse` builds it. Every node knows its
/// byte position in the template's full text, and prints back as Go prints it (`String()`), since
/// Go's execution errors quote the node they happened at.
extension Template {
    indirect enum Node: Sendable {
        case text(pos: Int, String)
        case action(pos: Int, Pipe)
        case branch(Branch)
        case template(pos: Int, name: String, quotedName: String, pipe: Pipe?)
        case breakLoop(pos: Int)
        case continueLoop(pos: Int)
        case list([Node])
    }

    /// `if`, `range` or `with`.
    struct Branch: Sendable {
        enum Kind: String, Sendable { case ifBranch = "if", range, with }
        var kind: Kind
        var pos: Int
        var pipe: Pipe
        var list: [Node]
        var elseList: [Node]?
    }

    /// A pipeline, optionally declaring (`:=`) or assigning (`=`) variables.
    struct Pipe: Sendable {
        var pos: Int
        var isAssign = false
        var decls: [(pos: Int, name: String)] = []
        var commands: [Command] = []
    }

    /// One command of a pipeline: a function or method and its arguments, or an operand.
    struct Command: Sendable {
        var pos: Int
        var args: [Operand] = []
    }

    /// An argument of a command.
    indirect enum Operand: Sendable {
        case identifier(pos: Int, String)
        case dot(pos: Int)
        case nilValue(pos: Int)
        /// `$x.Field…`: the variable name (with `$`) and fields.
        case variable(pos: Int, [String])
        /// `.Field…`.
        case field(pos: Int, [String])
        /// `(pipeline).Field…`, `$x` is never one.
        case chain(pos: Int, Operand, [String])
        case bool(pos: Int, Bool)
        case number(pos: Int, NumberConstant)
        case string(pos: Int, quoted: String, text: String)
        case pipe(Pipe)

        var pos: Int {
            switch self {
            case .identifier(let p, _), .dot(let p), .nilValue(let p), .variable(let p, _), .field(let p, _), .chain(let p, _, _),
                 .bool(let p, _), .number(let p, _), .string(let p, _, _):
                p
            case .pipe(let p): p.pos
            }
        }
    }

    /// A number constant, held in every type that can represent it (Go's ideal constants).
    struct NumberConstant: Sendable {
        var text: String
        var int: Int64?
        var uint: UInt64?
        var float: Double?
        var isComplex = false
        var isChar = false
    }
}

extension Template.Node {
    var pos: Int {
        switch self {
        case .text(let p, _), .action(let p, _), .template(let p, _, _, _), .breakLoop(let p), .continueLoop(let p): p
        case .branch(let b): b.pos
        case .list(let nodes): nodes.first?.pos ?? 0
        }
    }

    /// Go's `Node.String()`.
    var goString: String {
        switch self {
        case .text(_, let t): return t
        case .action(_, let p): return "{{" + p.goString + "}}"
        case .branch(let b):
            var s = "{{\(b.kind.rawValue) \(b.pipe.goString)}}" + b.list.map(\.goString).joined()
            if let e = b.elseList { s += "{{else}}" + e.map(\.goString).joined() }
            return s + "{{end}}"
        case .template(_, _, let quoted, let pipe):
            return pipe.map { "{{template \(quoted) \($0.goString)}}" } ?? "{{template \(quoted)}}"
        case .breakLoop: return "{{break}}"
        case .continueLoop: return "{{continue}}"
        case .list(let nodes): return nodes.map(\.goString).joined()
        }
    }
}

extension Template.Pipe {
    var goString: String {
        var s = ""
        if !decls.isEmpty {
            s = decls.map(\.name).joined(separator: ", ") + (isAssign ? " = " : " := ")
        }
        return s + commands.map(\.goString).joined(separator: " | ")
    }
}

extension Template.Command {
    var goString: String {
        args.map { arg in
            if case .pipe(let p) = arg { return "(" + p.goString + ")" }
            return arg.goString
        }.joined(separator: " ")
    }
}

extension Template.Operand {
    var goString: String {
        switch self {
        case .identifier(_, let name): return name
        case .dot: return "."
        case .nilValue: return "nil"
        case .variable(_, let parts): return parts.joined(separator: ".")
        case .field(_, let parts): return parts.map { "." + $0 }.joined()
        case .chain(_, let node, let fields):
            let head: String
            if case .pipe(let p) = node { head = "(" + p.goString + ")" } else { head = node.goString }
            return head + fields.map { "." + $0 }.joined()
        case .bool(_, let b): return b ? "true" : "false"
        case .number(_, let n): return n.text
        case .string(_, let quoted, _): return quoted
        case .pipe(let p): return p.goString
        }
    }
}
