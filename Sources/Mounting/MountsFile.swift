import Formats
import Core
import System
/// `/etc/extlib-net/mounts.toml`: one `[mounts.NAME]` table per definition.
///
/// `TOMLSubset` reads and checks the text; edits are made on the lines (append a table, cut one out), so
/// the user's comments and layout survive, and every edit is parsed again before it may be written.
public struct MountsFile: Sendable {
    public private(set) var lines: [String]
    public private(set) var definitions: [MountDefinition]
    /// For each definition, its header line and the last line of its entries (0-based, into `lines`).
    private var spans: [ClosedRange<Int>]

    public static let header = [
        "# extlib-net mount definitions: one [mounts.NAME] table each.",
        "# Edit by hand or with: extlib-net add / extlib-net remove. Keys: url (required), credentials, rw,",
        "# smb-version, nfs-version, uid, gid, file-mode, dir-mode, options, sandbox (\"root\" or \"var\"), exec.",
    ]

    static let keys: Set<String> = ["url", "credentials", "rw", "smb-version", "nfs-version", "uid", "gid", "file-mode", "dir-mode", "options", "sandbox", "exec"]

    public init() {
        lines = []
        definitions = []
        spans = []
    }

    public static func parse(_ text: String) throws(MountsFileError) -> MountsFile {
        let bytes = Array(text.utf8)
        // Checked first, over the whole file, so that the message names the NUL and not what follows it.
        if let nul = bytes.firstIndex(of: 0) {
            throw MountsFileError(line: bytes[..<nul].count { $0 == 0x0A } + 1, problem: "contains a NUL byte")
        }
        let document: TOMLSubset.Document
        do {
            document = try TOMLSubset.parse(bytes)
        } catch {
            throw MountsFileError(line: error.line, problem: error.problem)
        }
        var file = MountsFile()
        file.lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if file.lines.last == "" { file.lines.removeLast() }
        for entry in document.topLevel {
            let problem = entry.key == "mounts" ? "'mounts' must be a table" : "unknown top-level key '\(Terminal.printable(entry.key, limit: 64))'; definitions go in [mounts.NAME] tables"
            throw MountsFileError(line: entry.line, problem: problem)
        }
        for table in document.tables {
            guard table.path[0] == "mounts" else {
                throw MountsFileError(line: table.line, problem: "unknown top-level key '\(Terminal.printable(table.path[0], limit: 64))'; definitions go in [mounts.NAME] tables")
            }
            guard table.path.count == 2 else {
                if table.path.count == 1, let entry = table.entries.first {
                    throw MountsFileError(line: entry.line, problem: "mounts.\(Terminal.printable(entry.key, limit: 64)) must be a table like [mounts.\(Terminal.printable(entry.key, limit: 64))]")
                }
                if table.path.count == 1 { continue }
                throw MountsFileError(line: table.line, problem: "a definition is one [mounts.NAME] table, not [\(table.path.map { Terminal.printable($0, limit: 64) }.joined(separator: "."))]; quote a name that holds a dot, like [mounts.\"my.photos\"]")
            }
            let name = table.path[1]
            do {
                file.definitions.append(try definition(name: name, table.entries))
            } catch {
                throw MountsFileError(line: table.line, problem: "[mounts.\(Terminal.printable(name, limit: 64))]: \(error)")
            }
            file.spans.append((table.line - 1)...(table.lastLine - 1))
        }
        return file
    }

    private static func definition(name: String, _ entries: [TOMLSubset.Entry]) throws -> MountDefinition {
        var values: [String: TOMLSubset.Value] = [:]
        for entry in entries {
            guard keys.contains(entry.key) else { throw MountsFileError(line: nil, problem: "unknown key '\(Terminal.printable(entry.key, limit: 64))'") }
            values[entry.key] = entry.value
        }
        func string(_ key: String) throws -> String? {
            guard let value = values[key] else { return nil }
            guard case .string(let text) = value else { throw MountsFileError(line: nil, problem: "\(key) must be a string") }
            return text
        }
        func integer(_ key: String, max: Int) throws -> Int? {
            guard let value = values[key] else { return nil }
            guard case .integer(let number) = value, (0...max).contains(number) else { throw MountsFileError(line: nil, problem: "\(key) must be a number from 0 to \(max)") }
            return number
        }
        func flag(_ key: String) throws -> Bool? {
            guard let value = values[key] else { return nil }
            guard case .boolean(let flag) = value else { throw MountsFileError(line: nil, problem: "\(key) must be true or false") }
            return flag
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
        if let flag = try flag("rw") { definition.readWrite = flag }
        if let text = try string("smb-version") {
            guard let dialect = SMBDialect(rawValue: text) else { throw MountsFileError(line: nil, problem: "smb-version must be one of \(SMBDialect.allCases.map(\.rawValue).joined(separator: ", "))") }
            definition.smbVersion = dialect
        }
        if let text = try string("nfs-version") {
            guard let version = NFSVersion(rawValue: text) else { throw MountsFileError(line: nil, problem: "nfs-version must be one of \(NFSVersion.allCases.map(\.rawValue).joined(separator: ", "))") }
            definition.nfsVersion = version
        }
        if let flag = try flag("exec") { definition.exec = flag }
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

    static let nulEscapeProblem = TOMLSubset.nulEscapeProblem
    static let badHeaderProblem = TOMLSubset.badHeaderProblem

    public func definition(named name: String) -> MountDefinition? { definitions.first { $0.name == name } }

    /// Appends `definition` as a new table; the caller checked that the name is free.
    public mutating func append(_ definition: MountDefinition) throws(MountsFileError) {
        var edited = lines
        if edited.isEmpty { edited = Self.header }
        if let last = edited.last, !last.trimmingBlanks.isEmpty { edited.append("") }
        edited += Self.render(definition)
        try replace(with: edited, expecting: definitions.map(\.name) + [definition.name])
    }

    /// Cuts out the `[mounts.NAME]` table: its header through its last key line (comments and blank
    /// lines around it stay).
    public mutating func remove(named name: String) throws(MountsFileError) {
        guard let index = definitions.firstIndex(where: { $0.name == name }) else {
            throw MountsFileError(line: nil, problem: "there is no [mounts.\(name)] table")
        }
        var edited = lines
        edited.removeSubrange(spans[index])
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
}

public struct MountsFileError: Error, Equatable, CustomStringConvertible {
    public let line: Int?
    public let problem: String

    public var description: String { (line.map { "line \($0): " } ?? "") + problem }
}
