#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import TimeSeries

/// A parameter type of a template function, as far as Go checks arguments against it.
enum TemplateParameter: Sendable {
    /// `interface {}`: anything.
    case any
    /// `reflect.Value` (Go's builtins): anything, `nil` included.
    case reflectValue
    case string
    /// `*template.sample`.
    case samplePointer
    /// `template.queryResult`.
    case queryResult

    var goType: String {
        switch self {
        case .any: "interface {}"
        case .reflectValue: "reflect.Value"
        case .string: "string"
        case .samplePointer: "*template.sample"
        case .queryResult: "template.queryResult"
        }
    }

    /// What `nil` becomes for this type; nil when it cannot be nil.
    var zero: TemplateValue? {
        switch self {
        case .any, .reflectValue: .invalid
        case .string: nil
        case .samplePointer: .sample(nil)
        case .queryResult: .samples([])
        }
    }
}

/// Why a function failed: Go's message, which the executor wraps as `error calling NAME: …`.
struct TemplateFunctionError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// A function a template can call: its Go signature and its body.
struct TemplateFunction: Sendable {
    var name: String
    var fixed: [TemplateParameter]
    /// The type of the variadic parameter's elements, if the function has one.
    var variadic: TemplateParameter?
    var body: @Sendable ([TemplateValue], inout TemplateExecutor) throws(TemplateFunctionError) -> TemplateValue
}

