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
    /// Each library's asset count (Immich's statistics) when the record was taken, where Immich gave it.
    /// A count that changed since (an import by the Scan button, say) makes heal take the record again:
    /// an asset imported after the record would otherwise be missing from the placeholder. Absent in
    /// records of 0.4.0 and before.
    public let libraryTotals: [String: Int]?

    public init(definition: String, libraryIDs: [String], takenAt: String, source: Source, entries: [Entry], libraryTotals: [String: Int]? = nil) {
        self.definition = definition
        self.libraryIDs = libraryIDs
        self.takenAt = takenAt
        self.source = source
        self.entries = entries
        self.libraryTotals = libraryTotals
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

    /// The most files and folders one placeholder's tmpfs may hold (`nr_inodes`): a record whose paths
    /// need more folders than this is refused, whatever its file count.
    public static let maximumInodes = 2 * maximumEntries

    /// What the record's tree takes on a tmpfs.
    public struct Layout: Sendable, Equatable {
        public let files: Int
        public let folders: Int
        public var inodes: Int { files + folders }
    }

    /// Why a record cannot be built into a placeholder. Each is refused when the record is read or written,
    /// before anything is mounted, so a refresh in place never empties a placeholder half-way.
    public enum Unsound: Error, Sendable, Equatable, CustomStringConvertible {
        case definition
        case tooManyFiles(Int)
        case tooManyFolders(Int)
        /// Not clean and relative (see `TreeSnapshot.isCleanRelative`), a name over 255 bytes, or deeper
        /// than `TreeSnapshot.maximumDepth` (the deepest a walk or a clear goes).
        case badPath(index: Int)
        case badTime(index: Int)
        case twice(index: Int)
        /// A file's path is also a folder of another file's path.
        case fileIsFolder(index: Int)

        public var description: String {
            switch self {
            case .definition: return "its name is not a mount name"
            case .tooManyFiles(let count): return "it lists \(count) files, more than the \(PlaceholderRecord.maximumEntries) a placeholder holds"
            case .tooManyFolders(let count): return "its files need \(count) files and folders, more than the \(PlaceholderRecord.maximumInodes) a placeholder holds"
            case .badPath(let index): return "file \(index + 1) has a path that is not clean and relative, has a name over 255 bytes, or lies deeper than \(TreeSnapshot.maximumDepth) levels"
            case .badTime(let index): return "file \(index + 1) has an invalid time"
            case .twice(let index): return "file \(index + 1) is listed twice"
            case .fileIsFolder(let index): return "file \(index + 1) is also the folder of another file"
            }
        }
    }

    /// A record read from disk is checked as hostile: every path clean, relative, with names of at most
    /// 255 bytes and no deeper than a walk goes; every time valid; no path twice; no file that is also a
    /// folder; not too many files or folders. The layout says what its tmpfs must hold.
    public func layout() -> Result<Layout, Unsound> {
        guard NameRule.isValid(definition) else { return .failure(.definition) }
        guard entries.count <= Self.maximumEntries else { return .failure(.tooManyFiles(entries.count)) }
        let sorted = Self.isInByteOrder(entries) ? entries : entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        var folders = 0
        for index in sorted.indices {
            let path = sorted[index].path
            guard sorted[index].modified.isValid else { return .failure(.badTime(index: index)) }
            guard TreeSnapshot.isCleanRelative(path), Self.componentsFit(path) else { return .failure(.badPath(index: index)) }
            // In byte order, the folders a path adds are those past the part it shares with the path before
            // (every path below a folder comes in one run), and a file that is also a folder is found where
            // that folder's run begins.
            var common = 0
            if index > 0 {
                let previous = sorted[index - 1].path
                if previous.utf8.elementsEqual(path.utf8) { return .failure(.twice(index: index)) }
                common = zip(previous.utf8, path.utf8).prefix { $0 == $1 }.count
            }
            var offset = 0
            for byte in path.utf8 {
                if byte == 0x2F, offset >= common {
                    folders += 1
                    if Self.contains(sorted, path: path.utf8.prefix(offset)) { return .failure(.fileIsFolder(index: index)) }
                }
                offset += 1
            }
            guard sorted.count + folders <= Self.maximumInodes else { return .failure(.tooManyFolders(sorted.count + folders)) }
        }
        return .success(Layout(files: sorted.count, folders: folders))
    }

    public var isSound: Bool { if case .success = layout() { return true } else { return false } }

    static func isInByteOrder(_ entries: [Entry]) -> Bool {
        zip(entries, entries.dropFirst()).allSatisfy { !$1.path.utf8.lexicographicallyPrecedes($0.path.utf8) }
    }

    /// Names of at most 255 bytes (NAME_MAX), at most `TreeSnapshot.maximumDepth` of them.
    private static func componentsFit(_ path: String) -> Bool {
        var components = 1, length = 0
        for byte in path.utf8 {
            if byte == 0x2F {
                components += 1
                length = 0
            } else {
                length += 1
                if length > 255 { return false }
            }
        }
        return components <= TreeSnapshot.maximumDepth
    }

    /// Whether `sorted` (in byte order) holds a file at exactly `path`: a binary search.
    private static func contains(_ sorted: [Entry], path: Substring.UTF8View) -> Bool {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle].path.utf8.lexicographicallyPrecedes(path) { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low].path.utf8.elementsEqual(path)
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

    /// What a record says of itself, without its files: reading a million entries on every heal run would
    /// cost seconds, this costs one pass over the file. Not checked as a whole record is (nothing is built
    /// from it).
    public struct Summary: Codable, Sendable, Equatable {
        public let definition: String
        public let libraryIDs: [String]
        public let source: PlaceholderRecord.Source
        public let libraryTotals: [String: Int]?
    }

    /// The summary of `name`'s record, or nil when there is none; a damaged one throws.
    public func summary(_ name: String) throws -> Summary? {
        let whole = file(name)
        var file = PrivateJSONFile<Summary>(path: whole.path, below: root.prefix, repair: whole.repair)
        file.limit = whole.limit
        guard let summary = try file.load() else { return nil }
        guard summary.definition == name else { throw MalformedFileError(path: whole.path, repair: whole.repair) }
        return summary
    }

    /// The record of `name`, or nil when there is none. A damaged one throws: no placeholder is built
    /// from it, and status and doctor say the library is unprotected.
    public func load(_ name: String) throws -> PlaceholderRecord? { try loadWithLayout(name)?.record }

    /// The record of `name` and what its tree takes (checked once).
    public func loadWithLayout(_ name: String) throws -> (record: PlaceholderRecord, layout: PlaceholderRecord.Layout)? {
        guard let record = try file(name).load() else { return nil }
        guard case .success(let layout) = record.layout(), record.definition == name else { throw MalformedFileError(path: file(name).path, repair: file(name).repair) }
        return (record, layout)
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
        if case .failure(let unsound) = record.layout() { throw unsound }
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
