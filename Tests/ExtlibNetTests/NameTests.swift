import Testing
@testable import Formats

/// One rule for every name; each kind says what it is in its refusal, escaped.
@Suite struct NameTests {
    @Test(arguments: ["a", "photos", "Photos-2024_v1.0", "9", String(repeating: "a", count: 64)])
    func validNames(_ text: String) throws {
        #expect(try MountName(text).text == text)
        #expect(try CredentialName(text).description == text)
    }

    @Test(arguments: ["", ".hidden", "-x", "_x", "a b", "a/b", "a,b", "é", "a\u{0}", "a\n", String(repeating: "a", count: 65), "..", "a\u{202E}b"])
    func invalidNames(_ text: String) {
        #expect(throws: NameError(.mount, text)) { try MountName(text) }
        #expect(throws: NameError(.credential, text)) { try CredentialName(text) }
    }

    @Test func theRefusalNamesTheKindAndEscapesTheText() {
        #expect(NameError(.mount, "a b").description.hasPrefix("'a b' is not a valid mount name: use 1 to 64 letters"))
        #expect(NameError(.credential, "x\u{1B}[2J").description.hasPrefix("'x\\u{1b}[2J' is not a valid credential name"))
        #expect(!NameError(.mount, "\u{202E}x").description.unicodeScalars.contains("\u{202E}"))
    }
}
