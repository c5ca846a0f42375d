import CLinux
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The mount calls a placeholder needs: a staging tmpfs no other namespace sees, and read-only binds of
/// it. Only for file systems that cannot hang (tmpfs): a network share is detached by `umount --lazy` in a
/// child under a deadline (`MountService.unmount`).
public enum KernelMount {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let call: String
        public let path: String
        public let errno: Errno

        public var description: String { "\(call) \(path): \(errno)" }
    }

    /// A new tmpfs named `source` at `path`: its root folder 0755 and root's, at most `inodes` files and
    /// folders (`size=` does not limit empty files), no devices, set-uid or programs.
    public static func mountTmpfs(source: String, at path: String, inodes: Int) throws(Failure) {
        let options = "mode=0755,uid=0,gid=0,size=4m,nr_inodes=\(inodes)"
        guard mount(source, path, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), options) == 0 else {
            throw Failure(call: "mount tmpfs", path: path, errno: .last)
        }
    }

    /// Changes the tmpfs at `path` to hold at most `inodes` files and folders.
    public static func resizeTmpfs(at path: String, inodes: Int) throws(Failure) {
        let flags = UInt(MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        guard mount(nil, path, nil, flags, "nr_inodes=\(inodes)") == 0 else {
            throw Failure(call: "remount tmpfs", path: path, errno: .last)
        }
    }

    /// Makes the folder `path` a mount point of its own (a bind onto itself when it is not one) whose
    /// later mounts propagate to no other namespace (`MS_PRIVATE`): a staging tmpfs under it is never
    /// copied, writable, into the snap's namespace.
    public static func makePrivateMountPoint(_ path: String) throws(Failure) {
        if mount(nil, path, nil, UInt(MS_PRIVATE), nil) == 0 { return }
        guard errno == EINVAL else { throw Failure(call: "make private", path: path, errno: .last) }
        // EINVAL: not a mount point yet.
        guard mount(path, path, nil, UInt(MS_BIND), nil) == 0 else { throw Failure(call: "bind", path: path, errno: .last) }
        guard mount(nil, path, nil, UInt(MS_PRIVATE), nil) == 0 else { throw Failure(call: "make private", path: path, errno: .last) }
    }

    /// A bind of the mount at `source`, attached at `target` on top of whatever is mounted there. It is
    /// read-only (and nosuid, nodev, noexec) before it is attached, so every copy the kernel propagates
    /// into other namespaces is read-only too: a `remount,bind,ro` afterwards would not reach them.
    public static func attachReadOnlyBind(of source: String, at target: String) throws(Failure) {
        let fd = extlib_net_clone_mount(source)
        guard fd >= 0 else { throw Failure(call: "open_tree", path: source, errno: .last) }
        defer { _ = close(fd) }
        guard extlib_net_make_mount_read_only(fd) == 0 else { throw Failure(call: "mount_setattr", path: source, errno: .last) }
        guard extlib_net_attach_mount(fd, target) == 0 else { throw Failure(call: "move_mount", path: target, errno: .last) }
    }

    /// Detaches the topmost mount at `path` (`MNT_DETACH`). Our own tmpfs only: see the type's comment.
    public static func detach(_ path: String) throws(Failure) {
        guard umount2(path, Int32(MNT_DETACH)) == 0 else { throw Failure(call: "umount", path: path, errno: .last) }
    }

    /// How many files and folders the file system at `path` holds (its used inodes, the root included).
    public static func usedInodes(_ path: String) throws(Failure) -> Int {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw Failure(call: "statvfs", path: path, errno: .last) }
        return Int(info.f_files) - Int(info.f_ffree)
    }
}
