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

    /// `files`: clean relative paths (see `TreeSnapshot.isCleanRelative`) and their times.
    public static func build(_ files: [(path: String, modified: FileTime)], into folder: String) -> Result<Int, Failure> {
        let top = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard top >= 0 else { return .failure(Failure(path: folder, errno: .last)) }
        defer { _ = close(top) }
        // Folder descriptors by relative path, so each folder is opened once however many files it holds.
        var folders: [String: Int32] = ["": top]
        defer { for (path, fd) in folders where !path.isEmpty { _ = close(fd) } }

        func descriptor(of relative: String) -> Result<Int32, Failure> {
            if let fd = folders[relative] { return .success(fd) }
            let (parentPath, name) = split(relative)
            let parent: Int32
            switch descriptor(of: parentPath) {
            case .success(let fd): parent = fd
            case .failure(let failure): return .failure(failure)
            }
            if mkdirat(parent, name, 0o755) != 0, errno != EEXIST { return .failure(Failure(path: relative, errno: .last)) }
            let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return .failure(Failure(path: relative, errno: .last)) }
            folders[relative] = fd
            return .success(fd)
        }

        var written = 0
        for file in files {
            let (parentPath, name) = split(file.path)
            let parent: Int32
            switch descriptor(of: parentPath) {
            case .success(let fd): parent = fd
            case .failure(let failure): return .failure(failure)
            }
            let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0)
            guard fd >= 0 else { return .failure(Failure(path: file.path, errno: .last)) }
            // Mode 0000 whatever the umask; the time last, on the descriptor.
            var times = [timespec(tv_sec: Int(file.modified.seconds), tv_nsec: Int(file.modified.nanoseconds)),
                         timespec(tv_sec: Int(file.modified.seconds), tv_nsec: Int(file.modified.nanoseconds))]
            let ok = fchmod(fd, 0) == 0 && futimens(fd, &times) == 0
            let error = Errno.last
            _ = close(fd)
            guard ok else { return .failure(Failure(path: file.path, errno: error)) }
            written += 1
        }
        return .success(written)
    }

    private static func split(_ path: String) -> (parent: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }
}
