import Formats
import System
/// The credentials file as lines, so edits keep the user's comments, order and spacing.
///
/// Format (see credentials.example): `[name]` headers, then `username=`, `password=`, `domain=` lines;
/// a password is everything after the first `=` up to the end of the line, verbatim (no quoting, so any
/// character but NUL, CR and LF round-trips); username and domain lose blanks around them; whole-line
/// comments start with `#` or `;`.
public struct CredentialsDocument: Sendable {
    private(set) var lines: [String]
    public private(set) var credentials: [Credential]
    /// For each credential, the lines it spans: its header through its last key line (comments after
    /// that belong to whatever follows).
    private var spans: [Range<Int>]

    public static let keys: Set<String> = ["username", "password", "domain"]

    public init() {
        lines = []
        credentials = []
        spans = []
    }

    public static func parse(_ bytes: [UInt8]) throws(CredentialsFileError) -> CredentialsDocument {
        guard !bytes.contains(0) else { throw CredentialsFileError(line: nil, problem: "contains a NUL byte") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw CredentialsFileError(line: nil, problem: "is not valid UTF-8") }
        // Scalars, not Characters: "\r\n" or "=" plus a combining mark is one Character in Swift.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
        if lines.last == "" { lines.removeLast() }

        var document = CredentialsDocument()
        document.lines = lines
        var current: (name: String, header: Int, last: Int, values: [String: String])?

        func closeSection() throws(CredentialsFileError) {
            guard let section = current else { return }
            let lineNumber = section.header + 1
            guard let username = section.values["username"] else {
                throw CredentialsFileError(line: lineNumber, problem: "[\(section.name)] has no username= line")
            }
            guard let password = section.values["password"] else {
                throw CredentialsFileError(line: lineNumber, problem: "[\(section.name)] has no password= line")
            }
            do {
                let credential = try Credential(name: section.name, username: username, password: Secret(password), domain: section.values["domain"])
                document.credentials.append(credential)
                document.spans.append(section.header..<(section.last + 1))
            } catch {
                throw CredentialsFileError(line: lineNumber, problem: "[\(section.name)]: \(error)")
            }
        }

        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            // A CRLF file (edited on Windows) reads the same; a CR inside a value is still refused.
            var line = rawLine.unicodeScalars[...]
            if line.last == "\r" { line = line.dropLast() }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.first == "#" || trimmed.first == ";" { continue }
            if trimmed.first == "[" {
                var header = trimmed
                while let last = header.last, last == " " || last == "\t" { header = header.dropLast() }
                guard header.last == "]", header.count >= 2 else {
                    throw CredentialsFileError(line: lineNumber, problem: "a section header must look like [name]")
                }
                let name = String(String.UnicodeScalarView(header.dropFirst().dropLast()))
                guard NameRule.isValid(name) else {
                    throw CredentialsFileError(line: lineNumber, problem: CredentialFieldError.invalidName(name).description)
                }
                guard !document.credentials.contains(where: { $0.name == name }), current?.name != name else {
                    throw CredentialsFileError(line: lineNumber, problem: "[\(name)] appears twice")
                }
                try closeSection()
                current = (name, index, index, [:])
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw CredentialsFileError(line: lineNumber, problem: "expected [name], key=value, or a # comment")
            }
            var keyScalars = trimmed[..<equals]
            while let last = keyScalars.last, last == " " || last == "\t" { keyScalars = keyScalars.dropLast() }
            let key = String(String.UnicodeScalarView(keyScalars))
            var valueScalars = trimmed[trimmed.index(after: equals)...]
            if key != "password" {
                // Hand edits like "username = photos" mean "photos"; only passwords are verbatim.
                while let first = valueScalars.first, first == " " || first == "\t" { valueScalars = valueScalars.dropFirst() }
                while let last = valueScalars.last, last == " " || last == "\t" { valueScalars = valueScalars.dropLast() }
            }
            let value = String(String.UnicodeScalarView(valueScalars))
            guard Self.keys.contains(key) else {
                throw CredentialsFileError(line: lineNumber, problem: "unknown key '\(key)'; expected username, password or domain")
            }
            guard current != nil else {
                throw CredentialsFileError(line: lineNumber, problem: "\(key)= comes before any [name] section")
            }
            guard current!.values[key] == nil else {
                throw CredentialsFileError(line: lineNumber, problem: "\(key)= appears twice in [\(current!.name)]")
            }
            guard !value.unicodeScalars.contains("\r") else {
                throw CredentialsFileError(line: lineNumber, problem: "the \(key) contains a carriage return")
            }
            current!.values[key] = value
            current!.last = index
        }
        try closeSection()
        return document
    }

    public func credential(named name: String) -> Credential? {
        credentials.first { $0.name == name }
    }

    /// Adds `credential`, or replaces the section of the same name in place.
    public mutating func upsert(_ credential: Credential) {
        var section = ["[\(credential.name)]", "username=\(credential.username)", "password=\(credential.password.reveal())"]
        if let domain = credential.domain { section.append("domain=\(domain)") }
        if let index = credentials.firstIndex(where: { $0.name == credential.name }) {
            replace(spans[index], with: section)
            credentials[index] = credential
        } else {
            if let last = lines.last, !last.trimmingBlanks.isEmpty { lines.append("") }
            spans.append(lines.count..<(lines.count + section.count))
            lines += section
            credentials.append(credential)
        }
    }

    /// Removes the section named `name`; `false` when there is none.
    public mutating func remove(named name: String) -> Bool {
        guard let index = credentials.firstIndex(where: { $0.name == name }) else { return false }
        replace(spans[index], with: [])
        credentials.remove(at: index)
        spans.remove(at: index)
        return true
    }

    public func rendered() -> [UInt8] {
        Array((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8)
    }

    private mutating func replace(_ span: Range<Int>, with newLines: [String]) {
        lines.replaceSubrange(span, with: newLines)
        let shift = newLines.count - span.count
        spans = spans.map { $0.lowerBound >= span.upperBound ? ($0.lowerBound + shift)..<($0.upperBound + shift) : ($0 == span ? span.lowerBound..<(span.lowerBound + newLines.count) : $0) }
    }
}

extension String {
    package var trimmingBlanks: Substring {
        let start = drop { $0 == " " || $0 == "\t" || $0 == "\r" }
        return Substring(String(start.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed()))
    }
}

/// The credentials file is malformed; it is never rewritten while it is.
public struct CredentialsFileError: Error, Equatable, CustomStringConvertible {
    public let line: Int?
    public let problem: String

    public var description: String {
        (line.map { "line \($0): " } ?? "") + problem
    }
}
