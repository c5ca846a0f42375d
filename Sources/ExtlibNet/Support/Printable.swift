/// Text from outside (a server's answer, a hand-edited file) on its way to a terminal or a log.
public enum Terminal {
    /// `text` with control characters (C0, DEL, C1) and bidirectional overrides shown as `\u{XX}`, so a
    /// hostile server cannot move the cursor, recolour the screen or reorder what the user reads; cut to
    /// `limit` characters.
    public static func printable(_ text: String, limit: Int = 300) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit { return out + "..." }
            count += 1
            let value = scalar.value
            if value < 0x20 || (0x7F...0x9F).contains(value) || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) {
                out += "\\u{\(String(value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
