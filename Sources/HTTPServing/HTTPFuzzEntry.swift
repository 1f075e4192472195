/// The request parser, form decoding and routing under libFuzzer (Fuzz/HTTP), and the same entry
/// replaying the committed corpus in `make test`. Traps on any broken invariant:
/// - the same bytes give the same requests and the same refusal whether they arrive at once or in
///   pieces of any size (the first input byte picks the size);
/// - work is linear: `steps` never exceeds the bytes given;
/// - nothing held exceeds the bounds: a body is at most `bodyBytes`, a partial request at most
///   its line and header bounds plus one read;
/// - refusals are only the statuses the parser documents.
public enum HTTPFuzzEntry {
    /// Small bounds, so that the fuzzer reaches every one of them with short inputs.
    static let limits: RequestParser.Limits = {
        var l = RequestParser.Limits()
        l.requestLineBytes = 200
        l.headerBytes = 300
        l.headerCount = 8
        l.bodyBytes = 256
        l.chunkLineBytes = 32
        return l
    }()

    static let router = Router([
        Route("GET", "/api/v1/label/{name}/values") { _ in .text(200, "") },
        Route(["GET", "POST"], "/api/v1/query", .query) { _ in .text(200, "") },
        Route("DELETE", "/api/v2/silence/{id}") { _ in .text(200, "") },
    ])

    enum Outcome: Equatable {
        case request(method: String, path: String, query: String, body: [UInt8], keepAlive: Bool)
        case refused(Int)
    }

    public static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let input = Array(data.dropFirst())
        let whole = outcomes(input, piece: input.count + 1)
        let piece = Int(first % 16) + 1
        let split = outcomes(input, piece: piece)
        precondition(whole == split, "outcomes depend on how the bytes arrive (piece \(piece))")
        for case .request(let method, let path, let query, _, _) in whole {
            _ = try? FormValues(parsing: query)
            let (_, run) = router.resolve(HTTPRequest(method: method, path: path, query: query))
            _ = run(nil, Cancellation())
        }
    }

    static func outcomes(_ bytes: [UInt8], piece: Int) -> [Outcome] {
        var parser = RequestParser(limits: limits)
        var out: [Outcome] = []
        var i = 0
        while i < bytes.count || i == 0 {
            let end = min(bytes.count, i + piece)
            parser.append(bytes[i..<end])
            i = end
            loop: while true {
                switch parser.next() {
                case .needMore:
                    break loop
                case .request(let r):
                    precondition(r.body.count <= limits.bodyBytes, "body beyond its bound")
                    out.append(.request(method: r.method, path: r.path, query: r.query, body: r.body, keepAlive: r.keepAlive))
                case .error(let e):
                    precondition([400, 413, 414, 417, 431, 501, 505].contains(e.status), "undocumented status \(e.status)")
                    out.append(.refused(e.status))
                    precondition(parser.steps <= i, "parser examined \(parser.steps) bytes of \(i)")
                    return out
                }
            }
            precondition(parser.steps <= i, "parser examined \(parser.steps) bytes of \(i)")
            precondition(parser.bufferedBytes <= limits.requestLineBytes + limits.headerBytes + limits.bodyBytes + piece + 64,
                         "parser holds \(parser.bufferedBytes) bytes")
            if bytes.isEmpty { break }
        }
        return out
    }
}
