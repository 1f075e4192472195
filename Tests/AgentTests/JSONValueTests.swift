import JSON
import AgentClient
import Foundation
import Testing

/// The CLI reads the daemon's answers into `JSON` (no JSONSerialization in FoundationEssentials).
@Suite struct JSONValueTests {
    @Test func documentsReadAndPrintAsJSONSerializationWould() throws {
        let text = #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"api","__name__":"up"},"value":[1700000000.5,"1"]}],"n":3,"f":0.25,"ok":true,"none":null,"url":"http://a/b","s":"a\"b\\c\n\u0001é"}}"#
        let doc = try #require(JSON.parse(Data(text.utf8)))
        #expect(doc["status"]?.string == "success")
        let data = try #require(doc["data"])
        #expect(data["n"]?.int == 3 && data["f"]?.double == 0.25 && data["ok"]?.bool == true && data["none"] == .null)
        #expect(data["result"]?.array.first?["metric"]?["job"]?.string == "api")
        #expect(data["result"]?.array.first?["value"]?.array.first?.double == 1_700_000_000.5)
        // --output json: what JSONSerialization printed with sorted keys and unescaped slashes.
        let reference = try JSONSerialization.data(
            withJSONObject: JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed), options: [.sortedKeys, .withoutEscapingSlashes])
        let back = try #require(JSON.parse(Data(data.json.utf8)))
        #expect(back.json == data.json, "printing and reading again gives the same value (keys now sorted)")
        #expect(doc.json == String(decoding: reference, as: UTF8.self), "byte for byte what JSONSerialization printed")
        #expect(data.json.contains(#""url":"http://a/b""#))
        #expect(data["n"]?.text == "3" && data["f"]?.text == "0.25")
    }

    @Test(arguments: ["", "{", "{\"a\":", "[1,2", "{\"a\" 1}", "nul", "\"unterminated", "{\"a\":1}}", String(repeating: "[", count: 100_000)].map(NotJSON.init))
    func malformedTruncatedAndHostileAnswersAreNotJSON(_ input: NotJSON) {
        #expect(JSON.parse(Data(input.text.utf8)) == nil)
    }

    @Test func aLargeAnswerParses() throws {
        let items = (0..<5_000).map { "{\"metric\":{\"i\":\"\($0)\"},\"value\":[1,\"\($0)\"]}" }.joined(separator: ",")
        let doc = try #require(JSON.parse(Data("{\"result\":[\(items)]}".utf8)))
        #expect(doc["result"]?.array.count == 5_000)
    }
}

/// Text that is not JSON, described by its length when long so the test log stays short.
struct NotJSON: CustomTestStringConvertible, Sendable {
    let text: String
    var testDescription: String { text.count <= 40 ? "\"\(text)\"" : "\(text.count) characters starting \"\(text.prefix(10))…\"" }
}
