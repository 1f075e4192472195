import Testing

@testable import HTTPServing

/// Go's `url.ParseQuery` behaviour, case by case (outputs checked against Go 1.22's).
@Suite struct FormValuesTests {
    @Test func plusIsASpaceAndEscapesAreDecoded() throws {
        let f = try FormValues(parsing: "query=sum+by+(job)+(up%7Bjob%3D%22a%22%7D)&time=1.5")
        #expect(f["query"] == "sum by (job) (up{job=\"a\"})")
        #expect(f["time"] == "1.5")
        #expect(f["missing"] == nil)
    }

    @Test func repeatedKeysKeepTheirOrder() throws {
        let f = try FormValues(parsing: "match[]=up&x=1&match%5B%5D=down&match[]=")
        #expect(f.values(of: "match[]") == ["up", "down", ""])
        #expect(f["match[]"] == "up")
    }

    @Test func emptyPairsAreSkippedAndKeysWithoutValueAreEmpty() throws {
        let f = try FormValues(parsing: "&&a&b=&=c&&")
        #expect(f.pairs.map(\.key) == ["a", "b", ""])
        #expect(f.pairs.map(\.value) == ["", "", "c"])
    }

    @Test func aSemicolonIsRefusedAsGoDoesSince117() {
        #expect(throws: FormError(message: "invalid semicolon separator in query")) { try FormValues(parsing: "a=1;b=2") }
        #expect(throws: FormError(message: "invalid semicolon separator in query")) { try FormValues(parsing: "a=%zz&b=;") }
    }

    @Test(arguments: [
        ("a=%zz", "invalid URL escape \"%zz\""),
        ("a=%", "invalid URL escape \"%\""),
        ("a=%4", "invalid URL escape \"%4\""),
        ("%g1=b", "invalid URL escape \"%g1\""),
        ("a=1&b=%x", "invalid URL escape \"%x\""),
    ])
    func malformedEscapesAreRefusedWithGosMessage(_ input: String, _ message: String) {
        #expect(throws: FormError(message: message)) { try FormValues(parsing: input) }
    }

    @Test func percentEncodedNonUTF8IsReplacedNotRefused() throws {
        let f = try FormValues(parsing: "a=%ff%fe&b=%C3%A9")
        #expect(f["a"] == "\u{FFFD}\u{FFFD}")
        #expect(f["b"] == "é")
    }

    @Test func postBodyPairsComeBeforeURLPairs() throws {
        let http = HTTPRequest(method: "POST", path: "/api/v1/query", query: "query=url&time=2",
                               headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]),
                               body: Array("query=body".utf8))
        let f = try Request(http: http).form()
        #expect(f.values(of: "query") == ["body", "url"])
        #expect(f["time"] == "2")
    }

    @Test func otherBodiesAndGetBodiesAreNotForms() throws {
        let json = HTTPRequest(method: "POST", path: "/", query: "", headers: HTTPHeaders([("Content-Type", "application/json")]), body: Array("a=1".utf8))
        #expect(try Request(http: json).form().isEmpty)
        let get = HTTPRequest(method: "GET", path: "/", query: "", headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded")]), body: Array("a=1".utf8))
        #expect(try Request(http: get).form().isEmpty)
    }

    @Test func pathSegmentsDecodeWithoutPlus() {
        #expect(FormValues.unescapePath("a%2Fb+c") == "a/b+c")
        #expect(FormValues.unescapePath("a%2") == nil)
        #expect(FormValues.unescapePath("plain") == "plain")
    }

    @Test func randomInputNeverTraps() {
        var rng = SplitMix(seed: 7)
        let alphabet = Array("ab=&;%+2fFz\u{0}é".unicodeScalars)
        for _ in 0..<3_000 {
            var s = ""
            for _ in 0..<Int(rng.next() % 40) { s.unicodeScalars.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            _ = try? FormValues(parsing: s)
        }
    }
}
