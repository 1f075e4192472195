/// The fuzz target of the YAML reader (`Fuzz/YAML`, `make fuzz`) and of its corpus regression
/// test: one input composed as bytes and as a `String`, with the invariants checked so that a
/// logic error crashes as loudly as a memory error.
///
/// - An error points inside the input (lines and columns from 1, the line at most one past the
///   last, where libyaml puts the end of a stream without a final line break) and its description
///   is bounded.
/// - A tree stays within the limits it was composed under; every node's position is inside the
///   input; a mapping has no two equal keys and finds each value by its key; every typed accessor
///   answers without trapping; equality is reflexive and hashing agrees with it.
/// - Valid UTF-8 composes to the same result from bytes as from a `String`.
/// - `YAMLReader` walks the tree (mappings, lists, strings, numbers, booleans, durations) with
///   every error it records inside the input.
///
/// Ownership: stateless; libFuzzer calls it on one thread.
public enum YAMLFuzzEntry {
    /// Small limits keep each run fast; the default ones are tested on their own.
    static let limits: YAMLLimits = {
        var limits = YAMLLimits()
        limits.maxNodes = 20_000
        limits.maxDepth = 200
        return limits
    }()

    /// Runs one fuzz input; traps on a broken invariant.
    public static func run(_ input: UnsafeRawBufferPointer) {
        let bytes = input.bindMemory(to: UInt8.self)
        // An upper bound of the lines libyaml counts: LF, CR, and the last bytes of NEL, LS and PS.
        var lines = 1
        for b in bytes where b == 0x0A || b == 0x0D || b == 0x85 || b == 0xA8 || b == 0xA9 { lines += 1 }
        let fromBytes = Result { () throws(YamlError) in try compose(utf8: bytes, limits: limits) }
        switch fromBytes {
        case .success(let root?): check(root, lines: lines)
        case .success(nil): break
        case .failure(let error): check(error, lines: lines)
        }
        if let text = String(validating: bytes, as: UTF8.self) {
            let fromString = Result { () throws(YamlError) in try compose(yaml: text, limits: limits) }
            switch (fromBytes, fromString) {
            case (.success(let a), .success(let b)): precondition(a == b && a?.mark == b?.mark, "bytes and String compose differently")
            case (.failure(let a), .failure(let b)): precondition(a.mark == b.mark && a.description == b.description, "\(a) / \(b)")
            default: preconditionFailure("bytes and String disagree: \(fromBytes) / \(fromString)")
            }
            var reader = YAMLReader(file: "fuzz.yaml")
            if let root = reader.parse(text) { walk(root, &reader) }
            for error in reader.errors {
                precondition(error.line >= 1 && error.line <= lines + 1 && error.column >= 1, "\(error)")
            }
        }
    }

    static func check(_ error: YamlError, lines: Int) {
        let mark = error.mark
        precondition(mark.line >= 1 && mark.line <= lines + 1 && mark.column >= 1, "error outside the input: \(error)")
        let text = error.description
        precondition(!text.isEmpty && text.utf8.count < 1_000, "error description of \(text.utf8.count) bytes")
    }

    static func check(_ root: Node, lines: Int) {
        var pending = [root]
        var visited = 0
        while let node = pending.popLast() {
            visited += 1
            precondition(visited <= limits.maxNodes, "more nodes than the limit")
            guard let mark = node.mark else { preconditionFailure("a composed node without a position") }
            precondition(mark.line >= 1 && mark.line <= lines + 1 && mark.column >= 1, "node outside the input at \(mark)")
            precondition(node == node && node.hashValue == node.hashValue)
            _ = (node.int, node.float, node.bool, node.null, node.string, node.tag)
            switch node {
            case .scalar: break
            case .sequence(let items): pending.append(contentsOf: items)
            case .mapping(let pairs):
                var keys = Set<Node>()
                for (key, value) in pairs {
                    precondition(keys.insert(key).inserted, "a key given twice: \(key)")
                    precondition(pairs[key] == value, "a mapping does not find its own key")
                    if case .scalar(let s) = key, s.tag.name == .implicit || s.tag.name == .str {
                        // A key read by name finds its value when the name reads back as the same key.
                        if Node.scalar(Node.Scalar(s.string)) == key { precondition(pairs[s.string] == value) }
                    }
                    pending.append(key)
                    pending.append(value)
                }
            }
        }
    }

    /// Reads the tree as a configuration reader would, recording errors rather than trapping.
    static func walk(_ node: Node, _ reader: inout YAMLReader, depth: Int = 0) {
        guard depth < 32 else { return }
        switch node {
        case .scalar:
            _ = reader.string(node, "s")
            _ = reader.int(node, "i", in: -1_000...1_000)
            _ = reader.double(node, "d", in: -1e9...1e9)
            _ = reader.bool(node, "b")
            _ = reader.duration(node, "t")
        case .sequence:
            for item in reader.sequence(node, "list") ?? [] { walk(item, &reader, depth: depth + 1) }
            _ = reader.strings(node, "strings")
        case .mapping(let pairs):
            _ = reader.stringMap(node, "labels")
            let known = pairs.keys.compactMap(\.string).prefix(4)
            for (_, value) in reader.mapping(node, "map", known: Array(known)) ?? [:] { walk(value, &reader, depth: depth + 1) }
        }
    }
}
