import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Core

/// Why a file holding secrets was not read or written.
public struct SecureFileError: Error, Equatable, CustomStringConvertible {
    public enum Code: Equatable, Sendable {
        case notFound
        case symlink
        case notRegularFile
        case wrongOwner(uid: UInt32)
        case tooOpen(mode: UInt32)
        case writableByOthers(mode: UInt32)
        case directoryTooOpen(mode: UInt32)
        case tooLarge
        case system(Errno)
        /// Another process held the lock for longer than we wait; who, when /proc/locks says.
        case busy(holder: LockHolder?, waited: Duration)
        /// A folder on the way to a file the tool writes is a symbolic link.
        case symlinkedFolder
        /// Something on the way to a file the tool writes is not a folder.
        case notDirectory
    }

    public let path: String
    public let code: Code

    public init(path: String, code: Code) {
        self.path = path
        self.code = code
    }

    public var description: String {
        switch code {
        case .notFound:
            return "\(path) does not exist"
        case .symlink:
            return "\(path) is a symbolic link; refusing to follow it for \(SecureFileError.kind(of: path)). Replace it with a regular file"
        case .notRegularFile:
            return "\(path) is not a regular file (\(SecureFileError.kind(of: path)) is expected there); move it away"
        case .symlinkedFolder:
            return "\(path) is a symbolic link; extlib-net follows no link below the root when it writes files. Replace it with a real folder"
        case .notDirectory:
            return "\(path) is not a folder; extlib-net needs a folder there to write its files. Move it away"
        case .wrongOwner(let uid):
            return "\(path) is owned by uid \(uid), not root; fix it with: chown root:root \(shellQuoted(path))"
        case .tooOpen(let mode):
            return "\(path) is readable or writable by others (mode \(octal(mode))); fix it with: chmod 600 \(shellQuoted(path))"
        case .writableByOthers(let mode):
            return "\(path) is writable by others (mode \(octal(mode))); fix it with: chmod 644 \(shellQuoted(path))"
        case .directoryTooOpen(let mode):
            return "\(path) is accessible by others (mode \(octal(mode))); fix it with: chmod 700 \(shellQuoted(path))"
        case .tooLarge:
            return "\(path) is larger than \(SecureFile.maximumSize) bytes, more than extlib-net ever writes; check what it holds and shorten it by hand"
        case .system(.permissionDenied), .system(.notPermitted):
            return "\(path): permission denied; run extlib-net as root (sudo extlib-net ...)"
        case .system(.readOnlyFileSystem):
            return "\(path): the file system is read-only; remount it read-write, or give a writable --root"
        case .system(.noSpace):
            return "\(path): no space left on the device; free some space and try again"
        case .system(let errno):
            return "\(path): \(errno); check that the folder exists and is writable by root"
        case .busy(let holder, let waited):
            let who = holder.map { "process \($0)" } ?? "another process"
            return "\(path) is locked by \(who), still after \(formatSeconds(waited.seconds)); let it finish (or stop it) and try again"
        }
    }
}

extension SecureFileError {
    /// What kind of file `path` is, for messages: each says what it is.
    static func kind(of path: String) -> String {
        if path.hasSuffix(SystemRoot.Known.credentialsFile) { return "the credentials file, which holds passwords" }
        if path.hasSuffix(SystemRoot.Known.mountsFile) { return "mounts.toml, the mount definitions" }
        if path.contains(SystemRoot.Known.systemdUnitDirectory + "/") { return "a systemd unit file" }
        if path.hasSuffix(".error") { return "a mount's last-error file" }
        if path.hasSuffix(".lock") { return "the lock file" }
        return "a file extlib-net writes"
    }
}

private func octal(_ mode: UInt32) -> String {
    let text = String(mode & 0o7777, radix: 8)
    return String(repeating: "0", count: max(0, 4 - text.count)) + text
}

/// Reading and writing root-only files (credentials): no symlink followed, ownership and mode checked on
/// the opened descriptor, writes atomic and private from the first byte.
public enum SecureFile {
    public static let maximumSize = 1 << 20

    /// The owner every secret file must have; tests running as root see 0 too.
    static let requiredOwner: UInt32 = 0

    /// Reads `path`, refusing a symlink, a non-regular file, a file not owned by root, or one that group or
    /// others can access. `nil` when it does not exist.
    public static func readPrivate(_ path: String, limit: Int = maximumSize) throws(SecureFileError) -> [UInt8]? {
        try readChecked(path, requirePrivate: true, limit: limit)
    }

