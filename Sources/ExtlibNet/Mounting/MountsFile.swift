import TOMLKit

/// `/etc/extlib-net/mounts.toml`: one `[mounts.NAME]` table per definition.
///
/// TOMLKit parses and validates; edits are made on the lines (append a table, cut one out), so the
/// user's comments and layout survive, and every edit is parsed again before it may be written.
public struct MountsFile: Sendable {
    public private(set) var lines: [String]
    public private(set) var definitions: [MountDefinition]

    public static let header = [
        "# extlib-net mount definitions: one [mounts.NAME] table each.",
        "# Edit by hand or with: extlib-net add / extlib-net remove. Keys: url (required), credentials, rw,",
        "# smb-version, nfs-version, uid, gid, file-mode, dir-mode, options, sandbox (\"root\" or \"var\"), exec.",
    ]

    static let keys: Set<String> = ["url", "credentials", "rw", "smb-version", "nfs-version", "uid", "gid", "file-mode", "dir-mode", "options", "sandbox", "exec"]

    public init() {
        lines = []
        definitions = []
    }

    public static func parse(_ text: String) throws(MountsFileError) -> MountsFile {
        // TOMLKit reads the text, and hands strings back, as C strings: a NUL byte would silently end the
        // file there, and a \u0000 escape would cut a value short. Both are malformed.
        if let nul = text.utf8.firstIndex(of: 0) {
            throw MountsFileError(line: text.utf8[..<nul].count { $0 == 0x0A } + 1, problem: "contains a NUL byte")
        }
        if let (line, problem) = scan(text) { throw MountsFileError(line: line, problem: problem) }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw MountsFileError(line: error.source.begin.line, problem: error.description)
        } catch {
            throw MountsFileError(line: nil, problem: "\(error)")
        }
        var file = MountsFile()
        file.lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
        if file.lines.last == "" { file.lines.removeLast() }
        for key in table.keys where key != "mounts" {
            throw MountsFileError(line: file.lineNumber(containing: key), problem: "unknown top-level key '\(key)'; definitions go in [mounts.NAME] tables")
        }
        guard let mounts = table["mounts"] else { return file }
        guard let mountsTable = mounts.table else { throw MountsFileError(line: file.lineNumber(containing: "mounts"), problem: "'mounts' must be a table") }
        for name in mountsTable.keys {
            let line = file.headerLine(of: name).map { $0 + 1 } ?? file.lineNumber(containing: name)
            guard let entry = mountsTable[name]?.table else {
                throw MountsFileError(line: line, problem: "mounts.\(name) must be a table like [mounts.\(name)]")
            }
            do {
                file.definitions.append(try definition(name: name, entry))
            } catch {
                throw MountsFileError(line: line, problem: "[mounts.\(name)]: \(error)")
            }
        }
        // TOMLKit hands keys back sorted; keep the file's own order.
        let positions = Dictionary(uniqueKeysWithValues: file.definitions.map { ($0.name, file.headerLine(of: $0.name) ?? Int.max) })
        file.definitions.sort { positions[$0.name]! < positions[$1.name]! }
        return file
    }

    private static func definition(name: String, _ entry: TOMLTable) throws -> MountDefinition {
        for key in entry.keys where !keys.contains(key) {
            throw MountsFileError(line: nil, problem: "unknown key '\(key)'")
        }
        func string(_ key: String) throws -> String? {
            guard let value = entry[key] else { return nil }
            guard let text = value.string else { throw MountsFileError(line: nil, problem: "\(key) must be a string") }
            return text
        }
        func integer(_ key: String, max: Int) throws -> Int? {
            guard let value = entry[key] else { return nil }
            guard let number = value.int, (0...max).contains(number) else { throw MountsFileError(line: nil, problem: "\(key) must be a number from 0 to \(max)") }
            return number
        }
        func mode(_ key: String) throws -> UInt16? {
            guard let text = try string(key) else { return nil }
            guard let value = CIFSOptions.parseMode(text) else {
                throw MountsFileError(line: nil, problem: "\(key) must be an octal mode in quotes, like \"0644\"")
            }
            return value
        }
        guard let urlText = try string("url") else { throw MountsFileError(line: nil, problem: "url is missing") }
        var definition = MountDefinition(name: name, url: try MountURL.parse(urlText))
        definition.credentials = try string("credentials")
        if let value = entry["rw"] {
            guard let flag = value.bool else { throw MountsFileError(line: nil, problem: "rw must be true or false") }
            definition.readWrite = flag
        }
        if let text = try string("smb-version") {
            guard let dialect = SMBDialect(rawValue: text) else { throw MountsFileError(line: nil, problem: "smb-version must be one of \(SMBDialect.allCases.map(\.rawValue).joined(separator: ", "))") }
            definition.smbVersion = dialect
        }
        if let text = try string("nfs-version") {
            guard let version = NFSVersion(rawValue: text) else { throw MountsFileError(line: nil, problem: "nfs-version must be one of \(NFSVersion.allCases.map(\.rawValue).joined(separator: ", "))") }
            definition.nfsVersion = version
        }
        if let value = entry["exec"] {
            guard let flag = value.bool else { throw MountsFileError(line: nil, problem: "exec must be true or false") }
            definition.exec = flag
        }
        definition.uid = try integer("uid", max: Int(UInt32.max)).map { UInt32($0) }
        definition.gid = try integer("gid", max: Int(UInt32.max)).map { UInt32($0) }
        definition.fileMode = try mode("file-mode")
        definition.directoryMode = try mode("dir-mode")
        if let text = try string("options") { definition.options = text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        if let text = try string("sandbox") {
            guard let base = SandboxBase(rawValue: text) else { throw MountsFileError(line: nil, problem: "sandbox must be \"root\" or \"var\"") }
            definition.sandbox = base
        }
        try definition.validate()
        return definition
    }

    static let nulEscapeProblem = "a string holds a \\u0000 escape (NUL), which no value may contain"
    static let badHeaderProblem = "a table header must start with a name, like [mounts.NAME]"

    /// The line of the first `\u0000` or `\U00000000` escape inside a basic string, or nil.
    static func nulEscapeLine(in text: String) -> Int? {
        scan(text).flatMap { $0.problem == nulEscapeProblem ? $0.line : nil }
    }

    /// What TOMLKit must never see, with its line: a `\u0000` or `\U00000000` escape inside a basic string
    /// (`"..."` or `"""..."""`; literal strings and comments have no escapes), and a table header whose
    /// name starts with something that cannot start a key (`[%x]`, `[[#]]`): toml++ asserts on those
    /// (an abort in debug builds, undefined behaviour where the assertion is compiled out).
    static func scan(_ text: String) -> (line: Int, problem: String)? {
        enum State { case normal, comment, basic, multilineBasic, literal, multilineLiteral }
        let bytes = Array(text.utf8)
        func starts(_ pattern: String, at index: Int) -> Bool {
            let pattern = Array(pattern.utf8)
            return index + pattern.count <= bytes.count && Array(bytes[index..<(index + pattern.count)]) == pattern
        }
        func startsKey(_ byte: UInt8) -> Bool {
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
                || byte == UInt8(ascii: "]")
        }
        var state = State.normal
        var line = 1
        var index = 0
        var lineStart = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0A {
                line += 1
                if state == .comment { state = .normal }
                lineStart = true
                index += 1
                continue
            }
            let atLineStart = lineStart
            if byte != UInt8(ascii: " "), byte != UInt8(ascii: "\t") { lineStart = false }
            switch state {
            case .comment:
                index += 1
            case .normal:
                if atLineStart, byte == UInt8(ascii: "[") {
                    var next = index + 1
                    if next < bytes.count, bytes[next] == UInt8(ascii: "[") { next += 1 }
                    while next < bytes.count, bytes[next] == UInt8(ascii: " ") || bytes[next] == UInt8(ascii: "\t") { next += 1 }
                    if next < bytes.count, !startsKey(bytes[next]) { return (line, badHeaderProblem) }
                    index += 1
                } else if byte == UInt8(ascii: "#") { state = .comment; index += 1 }
                else if starts("\"\"\"", at: index) { state = .multilineBasic; index += 3 }
                else if starts("'''", at: index) { state = .multilineLiteral; index += 3 }
                else if byte == UInt8(ascii: "\"") { state = .basic; index += 1 }
                else if byte == UInt8(ascii: "'") { state = .literal; index += 1 }
                else { index += 1 }
            case .basic, .multilineBasic:
                if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    let next = bytes[index + 1]
                    if next == UInt8(ascii: "u") || next == UInt8(ascii: "U") {
                        let count = next == UInt8(ascii: "u") ? 4 : 8
                        if index + 2 + count <= bytes.count,
                           let value = UInt32(String(decoding: bytes[(index + 2)..<(index + 2 + count)], as: UTF8.self), radix: 16), value == 0 {
                            return (line, nulEscapeProblem)
                        }
                    }
                    // A backslash at the end of a line (line continuation) leaves the newline to be counted.
                    index += next == 0x0A ? 1 : 2
                } else if state == .basic, byte == UInt8(ascii: "\"") {
                    state = .normal
                    index += 1
                } else if state == .multilineBasic, starts("\"\"\"", at: index) {
                    state = .normal
                    index += 3
                } else {
                    index += 1
                }
            case .literal:
                if byte == UInt8(ascii: "'") { state = .normal }
                index += 1
            case .multilineLiteral:
                if starts("'''", at: index) { state = .normal; index += 3 } else { index += 1 }
            }
        }
        return nil
    }

    public func definition(named name: String) -> MountDefinition? { definitions.first { $0.name == name } }

    /// Appends `definition` as a new table; the caller checked that the name is free.
    public mutating func append(_ definition: MountDefinition) throws(MountsFileError) {
        var edited = lines
        if edited.isEmpty { edited = Self.header }
        if let last = edited.last, !last.trimmingBlanks.isEmpty { edited.append("") }
        edited += Self.render(definition)
        try replace(with: edited, expecting: definitions.map(\.name) + [definition.name])
    }

    /// Cuts out the `[mounts.NAME]` table: its header through its last key line.
    public mutating func remove(named name: String) throws(MountsFileError) {
        guard let start = headerLine(of: name) else {
            throw MountsFileError(line: nil, problem: "mounts.\(name) is not written as a [mounts.\(name)] table; remove it by hand")
        }
        var end = start + 1
        var lastContent = start
        while end < lines.count, !lines[end].trimmingBlanks.hasPrefix("[") {
            let trimmed = lines[end].trimmingBlanks
            if !trimmed.isEmpty, !trimmed.hasPrefix("#") { lastContent = end }
            end += 1
        }
        var edited = lines
        edited.removeSubrange(start...lastContent)
        try replace(with: edited, expecting: definitions.map(\.name).filter { $0 != name })
    }

    public func rendered() -> String { lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n") }

    private mutating func replace(with edited: [String], expecting names: [String]) throws(MountsFileError) {
        let text = edited.joined(separator: "\n") + "\n"
        let reparsed = try Self.parse(text)
        guard Set(reparsed.definitions.map(\.name)) == Set(names) else {
            throw MountsFileError(line: nil, problem: "editing the file would not give the expected definitions; nothing was changed, edit it by hand")
        }
        self = reparsed
    }

    static func render(_ definition: MountDefinition) -> [String] {
        var block = ["[mounts.\(tableKey(definition.name))]", "url = \(quoted(definition.url.description))"]
        if let credentials = definition.credentials { block.append("credentials = \(quoted(credentials))") }
        block.append("rw = \(definition.readWrite)")
        if let version = definition.smbVersion { block.append("smb-version = \(quoted(version.rawValue))") }
        if let version = definition.nfsVersion { block.append("nfs-version = \(quoted(version.rawValue))") }
        if let uid = definition.uid { block.append("uid = \(uid)") }
        if let gid = definition.gid { block.append("gid = \(gid)") }
        if let mode = definition.fileMode { block.append("file-mode = \(quoted("0" + String(mode, radix: 8)))") }
        if let mode = definition.directoryMode { block.append("dir-mode = \(quoted("0" + String(mode, radix: 8)))") }
        if !definition.options.isEmpty { block.append("options = \(quoted(definition.options.joined(separator: ",")))") }
        if let sandbox = definition.sandbox { block.append("sandbox = \(quoted(sandbox.rawValue))") }
        if definition.exec { block.append("exec = true") }
        return block
    }

    /// `name` as a TOML key: bare when it can be (letters, digits, `_`, `-`), else quoted, so that
    /// `my.photos` is one key and not the table `my` holding `photos`.
    static func tableKey(_ name: String) -> String {
        let bare = !name.isEmpty && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
        return bare ? name : quoted(name)
    }

    /// A TOML basic string.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private func headerLine(of name: String) -> Int? {
        let forms = ["[mounts.\(name)]", "[mounts.\"\(name)\"]", "[ mounts.\(name) ]"]
        return lines.firstIndex { line in forms.contains(String(line.trimmingBlanks.prefix { $0 != "#" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())) }
    }

    private func lineNumber(containing text: String) -> Int? {
        lines.firstIndex { $0.contains(text) }.map { $0 + 1 }
    }
}

public struct MountsFileError: Error, Equatable, CustomStringConvertible {
    public let line: Int?
    public let problem: String

    public var description: String { (line.map { "line \($0): " } ?? "") + problem }
}
