import Testing
@testable import TimeSeries

@Suite struct LabelsTests {
    @Test func orderOfConstructionDoesNotChangeIdentity() {
        let a = Labels([("b", "2"), ("a", "1"), (Labels.metricName, "up")])
        let b = Labels([(Labels.metricName, "up"), ("a", "1"), ("b", "2")])
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a.stableHash == b.stableHash)
        #expect(a.description == "up{a=\"1\", b=\"2\"}")
    }

    @Test func emptyValuesAreNotStoredAndLaterDuplicatesWin() {
        let l = Labels([("a", "1"), ("e", ""), ("a", "3")])
        #expect(l.count == 1)
        #expect(l["a"] == "3")
        #expect(l["e"] == nil)
    }

    @Test func namesThatArePrefixesOfOthersStayDistinct() {
        let a = Labels([("ab", "c")])
        let b = Labels([("a", "bc")])
        #expect(a != b)
    }

    @Test func encodedFormRoundTripsAndRejectsGarbage() {
        let l = Labels(name: "http_requests_total", ["route": "/api", "status": "500"])
        #expect(Labels(encoded: l.encoded) == l)
        #expect(Labels(encoded: Array("no separator".utf8)) == nil)
        // Out of order names are refused: they would break equality.
        let unsorted: [UInt8] = Array("b".utf8) + [0xFF] + Array("1".utf8) + [0xFF] + Array("a".utf8) + [0xFF] + Array("1".utf8) + [0xFF]
        #expect(Labels(encoded: unsorted) == nil)
    }

    @Test func builderFromBytesMatchesStrings() {
        var builder = LabelsBuilder()
        builder.set(bytes: Array("route".utf8), Array("/x".utf8))
        builder.set(bytes: Array("method".utf8)[...], Array("GET".utf8)[...])
        #expect(builder.build() == Labels(["route": "/x", "method": "GET"]))
        builder.removeAll()
        #expect(builder.build().isEmpty)
    }

    @Test func settingRemovingKeeping() {
        let l = Labels(name: "m", ["a": "1", "b": "2"])
        #expect(l.setting("a", to: "9")["a"] == "9")
        #expect(l.setting("a", to: "")["a"] == nil)
        #expect(l.removing(["a"]).count == 2)
        #expect(l.keeping(["a"]) == Labels(["a": "1"]))
        #expect(l.withoutMetricName.metricName == nil)
        #expect(Labels.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }
}
