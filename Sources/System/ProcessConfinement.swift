import CLinux
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a helper child does to see files the way a confined program does: enter another mount namespace,
/// give up root's override of file permissions. Both change the whole process for good, so only a
/// single-threaded child that exits afterwards may call them.
public enum ProcessConfinement {
    /// Enters the mount namespace held open at `path` (snapd's `/run/snapd/ns/SNAP.mnt`).
    public static func enterMountNamespace(_ path: String) -> Errno? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .last }
        defer { _ = close(fd) }
        return extlib_net_enter_mount_namespace(fd) == 0 ? nil : .last
    }

    /// Drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from every set, so file permissions apply as they do
    /// to the snap's Immich.
    public static func dropFilePermissionOverrides() -> Errno? {
        let mask = (UInt64(1) << UInt64(CAP_DAC_OVERRIDE)) | (UInt64(1) << UInt64(CAP_DAC_READ_SEARCH))
        return extlib_net_drop_capabilities(mask) == 0 ? nil : .last
    }
}

extension FileSystem {
    /// nil when the first bytes of the regular file at `path` can be read (a link is not followed), else why not.
    public static func readProblem(_ path: String) -> Errno? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .last }
        defer { _ = Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { bytes in retryingInterrupted { Glibc.read(fd, bytes.baseAddress, bytes.count) } }
        return count >= 0 ? nil : .last
    }
}