    /// Reads a root-owned configuration file that holds no secrets (mounts.toml): no symlink followed,
    /// owner checked, but group and others may read it.
    public static func readConfiguration(_ path: String) throws(SecureFileError) -> [UInt8]? {
        try readChecked(path, requirePrivate: false, limit: maximumSize)
    }

    private static func readChecked(_ path: String, requirePrivate: Bool, limit: Int) throws(SecureFileError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        if fd < 0 {
            switch errno {
            case ENOENT: return nil
            case ELOOP: throw SecureFileError(path: path, code: .symlink)
            default: throw SecureFileError(path: path, code: .system(Errno(rawValue: errno)))
            }
        }
        defer { close(fd) }
        // Checked on the descriptor, not the path: the file cannot be swapped between check and read.
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SecureFileError(path: path, code: .system(Errno(rawValue: errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw SecureFileError(path: path, code: .notRegularFile) }
        guard info.st_uid == requiredOwner else { throw SecureFileError(path: path, code: .wrongOwner(uid: info.st_uid)) }
        if requirePrivate {
            guard info.st_mode & 0o077 == 0 else { throw SecureFileError(path: path, code: .tooOpen(mode: info.st_mode)) }
        } else {
            // Others may read configuration, but nobody but root may change it.
            guard info.st_mode & 0o022 == 0 else { throw SecureFileError(path: path, code: .writableByOthers(mode: info.st_mode)) }
        }
        guard info.st_size <= limit else { throw SecureFileError(path: path, code: .tooLarge) }

        var bytes: [UInt8] = []
        while true {
            let chunk: [UInt8]
            switch readChunk(fd) {
            case .success(let read): chunk = read
            case .failure(let errno): throw SecureFileError(path: path, code: .system(errno))
            }
            if chunk.isEmpty { break }
            bytes += chunk
            guard bytes.count <= limit else { throw SecureFileError(path: path, code: .tooLarge) }
        }
        return bytes
    }

    /// Up to 64 KiB from `fd` (empty at the end), retrying after signals (swift-system).
    private static func readChunk(_ fd: Int32) -> Result<[UInt8], Errno> {
        var chunk = [UInt8](repeating: 0, count: 65536)
        do {
            let count = try chunk.withUnsafeMutableBytes { try FileDescriptor(rawValue: fd).read(into: $0) }
            return .success(Array(chunk.prefix(count)))
        } catch {
            return .failure(thrownErrno(error))
        }
    }

    /// swift-system throws `Errno`, untyped.
    private static func thrownErrno(_ error: any Error) -> Errno { error as? Errno ?? .ioError }

    /// Reads a /proc file, whose size stat reports as 0.
    public static func readProcFile(_ path: String) throws(SecureFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SecureFileError(path: path, code: .system(Errno(rawValue: errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        while case .success(let chunk) = readChunk(fd), !chunk.isEmpty { bytes += chunk }
        return bytes
    }

    /// Replaces `path` atomically: a temporary file in the same directory, created exclusively with mode
    /// 0600 (never readable by others, not even empty), written, fsynced, renamed over `path`, and the
    /// directory fsynced. A crash leaves the old file or the new one. The directory is reached from `prefix`
    /// (the trusted root) without following any link, and must exist.
    public static func writePrivate(_ bytes: [UInt8], to path: String, below prefix: String) throws(SecureFileError) {
        try writeAtomically(bytes, to: path, mode: 0o600, below: prefix)
    }

    /// Replaces `path` atomically the way `writePrivate` does, then leaves it with `mode` (0644 for systemd
    /// unit files). The temporary file stays 0600 until its contents are complete. Everything happens
    /// relative to a descriptor of the directory, so no link below `prefix` is ever followed.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t, below prefix: String) throws(SecureFileError) {
        let directory = parentDirectory(of: path)
        let folder = try openFolder(directory, below: prefix, creating: nil)
        defer { close(folder) }
        let name = baseName(of: path)
        let temporaryName = ".\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let temporary = "\(directory)/\(temporaryName)"
        let fd = openat(folder, temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SecureFileError(path: temporary, code: .system(Errno(rawValue: errno))) }
        var renamed = false
        defer { if !renamed { unlinkat(folder, temporaryName, 0) } }
        do {
            defer { close(fd) }
            // The umask cannot widen 0600, but an inherited ACL default could: pin the mode.
            guard fchmod(fd, 0o600) == 0 else { throw SecureFileError(path: temporary, code: .system(Errno(rawValue: errno))) }
            do {
                _ = try FileDescriptor(rawValue: fd).writeAll(bytes)
            } catch {
                throw SecureFileError(path: temporary, code: .system(thrownErrno(error)))
            }
            // Widened (when asked) only now that the contents are complete.
            if mode != 0o600 { guard fchmod(fd, mode) == 0 else { throw SecureFileError(path: temporary, code: .system(Errno(rawValue: errno))) } }
            guard fsync(fd) == 0 else { throw SecureFileError(path: temporary, code: .system(Errno(rawValue: errno))) }
        }
        guard renameat(folder, temporaryName, folder, name) == 0 else { throw SecureFileError(path: path, code: .system(Errno(rawValue: errno))) }
        renamed = true
        guard fsync(folder) == 0 else { throw SecureFileError(path: directory, code: .system(Errno(rawValue: errno))) }
    }

    /// Removes `path` if it is there, reached from `prefix` without following any link; false if it was not there.
    @discardableResult
    public static func remove(_ path: String, below prefix: String) throws(SecureFileError) -> Bool {
        let folder: Int32
        do {
            folder = try openFolder(parentDirectory(of: path), below: prefix, creating: nil)
        } catch {
            if error.code == .notFound { return false }
            throw error
        }
        defer { close(folder) }
        if unlinkat(folder, baseName(of: path), 0) == 0 { return true }
        if errno == ENOENT { return false }
        throw SecureFileError(path: path, code: .system(Errno(rawValue: errno)))
    }

    /// Creates `path` (mode 0700) and any missing parents (0755), refusing symlinks along the way below
    /// `prefix`, and checks that `path` is a root-owned directory closed to others.
    public static func ensurePrivateDirectory(_ path: String, below prefix: String) throws(SecureFileError) {
        let fd = try openFolder(path, below: prefix, creating: 0o700)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SecureFileError(path: path, code: .system(Errno(rawValue: errno))) }
        guard info.st_uid == requiredOwner else { throw SecureFileError(path: path, code: .wrongOwner(uid: info.st_uid)) }
        guard info.st_mode & 0o077 == 0 else { throw SecureFileError(path: path, code: .directoryTooOpen(mode: info.st_mode)) }
    }

    /// Creates `path` (mode 0755) and any missing parents (0755), refusing symlinks along the way below
    /// `prefix`. For directories others may read (/etc/systemd/system/UNIT.d, /run).
    public static func ensureDirectory(_ path: String, below prefix: String) throws(SecureFileError) {
        close(try openFolder(path, below: prefix, creating: 0o755))
    }

    /// A descriptor of the folder `path`, reached from `prefix` (the trusted root; "" is "/") by
    /// `openat(O_NOFOLLOW|O_DIRECTORY)` on each component: a link anywhere below the root is refused,
    /// never followed. With `creating`, missing folders are made (0755, the last one with that mode).
    public static func openFolder(_ path: String, below prefix: String, creating lastMode: mode_t?) throws(SecureFileError) -> Int32 {
        precondition(path.hasPrefix(prefix), "the folder is under the root")
        let start = prefix.isEmpty ? "/" : prefix
        var fd = open(start, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SecureFileError(path: start, code: .system(Errno(rawValue: errno))) }
        var walked = prefix
        let components = path.dropFirst(prefix.count).split(separator: "/").map(String.init)
        for (index, component) in components.enumerated() {
            walked += "/" + component
            if let lastMode, mkdirat(fd, component, index == components.count - 1 ? lastMode : 0o755) != 0, errno != EEXIST {
                let error = Errno(rawValue: errno)
                close(fd)
                throw SecureFileError(path: walked, code: .system(error))
            }
            let next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let openError = errno
            var info = stat()
            let isLink = next < 0 && fstatat(fd, component, &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT == S_IFLNK
            close(fd)
            guard next >= 0 else {
                if openError == ELOOP || isLink { throw SecureFileError(path: walked, code: .symlinkedFolder) }
                switch openError {
                case ENOTDIR: throw SecureFileError(path: walked, code: .notDirectory)
                case ENOENT: throw SecureFileError(path: walked, code: .notFound)
                default: throw SecureFileError(path: walked, code: .system(Errno(rawValue: openError)))
                }
            }
            fd = next
        }
        return fd
    }

    /// Starts a read-modify-write of `path`: makes sure its directory exists and is private (reached from
    /// `prefix` without following links), takes the directory's exclusive lock (held until the returned
    /// lock is released), and clears temporaries left by writers killed before their rename.
    public static func lockForEditing(_ path: String, below prefix: String) throws(SecureFileError) -> FileLock {
        let directory = parentDirectory(of: path)
        try ensurePrivateDirectory(directory, below: prefix)
        let lock = try FileLock(path: directory)
        removeStaleTemporaries(for: path, below: prefix)
        return lock
    }

    /// Leftovers of writers that were killed before their rename; all were created 0600. Listed and
    /// removed through a descriptor of the folder, reached without following links.
    public static func removeStaleTemporaries(for path: String, below prefix: String) {
        let stale = ".\(baseName(of: path))."
        guard let folder = try? openFolder(parentDirectory(of: path), below: prefix, creating: nil) else { return }
        defer { close(folder) }
        guard let listing = DirectoryListing(duplicating: folder) else { return }
        for name in listing where name.hasPrefix(stale) && name.hasSuffix(".tmp") { unlinkat(folder, name, 0) }
    }

    package static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func baseName(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    /// Checks, without creating or following anything, that every component of `path` below `prefix` (the
    /// trusted root) that exists is a real folder: so a write can be refused before anything is written.
    public static func checkFolders(_ path: String, below prefix: String) throws(SecureFileError) {
        precondition(path.hasPrefix(prefix), "the folder is under the root")
        var walked = prefix
        for component in path.dropFirst(prefix.count).split(separator: "/") {
            walked += "/" + component
            var info = stat()
            if lstat(walked, &info) != 0 {
                if errno == ENOENT { return }
                throw SecureFileError(path: walked, code: .system(Errno(rawValue: errno)))
            }
            guard info.st_mode & S_IFMT != S_IFLNK else { throw SecureFileError(path: walked, code: .symlinkedFolder) }
            guard info.st_mode & S_IFMT == S_IFDIR else { throw SecureFileError(path: walked, code: .notDirectory) }
        }
    }

}

/// An exclusive `flock` held until released or deinitialized; serializes read-modify-write cycles
/// between processes (two `credentials add` at once both land).
public final class FileLock {
    private let fd: Int32

    public static let defaultTimeout: Duration = .seconds(60)
    /// How often a waiter tries again, in microseconds.
    static let retryInterval: useconds_t = 50_000
    /// What a holder that releases and takes the lock again in a loop pauses in between, in microseconds:
    /// three of a waiter's tries, so the waiter gets its turn.
    public static let handoverPause: useconds_t = 3 * retryInterval

    /// Takes the lock on `path` (a directory or file; created 0600 if missing), waiting at most `timeout`.
    /// When it is busy, `waiting` hears once who holds it, so a caller can say so instead of hanging silently.
    public init(path: String, createMode: mode_t = 0o600, timeout: Duration = FileLock.defaultTimeout,
                waiting: (LockHolder?) -> Void = { _ in }) throws(SecureFileError) {
        var fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY)
        if fd < 0, errno == ENOTDIR { fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, createMode) }
        if fd < 0, errno == ENOENT { fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, createMode) }
        guard fd >= 0 else { throw SecureFileError(path: path, code: .system(Errno(rawValue: errno))) }
        let deadline = Deadline.after(timeout)
        var told = false
        while retryingInterrupted({ flock(fd, LOCK_EX | LOCK_NB) }) != 0 {
            let code = errno
            guard code == EWOULDBLOCK else {
                close(fd)
                throw SecureFileError(path: path, code: .system(Errno(rawValue: code)))
            }
            if !told {
                waiting(LockHolder.of(fd))
                told = true
            }
            if deadline.hasPassed {
                let holder = LockHolder.of(fd)
                close(fd)
                throw SecureFileError(path: path, code: .busy(holder: holder, waited: timeout))
            }
            usleep(Self.retryInterval)
        }
        self.fd = fd
    }

    deinit { close(fd) }  // closing releases the lock
}

/// The process that holds a lock, from /proc/locks.
public struct LockHolder: Sendable, Equatable, CustomStringConvertible {
    public let pid: Int32
    public let command: String

    public var description: String { "\(pid) (\(Terminal.printable(command, limit: 120)))" }

    /// Who holds an flock on the file open at `fd`: the /proc/locks line with its inode.
    static func of(_ fd: Int32) -> LockHolder? {
        var info = stat()
        guard fstat(fd, &info) == 0, let bytes = try? SecureFile.readProcFile("/proc/locks") else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.contains("->") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]),
                let inode = fields[5].split(separator: ":").last, UInt64(inode) == UInt64(info.st_ino)
            else { continue }
            let command = (try? SecureFile.readProcFile("/proc/\(pid)/cmdline")).map { bytes in
                String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).trimmingCharacters(in: " ")
            } ?? "?"
            return LockHolder(pid: pid, command: command)
        }
        return nil
    }
}

private extension String {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}

extension SecureFileError: ReportableError {
    public var exitStatus: ExitStatus {
        switch code {
        case .system(.permissionDenied), .system(.notPermitted), .busy: return .system
        default: return .configuration
        }
    }
}