extension TemplateFunctions {
    /// Every function a rule template can call: Go's builtins and Prometheus's template functions
    /// (`template/template.go`), with their Go signatures.
    static let table: [String: TemplateFunction] = {
        var t: [String: TemplateFunction] = [:]
        func add(_ name: String, _ fixed: [TemplateParameter], _ variadic: TemplateParameter? = nil,
                 _ body: @escaping @Sendable ([TemplateValue], inout TemplateExecutor) throws(TemplateFunctionError) -> TemplateValue) {
            t[name] = TemplateFunction(name: name, fixed: fixed, variadic: variadic, body: body)
        }
        func pure(_ name: String, _ fixed: [TemplateParameter], _ variadic: TemplateParameter? = nil,
                  _ body: @escaping @Sendable ([TemplateValue]) throws(TemplateFunctionError) -> TemplateValue) {
            add(name, fixed, variadic) { args, _ throws(TemplateFunctionError) in try body(args) }
        }

        // Go's builtins. `and`/`or` are evaluated by the executor (they stop early); `call` has no functions to call.
        pure("and", [.reflectValue], .reflectValue) { $0.last ?? .invalid }
        pure("or", [.reflectValue], .reflectValue) { $0.last ?? .invalid }
        pure("call", [.reflectValue], .reflectValue) { _ in .invalid }
        pure("not", [.reflectValue]) { .bool(!$0[0].isTrue) }
        pure("len", [.reflectValue]) { args throws(TemplateFunctionError) in .int(try length(args[0])) }
        pure("index", [.reflectValue], .reflectValue) { args throws(TemplateFunctionError) in try index(args[0], Array(args.dropFirst())) }
        pure("slice", [.reflectValue], .reflectValue) { args throws(TemplateFunctionError) in try slice(args[0], Array(args.dropFirst())) }
        pure("print", [], .any) { .string(GoFormat.sprint($0)) }
        pure("println", [], .any) { .string(GoFormat.sprintln($0)) }
        pure("printf", [.string], .any) { args in
            guard case .string(let format) = args[0] else { return .string("") }
            return .string(GoFormat.sprintf(format, Array(args.dropFirst())))
        }
        pure("html", [], .any) { .string(htmlEscape(printedArguments($0))) }
        pure("js", [], .any) { .string(jsEscape(printedArguments($0))) }
        pure("urlquery", [], .any) { .string(queryEscape(printedArguments($0))) }
        for (name, compare) in [("eq", 0), ("ne", 1), ("lt", 2), ("le", 3), ("gt", 4), ("ge", 5)] {
            pure(name, [.reflectValue], compare == 0 ? .reflectValue : nil) { args throws(TemplateFunctionError) in
                .bool(try comparison(compare, args))
            }
            if compare != 0 { t[name]!.fixed = [.reflectValue, .reflectValue] }
        }

        // Prometheus's functions.
        add("query", [.string]) { args, executor throws(TemplateFunctionError) in
            executor.queries += 1
            guard executor.queries <= TemplateExecutor.maxQueries else {
                throw TemplateFunctionError("more than \(TemplateExecutor.maxQueries) query calls in one template (the agent's limit)")
            }
            guard let query = executor.context.query else { throw TemplateFunctionError("no store to query here") }
            do throws(TemplateQueryError) {
                return .samples(try query(string(args[0])))
            } catch {
                throw TemplateFunctionError(error.message)
            }
        }
        pure("first", [.queryResult]) { args throws(TemplateFunctionError) in
            guard case .samples(let list) = args[0], let first = list.first else {
                throw TemplateFunctionError("first() called on vector with no elements")
            }
            return .sample(first)
        }
        pure("label", [.string, .samplePointer]) { args throws(TemplateFunctionError) in
            .string(try sample(args[1]).label(string(args[0])))
        }
        pure("value", [.samplePointer]) { args throws(TemplateFunctionError) in .float(try sample(args[0]).value) }
        pure("strvalue", [.samplePointer]) { args throws(TemplateFunctionError) in .string(try sample(args[0]).label("__value__")) }
        pure("args", [], .any) { args in
            .map(args.enumerated().map { (key: "arg\($0.offset)", value: $0.element) }.sorted { $0.key < $1.key })
        }
        pure("reReplaceAll", [.string, .string, .string]) { args throws(TemplateFunctionError) in
            do throws(RegexError) {
                return .string(try reReplaceAll(pattern: string(args[0]), replacement: string(args[1]), in: string(args[2])))
            } catch {
                throw TemplateFunctionError("regexp: Compile(\(GoFormat.quote(string(args[0])))): \(error.message)")
            }
        }
        pure("safeHtml", [.string]) { .html(string($0[0])) }
        pure("match", [.string, .string]) { args throws(TemplateFunctionError) in
            do throws(RegexError) {
                return .bool(try match(pattern: string(args[0]), in: string(args[1])))
            } catch {
                throw TemplateFunctionError(error.message)
            }
        }
        pure("title", [.string]) { .string(title(string($0[0]))) }
        pure("toUpper", [.string]) { .string(mapScalars(string($0[0]), upper: true)) }
        pure("toLower", [.string]) { .string(mapScalars(string($0[0]), upper: false)) }
        pure("graphLink", [.string]) { .string("/graph?g0.expr=\(queryEscape(string($0[0])))&g0.tab=0") }
        pure("tableLink", [.string]) { .string("/graph?g0.expr=\(queryEscape(string($0[0])))&g0.tab=1") }
        pure("sortByLabel", [.string, .queryResult]) { args in
            guard case .samples(let list) = args[1] else { return args[1] }
            let name = string(args[0])
            return .samples(list.enumerated().sorted { a, b in
                let (x, y) = (a.element.label(name), b.element.label(name))
                return x < y || (x == y && a.offset < b.offset)
            }.map(\.element))
        }
        pure("stripPort", [.string]) { args in
            let hostPort = string(args[0])
            return .string(splitHostPort(hostPort)?.host ?? hostPort)
        }
        pure("stripDomain", [.string]) { .string(stripDomain(string($0[0]))) }
        pure("humanize", [.any]) { args throws(TemplateFunctionError) in .string(humanize(try toFloat(args[0]))) }
        pure("humanize1024", [.any]) { args throws(TemplateFunctionError) in .string(humanize1024(try toFloat(args[0]))) }
        pure("humanizeDuration", [.any]) { args throws(TemplateFunctionError) in .string(humanizeDuration(try toFloat(args[0]))) }
        pure("humanizePercentage", [.any]) { args throws(TemplateFunctionError) in .string(humanizePercentage(try toFloat(args[0]))) }
        pure("humanizeTimestamp", [.any]) { args throws(TemplateFunctionError) in
            let v = try toFloat(args[0])
            if v.isNaN || v.isInfinite { return .string(GoFormat.formatG(v, precision: 4)) }
            return .string(GoTime.string(nanoseconds: try timeNanoseconds(v)))
        }
        pure("toTime", [.any]) { args throws(TemplateFunctionError) in
            let v = try toFloat(args[0])
            if v.isNaN || v.isInfinite { throw TemplateFunctionError("value is NaN or Inf") }
            return .time(try timeNanoseconds(v))
        }
        pure("toDuration", [.any]) { args throws(TemplateFunctionError) in .duration(goInt64(try toFloat(args[0]) * 1e9)) }
        add("now", []) { _, executor in .float(Double(executor.context.time) / 1000) }
        add("pathPrefix", []) { _, executor in .string(urlPath(executor.context.externalURL)) }
        add("externalURL", []) { _, executor in .string(executor.context.externalURL) }
        pure("parseDuration", [.string]) { args throws(TemplateFunctionError) in
            let text = string(args[0])
            let negative = text.hasPrefix("-")
            guard let ms = PrometheusDuration.parse(negative ? String(text.dropFirst()) : text) else {
                throw TemplateFunctionError("not a valid duration string: \(GoFormat.quote(text))")
            }
            return .float(Double(negative ? -ms : ms) / 1000)
        }
        pure("urlQueryEscape", [.string]) { .string(queryEscape(string($0[0]))) }
        return t
    }()

