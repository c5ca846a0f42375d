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

    /// Whether `text` would reach a terminal unchanged.
    public static func isPrintable(_ text: String) -> Bool {
        !text.unicodeScalars.contains { needsEscape($0.value) || $0 == "\n" || $0 == "\r" || $0 == "\t" }
    }

    static func needsEscape(_ value: UInt32) -> Bool {
        value < 0x20 || (0x7F...0x9F).contains(value)
            || value == 0x061C || value == 0x200E || value == 0x200F // arabic letter mark, LRM, RLM
            || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) // embeddings, overrides, isolates
            || value == 0x2028 || value == 0x2029 // line and paragraph separators
    }
}
