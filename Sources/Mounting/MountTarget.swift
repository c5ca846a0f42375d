import SystemPackage

import Core
import System

/// Where a share is mounted: `BASE/NAME` under one of the snap's sandbox folders.
public enum SandboxBase: String, Sendable, CaseIterable {
    /// `/root/snap/immich-distribution/common`: the docs' recommendation, used for SMB.
    case root
    /// `/var/snap/immich-distribution/common`: AppArmor rules there are not owner-qualified, so NFS files
    /// owned by other users stay readable.
    case `var`

    public var path: String {
        switch self {
        case .root: return SystemRoot.Known.rootSandbox
        case .var: return SystemRoot.Known.varSandbox
        }
    }
}

public enum MountTargetError: Error, Equatable, CustomStringConvertible {
    case symlink(String)
    case notDirectory(String)
    case notEmpty(String)
    case insideImmichMedia(String)
    case system(String, Errno)
    /// The folder is no longer the one prepared (swapped for a link or another folder in between).
    case replaced(String)

    public var description: String {
        switch self {
        case .symlink(let path): return "\(path) is a symbolic link; the snap cannot follow links, and extlib-net never follows one on a mount path. Remove it"
        case .notDirectory(let path): return "\(path) exists and is not a directory; move it away or choose another name"
        case .notEmpty(let path): return "\(path) is a non-empty directory; mounting over it would hide its files. Empty it or choose another name"
        case .insideImmichMedia(let path): return "\(path) is inside Immich's own media folder (upload/); choose another name"
        case .system(let path, .permissionDenied), .system(let path, .notPermitted):
            return "\(path): permission denied; run extlib-net as root (sudo extlib-net ...)"
        case .system(let path, let errno): return "cannot create or open the mount folder \(path): \(errno); check the folders above it"
        case .replaced(let path):
            return "\(path) was replaced after extlib-net prepared it (by a link or another folder), so nothing was mounted there; something writes in the sandbox folder: find it, then mount again"
        }
    }
}

/// Creates mount points without following any symbolic link on the way.
public enum MountTarget {
    /// Immich's own media; a mount there would mix NAS files into Immich's library storage.
    package static let immichMedia = "upload"

    /// Creates `root + base/name` (and any missing parents, 0755) by walking each component with
    /// `openat(O_NOFOLLOW|O_DIRECTORY)`, and checks the final directory is empty (unless the share's
    /// placeholder is what it shows). Returns the path.
    public static func prepare(name: String, base: SandboxBase, root: SystemRoot, mustBeEmpty: Bool = true) throws(MountTargetError) -> String {
        let relative = base.path + "/" + name
        let full = root.path(relative)
        if base == .var, name == immichMedia || name.hasPrefix(immichMedia + "/") { throw .insideImmichMedia(full) }

        let fd = try walk(relative, root: root, creating: true)
        defer { FileSystem.close(fd) }
        guard let listing = DirectoryListing(duplicating: fd) else { throw .system(full, .last) }
        if mustBeEmpty, listing.next() != nil { throw .notEmpty(full) }
        return full
    }

    /// The device and inode of a prepared mount folder: what `verify` compares with.
    public struct Identity: Sendable, Equatable {
        public let device: UInt64
        public let inode: UInt64
    }

    /// The identity of `root + base/name`, reached without following any link.
    public static func identity(name: String, base: SandboxBase, root: SystemRoot) throws(MountTargetError) -> Identity {
        let fd = try walk(base.path + "/" + name, root: root, creating: false)
        defer { FileSystem.close(fd) }
        switch FileInfo.of(descriptor: fd) {
        case .success(let info): return Identity(device: info.device, inode: info.inode)
        case .failure(let errno): throw .system(root.path(base.path + "/" + name), errno)
        }
    }

    /// Checks, right before a mount helper gets the path, that it is still the folder prepared: reached
    /// without a link on the way, the same device and inode, and the path (as the helper will resolve
    /// it, following links) leading to that same folder.
    public static func verify(_ identity: Identity, name: String, base: SandboxBase, root: SystemRoot) throws(MountTargetError) {
        let full = root.path(base.path + "/" + name)
        let now: Identity
        do {
            now = try self.identity(name: name, base: base, root: root)
        } catch {
            throw .replaced(full)
        }
        guard now == identity, let resolved = try? FileInfo.following(full).get(), resolved.device == identity.device, resolved.inode == identity.inode else {
            throw .replaced(full)
        }
    }

    /// A descriptor of `root + relative`, walking each component with `openat(O_NOFOLLOW|O_DIRECTORY)`
    /// (creating missing ones, 0755, when asked): `SecureFile.openFolder`, the one no-follow walk. The root
    /// prefix is the administrator's choice (tests point it at a temp dir); from there on, no component
    /// may be a link.
    static func walk(_ relative: String, root: SystemRoot, creating: Bool) throws(MountTargetError) -> Int32 {
        let path = root.prefix + (relative.hasPrefix("/") ? "" : "/") + relative
        do {
            return try SecureFile.openFolder(path, below: root.prefix, creating: creating ? 0o755 : nil)
        } catch {
            switch error.code {
            case .symlinkedFolder: throw .symlink(error.path)
            case .notDirectory: throw .notDirectory(error.path)
            case .notFound: throw .system(error.path, .noSuchFileOrDirectory)
            case .system(let errno): throw .system(error.path, errno)
            default: throw .system(error.path, .ioError)
            }
        }
    }
}

extension MountTargetError: ReportableError {
    public var exitStatus: ExitStatus {
        switch self {
        case .system: return .system
        case .symlink, .notDirectory, .notEmpty, .insideImmichMedia, .replaced: return .mountFailure
        }
    }
}
