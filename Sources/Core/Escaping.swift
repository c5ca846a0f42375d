/// Text from outside (a server's answer, a hand-edited file, a user's argument) on its way to a
/// terminal or a log. The one escaper: every such byte passes through `Terminal.printable`.
public enum Terminal {
    /// `text` with control characters (C0, DEL, C1), bidirectional controls (embeddings, overrides,
    /// isolates and marks) and the Unicode line and paragraph separators escaped, so a hostile server
    /// cannot move the cursor, recolour the screen, retitle the window, forge a line or reorder what the
    /// user reads; cut to `limit` characters. Line break, carriage return and tab read `\n`, `\r`, `\t`;
    /// the rest `\u{XX}`.
    public static func printable(_ text: String, limit: Int = 300) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit { return out + "..." }
            count += 1
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where needsEscape(scalar.value): out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func needsEscape(_ value: UInt32) -> Bool {
        if value < 0x20 || (0x7F...0x9F).contains(value) { return true }
        guard value >= 0xA0, let scalar = Unicode.Scalar(value) else { return false }
        switch scalar.properties.generalCategory {
        // Format characters: bidi marks, embeddings, overrides and isolates, zero-width spaces and joiners,
        // the soft hyphen, tag characters; line and paragraph separators; private use (a font may draw
        // anything there). Each can make two names look alike or reorder what the user reads.
        case .format, .lineSeparator, .paragraphSeparator, .privateUse: return true
        default: return false
        }
    }
}
