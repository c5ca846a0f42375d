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
    /// later mounts propagate to no other namespace (`MS_PRIVATE`). Not unbindable: snap-confine makes its
    /// copy of every mount shared (which clears that) before it binds the host's folders in; what keeps the
    /// staging tmpfs out of the snap is that it lives in a folder snapd does not bind (/var/lib).
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
        try attachReadOnlyBind(of: source, shown: target) { extlib_net_attach_mount($0, target) }
    }

    /// The same, onto the folder open at `folder` (reached without following links): no path is looked
    /// up again, so nothing swapped in meanwhile is followed.
    public static func attachReadOnlyBind(of source: String, onto folder: Int32, shown target: String) throws(Failure) {
        try attachReadOnlyBind(of: source, shown: target) { extlib_net_attach_mount_onto($0, folder) }
    }

    private static func attachReadOnlyBind(of source: String, shown target: String, attach: (Int32) -> Int32) throws(Failure) {
        let fd = extlib_net_clone_mount(source)
        guard fd >= 0 else { throw Failure(call: "open_tree", path: source, errno: .last) }
        defer { _ = close(fd) }
        guard extlib_net_make_mount_read_only(fd) == 0 else { throw Failure(call: "mount_setattr", path: source, errno: .last) }
        guard attach(fd) == 0 else { throw Failure(call: "move_mount", path: target, errno: .last) }
    }

    /// The hidden command that attaches in a child.
    public static let attachCommand = "__attach-read-only"

    /// `attachReadOnlyBind` in a child (this executable's `__attach-read-only`) under a deadline: looking up
    /// a target whose top mount is a network share that went away can wait on the server (NFS revalidates
    /// the root it lands on), and only the child may wait. The child reaches the target from `below` (the
    /// trusted root; "" is "/") following no link, so a folder swapped for a link (the snap's root can
    /// write under its common folder) never sends the placeholder elsewhere. It exits with the errno of
    /// its failure.
    public static func attachReadOnlyBindInChild(of source: String, at target: String, below prefix: String, runner: any ProcessRunner,
                                                 timeout: Duration, executable: String = SelfExecutable.path) throws(Failure) {
        let result: ProcessResult
        do {
            result = try runner.run(executable, [attachCommand, "--source", source, "--target", target, "--below", prefix], secret: nil, until: .after(timeout))
        } catch {
            throw Failure(call: "spawn \(attachCommand)", path: target, errno: .noSuchFileOrDirectory)
        }
        if result.timedOut { throw Failure(call: "move_mount (no answer in time)", path: target, errno: .timedOut) }
        guard result.status == 0 else { throw Failure(call: "move_mount", path: target, errno: Errno(rawValue: result.status)) }
    }

    /// The child's work; returns 0 or the errno of the call that failed (ELOOP for a link on the way).
    public static func runAttachChild(source: String, target: String, below prefix: String) -> Int32 {
        let slash = target.lastIndex(of: "/")
        guard let slash, target.hasPrefix(prefix + "/"), target[slash...].count > 1 else { return EINVAL }
        let parent = String(target[..<slash]), name = String(target[target.index(after: slash)...])
        let folder: Int32
        do {
            folder = try SecureFile.openFolder(parent.count < prefix.count ? prefix : parent, below: prefix, creating: nil)
        } catch {
            if case .symlinkedFolder = error.code { return ELOOP }
            if case .system(let errno) = error.code { return max(1, min(errno.rawValue, 255)) }
            return ENOENT
        }
        defer { _ = close(folder) }
        // O_PATH: nothing of the share on top is opened; O_NOFOLLOW with O_DIRECTORY refuses a link.
        let point = extlib_net_open_path_folder(folder, name)
        guard point >= 0 else { return max(1, min(errno, 255)) }
        defer { _ = close(point) }
        do {
            try attachReadOnlyBind(of: source, onto: point, shown: target)
            return 0
        } catch let failure as Failure {
            return max(1, min(failure.errno.rawValue, 255))
        } catch {
            return EIO
        }
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

/// The mount calls a placeholder makes, behind a protocol: unit tests that make up a mount table make
/// none for real (`SystemMountCalls` does).
public protocol MountCalls: Sendable {
    func mountTmpfs(source: String, at path: String, inodes: Int) throws(KernelMount.Failure)
    func resizeTmpfs(at path: String, inodes: Int) throws(KernelMount.Failure)
    func makePrivateMountPoint(_ path: String) throws(KernelMount.Failure)
    func attachReadOnlyBind(of source: String, at target: String) throws(KernelMount.Failure)
    func attachReadOnlyBind(of source: String, onto folder: Int32, shown target: String) throws(KernelMount.Failure)
    /// `below`: the trusted root the child walks from without following links.
    func attachReadOnlyBindInChild(of source: String, at target: String, below prefix: String, runner: any ProcessRunner, timeout: Duration) throws(KernelMount.Failure)
    func detach(_ path: String) throws(KernelMount.Failure)
    func usedInodes(_ path: String) throws(KernelMount.Failure) -> Int
}

/// The kernel's, through `KernelMount`.
public struct SystemMountCalls: MountCalls {
    public init() {}
    public func mountTmpfs(source: String, at path: String, inodes: Int) throws(KernelMount.Failure) {
        try KernelMount.mountTmpfs(source: source, at: path, inodes: inodes)
    }
    public func resizeTmpfs(at path: String, inodes: Int) throws(KernelMount.Failure) { try KernelMount.resizeTmpfs(at: path, inodes: inodes) }
    public func makePrivateMountPoint(_ path: String) throws(KernelMount.Failure) { try KernelMount.makePrivateMountPoint(path) }
    public func attachReadOnlyBind(of source: String, at target: String) throws(KernelMount.Failure) {
        try KernelMount.attachReadOnlyBind(of: source, at: target)
    }
    public func attachReadOnlyBind(of source: String, onto folder: Int32, shown target: String) throws(KernelMount.Failure) {
        try KernelMount.attachReadOnlyBind(of: source, onto: folder, shown: target)
    }
    public func attachReadOnlyBindInChild(of source: String, at target: String, below prefix: String, runner: any ProcessRunner, timeout: Duration) throws(KernelMount.Failure) {
        try KernelMount.attachReadOnlyBindInChild(of: source, at: target, below: prefix, runner: runner, timeout: timeout)
    }
    public func detach(_ path: String) throws(KernelMount.Failure) { try KernelMount.detach(path) }
    public func usedInodes(_ path: String) throws(KernelMount.Failure) -> Int { try KernelMount.usedInodes(path) }
}
