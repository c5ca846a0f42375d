import Core
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The regular files under a folder with their exact modification times: what a placeholder copies.
/// Taken in a child process (`take`), since a walk of a share whose server hangs blocks in the kernel.
public struct TreeSnapshot: Sendable, Equatable {
    public struct File: Sendable, Hashable {
        /// Relative to the folder walked, '/'-separated, never "." or ".." or empty components.
        public let path: String
        public let modified: FileTime

        public init(path: String, modified: FileTime) {
            self.path = path
            self.modified = modified
        }
    }

    public var files: [File] = []
    /// The walk stopped at its limit: files beyond it are not listed.
    public var truncated = false
    /// Folders that could not be listed (or lay deeper than `maximumDepth`), relative.
    public var unlistable: [String] = []
    /// Names that are not UTF-8: no Immich asset can have them, so they are left out.
    public var skippedNames = 0
    /// Entries that could not be examined (stat failed, or a time out of range).
    public var unreadable = 0

    public init() {}

    /// A listing that missed nothing it should hold: the only kind a placeholder may be built from.
    public var isComplete: Bool { !truncated && unlistable.isEmpty && unreadable == 0 }

    /// Folders nest at most this deep; one descriptor is open per level.
    public static let maximumDepth = 128

    // MARK: the walk (in the child)

    /// Walks `folder` in this process: each folder opened relative to its parent's descriptor with
    /// O_NOFOLLOW (a link swapped in anywhere is never followed), never into another mount (the device
    /// must stay the folder's), files before subfolders, names in byte order; at most `limit` files. Only a
    /// child may call this: it waits on the file system without a deadline.
    public static func walk(_ folder: String, limit: Int) -> TreeSnapshot {
        var snapshot = TreeSnapshot()
        let top = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard top >= 0, let device = try? FileInfo.of(descriptor: top).get().device else {
            if top >= 0 { _ = close(top) }
            snapshot.unlistable.append("")
            return snapshot
        }
        walkFolder(top, relative: "", depth: 0, device: device, limit: limit, into: &snapshot)
        // The folder must still be the one walked: a share unmounted meanwhile shows its bare mount point.
        if (try? FileInfo.of(folder).get().device) != device { snapshot.unlistable.append("") }
        return snapshot
    }

    /// Lists the folder open at `fd` (and closes it), then each subfolder, depth first.
    private static func walkFolder(_ fd: Int32, relative: String, depth: Int, device: UInt64, limit: Int, into snapshot: inout TreeSnapshot) {
        defer { _ = close(fd) }
        guard let listing = DirectoryListing(duplicating: fd) else {
            snapshot.unlistable.append(relative)
            return
        }
        var names: [String] = []
        while let bytes = listing.nextBytes() {
            guard let name = String(validating: bytes, as: UTF8.self) else {
                snapshot.skippedNames += 1
                continue
            }
            names.append(name)
        }
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var folders: [String] = []
        for name in names {
            guard !snapshot.truncated else { return }
            let path = relative.isEmpty ? name : relative + "/" + name
            guard let info = try? FileInfo.of(name, in: fd).get() else {
                snapshot.unreadable += 1
                continue
            }
            switch info.kind {
            case .regular:
                guard info.modified.isValid else {
                    snapshot.unreadable += 1
                    continue
                }
                guard snapshot.files.count < limit else {
                    snapshot.truncated = true
                    return
                }
                snapshot.files.append(File(path: path, modified: info.modified))
            case .directory:
                // Another mount below the share (or a swapped-in folder elsewhere) is not the share.
                if info.device == device { folders.append(name) }
            default:
                continue
            }
        }
        for name in folders {
            guard !snapshot.truncated else { return }
            let path = relative.isEmpty ? name : relative + "/" + name
            guard depth + 1 < maximumDepth else {
                snapshot.unlistable.append(path)
                continue
            }
            let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else {
                snapshot.unlistable.append(path)
                continue
            }
            walkFolder(child, relative: path, depth: depth + 1, device: device, limit: limit, into: &snapshot)
        }
    }

