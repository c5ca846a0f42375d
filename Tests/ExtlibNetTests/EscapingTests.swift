@testable import Core
@testable import System
@testable import Formats
@testable import Discovery
import Foundation
import Logging
import Synchronization
import Testing

/// One escaper for every byte from outside that reaches a terminal or a log.
@Suite struct EscapingTests {
    static let hostile: [(String, String)] = [
        ("nas\u{202E}lacol.local", "\\u{202e}"),     // right-to-left override
        ("a\u{2067}b", "\\u{2067}"),                 // right-to-left isolate
        ("a\u{200F}b", "\\u{200f}"),                 // right-to-left mark
        ("\u{1B}]0;owned\u{07}", "\\u{1b}"),          // OSC: retitles the window
        ("a\u{9B}2J", "\\u{9b}"),                    // C1 control sequence introducer
        ("a\u{2028}forged line", "\\u{2028}"),       // line separator
        ("line\nforged", "\\n"),
        ("pho\u{200B}tos", "\\u{200b}"),             // zero-width space: two names that look alike
        ("a\u{E0041}b", "\\u{e0041}"),               // tag character: invisible text
        ("a\u{AD}b", "\\u{ad}"),                     // soft hyphen
        ("a\u{E000}b", "\\u{e000}"),                 // private use
    ]

    @Test(arguments: hostile) func theEscaperShowsEveryControl(_ text: String, _ shown: String) {
        let out = Terminal.printable(text)
        #expect(out.contains(shown), "\(out)")
        #expect(!out.unicodeScalars.contains { Terminal.needsEscape($0.value) || $0 == "\n" })
        #expect(out != text)
    }

    @Test func plainTextIsLeftAlone() {
        #expect(Terminal.printable("Fotos 2024 – Ürlaub 📷") == "Fotos 2024 – Ürlaub 📷")
        #expect(Terminal.printable(String(repeating: "a", count: 10), limit: 4) == "aaaa...")
    }

    /// The LAN browse and the share table printed these raw: `sanitized` and `MountText.shown` left bidi
    /// controls alone, so `nas<U+202E>lacol.local` printed reversed.
    @Test func aNeighboursAnnouncementCannotReorderTheScreen() {
        let evil = ServiceAnnouncement(instance: "x._smb._tcp.local", kind: .smb, host: "nas\u{202E}lacol.local", port: 445,
                                       txt: ["model": "DS\u{2066}918"], addresses: [IPAddress("192.0.2.8")!])
        let text = LANDiscoveryPresentation.text(LANDiscovery.merge(announcements: [evil], wsd: [], ownAddresses: []), seconds: 3)
        #expect(!text.unicodeScalars.contains { (0x202A...0x202E).contains($0.value) || (0x2066...0x2069).contains($0.value) }, "\(text)")
        #expect(text.contains("nas\\u{202e}lacol.local"), "\(text)")
    }

    @Test func aRefusedShareNameIsShownEscaped() {
        let message = MountOptionError.unsafeText(.share, "pho\u{202E}tos,ip=6.6.6.6", "it contains ','").description
        #expect(message.contains("pho\\u{202e}tos"), "\(message)")
        #expect(!message.unicodeScalars.contains { $0.value == 0x202E })
    }

    /// XML 1.0 has no character references to control characters: `&#27;` is not a WS-Discovery answer.
    @Test(arguments: ["&#27;", "&#x1B;", "&#x7;", "&#xFFFE;", "&#xD800;", "&#0;"])
    func xmlRefusesReferencesToControlCharacters(_ reference: String) {
        #expect(throws: XMLParseError.self) { try XMLTree.parse(Array("<a>x\(reference)y</a>".utf8)) }
    }

    @Test func xmlKeepsReferencesToCharacters() throws {
        let tree = try XMLTree.parse(Array("<a>&#9;&#xA;&#65;&#x1F4F7;</a>".utf8))
        #expect(tree.text == "\t\nA📷")
    }

    /// A `--debug` line with an endpoint address a server sent: the handler escapes message, metadata and
    /// the logger's own metadata before any of it reaches standard error.
    @Test func theLogHandlerEscapesEverything() {
        let seen = Mutex<[(String, Logger.Metadata?)]>([])
        struct Recorder: LogHandler {
            let seen: @Sendable (String, Logger.Metadata?) -> Void
            var logLevel: Logger.Level = .trace
            var metadata: Logger.Metadata = [:]
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) {
                var all = metadata
                all.merge(event.metadata ?? [:]) { _, new in new }
                seen(event.message.description, all)
            }
        }
        var handler = EscapingLogHandler(wrapping: Recorder(seen: { message, metadata in seen.withLock { $0.append((message, metadata)) } }))
        handler[metadataKey: "host"] = "nas\u{202E}x"
        var logger = Logger(label: "test") { _ in handler }
        logger.logLevel = .debug
        logger.debug("endpoint \u{1B}]0;owned\u{07}", metadata: ["address": "urn:\u{1B}[2J", "list": .array(["a\u{9B}"])])
        let (message, metadata) = seen.withLock { $0[0] }
        let all = message + String(describing: metadata ?? [:])
        #expect(!all.unicodeScalars.contains { Terminal.needsEscape($0.value) }, "\(all)")
        #expect(message == "endpoint \\u{1b}]0;owned\\u{7}")
        #expect(metadata?["address"] == "urn:\\u{1b}[2J")
        #expect(metadata?["host"] == "nas\\u{202e}x")
    }
}

/// One fallback exit status for an error that is not ours: 2 (system) in main and in setup alike (main
/// exited 1 and setup 2 before).
@Suite struct ExitStatusFallbackTests {
    struct Unexpected: Error {}
    struct Ours: ReportableError {
        var exitStatus: Core.ExitStatus { .refused }
        var description: String { "refused" }
    }

    @Test func anUnexpectedErrorIsASystemError() {
        #expect(Core.ExitStatus.of(Unexpected()) == .system)
        #expect(Core.ExitStatus.of(Ours()) == .refused)
    }
}