    /// The names a template may call (the parser refuses any other).
    static let names = Set(table.keys)

    static func string(_ v: TemplateValue) -> String {
        switch v {
        case .string(let s), .html(let s): s
        default: GoFormat.sprint(v)
        }
    }

    static func sample(_ v: TemplateValue) throws(TemplateFunctionError) -> QuerySample {
        guard case .sample(let s?) = v else { throw TemplateFunctionError("runtime error: invalid memory address or nil pointer dereference") }
        return s
    }

    /// Prometheus's `ConvertToFloat`: numbers as they are, strings parsed; anything else is an error.
    static func toFloat(_ v: TemplateValue) throws(TemplateFunctionError) -> Double {
        switch v {
        case .float(let d): return d
        case .int(let i): return Double(i)
        case .string(let s):
            if let d = parseGoFloat(s) { return d }
            throw TemplateFunctionError("strconv.ParseFloat: parsing \(GoFormat.quote(s)): invalid syntax")
        default:
            throw TemplateFunctionError("can't convert \(v.goType) to float")
        }
    }

    /// Go's `int64(f)` on amd64: truncation, and the minimum for what does not fit.
    static func goInt64(_ f: Double) -> Int64 {
        guard f.isFinite, f > -9.223372036854775808e18, f < 9.223372036854775808e18 else { return Int64.min }
        return Int64(f)
    }

    /// A float of Unix seconds as Prometheus turns it into a time: nanoseconds, cut to milliseconds.
    static func timeNanoseconds(_ v: Double) throws(TemplateFunctionError) -> Int64 {
        let ns = v * 1e9
        guard ns <= 9.223372036854775807e18, ns >= -9.223372036854775808e18 else {
            throw TemplateFunctionError("\(GoFormat.sprint(.float(v))) cannot be represented as a nanoseconds timestamp since it overflows int64")
        }
        return goInt64(ns) / 1_000_000 * 1_000_000
    }

    /// text/template's `evalArgs`: one string as it is, anything else as `fmt.Sprint` prints it.
    static func printedArguments(_ args: [TemplateValue]) -> String {
        if args.count == 1, case .string(let s) = args[0] { return s }
        return GoFormat.sprint(args.map { arg -> TemplateValue in
            switch arg {
            case .invalid: .string("<no value>")
            case .sample(let s?): .string(GoFormat.formatSample(s, pointer: false))
            default: arg
            }
        })
    }

    /// Go's `template.HTMLEscapeString`.
    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\u{0}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Go's `template.JSEscapeString`.
    static func jsEscape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\"": out += "\\\""
            case "<": out += "\\u003C"
            case ">": out += "\\u003E"
            case "&": out += "\\u0026"
            case "=": out += "\\u003D"
            default:
                if u.value < 0x20 {
                    out += "\\u00" + upperHex(u.value, digits: 2)
                } else if u.value >= 0x80, !isPrintable(u) {
                    out += "\\u" + upperHex(u.value, digits: 4)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }

    /// `v` in upper-case hexadecimal, zero-padded to `digits` (C's `%0NX`).
    static func upperHex(_ v: UInt32, digits: Int) -> String {
        let hex = String(v, radix: 16, uppercase: true)
        return hex.count >= digits ? hex : String(repeating: "0", count: digits - hex.count) + hex
    }