    // MARK: the line format between child and parent
    // f SECONDS NANOSECONDS PATH    (PATH with bytes up to 0x20, 0x7F and '\' as \ooo)
    // u PATH                        a folder that could not be listed
    // s COUNT                       names skipped
    // r COUNT                       entries that could not be examined
    // t                             truncated
    // end                           the walk finished (a file without it is not a snapshot)

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for file in files {
            out += Array("f \(file.modified.seconds) \(file.modified.nanoseconds) ".utf8) + Self.escape(file.path) + [0x0A]
        }
        for folder in unlistable { out += Array("u ".utf8) + Self.escape(folder) + [0x0A] }
        if skippedNames > 0 { out += Array("s \(skippedNames)\n".utf8) }
        if unreadable > 0 { out += Array("r \(unreadable)\n".utf8) }
        if truncated { out += Array("t\n".utf8) }
        out += Array("end\n".utf8)
        return out
    }

    /// nil unless `bytes` is a whole snapshot in the line format, every path relative and clean.
    public static func decode(_ bytes: [UInt8]) -> TreeSnapshot? {
        var snapshot = TreeSnapshot()
        var ended = false
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            guard !ended else {
                if line.isEmpty { continue }
                return nil
            }
            let fields = line.split(separator: 0x20, maxSplits: 3, omittingEmptySubsequences: false)
            switch fields.first.map(Array.init) {
            case Array("f".utf8)? where fields.count == 4:
                guard let seconds = Int64(String(decoding: fields[1], as: UTF8.self)), let nanoseconds = Int32(String(decoding: fields[2], as: UTF8.self)),
                      let path = unescapedPath(fields[3]) else { return nil }
                let time = FileTime(seconds: seconds, nanoseconds: nanoseconds)
                guard time.isValid else { return nil }
                snapshot.files.append(File(path: path, modified: time))
            case Array("u".utf8)? where fields.count >= 2:
                guard let path = unescapedPath(line.dropFirst(2)) ?? (line.count == 2 ? "" : nil) else { return nil }
                snapshot.unlistable.append(path)
            case Array("s".utf8)? where fields.count == 2:
                guard let count = Int(String(decoding: fields[1], as: UTF8.self)), count >= 0 else { return nil }
                snapshot.skippedNames = count
            case Array("r".utf8)? where fields.count == 2:
                guard let count = Int(String(decoding: fields[1], as: UTF8.self)), count >= 0 else { return nil }
                snapshot.unreadable = count
            case Array("t".utf8)? where fields.count == 1:
                snapshot.truncated = true
            case Array("end".utf8)? where fields.count == 1:
                ended = true
            default:
                return nil
            }
        }
        return ended ? snapshot : nil
    }

    static func escape(_ path: String) -> [UInt8] {
        var out: [UInt8] = []
        for byte in path.utf8 {
            if byte <= 0x20 || byte == 0x7F || byte == 0x5C {
                out += [0x5C, 0x30 + (byte >> 6), 0x30 + ((byte >> 3) & 7), 0x30 + (byte & 7)]
            } else {
                out.append(byte)
            }
        }
        return out
    }

    /// The path, or nil when it is not escaped as `escape` writes, not UTF-8, or not a clean relative path.
    static func unescapedPath(_ field: some Collection<UInt8>) -> String? {
        var bytes: [UInt8] = []
        var index = field.startIndex
        while index != field.endIndex {
            let byte = field[index]
            guard byte > 0x20, byte != 0x7F else { return nil }
            if byte == 0x5C {
                var value = 0
                for _ in 0..<3 {
                    index = field.index(after: index)
                    guard index != field.endIndex, (0x30...0x37).contains(field[index]) else { return nil }
                    value = value * 8 + Int(field[index] - 0x30)
                }
                guard value <= 0xFF else { return nil }
                bytes.append(UInt8(value))
            } else {
                bytes.append(byte)
            }
            index = field.index(after: index)
        }
        guard let path = String(validating: bytes, as: UTF8.self), isCleanRelative(path) else { return nil }
        return path
    }

    /// Relative, '/'-separated, no empty, "." or ".." component, no NUL: safe to join under a folder.
    /// Judged on the bytes: a '/' followed by a combining mark is still a '/' to the kernel.
    public static func isCleanRelative(_ path: String) -> Bool {
        guard !path.isEmpty, !path.utf8.contains(0) else { return false }
        return path.utf8.split(separator: 0x2F, omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && !$0.elementsEqual([0x2E]) && !$0.elementsEqual([0x2E, 0x2E])
        }
    }

    // MARK: the parent

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case timedOut(Duration)
        case child(String)
        case unreadable(String)

        public var description: String {
            switch self {
            case .timedOut(let limit): return "listing the share did not finish within \(formatSeconds(limit.seconds)) (server hung?)"
            case .child(let message): return "listing the share failed: \(message)"
            case .unreadable(let message): return "the share's listing could not be read: \(message)"
            }
        }
    }

    /// The largest listing the parent reads.
    public static let maximumListingBytes = 512 << 20

    /// The hidden command the child runs.
    public static let command = "__tree-snapshot"

    /// Walks `folder` in a child (this executable's `__tree-snapshot`), which writes the snapshot to
    /// `scratch` (0600, atomically, below `below`); waits at most `timeout`, then reads and removes it.
    public static func take(_ folder: String, scratch: String, below: String, limit: Int, timeout: Duration,
                            runner: any ProcessRunner, executable: String = SelfExecutable.path) -> Result<TreeSnapshot, Failure> {
        let arguments = [command, "--folder", folder, "--output", scratch, "--below", below, "--limit", String(limit)]
        let result: ProcessResult
        do { result = try runner.run(executable, arguments, secret: nil, until: .after(timeout)) } catch { return .failure(.child(error.description)) }
        defer {
            _ = try? SecureFile.remove(scratch, below: below)
            // A child killed at its deadline may have left its temporary file.
            SecureFile.removeStaleTemporaries(for: scratch, below: below)
        }
        if result.timedOut { return .failure(.timedOut(timeout)) }
        guard result.status == 0 else {
            return .failure(.child(result.standardError.split(separator: "\n").first.map { Terminal.printable(String($0)) } ?? "exit status \(result.status)"))
        }
        // Bounded, never by what the child wrote: 1M files of 500-byte paths fit.
        let bytes: [UInt8]?
        do { bytes = try SecureFile.readPrivate(scratch, limit: Self.maximumListingBytes) } catch { return .failure(.unreadable(error.description)) }
        guard let bytes, let snapshot = decode(bytes) else { return .failure(.unreadable("\(scratch) is not a whole listing")) }
        return .success(snapshot)
    }

    /// The child's work: walks and writes; returns the exit status.
    public static func runChild(folder: String, output: String, below: String, limit: Int) -> Int32 {
        guard output.hasPrefix(below), limit > 0 else { return 2 }
        let snapshot = walk(folder, limit: limit)
        do {
            try SecureFile.writePrivate(snapshot.encoded(), to: output, below: below)
        } catch {
            StandardStream.error.write("\(error)\n")
            return 1
        }
        return 0
    }
}
