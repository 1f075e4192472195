import Testing

@testable import HTTPServing

@Suite struct RouterTests {
    static let router = Router([
        Route("GET", "/api/v1/label/{name}/values") { r in .text(200, "values of \(r.pathParameters["name"]!)") },
        Route(["GET", "POST"], "/api/v1/query", .query) { _ in .text(200, "query") },
        Route("DELETE", "/api/v2/silence/{id}") { r in .text(200, "deleted \(r.pathParameters["id"]!)") },
        Route("GET", "/api/v2/silence/{id}") { r in .text(200, "silence \(r.pathParameters["id"]!)") },
        Route("GET", "/", .loop) { _ in .text(200, "root") },
    ])

    static func answer(_ method: String, _ path: String) -> (Lane, HTTPResponse) {
        let (lane, run) = router.resolve(HTTPRequest(method: method, path: path))
        return (lane, run(nil, Cancellation()))
    }

    static func body(_ r: HTTPResponse) -> String { String(decoding: r.body, as: UTF8.self) }

    @Test func pathParametersAreCapturedAndDecoded() {
        #expect(Self.body(Self.answer("GET", "/api/v1/label/job/values").1) == "values of job")
        #expect(Self.body(Self.answer("GET", "/api/v1/label/a%2Fb/values").1) == "values of a/b")
        #expect(Self.body(Self.answer("DELETE", "/api/v2/silence/abc").1) == "deleted abc")
        #expect(Self.body(Self.answer("GET", "/api/v2/silence/abc").1) == "silence abc")
        #expect(Self.body(Self.answer("GET", "/").1) == "root")
        // Literal segments match percent-decoded too, as Go's router sees the decoded path.
        #expect(Self.body(Self.answer("GET", "/api/v1/%6Cabel/job/values").1) == "values of job")
    }

    @Test func routesRunOnTheirLane() {
        #expect(Self.answer("POST", "/api/v1/query").0 == .query)
        #expect(Self.answer("GET", "/").0 == .loop)
        #expect(Self.answer("GET", "/api/v1/label/x/values").0 == .general)
    }

    @Test func unknownPathsAre404AndWrongMethods405WithAllow() {
        #expect(Self.answer("GET", "/api/v1/label//values").1.status == 404)
        #expect(Self.answer("GET", "/api/v1/label/x/values/").1.status == 404)
        #expect(Self.answer("GET", "/nope").1.status == 404)
        let wrong = Self.answer("PUT", "/api/v1/query").1
        #expect(wrong.status == 405)
        #expect(wrong.headers["allow"] == "GET, POST, HEAD")
    }

    @Test func headIsAnsweredByGetRoutes() {
        #expect(Self.answer("HEAD", "/api/v1/label/x/values").1.status == 200)
    }

    @Test func aMalformedPathParameterIs400() {
        #expect(Self.answer("GET", "/api/v1/label/a%zz/values").1.status == 400)
    }
}
