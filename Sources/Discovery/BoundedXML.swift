/// A small, strict XML reader for the SOAP messages of WS-Discovery, which come from anyone on the LAN.
///
/// Bounded on purpose: no DTD at all (so no entity can expand: an XML bomb fails at its `<!DOCTYPE`), only
/// the five predefined entities and character references, a size cap, a nesting cap and an element cap.
/// Namespaces are resolved, so `pub:Computer` is matched by its namespace URI, not by the prefix a sender
/// chose. `XMLTree.parse` is a pure function of the bytes (a fuzzing entry point).
public struct XMLTree: Sendable, Equatable {
    public let namespace: String?
    public let localName: String
    public let attributes: [String: String]  // by local name; namespaced attributes are not needed here
    public var children: [XMLTree]
    public var text: String

    public struct Limits: Sendable {
        public var maximumBytes = 256 * 1024
        public var maximumDepth = 32
        public var maximumElements = 4096
        public static let standard = Limits()
    }

    public static func parse(_ bytes: [UInt8], limits: Limits = .standard) throws(XMLParseError) -> XMLTree {
        guard bytes.count <= limits.maximumBytes else { throw .tooLarge(bytes.count) }
        var parser = XMLParser(bytes: bytes, limits: limits)
        return try parser.document()
    }

    /// The first descendant (or self) with this namespace and local name, depth first.
    public func first(_ namespace: String, _ localName: String) -> XMLTree? {
        if self.namespace == namespace && self.localName == localName { return self }
        for child in children {
            if let found = child.first(namespace, localName) { return found }
        }
        return nil
    }

    /// Every descendant (or self) with this namespace and local name.
    public func all(_ namespace: String, _ localName: String) -> [XMLTree] {
        var found: [XMLTree] = []
        if self.namespace == namespace && self.localName == localName { found.append(self) }
        for child in children { found += child.all(namespace, localName) }
        return found
    }

    /// The text with surrounding white space removed.
    public var trimmedText: String {
        String(text.unicodeScalars.drop(while: \.properties.isWhitespace).reversed().drop(while: \.properties.isWhitespace).reversed().map(Character.init))
    }
}

public enum XMLParseError: Error, Equatable, CustomStringConvertible {
    case tooLarge(Int)
    case invalidUTF8
    case doctypeNotAllowed
    case tooDeep
    case tooManyElements
    case unexpectedEnd
    case malformed(String, at: Int)
    case unknownEntity(String)
    case undeclaredPrefix(String)
    case mismatchedTag(String, String)

    public var description: String {
        switch self {
        case .tooLarge(let size): return "XML of \(size) bytes is larger than allowed"
        case .invalidUTF8: return "XML is not UTF-8"
        case .doctypeNotAllowed: return "XML with a DOCTYPE is refused (no entity expansion)"
        case .tooDeep: return "XML is nested too deeply"
        case .tooManyElements: return "XML has too many elements"
        case .unexpectedEnd: return "XML ends too early"
        case .malformed(let what, let at): return "XML is malformed at byte \(at): \(what)"
        case .unknownEntity(let name): return "XML uses the unknown entity &\(name);"
        case .undeclaredPrefix(let prefix): return "XML uses the undeclared namespace prefix \(prefix)"
        case .mismatchedTag(let open, let close): return "XML closes <\(open)> with </\(close)>"
        }
    }
}

private struct XMLParser {
    let bytes: [UInt8]
    let limits: XMLTree.Limits
    var position = 0
    var elements = 0

    init(bytes: [UInt8], limits: XMLTree.Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func document() throws(XMLParseError) -> XMLTree {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .invalidUTF8 }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        var root: XMLTree?
        while true {
            skipWhitespace()
            guard position < bytes.count else { break }
            guard bytes[position] == UInt8(ascii: "<") else { throw .malformed("text outside the root element", at: position) }
            if starts(with: "<?") {
                try skipPast("?>")
            } else if starts(with: "<!--") {
                try skipPast("-->")
            } else if starts(with: "<!") {
                throw .doctypeNotAllowed
            } else {
                guard root == nil else { throw .malformed("a second root element", at: position) }
                root = try element(depth: 1, scope: ["xml": "http://www.w3.org/XML/1998/namespace"])
            }
        }
        guard let root else { throw .unexpectedEnd }
        return root
    }

    func starts(with text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        return text.withUTF8Buffer { pattern in
            for index in 0..<count where bytes[position + index] != pattern[index] { return false }
            return true
        }
    }