    /// Go's `unicode.IsPrint` for non-ASCII: letters, marks, numbers, punctuation, symbols and U+0020.
    static func isPrintable(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: false
        case .spaceSeparator: u == " "
        default: true
        }
    }

    /// Go's `url.QueryEscape`: unreserved characters as they are, space as `+`, the rest `%XX`.
    static func queryEscape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            case UInt8(ascii: " "): out += "+"
            default: out += "%" + upperHex(UInt32(b), digits: 2)
            }
        }
        return out
    }

    /// The path of a URL (`pathPrefix`): what follows the authority, before `?` or `#`.
    static func urlPath(_ url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] } else { return String(rest.prefix { $0 != "?" && $0 != "#" }) }
        guard let slash = rest.firstIndex(of: "/") else { return "" }
        return String(rest[slash...].prefix { $0 != "?" && $0 != "#" })
    }

    /// Go's `net.SplitHostPort`; nil where Go returns an error.
    static func splitHostPort(_ hostPort: String) -> (host: String, port: String)? {
        let s = Array(hostPort.unicodeScalars)
        guard let colon = s.lastIndex(of: ":") else { return nil }
        var host: String
        if s.first == "[" {
            guard let close = s.firstIndex(of: "]"), close + 1 == colon else { return nil }
            host = String(String.UnicodeScalarView(s[1..<close]))
        } else {
            host = String(String.UnicodeScalarView(s[..<colon]))
            if host.contains(":") { return nil }
        }
        if host.contains("[") || host.contains("]") { return nil }
        let port = String(String.UnicodeScalarView(s[(colon + 1)...]))
        if port.contains("[") || port.contains("]") { return nil }
        return (host, port)
    }

    /// Prometheus's `stripDomain`: the host name up to its first dot, the port kept; IP addresses unchanged.
    static func stripDomain(_ hostPort: String) -> String {
        let split = splitHostPort(hostPort)
        let host = split?.host ?? hostPort
        let port = split?.port ?? ""
        if isIPAddress(host) { return hostPort }
        let first = String(host.split(separator: ".", omittingEmptySubsequences: false).first ?? "")
        guard !port.isEmpty else { return first }
        return (first.contains(":") ? "[\(first)]" : first) + ":" + port
    }

    /// Go's `net.ParseIP != nil` for the usual forms: dotted IPv4 and IPv6.
    static func isIPAddress(_ s: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, s, &v4) == 1 || inet_pton(AF_INET6, s, &v6) == 1
    }

    // MARK: Builtins on values

    static func length(_ v: TemplateValue) throws(TemplateFunctionError) -> Int {
        switch v {
        case .string(let s), .html(let s): return s.utf8.count
        case .labels(let l): return l.count
        case .map(let m): return m.count
        case .samples(let s): return s.count
        case .sample(nil): throw TemplateFunctionError("len of nil pointer")
        case .sample: throw TemplateFunctionError("len of type template.sample")
        case .time: throw TemplateFunctionError("len of type time.Time")
        case .duration: throw TemplateFunctionError("len of type time.Duration")
        case .invalid: throw TemplateFunctionError("reflect: call of reflect.Value.Type on zero Value")
        default: throw TemplateFunctionError("len of type \(v.goType)")
        }
    }

    /// The Go type of what a pointer points to (`index`, `slice` and `len` follow pointers).
    static func pointee(_ v: TemplateValue) -> String {
        switch v {
        case .sample: "template.sample"
        case .time: "time.Time"
        case .duration: "time.Duration"
        default: v.goType
        }
    }

    static func indexArgument(_ index: TemplateValue, count: Int) throws(TemplateFunctionError) -> Int {
        let x: Int64
        switch index {
        case .int(let i): x = Int64(i)
        case .byte(let b): x = Int64(b)
        case .invalid: throw TemplateFunctionError("cannot index slice/array with nil")
        default: throw TemplateFunctionError("cannot index slice/array with type \(index.goType)")
        }
        guard x >= 0, x < Int64(count) else { throw TemplateFunctionError("index out of range: \(x)") }
        return Int(x)
    }

    static func mapKey(_ index: TemplateValue) throws(TemplateFunctionError) -> String {
        switch index {
        case .string(let s): return s
        case .invalid: throw TemplateFunctionError("value is nil; should be of type string")
        default: throw TemplateFunctionError("value has type \(index.goType); should be string")
        }
    }

    /// Go's `index`: `index x 1 "a"` is `x[1]["a"]`.
    static func index(_ item: TemplateValue, _ indexes: [TemplateValue]) throws(TemplateFunctionError) -> TemplateValue {
        if item == .invalid { throw TemplateFunctionError("index of untyped nil") }
        var v = item
        for i in indexes {
            switch v {
            case .string(let s), .html(let s):
                let bytes = Array(s.utf8)
                v = .byte(bytes[try indexArgument(i, count: bytes.count)])
            case .samples(let list): v = .sample(list[try indexArgument(i, count: list.count)])
            case .labels(let pairs):
                let key = try mapKey(i)
                v = .string(pairs.first { $0.name == key }?.value ?? "")
            case .map(let pairs):
                let key = try mapKey(i)
                v = pairs.first { $0.key == key }?.value ?? .invalid
            case .sample(nil): throw TemplateFunctionError("index of nil pointer")
            default: throw TemplateFunctionError("can't index item of type \(pointee(v))")
            }
        }
        return v
    }

    /// Go's `slice`: `slice x 1 2` is `x[1:2]`, of strings (bytes) and query results.
    static func slice(_ item: TemplateValue, _ indexes: [TemplateValue]) throws(TemplateFunctionError) -> TemplateValue {
        if item == .invalid { throw TemplateFunctionError("slice of untyped nil") }
        if indexes.count > 3 { throw TemplateFunctionError("too many slice indexes: \(indexes.count)") }
        let count: Int
        switch item {
        case .string(let s), .html(let s):
            if indexes.count == 3 { throw TemplateFunctionError("cannot 3-index slice a string") }
            count = s.utf8.count
        case .samples(let list): count = list.count
        default: throw TemplateFunctionError("can't slice item of type \(pointee(item))")
        }
        var bounds = [0, count, count]
        for (k, index) in indexes.enumerated() {
            let x: Int64
            switch index {
            case .int(let i): x = Int64(i)
            case .byte(let b): x = Int64(b)
            case .invalid: throw TemplateFunctionError("cannot index slice/array with nil")
            default: throw TemplateFunctionError("cannot index slice/array with type \(index.goType)")
            }
            guard x >= 0, x <= Int64(count) else { throw TemplateFunctionError("index out of range: \(x)") }
            bounds[k] = Int(x)
        }
        if bounds[0] > bounds[1] { throw TemplateFunctionError("invalid slice index: \(bounds[0]) > \(bounds[1])") }
        if indexes.count == 3, bounds[1] > bounds[2] { throw TemplateFunctionError("invalid slice index: \(bounds[1]) > \(bounds[2])") }
        switch item {
        case .string(let s): return .string(String(decoding: Array(s.utf8)[bounds[0]..<bounds[1]], as: UTF8.self))
        case .html(let s): return .html(String(decoding: Array(s.utf8)[bounds[0]..<bounds[1]], as: UTF8.self))
        case .samples(let list): return .samples(Array(list[bounds[0]..<bounds[1]]))
        default: return item
        }
    }

    enum BasicKind { case bool, int, uint, float, string, other }

    static func basicKind(_ v: TemplateValue) -> BasicKind {
        switch v {
        case .bool: .bool
        case .int: .int
        case .byte: .uint
        case .float: .float
        case .string, .html: .string
        default: .other
        }
    }

    /// Go's `eq` (0, against any of several), `ne` (1), `lt` (2), `le` (3), `gt` (4), `ge` (5).
    static func comparison(_ op: Int, _ args: [TemplateValue]) throws(TemplateFunctionError) -> Bool {
        func equal(_ a: TemplateValue, _ b: TemplateValue) throws(TemplateFunctionError) -> Bool {
            let (k1, k2) = (basicKind(a), basicKind(b))
            if k1 != k2 {
                if let x = a.integer, let y = b.integer, k1 != .other, k2 != .other, (k1 == .int || k1 == .uint) && (k2 == .int || k2 == .uint) {
                    return x == y
                }
                if a != .invalid, b != .invalid { throw TemplateFunctionError("incompatible types for comparison") }
                return a == .invalid && b == .invalid
            }
            switch (a, b) {
            case (.bool(let x), .bool(let y)): return x == y
            case (.int(let x), .int(let y)): return x == y
            case (.byte(let x), .byte(let y)): return x == y
            case (.float(let x), .float(let y)): return x == y
            case (.string(let x), .string(let y)), (.html(let x), .string(let y)), (.string(let x), .html(let y)), (.html(let x), .html(let y)):
                return x == y
            case (.invalid, .invalid): return true
            case (.sample(let x), .sample(let y)): return x == nil && y == nil
            case (.time(let x), .time(let y)), (.duration(let x), .duration(let y)): return x == y
            default: throw TemplateFunctionError("non-comparable types \(GoFormat.sprint(a)): \(a.goType), \(b.goType): \(GoFormat.sprint(b))")
            }
        }
        func less(_ a: TemplateValue, _ b: TemplateValue) throws(TemplateFunctionError) -> Bool {
            let (k1, k2) = (basicKind(a), basicKind(b))
            if k1 == .other || k2 == .other { throw TemplateFunctionError("invalid type for comparison") }
            if k1 != k2 {
                if let x = a.integer, let y = b.integer { return x < y }
                throw TemplateFunctionError("incompatible types for comparison")
            }
            switch (a, b) {
            case (.int(let x), .int(let y)): return x < y
            case (.byte(let x), .byte(let y)): return x < y
            case (.float(let x), .float(let y)): return x < y
            case (.string(let x), .string(let y)), (.html(let x), .string(let y)), (.string(let x), .html(let y)), (.html(let x), .html(let y)):
                return x < y
            default: throw TemplateFunctionError("invalid type for comparison")
            }
        }
        switch op {
        case 0:
            if args.count < 2 { throw TemplateFunctionError("missing argument for comparison") }
            for b in args.dropFirst() where try equal(args[0], b) { return true }
            return false
        case 1: return try !equal(args[0], args[1])
        case 2: return try less(args[0], args[1])
        case 3, 4:
            // `le` is `lt` or `eq`; `gt` is not `le`.
            var lessOrEqual = try less(args[0], args[1])
            if !lessOrEqual { lessOrEqual = try equal(args[0], args[1]) }
            return op == 3 ? lessOrEqual : !lessOrEqual
        default: return try !less(args[0], args[1])
        }
    }
}

