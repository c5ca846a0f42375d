#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Core
/// Prefixes every system path the tool touches, like `systemctl --root`.
///
/// Tests point it at a temporary directory so they never touch `/etc`, `/run` or the snap folders.
public struct SystemRoot: Sendable, Hashable, CustomStringConvertible {
    /// Absolute path of the root, without a trailing slash; empty for the real root.
    public let prefix: String

    public static let real = SystemRoot(validatedPrefix: "")

    /// The environment variable that sets the root when `--root` is not given.
    public static let environmentVariable = "EXTLIB_NET_ROOT"
    /// `EXTLIB_NET_ROOT` from the environment, when set.
    public static var fromEnvironment: String? { getenv(environmentVariable).map { String(cString: $0) } }

    private init(validatedPrefix: String) { prefix = validatedPrefix }

    /// - Throws: `SystemRootError` when `path` is empty or relative.
    public init(_ path: String) throws(SystemRootError) {
        guard !path.isEmpty else { throw .empty }
        guard path.hasPrefix("/") else { throw .relative(path) }
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        prefix = trimmed == "/" ? "" : String(trimmed)
    }

    /// `absolutePath` as seen under this root.
    public func path(_ absolutePath: String) -> String {
        precondition(absolutePath.hasPrefix("/"), "system paths are absolute")
        return prefix + absolutePath
    }

    public var description: String { prefix.isEmpty ? "/" : prefix }

    /// Well-known system paths, named once so every capability agrees on them.
    public enum Known {
        public static let configDirectory = "/etc/extlib-net"
        public static let credentialsFile = "/etc/extlib-net/credentials"
        public static let mountsFile = "/etc/extlib-net/mounts.toml"
        /// Immich's URL and admin API key (`immich login`).
        public static let immichFile = "/etc/extlib-net/immich"
        /// Immich's own scan settings as they were before `immich guard enable`.
        public static let immichGuardFile = "/etc/extlib-net/immich-guard"
        /// What the guard remembers between runs (outages it told the admins about).
        public static let stateDirectory = "/var/lib/extlib-net"
        public static let rootSandbox = "/root/snap/immich-distribution/common"
        public static let varSandbox = "/var/snap/immich-distribution/common"
        public static let runDirectory = "/run"
        public static let avahiSocket = "/run/avahi-daemon/socket"
        public static let systemdUnitDirectory = "/etc/systemd/system"
    }
}

public enum SystemRootError: Error, Equatable, CustomStringConvertible {
    case empty
    case relative(String)

    public var description: String {
        switch self {
        case .empty:
            return "the root directory is empty; give an absolute path such as --root /tmp/extlib-root"
        case .relative(let path):
            return "the root directory '\(path)' is relative; give an absolute path such as --root /tmp/extlib-root"
        }
    }
}

extension SystemRootError: ReportableError {
    public var exitStatus: ExitStatus { .usage }
}
