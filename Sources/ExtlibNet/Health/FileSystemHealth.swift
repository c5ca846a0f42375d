import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a bounded `statfs` of a mount point found.
public enum FileSystemHealth: Sendable, Equatable, CustomStringConvertible {
    case healthy
    /// statfs did not return in time: the server hangs (the child doing it is abandoned).
    case timedOut(Duration)
    case failed(Errno)
    /// The check itself could not run (the child could not be started, or died).
    case uncheckable(String)

    public var isHealthy: Bool { self == .healthy }

    /// Errors a remount can cure: the server went away or came back as someone else (ESTALE after a
    /// re-export). EAGAIN is what a CIFS statfs returns after a server hung for three echo intervals.
    static let staleErrnos: Set<Errno> = [.staleNFSFileHandle, .ioError, .socketNotConnected, .hostIsDown, .timedOut, .resourceTemporarilyUnavailable]

    /// A mount that went bad and is worth an unmount and a remount.
    public var isStale: Bool {
        switch self {
        case .healthy, .uncheckable: return false
        case .timedOut: return true
        case .failed(let error): return Self.staleErrnos.contains(error)
        }
    }

    public var description: String {
        switch self {
        case .healthy: return "healthy"
        case .timedOut(let limit): return "statfs did not answer within \(formatSeconds(limit.seconds)) (server hung?)"
        case .failed(let error): return "statfs failed: \(error)"
        case .uncheckable(let reason): return "could not check: \(reason)"
        }
    }
}

/// Checks mount points with `statfs` in a child process (this executable's hidden `__statfs`
/// command), never in the tool's own process: a statfs on a dead server can sit in the kernel for
/// minutes (hard NFS: forever), and a stuck child is simply abandoned at the deadline.
public struct HealthChecker: Sendable {
    public let runner: any ProcessRunner
    public let executable: String
    public var timeout: Duration

    /// The hidden command the child runs; it exits 0 or with the errno of statfs.
    public static let statfsCommand = "__statfs"

    public init(runner: any ProcessRunner, executable: String = SelfExecutable.path, timeout: Duration = .seconds(3)) {
        self.runner = runner
        self.executable = executable
        self.timeout = timeout
    }

    public func check(_ path: String) -> FileSystemHealth {
        let result = runner.run(executable, [Self.statfsCommand, "--", path], secret: nil, until: .after(timeout))
        if result.timedOut { return .timedOut(timeout) }
        switch result.status {
        case 0: return .healthy
        case 1..<126: return .failed(Errno(rawValue: result.status))
        default:
            let detail = result.standardError.split(separator: "\n").first.map(String.init) ?? "exit status \(result.status)"
            return .uncheckable("\(executable): \(detail)")
        }
    }

    /// What the child does: statfs in this process; the errno, or 0.
    public static func statfsStatus(_ path: String) -> Int32 {
        // statvfs is statfs(2) underneath, with the same errors.
        var info = statvfs()
        while statvfs(path, &info) != 0 {
            if errno != EINTR { return errno }
        }
        return 0
    }
}

/// This program's own path, for helper children that run a hidden command of the same binary.
public enum SelfExecutable {
    public static let path: String = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments.first ?? "extlib-net" }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
