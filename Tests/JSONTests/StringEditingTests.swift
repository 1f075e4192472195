import Foundation
import Testing
import TextRendering

/// `replacingScalars` and `trimmingWhitespace` (TextRendering) against the Foundation methods they
/// replace in the binaries, over inputs where Swift's grapheme-wise `replacing`/`trimming` differ.
@Suite struct StringEditingTests {
    static let texts: [String] = [
        "", "a", "line\r\nnext", "\r\n", "say \"\u{301}hi\"", "back\\slash", "aaaa", "PATH/PATH", "é and e\u{301}",
        "\t \u{A0}\u{2003}mid dle\u{3000}\t", "\n\u{2028} x \u{85}\r", "\u{1F469}\u{200D}\u{1F4BB}\n", "  ",
    ]

    @Test(arguments: [("\n", "&#xA;"), ("\r", "&#xD;"), ("\"", "\\\""), ("\\", "\\\\"), ("aa", "b"), ("PATH", "/tmp/x"), ("e", "E")])
    func replacingAsFoundationReplaces(_ target: String, _ replacement: String) {
        for text in Self.texts {
            #expect(text.replacingScalars(of: target, with: replacement)
                        == text.replacingOccurrences(of: target, with: replacement, options: .literal), "\(text.debugDescription)")
        }
    }

    @Test func aNewlineInsideCRLFIsReplacedWhichSwiftsReplacingMisses() {
        #expect("a\r\nb".replacingScalars(of: "\n", with: "N") == "a\rNb")
        #expect("a\r\nb".replacing("\n", with: "N") == "a\r\nb")
    }

    @Test func aQuoteBeforeACombiningMarkIsStillAQuote() {
        // Foundation's default (non-literal) comparison leaves this quote unescaped.
        #expect("say \"\u{301}hi".replacingScalars(of: "\"", with: "\\\"") == "say \\\"\u{301}hi")
    }

    @Test func anEmptyTargetReplacesNothing() {
        #expect("abc".replacingScalars(of: "", with: "x") == "abc")
    }

    @Test func hugeInputIsReplacedWhole() {
        let text = String(repeating: "ab\r\n", count: 250_000)
        let out = text.replacingScalars(of: "\n", with: "")
        #expect(out.utf8.count == 750_000)
        #expect(!out.utf8.contains(0x0A))
    }

    @Test(arguments: [false, true])
    func trimmingAsFoundationTrims(newlines: Bool) {
        let set: CharacterSet = newlines ? .whitespacesAndNewlines : .whitespaces
        for text in Self.texts + ["\u{85}x", "x\u{2029}", "\u{B}\u{C}x"] {
            #expect(text.trimmingWhitespace(newlines: newlines) == text.trimmingCharacters(in: set), "\(text.debugDescription)")
        }
    }

    @Test func substringsTrimToo() {
        let line = "key:  value \t"
        #expect(line[line.index(after: line.firstIndex(of: ":")!)...].trimmingWhitespace() == "value")
    }
}
