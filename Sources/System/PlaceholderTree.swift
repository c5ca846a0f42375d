import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes a placeholder's tree into an empty folder (a staging tmpfs): each file at its relative path,
/// empty, owned by root with mode 0000 (a process without CAP_DAC_OVERRIDE, as the snap's Immich runs,
/// can `stat` it but not open it), and with the exact modification time it had on the share. Folders are
/// 0755 so Immich can walk them. Everything is made relative to the folder's descriptor, following no link.
public enum PlaceholderTree {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let path: String
        public let errno: Errno
        public var description: String { "cannot write the placeholder's \(path): \(errno)" }
    }

    /// `files`: clean relative paths (see `TreeSnapshot.isCleanRelative`) and their times. Only the chain of
    /// folders above the current file is held open (one descriptor per level), so any number of folders fits.
    public static func build(_ files: [(path: String, modified: FileTime)], into folder: String) -> Result<Int, Failure> {
        let top = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard top >= 0 else { return .failure(Failure(path: folder, errno: .last)) }
        // The open folders from the top down: (its path's components, descriptor); the top is never closed here.
        var chain: [(components: [[UInt8]], fd: Int32)] = [([], top)]
        defer { for (_, fd) in chain { _ = close(fd) } }

        // Files in byte order of their paths: a folder's files come together, each folder is opened once.
        // Records are written in that order, so this is usually one pass that finds them sorted.
        let inOrder: (_ a: (path: String, modified: FileTime), _ b: (path: String, modified: FileTime)) -> Bool = {
            $0.path.utf8.lexicographicallyPrecedes($1.path.utf8)
        }
        let sorted = zip(files, files.dropFirst()).allSatisfy { !inOrder($1, $0) } ? files : files.sorted(by: inOrder)
        // The folder of the previous file, as bytes: the chain changes only when the next file's differs
        // (a million files in ten thousand folders: ten thousand changes, no allocation per file).
        var currentFolder: [UInt8] = []
        var written = 0
        for file in sorted {
            var path = file.path
            let failure: Failure? = path.withUTF8 { bytes -> Failure? in
                let slash = bytes.lastIndex(of: 0x2F)
                let folderBytes = slash.map { UnsafeBufferPointer(rebasing: bytes[..<$0]) } ?? UnsafeBufferPointer(rebasing: bytes[0..<0])
                if !folderBytes.elementsEqual(currentFolder) {
                    currentFolder = Array(folderBytes)
                    if let failure = descend(to: currentFolder, chain: &chain) { return failure }
                }
                let nameStart = slash.map { $0 + 1 } ?? 0
                guard nameStart < bytes.count else { return Failure(path: file.path, errno: .invalidArgument) }
                // Two calls a file: mknodat makes it empty with mode 0000 (a umask only takes bits away) and
                // fails on anything already there; the time is set on the new name, not following a link
                // (none can be there: the staging tmpfs is ours alone).
                let folder = chain[chain.count - 1].fd
                var times = (timespec(tv_sec: Int(file.modified.seconds), tv_nsec: Int(file.modified.nanoseconds)),
                             timespec(tv_sec: Int(file.modified.seconds), tv_nsec: Int(file.modified.nanoseconds)))
                return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count - nameStart + 1) { name -> Failure? in
                    for index in nameStart..<bytes.count { name[index - nameStart] = CChar(bitPattern: bytes[index]) }
                    name[bytes.count - nameStart] = 0
                    guard mknodat(folder, name.baseAddress!, S_IFREG, 0) == 0 else { return Failure(path: file.path, errno: .last) }
                    let timed = withUnsafePointer(to: &times) {
                        $0.withMemoryRebound(to: timespec.self, capacity: 2) { utimensat(folder, name.baseAddress!, $0, AT_SYMLINK_NOFOLLOW) }
                    }
                    return timed == 0 ? nil : Failure(path: file.path, errno: .last)
                }
            }
            if let failure { return .failure(failure) }
            written += 1
        }
        return .success(written)
    }

    /// Makes the chain of open folders end at `folder` (its path as bytes): keeps the part it shares,
    /// closes the rest, and makes and opens the folders below.
    private static func descend(to folder: [UInt8], chain: inout [(components: [[UInt8]], fd: Int32)]) -> Failure? {
        let components = folder.isEmpty ? [] : folder.split(separator: 0x2F, omittingEmptySubsequences: false).map(Array.init)
        var kept = 1
        while kept < chain.count, kept - 1 < components.count, chain[kept].components.last == components[kept - 1] { kept += 1 }
        while chain.count > kept { _ = close(chain.removeLast().fd) }
        while chain.count - 1 < components.count {
            let level = chain.count - 1
            let parent = chain[chain.count - 1].fd
            let name = components[level].map { CChar(bitPattern: $0) } + [0]
            let shown = components.prefix(level + 1).map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
            if mkdirat(parent, name, 0o755) != 0, errno != EEXIST { return Failure(path: shown, errno: .last) }
            let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return Failure(path: shown, errno: .last) }
            chain.append((Array(components.prefix(level + 1)), fd))
        }
        return nil
    }

    /// Removes everything inside `folder` (a staging tmpfs), following no link, at most
    /// `TreeSnapshot.maximumDepth` levels deep; the folder itself stays.
    public static func clear(_ folder: String) -> Result<Int, Failure> {
        let top = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard top >= 0 else { return .failure(Failure(path: folder, errno: .last)) }
        defer { _ = close(top) }
        var removed = 0
        if let failure = clearFolder(top, shown: "", depth: 0, removed: &removed) { return .failure(failure) }
        return .success(removed)
    }

    private static func clearFolder(_ fd: Int32, shown: String, depth: Int, removed: inout Int) -> Failure? {
        guard let listing = DirectoryListing(duplicating: fd) else { return Failure(path: shown.isEmpty ? "." : shown, errno: .last) }
        var names: [[UInt8]] = []
        while let name = listing.nextBytes() { names.append(name) }
        for bytes in names {
            let name = String(decoding: bytes, as: UTF8.self)
            let path = shown.isEmpty ? name : shown + "/" + name
            let cString = bytes.map { CChar(bitPattern: $0) } + [0]
            if unlinkat(fd, cString, 0) == 0 {
                removed += 1
                continue
            }
            // Linux answers EISDIR for a folder.
            guard errno == EISDIR, depth + 1 < TreeSnapshot.maximumDepth else { return Failure(path: path, errno: .last) }
            let child = openat(fd, cString, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else { return Failure(path: path, errno: .last) }
            let failure = clearFolder(child, shown: path, depth: depth + 1, removed: &removed)
            _ = close(child)
            if let failure { return failure }
            guard unlinkat(fd, cString, AT_REMOVEDIR) == 0 else { return Failure(path: path, errno: .last) }
            removed += 1
        }
        return nil
    }
}
