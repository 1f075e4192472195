import Testing
import YAMLSupport

@Suite struct ComposeTests {
    @Test func aMappingComposes() throws {
        let root = try compose(yaml: "a: 1\n")
        #expect(root?.mapping?["a"]?.int == 1)
    }
}