    mutating func skipPast(_ text: StaticString) throws(XMLParseError) {
        let count = text.utf8CodeUnitCount
        while position + count <= bytes.count {
            if starts(with: text) {
                position += count
                return
            }
            position += 1
        }
        throw .unexpectedEnd
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        // ASCII letters, digits, - . _ : and any non-ASCII byte (names may be non-ASCII UTF-8).
        byte >= 0x80 || (byte >= 0x30 && byte <= 0x3A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2D || byte == 0x2E || byte == 0x5F
    }

    mutating func name() throws(XMLParseError) -> String {
        let start = position
        while position < bytes.count, Self.isNameByte(bytes[position]) { position += 1 }
        guard position > start, position - start <= 256 else { throw .malformed("a name was expected", at: start) }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    static func split(_ qualified: String) -> (prefix: String?, local: String) {
        guard let colon = qualified.firstIndex(of: ":") else { return (nil, qualified) }
        return (String(qualified[..<colon]), String(qualified[qualified.index(after: colon)...]))
    }

    mutating func element(depth: Int, scope: [String: String]) throws(XMLParseError) -> XMLTree {
        guard depth <= limits.maximumDepth else { throw .tooDeep }
        elements += 1
        guard elements <= limits.maximumElements else { throw .tooManyElements }
        position += 1  // "<"
        let qualified = try name()
        var rawAttributes: [(String, String)] = []
        var selfClosing = false
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw .unexpectedEnd }
            if bytes[position] == UInt8(ascii: ">") {
                position += 1
                break
            }
            if starts(with: "/>") {
                position += 2
                selfClosing = true
                break
            }
            let attribute = try name()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "=") else { throw .malformed("'=' expected", at: position) }
            position += 1
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") || bytes[position] == UInt8(ascii: "'") else {
                throw .malformed("a quoted value expected", at: position)
            }
            let quote = bytes[position]
            position += 1
            let start = position
            while position < bytes.count, bytes[position] != quote {
                guard bytes[position] != UInt8(ascii: "<") else { throw .malformed("'<' in an attribute value", at: position) }
                position += 1
            }
            guard position < bytes.count else { throw .unexpectedEnd }
            let value = try Self.unescape(bytes[start..<position])
            position += 1
            guard rawAttributes.count < 64, !rawAttributes.contains(where: { $0.0 == attribute }) else {
                throw .malformed("too many or repeated attributes", at: start)
            }
            rawAttributes.append((attribute, value))
        }

        var scope = scope
        for (attribute, value) in rawAttributes {
            if attribute == "xmlns" { scope[""] = value }
            if attribute.hasPrefix("xmlns:") { scope[String(attribute.dropFirst(6))] = value }
        }
        let (prefix, local) = Self.split(qualified)
        let namespace: String?
        if let prefix {
            guard let uri = scope[prefix] else { throw .undeclaredPrefix(prefix) }
            namespace = uri
        } else {
            namespace = scope[""].flatMap { $0.isEmpty ? nil : $0 }
        }
        var attributes: [String: String] = [:]
        for (attribute, value) in rawAttributes where attribute != "xmlns" && !attribute.hasPrefix("xmlns:") {
            attributes[Self.split(attribute).local] = value
        }
        var result = XMLTree(namespace: namespace, localName: local, attributes: attributes, children: [], text: "")
        if selfClosing { return result }

        var text = ""
        while true {
            guard position < bytes.count else { throw .unexpectedEnd }
            if bytes[position] != UInt8(ascii: "<") {
                let start = position
                while position < bytes.count, bytes[position] != UInt8(ascii: "<") { position += 1 }
                text += try Self.unescape(bytes[start..<position])
                continue
            }
            if starts(with: "</") {
                position += 2
                let closing = try name()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ">") else { throw .malformed("'>' expected", at: position) }
                position += 1
                guard closing == qualified else { throw .mismatchedTag(qualified, closing) }
                result.text = text
                return result
            }
            if starts(with: "<!--") {
                try skipPast("-->")
            } else if starts(with: "<![CDATA[") {
                position += 9
                let start = position
                try skipPast("]]>")
                text += String(decoding: bytes[start..<position - 3], as: UTF8.self)  // literal
            } else if starts(with: "<!") {
                throw .doctypeNotAllowed
            } else if starts(with: "<?") {
                try skipPast("?>")
            } else {
                result.children.append(try element(depth: depth + 1, scope: scope))
            }
        }
    }

    /// XML 1.0's `Char` production: tab, line feed, carriage return and the rest from U+0020 on, without
    /// surrogates, U+FFFE and U+FFFF.
    static func isXMLCharacter(_ value: UInt32) -> Bool {
        value == 0x9 || value == 0xA || value == 0xD || (0x20...0xD7FF).contains(value)
            || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
    }

    /// Replaces `&lt; &gt; &amp; &quot; &apos;` and `&#N;` / `&#xN;`; every other entity is an error.
    static func unescape(_ raw: ArraySlice<UInt8>) throws(XMLParseError) -> String {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index < raw.endIndex {
            let byte = raw[index]
            guard byte == UInt8(ascii: "&") else {
                out.append(byte)
                index += 1
                continue
            }
            guard let end = raw[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else { throw .unknownEntity("") }
            let entity = String(decoding: raw[(index + 1)..<end], as: UTF8.self)
            switch entity {
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "amp": out.append(UInt8(ascii: "&"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                var number: UInt32?
                if entity.hasPrefix("#x") { number = UInt32(entity.dropFirst(2), radix: 16) }
                else if entity.hasPrefix("#") { number = UInt32(entity.dropFirst(1)) }
                // XML 1.0's Char: a reference to a control character (`&#27;`, an escape) is not XML.
                guard let number, isXMLCharacter(number), let scalar = Unicode.Scalar(number) else { throw .unknownEntity(entity) }
                out += Array(String(Character(scalar)).utf8)
            }
            index = end + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
