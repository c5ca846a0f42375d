import Core
import System
import Formats

/// What a placeholder of one share is built from: the files that were both assets of its Immich library
/// and on the share at the last healthy check, with their exact modification times. Kept root-only (it
/// lists private photo paths), written atomically, at /var/lib/extlib-net/placeholders/NAME.json.
public struct PlaceholderRecord: Codable, Sendable, Equatable {
    /// Where the list of files came from.
    public enum Source: String, Codable, Sendable {
        /// The share's files that Immich lists as assets of the library (`POST /api/search/metadata`).
        case immichAssets
        /// A walk of the share right before a guarded scan that completed: for a library owned by another
        /// user, whose assets the key cannot list. It may hold files Immich had not imported yet.
        case walkBeforeScan
    }

    /// One file, written as one JSON string "SECONDS.NANOSECONDS PATH" (a million of them decode several
    /// times faster than a million objects). The path runs to the end, spaces and all.
    public struct Entry: Codable, Sendable, Hashable {
        /// Relative to the share's mount point.
        public let path: String
        public let modified: FileTime

        public init(path: String, modified: FileTime) {
            self.path = path
            self.modified = modified
        }

        public init(from decoder: any Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let entry = Self(line: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not SECONDS.NANOSECONDS PATH"))
            }
            self = entry
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(line)
        }

        /// "1600000000.000000001 2024/a b.jpg": nine digits of nanoseconds, always.
        var line: String {
            let nanos = String(modified.nanoseconds)
            return "\(modified.seconds).\(String(repeating: "0", count: max(0, 9 - nanos.count)))\(nanos) \(path)"
        }

        init?(line: String) {
            let utf8 = line.utf8
            guard let space = utf8.firstIndex(of: 0x20), let dot = utf8[..<space].firstIndex(of: 0x2E) else { return nil }
            let secondsText = utf8[..<dot]
            let nanosText = utf8[utf8.index(after: dot)..<space]
            let digits = secondsText.first == 0x2D ? secondsText.dropFirst() : secondsText[...]  // a time before 1970
            guard !digits.isEmpty, digits.count <= 18, nanosText.count == 9,
                digits.allSatisfy({ (0x30...0x39).contains($0) }), nanosText.allSatisfy({ (0x30...0x39).contains($0) }),
                let seconds = Int64(Substring(secondsText)), let nanos = Int32(Substring(nanosText))
            else { return nil }
            path = String(Substring(utf8[utf8.index(after: space)...]))
            modified = FileTime(seconds: seconds, nanoseconds: nanos)
        }
    }

    public let definition: String
    /// The libraries the share's files were matched against (every library that imports the share).
    public let libraryIDs: [String]
    /// UTC, `Timestamp.utcNow`.
    public let takenAt: String
    public let source: Source
    public let entries: [Entry]

    public init(definition: String, libraryIDs: [String], takenAt: String, source: Source, entries: [Entry]) {
        self.definition = definition
        self.libraryIDs = libraryIDs
        self.takenAt = takenAt
        self.source = source
        self.entries = entries
    }

    /// The most files one placeholder holds: a tmpfs costs about 1 KiB a file, so 1M files is about 1 GiB
    /// of kernel memory. Larger libraries are left unprotected, and said so.
    public static let maximumEntries = 1_000_000

    /// The snapshot's files that are also in `assets` (paths relative to the share, as bytes: two
    /// spellings of "café" are two files), or all of them when `assets` is nil (`walkBeforeScan`).
    /// In byte order of their paths, the order the placeholder is built in.
    public static func entries(of snapshot: TreeSnapshot, keeping assets: Set<[UInt8]>?) -> [Entry] {
        snapshot.files.compactMap { file in
            guard assets?.contains(Array(file.path.utf8)) ?? true else { return nil }
            return Entry(path: file.path, modified: file.modified)
        }.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// A record read from disk is checked as hostile: every path clean and relative, every time valid,
    /// no path twice, not too many.
    public var isSound: Bool {
        guard NameRule.isValid(definition), entries.count <= Self.maximumEntries else { return false }
        var seen = Set<BytesOf>()
        seen.reserveCapacity(entries.count)
        for entry in entries {
            guard TreeSnapshot.isCleanRelative(entry.path), entry.modified.isValid, seen.insert(BytesOf(entry.path)).inserted else { return false }
        }
        return true
    }
}

/// The placeholder records under /var/lib/extlib-net/placeholders.
public struct PlaceholderRecords: Sendable {
    public let root: SystemRoot

    public init(root: SystemRoot) { self.root = root }

    public static let directory = SystemRoot.Known.stateDirectory + "/placeholders"

    func file(_ name: String) -> PrivateJSONFile<PlaceholderRecord> {
        var file = PrivateJSONFile<PlaceholderRecord>(path: root.path(Self.directory + "/\(name).json"), below: root.prefix,
                                                      repair: "delete it; the next guarded scan or extlib-net immich link writes it again (until then the library has no placeholder)")
        // 1M entries of 500-byte paths fit; a record that would not is refused when written.
        file.limit = 512 << 20
        return file
    }

    /// The record of `name`, or nil when there is none. A damaged one throws: no placeholder is built
    /// from it, and status and doctor say the library is unprotected.
    public func load(_ name: String) throws -> PlaceholderRecord? {
        guard let record = try file(name).load() else { return nil }
        guard record.isSound, record.definition == name else { throw MalformedFileError(path: file(name).path, repair: file(name).repair) }
        return record
    }

    /// Whether a record file of `name` is there (a regular file, not followed through a link).
    public func exists(_ name: String) -> Bool {
        guard case .success(let info) = FileInfo.of(file(name).path) else { return false }
        return info.kind == .regular
    }

    /// /var/lib/extlib-net (0700, as the outages' file wants it) and its placeholders folder (0700).
    public func ensureFolder() throws {
        try SecureFile.ensurePrivateDirectory(root.path(SystemRoot.Known.stateDirectory), below: root.prefix)
        try SecureFile.ensurePrivateDirectory(root.path(Self.directory), below: root.prefix)
    }

    public func save(_ record: PlaceholderRecord) throws {
        try ensureFolder()
        guard record.isSound else { throw MalformedFileError(path: file(record.definition).path, repair: "extlib-net refused to write an unsound record; report this") }
        try file(record.definition).save(record)
    }

    @discardableResult
    public func remove(_ name: String) -> Bool { file(name).remove() }
}

/// A string compared and hashed by its UTF-8 bytes, without copying them (String's own == treats "é" and
/// "e\u{301}" as equal, but they are two files).
struct BytesOf: Hashable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: BytesOf, rhs: BytesOf) -> Bool { lhs.text.utf8.elementsEqual(rhs.text.utf8) }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
