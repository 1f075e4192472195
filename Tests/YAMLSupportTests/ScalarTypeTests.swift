import Testing
import YAMLSupport

/// What a scalar reads as: YAML 1.1 as Yams 6.2.2 read it (the rules were compared with Yams on
/// every plain scalar of up to four characters from a 38-character alphabet, 3.5 million inputs).
@Suite struct ScalarTypeTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let yaml: String
        let int: Int?
        let float: Double?
        let bool: Bool?
        let null: Bool
        let tag: YAMLSupport.Tag.Name
        var testDescription: String { yaml }
    }

    static let cases: [Case] = [
        Case(yaml: "123", int: 123, float: 123, bool: nil, null: false, tag: .int),
        Case(yaml: "\"123\"", int: nil, float: nil, bool: nil, null: false, tag: .str),
        Case(yaml: "'123'", int: nil, float: nil, bool: nil, null: false, tag: .str),
        Case(yaml: "!!str 123", int: 123, float: 123, bool: nil, null: false, tag: .str),
        Case(yaml: "-42", int: -42, float: -42, bool: nil, null: false, tag: .int),
        Case(yaml: "+7", int: 7, float: 7, bool: nil, null: false, tag: .int),
        Case(yaml: "1_000", int: 1000, float: 1000, bool: nil, null: false, tag: .int),
        Case(yaml: "0x1F", int: 31, float: 31, bool: nil, null: false, tag: .int),
        Case(yaml: "0b101", int: 5, float: nil, bool: nil, null: false, tag: .int),
        Case(yaml: "0o17", int: 15, float: nil, bool: nil, null: false, tag: .int),
        Case(yaml: "017", int: 15, float: 17, bool: nil, null: false, tag: .int),
        Case(yaml: "09", int: nil, float: 9, bool: nil, null: false, tag: .float),
        Case(yaml: "1:30", int: 90, float: 90, bool: nil, null: false, tag: .int),
        Case(yaml: "-1:30", int: -90, float: -90, bool: nil, null: false, tag: .int),
        Case(yaml: "1:30.5", int: nil, float: 90.5, bool: nil, null: false, tag: .float),
        Case(yaml: "1.5", int: nil, float: 1.5, bool: nil, null: false, tag: .float),
        Case(yaml: "1e3", int: nil, float: 1000, bool: nil, null: false, tag: .float),
        Case(yaml: "-.5", int: nil, float: -0.5, bool: nil, null: false, tag: .str),
        Case(yaml: ".inf", int: nil, float: .infinity, bool: nil, null: false, tag: .float),
        Case(yaml: "-.Inf", int: nil, float: -.infinity, bool: nil, null: false, tag: .float),
        Case(yaml: "inf", int: nil, float: .infinity, bool: nil, null: false, tag: .str),
        Case(yaml: "yes", int: nil, float: nil, bool: true, null: false, tag: .bool),
        Case(yaml: "No", int: nil, float: nil, bool: false, null: false, tag: .bool),
        Case(yaml: "ON", int: nil, float: nil, bool: true, null: false, tag: .bool),
        Case(yaml: "off", int: nil, float: nil, bool: false, null: false, tag: .bool),
        Case(yaml: "tRuE", int: nil, float: nil, bool: true, null: false, tag: .str),
        Case(yaml: "\"true\"", int: nil, float: nil, bool: nil, null: false, tag: .str),
        Case(yaml: "!!str yes", int: nil, float: nil, bool: nil, null: false, tag: .str),
        Case(yaml: "~", int: nil, float: nil, bool: nil, null: true, tag: .null),
        Case(yaml: "null", int: nil, float: nil, bool: nil, null: true, tag: .null),
        Case(yaml: "NULL", int: nil, float: nil, bool: nil, null: true, tag: .null),
        Case(yaml: "", int: nil, float: nil, bool: nil, null: true, tag: .null),
        Case(yaml: "'null'", int: nil, float: nil, bool: nil, null: false, tag: .str),
        Case(yaml: "''", int: nil, float: nil, bool: nil, null: false, tag: .str),
        Case(yaml: "2001-12-14", int: nil, float: nil, bool: nil, null: false, tag: .timestamp),
        Case(yaml: "15s", int: nil, float: nil, bool: nil, null: false, tag: .str),
        Case(yaml: "<<", int: nil, float: nil, bool: nil, null: false, tag: .merge),
        Case(yaml: "9223372036854775808", int: nil, float: 9223372036854775808, bool: nil, null: false, tag: .int),
        // Yams trapped on this one (its sexagesimal base overflowed); it is no number.
        Case(yaml: "1:0:0:0:0:0:0:0:0:0:0:0", int: nil, float: 36_279_705_600_000_000_000, bool: nil, null: false, tag: .int),
    ]

    @Test(arguments: cases)
    func aScalarReadsAsItsYAML11Type(_ c: Case) throws {
        let node = try #require(try compose(yaml: "k: \(c.yaml)\n")?.mapping?["k"])
        #expect(node.int == c.int)
        if let expected = c.float {
            #expect(node.float == expected)
        } else {
            #expect(node.float == nil)
        }
        #expect(node.bool == c.bool)
        #expect((node.null != nil) == c.null)
        #expect(node.tag.name == c.tag)
    }

    @Test func nanIsAFloat() throws {
        let node = try #require(try compose(yaml: ".NaN")?.float)
        #expect(node.isNaN)
    }

    @Test func aMappingWithAnEqualsKeyReadsAsItsValue() throws {
        // YAML 1.1's `=` (default value) key, as Yams's String construction read it.
        #expect(try compose(yaml: "{=: v, k: w}")?.string == "v")
        #expect(try compose(yaml: "{'=': v}")?.string == nil)
        #expect(try compose(yaml: "[a]")?.string == nil)
    }

    @Test func lookingUpAKeyReadsTheNameAsAPlainScalar() throws {
        let m = try #require(try compose(yaml: "\"logs\": 1\nyes: 2\n'no': 3\n")?.mapping)
        #expect(m["logs"]?.int == 1)
        #expect(m["yes"]?.int == 2)
        // `no` read plain is a boolean, and the key is the string "no".
        #expect(m["no"] == nil)
    }
}
