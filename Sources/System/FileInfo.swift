import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What `lstat`/`fstat` say about a file, as a value: the layers above System never hold a `stat`.
public struct FileInfo: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case regular, directory, symbolicLink, other }

    public let kind: Kind
    public let owner: UInt32
    /// The permission bits with setuid, setgid and sticky (`st_mode & 0o7777`).
    public let permissions: UInt32
    public let device: UInt64
    public let inode: UInt64
    /// `st_mtim`, to the nanosecond: what Immich compares (rounded to milliseconds its own way).
    public let modified: FileTime

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        owner = info.st_uid
        permissions = UInt32(info.st_mode & 0o7777)
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        // A server may send nanoseconds out of range: kept as an invalid time (never a trap), which the
        // walk counts as unreadable.
        modified = FileTime(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: Int32(exactly: info.st_mtim.tv_nsec) ?? -1)
    }

    /// `lstat`: a link is reported as one, never followed.
    public static func of(_ path: String) -> Result<FileInfo, Errno> {
        var info = stat()
        return lstat(path, &info) == 0 ? .success(FileInfo(info)) : .failure(Errno(rawValue: errno))
    }

    /// `stat`: what the path leads to, following links (as a mount helper resolves it).
    public static func following(_ path: String) -> Result<FileInfo, Errno> {
        var info = stat()
        return stat(path, &info) == 0 ? .success(FileInfo(info)) : .failure(Errno(rawValue: errno))
    }

    /// `fstatat(AT_SYMLINK_NOFOLLOW)`: `name` in the folder open at `folder`, a link reported as one.
    public static func of(_ name: String, in folder: Int32) -> Result<FileInfo, Errno> {
        var info = stat()
        return fstatat(folder, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? .success(FileInfo(info)) : .failure(Errno(rawValue: errno))
    }

    /// `fstat` of an open descriptor.
    public static func of(descriptor: Int32) -> Result<FileInfo, Errno> {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? .success(FileInfo(info)) : .failure(Errno(rawValue: errno))
    }
}

/// Small questions to the file system, for the layers above System.
public enum FileSystem {
    /// Something is at `path` (a link counts, whatever it points to).
    public static func exists(_ path: String) -> Bool { (try? FileInfo.of(path).get()) != nil }

    /// `path` leads to something (links followed), as `access(F_OK)`.
    public static func isReachable(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// `path` may be run by this process, as `access(X_OK)`.
    public static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// Removes the folder only when it is empty; anything else (not empty, not there) is left as it is.
    public static func removeFolderIfEmpty(_ path: String) { _ = rmdir(path) }

    /// Closes a descriptor System handed out (`SecureFile.openFolder`).
    public static func close(_ descriptor: Int32) { _ = Glibc.close(descriptor) }
}

/// A pause of the calling thread: for the few places that wait between two tries on purpose.
public enum Pause {
    public static func microseconds(_ count: UInt32) { usleep(count) }
}

extension Errno {
    /// The calling thread's `errno`, right after a System call that failed.
    public static var last: Errno { Errno(rawValue: errno) }
}

extension FileSystem {
    /// `realpath`: the path with every link and `.`/`..` resolved, or why not.
    public static func realPath(_ path: String) -> Result<String, Errno> {
        guard let resolved = realpath(path, nil) else { return .failure(.last) }
        defer { free(resolved) }
        return .success(String(cString: resolved))
    }
}

/// A file time as the kernel keeps it: seconds since the epoch and nanoseconds, copied exactly.
public struct FileTime: Codable, Sendable, Hashable {
    public let seconds: Int64
    public let nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public var isValid: Bool { (0..<1_000_000_000).contains(nanoseconds) }
}