/// Methods of the values templates get: `time.Time` (what `toTime` returns) and `time.Duration`
/// (`toDuration`), as far as alert templates call them.
enum TemplateMethods {
    static func lookup(_ receiver: TemplateValue, _ name: String) -> TemplateFunction? {
        switch receiver {
        case .time(let ns): time(ns, name)
        case .duration(let ns): duration(ns, name)
        default: nil
        }
    }

    static func method(_ name: String, _ fixed: [TemplateParameter] = [],
                       _ body: @escaping @Sendable ([TemplateValue]) throws(TemplateFunctionError) -> TemplateValue) -> TemplateFunction {
        TemplateFunction(name: name, fixed: fixed, variadic: nil, body: { (args: [TemplateValue], _: inout TemplateExecutor) throws(TemplateFunctionError) -> TemplateValue in
            try body(args)
        })
    }

    static func time(_ ns: Int64, _ name: String) -> TemplateFunction? {
        let (seconds, fraction) = ns.quotientAndRemainder(dividingBy: 1_000_000_000)
        let unix = fraction < 0 ? seconds - 1 : seconds
        switch name {
        case "Unix": return method(name) { _ in .int(Int(unix)) }
        case "UnixMilli": return method(name) { _ in .int(Int(ns / 1_000_000 - (ns % 1_000_000 < 0 ? 1 : 0))) }
        case "UnixNano": return method(name) { _ in .int(Int(ns)) }
        case "UTC", "Local": return method(name) { _ in .time(ns) }
        case "String": return method(name) { _ in .string(GoTime.string(nanoseconds: ns)) }
        case "Format": return method(name, [.string]) { args in .string(GoTime.format(nanoseconds: ns, layout: TemplateFunctions.string(args[0]))) }
        default: return nil
        }
    }

    static func duration(_ ns: Int64, _ name: String) -> TemplateFunction? {
        switch name {
        case "Seconds": return method(name) { _ in .float(Double(ns) / 1e9) }
        case "Minutes": return method(name) { _ in .float(Double(ns) / 6e10) }
        case "Hours": return method(name) { _ in .float(Double(ns) / 3.6e12) }
        case "Milliseconds": return method(name) { _ in .int(Int(ns / 1_000_000)) }
        case "String": return method(name) { _ in .string(GoTime.durationString(ns)) }
        default: return nil
        }
    }
}
