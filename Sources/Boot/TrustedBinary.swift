import SystemPackage
import System

/// Why a binary may not be named in a unit that runs it as root at boot.
public struct UntrustedBinary: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        /// A path component is `.build`: `swift build` replaces it, `swift package clean` removes it.
        case buildFolder
        /// The binary or a folder above it (`path`) is not owned by root.
        case notOwnedByRoot(path: String, uid: UInt32)
        /// The binary or a folder above it (`path`) is writable by its group or by others.
        case writable(path: String, mode: UInt32)
        case notRegularFile
        case cannotInspect(path: String, errno: Int32)
    }

    /// The binary as given, before symlinks were resolved.
    public let binary: String
    public let problem: Problem

    public init(binary: String, problem: Problem) {
        self.binary = binary
        self.problem = problem
    }

    public var description: String {
        let why: String
        switch problem {
        case .buildFolder:
            why = "it lies in a build folder (.build), which the next swift build replaces and a clean removes"
        case .notOwnedByRoot(let path, let uid):
            why = "\(path) is owned by uid \(uid), not root, so that user could replace it"
        case .writable(let path, let mode):
            why = "\(path) is writable by \((mode & 0o020) != 0 ? "its group" : "others") (mode \(String(mode & 0o7777, radix: 8))), so they could replace it"
        case .notRegularFile:
            why = "it is not a regular file"
        case .cannotInspect(let path, let code):
            why = "\(path) cannot be inspected (\(Errno(rawValue: code)))"
        }
        return "refusing to write a unit that runs \(binary) as root: \(why). Install extlib-net with scripts/install "
            + "(to /usr/local/sbin/extlib-net) or the .deb (apt install ./extlib-net_VERSION_ARCH.deb, to /usr/sbin/extlib-net) "
            + "and run the command again with that binary; nothing was written"
    }
}

extension BootInstaller {
    /// Throws unless `executable` is a binary only root can replace: a regular file outside any `.build`
    /// folder, owned by root and not writable by group or others, in folders that are all owned by root
    /// and not writable by group or others. A folder with the sticky bit (such as /tmp) may be writable
    /// by others: there only an entry's owner (here root) may rename or remove it. Symlinks are resolved
    /// first, and the real path is checked. Every unit that names a binary is written only after this.
    public static func checkExecutable(_ executable: String) throws(BootError) {
        // First what a unit file can carry: the trust check below reads the path, the unit writes it.
        try BootUnits.checkExecutablePath(executable)
        func refuse(_ problem: UntrustedBinary.Problem) -> BootError {
            BootError(.untrustedBinary(UntrustedBinary(binary: executable, problem: problem)))
        }
        let real: String
        switch FileSystem.realPath(executable) {
        case .success(let path): real = path
        case .failure(let error): throw refuse(.cannotInspect(path: executable, errno: error.rawValue))
        }
        let components = real.split(separator: "/").map(String.init)
        if components.contains(".build") { throw refuse(.buildFolder) }
        var paths = ["/"]
        for component in components { paths.append((paths.count == 1 ? "" : paths[paths.count - 1]) + "/" + component) }
        for (index, path) in paths.enumerated() {
            let info: FileInfo
            switch FileInfo.of(path) {
            case .success(let found): info = found
            case .failure(let error): throw refuse(.cannotInspect(path: path, errno: error.rawValue))
            }
            let isBinary = index == paths.count - 1
            if isBinary, info.kind != .regular { throw refuse(.notRegularFile) }
            if info.owner != 0 { throw refuse(.notOwnedByRoot(path: path, uid: info.owner)) }
            let sticky = !isBinary && (info.permissions & 0o1000) != 0
            if (info.permissions & 0o022) != 0, !sticky { throw refuse(.writable(path: path, mode: info.permissions | (info.kind == .directory ? 0o40000 : 0o100000))) }
        }
    }
}
