import Core
/// A strict reader for the part of TOML 1.0 that mounts.toml uses: `[table.headers]` (bare, "basic" and
/// 'literal' keys), `key = value` lines whose value is a string (all four kinds, with escapes), an integer
/// (decimal, 0x, 0o, 0b, with `_`) or a boolean, comments and blank lines, LF or CRLF line ends.
///
/// Everything else TOML has (arrays, inline tables, arrays of tables, dotted keys, floats, dates) is
/// refused with its line and what to write instead, never guessed at. One pass over the bytes: time and
/// memory grow linearly with the file (TOMLKit's reading grew quadratically, and pulled in Foundation).
package enum TOMLSubset {
    package enum Value: Equatable, Sendable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
    }

    package struct Entry: Equatable, Sendable {
        package let key: String
        package let value: Value
        /// 1-based line of the key.
        package let line: Int
    }

    package struct Table: Equatable, Sendable {
        package let path: [String]
        /// 1-based lines of the header and of the last line holding one of its entries.
        package let line: Int
        package var lastLine: Int
        package var entries: [Entry] = []
    }

    package struct Document: Equatable, Sendable {
        /// Entries before the first header.
        package var topLevel: [Entry] = []
        package var tables: [Table] = []
    }

    package struct Failure: Error, Equatable {
        package let line: Int
        package let problem: String
    }

    package static let nulEscapeProblem = "a string holds a \\u0000 escape (NUL), which no value may contain"
    package static let badHeaderProblem = "a table header must start with a name, like [mounts.NAME]"

    package static func parse(_ bytes: [UInt8]) throws(Failure) -> Document {
        var reader = Reader(bytes: bytes)
        return try reader.document()
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var line = 1

        init(bytes: [UInt8]) { self.bytes = bytes }

        static let quote = UInt8(ascii: "\""), apostrophe = UInt8(ascii: "'"), backslash = UInt8(ascii: "\\")
        static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), lf = UInt8(0x0A), cr = UInt8(0x0D), hash = UInt8(ascii: "#")

        var atEnd: Bool { index >= bytes.count }
        var current: UInt8? { index < bytes.count ? bytes[index] : nil }
        func peek(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }

        func fail(_ problem: String, line: Int? = nil) -> Failure { Failure(line: line ?? self.line, problem: problem) }

        static func isBare(_ byte: UInt8) -> Bool {
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }

        /// TOML allows tab but no other C0 control character, nor DEL, in strings and comments.
        static func isControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != tab) || byte == 0x7F }

        mutating func skipBlanks() {
            while let byte = current, byte == Self.space || byte == Self.tab { index += 1 }
        }

        mutating func document() throws(Failure) -> Document {
            var document = Document()
            var seenTables: [[String]: Int] = [:]
            // Keys of the table being read (or of the top level), with their lines.
            var seenKeys: [String: Int] = [:]
            while true {
                skipBlanks()
                guard let byte = current else { break }
                switch byte {
                case Self.lf, Self.cr, Self.hash:
                    try endOfLine(after: nil)
                case UInt8(ascii: "["):
                    let path = try header()
                    if let first = seenTables[path] {
                        throw fail("the table [\(Self.display(path))] is defined twice (first on line \(first))")
                    }
                    seenTables[path] = line
                    document.tables.append(Table(path: path, line: line, lastLine: line))
                    seenKeys = [:]
                    try endOfLine(after: "the table header")
                default:
                    let keyLine = line
                    let key = try keyValueKey()
                    if let first = seenKeys[key] {
                        throw fail("the key '\(Terminal.printable(key, limit: 64))' is set twice (first on line \(first))")
                    }
                    seenKeys[key] = keyLine
                    let value = try self.value()
                    let entry = Entry(key: key, value: value, line: keyLine)
                    if document.tables.isEmpty {
                        document.topLevel.append(entry)
                    } else {
                        document.tables[document.tables.count - 1].entries.append(entry)
                        document.tables[document.tables.count - 1].lastLine = line
                    }
                    try endOfLine(after: "the value")
                }
            }
            return document
        }

        static func display(_ path: [String]) -> String {
            path.map { key in
                key.utf8.allSatisfy(isBare) && !key.isEmpty ? key : "\"" + Terminal.printable(key, limit: 64) + "\""
            }.joined(separator: ".")
        }

        /// Blanks, an optional comment, then the end of the line (or of the file).
        mutating func endOfLine(after what: String?) throws(Failure) {
            skipBlanks()
            if current == Self.hash {
                index += 1
                while let byte = current, byte != Self.lf {
                    if byte == Self.cr, peek(1) == Self.lf { break }
                    if Self.isControl(byte) { throw fail("a comment holds a control character (byte \(byte)); remove it") }
                    index += 1
                }
            }
            guard let byte = current else { return }
            if byte == Self.lf {
                index += 1
                line += 1
            } else if byte == Self.cr, peek(1) == Self.lf {
                index += 2
                line += 1
            } else if byte == Self.cr {
                throw fail("a carriage return (\\r) not followed by a line feed; save the file with Unix or Windows line ends")
            } else if let what {
                throw fail("unexpected text after \(what): \(snippet()); put one key = value, or one [table] header, on each line")
            } else {
                throw fail("unexpected text: \(snippet())")
            }
        }

        /// The rest of the line, shown safely, for messages.
        func snippet() -> String {
            var end = index
            while end < bytes.count, bytes[end] != Self.lf, bytes[end] != Self.cr, end - index < 40 { end += 1 }
            return "'" + Terminal.printable(String(decoding: bytes[index..<end], as: UTF8.self), limit: 40) + "'"
        }

        mutating func header() throws(Failure) -> [String] {
            index += 1
            let array = current == UInt8(ascii: "[")
            if array { index += 1 }
            skipBlanks()
            guard let first = current, Self.isBare(first) || first == Self.quote || first == Self.apostrophe else {
                throw fail(TOMLSubset.badHeaderProblem)
            }
            if array {
                throw fail("arrays of tables ([[...]]) are not used in mounts.toml; write each definition as [mounts.NAME]")
            }
            let path = try keyPath()
            skipBlanks()
            guard current == UInt8(ascii: "]") else {
                throw fail("a table header must end with ']' after its name, like [mounts.NAME]; found \(atEnd ? "the end of the file" : snippet())")
            }
            index += 1
            return path
        }

        /// The key of a `key = value` line, and the `=`.
        mutating func keyValueKey() throws(Failure) -> String {
            guard let first = current, Self.isBare(first) || first == Self.quote || first == Self.apostrophe else {
                throw fail("expected a [table] header, a key = value line or a # comment, found \(snippet())")
            }
            let path = try keyPath()
            if path.count > 1 {
                throw fail("dotted keys (\(Self.display(path)) = ...) are not used in mounts.toml; write [mounts.NAME], then one key = value per line")
            }
            skipBlanks()
            guard current == UInt8(ascii: "=") else {
                throw fail("expected '=' after the key '\(Terminal.printable(path[0], limit: 64))', found \(atEnd ? "the end of the file" : snippet())")
            }
            index += 1
            skipBlanks()
            return path[0]
        }

        /// key ( . key )*, blanks allowed around the dots.
        mutating func keyPath() throws(Failure) -> [String] {
            var path = [try simpleKey()]
            while true {
                let save = index
                skipBlanks()
                guard current == UInt8(ascii: ".") else {
                    index = save
                    return path
                }
                index += 1
                skipBlanks()
                path.append(try simpleKey())
            }
        }

        mutating func simpleKey() throws(Failure) -> String {
            guard let first = current else { throw fail("expected a key, found the end of the file") }
            if first == Self.quote || first == Self.apostrophe {
                if peek(1) == first, peek(2) == first { throw fail("a key cannot be a multi-line string") }
                return try first == Self.quote ? basicString() : literalString()
            }
            let start = index
            while let byte = current, Self.isBare(byte) { index += 1 }
            guard index > start else { throw fail("expected a key (letters, digits, '_', '-', or a quoted name), found \(snippet())") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func value() throws(Failure) -> Value {
            guard let first = current, first != Self.lf, first != Self.cr, first != Self.hash else {
                throw fail("a key has no value after '='")
            }
            switch first {
            case Self.quote:
                return .string(try peek(1) == Self.quote && peek(2) == Self.quote ? multilineString(basic: true) : basicString())
            case Self.apostrophe:
                return .string(try peek(1) == Self.apostrophe && peek(2) == Self.apostrophe ? multilineString(basic: false) : literalString())
            case UInt8(ascii: "["):
                throw fail("arrays are not used in mounts.toml; write options as one string, like options = \"cache=none,actimeo=30\"")
            case UInt8(ascii: "{"):
                throw fail("inline tables ({ ... }) are not used in mounts.toml; write [mounts.NAME], then one key = value per line")
            default:
                break
            }
            let start = index
            while let byte = current, byte != Self.space, byte != Self.tab, byte != Self.lf, byte != Self.cr, byte != Self.hash { index += 1 }
            let token = String(decoding: bytes[start..<index], as: UTF8.self)
            if token == "true" { return .boolean(true) }
            if token == "false" { return .boolean(false) }
            let shown = Terminal.printable(token, limit: 40)
            if let first = token.utf8.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39) {
                return .integer(try integer(token, shown: shown, line: line))
            }
            if token == "inf" || token == "nan" { throw fail("floating-point numbers (\(shown)) are not used in mounts.toml") }
            throw fail("'\(shown)' is not a value mounts.toml takes: put text in quotes (url = \"smb://nas/share\"), write true or false, or a whole number")
        }

        /// A whole number as TOML writes it; anything that does not fit an Int is refused, never wrapped.
        func integer(_ token: String, shown: String, line: Int) throws(Failure) -> Int {
            var digits = Array(token.utf8)
            var negative = false
            var radix = 10
            if digits.first == UInt8(ascii: "+") || digits.first == UInt8(ascii: "-") {
                negative = digits.first == UInt8(ascii: "-")
                digits.removeFirst()
            }
            if digits.count > 2, digits[0] == UInt8(ascii: "0"), token.utf8.first != UInt8(ascii: "+"), token.utf8.first != UInt8(ascii: "-") {
                switch digits[1] {
                case UInt8(ascii: "x"): radix = 16
                case UInt8(ascii: "o"): radix = 8
                case UInt8(ascii: "b"): radix = 2
                default: break
                }
                if radix != 10 { digits.removeFirst(2) }
            }
            if digits.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":") }) || (radix == 10 && digits.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }))
                || token.hasSuffix("inf") || token.hasSuffix("nan") {
                let what = digits.contains(UInt8(ascii: ":")) || (digits.count > 4 && digits[4] == UInt8(ascii: "-")) ? "dates and times" : "floating-point numbers"
                throw fail("\(what) (\(shown)) are not used in mounts.toml", line: line)
            }
            if digits.count > 4, digits[4] == UInt8(ascii: "-") { throw fail("dates and times (\(shown)) are not used in mounts.toml", line: line) }
            let malformed = fail("'\(shown)' is not a whole number as TOML writes one (digits, '_' only between digits, no leading zeros)", line: line)
            guard !digits.isEmpty else { throw malformed }
            if radix == 10, digits.count > 1, digits[0] == UInt8(ascii: "0") { throw malformed }
            var value = 0
            var previousWasDigit = false
            for byte in digits {
                if byte == UInt8(ascii: "_") {
                    guard previousWasDigit else { throw malformed }
                    previousWasDigit = false
                    continue
                }
                let digit: Int
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(byte - UInt8(ascii: "a")) + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = Int(byte - UInt8(ascii: "A")) + 10
                default: throw malformed
                }
                guard digit < radix else { throw malformed }
                previousWasDigit = true
                // Accumulated negative so that Int.min fits; overflow is refused.
                let (shifted, overflow1) = value.multipliedReportingOverflow(by: radix)
                let (next, overflow2) = shifted.subtractingReportingOverflow(digit)
                guard !overflow1, !overflow2 else { throw fail("the number \(shown) is too large", line: line) }
                value = next
            }
            guard previousWasDigit else { throw malformed }
            if negative { return value }
            guard value != Int.min else { throw fail("the number \(shown) is too large", line: line) }
            return -value
        }

        mutating func basicString() throws(Failure) -> String {
            index += 1
            var out: [UInt8] = []
            while true {
                guard let byte = current else { throw fail("a string is not closed: the file ends inside it (a \" is missing)") }
                if byte == Self.quote {
                    index += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if byte == Self.lf || byte == Self.cr { throw fail("a string is not closed on its line (a \" is missing); use \"\"\" for text over several lines") }
                if byte == Self.backslash {
                    try escape(into: &out)
                    continue
                }
                if Self.isControl(byte) { throw fail("a string holds a control character (byte \(byte)); write it as an escape, like \\u0009") }
                out.append(byte)
                index += 1
            }
        }

        mutating func literalString() throws(Failure) -> String {
            index += 1
            let start = index
            while true {
                guard let byte = current else { throw fail("a string is not closed: the file ends inside it (a ' is missing)") }
                if byte == Self.apostrophe {
                    index += 1
                    return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
                }
                if byte == Self.lf || byte == Self.cr { throw fail("a string is not closed on its line (a ' is missing); use ''' for text over several lines") }
                if Self.isControl(byte) { throw fail("a string holds a control character (byte \(byte)); a 'literal string' cannot carry it, use a \"basic string\" with an escape") }
                index += 1
            }
        }

        /// The newline right after an opening `"""` or `'''` is not part of the string.
        mutating func skipOpeningNewline() {
            if current == Self.lf {
                index += 1
                line += 1
            } else if current == Self.cr, peek(1) == Self.lf {
                index += 2
                line += 1
            }
        }

        /// Inside a multi-line string: a newline (kept as \n), or a lone \r, which is refused.
        mutating func multilineNewline(into out: inout [UInt8]) throws(Failure) -> Bool {
            guard let byte = current else { return false }
            if byte == Self.lf {
                index += 1
            } else if byte == Self.cr {
                guard peek(1) == Self.lf else { throw fail("a carriage return (\\r) not followed by a line feed inside a string") }
                index += 2
            } else {
                return false
            }
            line += 1
            out.append(Self.lf)
            return true
        }

        /// The closing delimiter: three quotes, of which up to two more may precede it as content.
        mutating func closes(_ delimiter: UInt8, into out: inout [UInt8]) throws(Failure) -> Bool {
            guard current == delimiter, peek(1) == delimiter, peek(2) == delimiter else { return false }
            var count = 3
            while peek(count) == delimiter { count += 1 }
            guard count <= 5 else { throw fail("too many quotes in a row at the end of a multi-line string") }
            out.append(contentsOf: repeatElement(delimiter, count: count - 3))
            index += count
            return true
        }

        /// A """basic""" (escapes, line-ending backslash) or '''literal''' (neither) multi-line string.
        mutating func multilineString(basic: Bool) throws(Failure) -> String {
            let startLine = line
            let delimiter = basic ? Self.quote : Self.apostrophe
            index += 3
            skipOpeningNewline()
            var out: [UInt8] = []
            while true {
                guard let byte = current else {
                    let closing = basic ? "\"\"\"" : "'''"
                    throw fail("the multi-line string started here is not closed (a \(closing) is missing)", line: startLine)
                }
                if try closes(delimiter, into: &out) { return String(decoding: out, as: UTF8.self) }
                if try multilineNewline(into: &out) { continue }
                if basic, byte == Self.backslash {
                    // A backslash ending a line drops the line end and the blanks that follow.
                    var ahead = index + 1
                    while ahead < bytes.count, bytes[ahead] == Self.space || bytes[ahead] == Self.tab { ahead += 1 }
                    if ahead < bytes.count, bytes[ahead] == Self.lf || (bytes[ahead] == Self.cr && ahead + 1 < bytes.count && bytes[ahead + 1] == Self.lf) {
                        index = ahead
                        var dropped: [UInt8] = []
                        while true {
                            skipBlanks()
                            if try !multilineNewline(into: &dropped) { break }
                        }
                        continue
                    }
                    try escape(into: &out)
                    continue
                }
                if Self.isControl(byte) {
                    throw fail(basic ? "a string holds a control character (byte \(byte)); write it as an escape, like \\u0009"
                                     : "a string holds a control character (byte \(byte)); a 'literal string' cannot carry it, use a \"basic string\" with an escape")
                }
                out.append(byte)
                index += 1
            }
        }

        /// At a backslash in a basic string: appends what the escape stands for.
        mutating func escape(into out: inout [UInt8]) throws(Failure) {
            guard let letter = peek(1) else { throw fail("a string ends in a lone backslash") }
            let simple: UInt8?
            switch letter {
            case UInt8(ascii: "b"): simple = 0x08
            case UInt8(ascii: "t"): simple = 0x09
            case UInt8(ascii: "n"): simple = 0x0A
            case UInt8(ascii: "f"): simple = 0x0C
            case UInt8(ascii: "r"): simple = 0x0D
            case Self.quote: simple = Self.quote
            case Self.backslash: simple = Self.backslash
            default: simple = nil
            }
            if let simple {
                out.append(simple)
                index += 2
                return
            }
            guard letter == UInt8(ascii: "u") || letter == UInt8(ascii: "U") else {
                let shown = letter < 0x80 ? Terminal.printable(String(UnicodeScalar(letter)), limit: 4) : "(non-ASCII)"
                throw fail("unknown escape \\\(shown) in a string; write a backslash as \\\\, or use a 'literal string', where backslashes are plain")
            }
            let count = letter == UInt8(ascii: "u") ? 4 : 8
            var value: UInt32 = 0
            for offset in 0..<count {
                guard let digit = peek(2 + offset), let number = Self.hexValue(digit) else {
                    throw fail("\\\(letter == UInt8(ascii: "u") ? "u" : "U") must be followed by \(count) hexadecimal digits")
                }
                value = value << 4 | number
            }
            if value == 0 { throw fail(TOMLSubset.nulEscapeProblem) }
            guard let scalar = Unicode.Scalar(value) else {
                throw fail("the escape \\\(letter == UInt8(ascii: "u") ? "u" : "U")\(String(value, radix: 16, uppercase: true)) is not a Unicode character")
            }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
            index += 2 + count
        }

        static func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A")) + 10
            default: nil
            }
        }
    }
}
