import CLinux
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Core

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

/// A bounded statfs of a path: the seam unit tests replace.
public protocol StatfsProbe: Sendable {
    func statfs(_ path: String, timeout: Duration) -> FileSystemHealth
    /// What the folder holds, bounded like statfs.
    func contents(_ path: String, timeout: Duration) -> FolderContents
}

extension StatfsProbe {
    public func contents(_ path: String, timeout: Duration) -> FolderContents {
        ForkedStatfs().contents(path, timeout: timeout)
    }
}

/// Whether a folder holds anything, read in a child (it may sit on a dead server).
public enum FolderContents: Sendable, Equatable {
    case empty
    case nonEmpty
    case failed(Errno)
    /// The child did not answer in time, or could not run.
    case unknown
}

/// statfs in a forked child, never in the tool's own process: a statfs on a dead server can sit in the
/// kernel for minutes (hard NFS: forever), and a stuck child is simply abandoned at the deadline (a
/// stuck thread would keep the tool from exiting). The child only closes the inherited descriptors,
/// calls statfs and _exits, all safe after fork in a multithreaded process, and costs far less than
/// starting a program.
public struct ForkedStatfs: StatfsProbe {
    public init() {}

    /// A folder's emptiness, read in a child for the same reason as statfs. The child exits 0 (empty),
    /// 200 (not empty) or with the errno.
    public func contents(_ path: String, timeout: Duration) -> FolderContents {
        let pid: pid_t = path.withCString { cPath in
            let pid = fork()
            if pid == 0 {
                extlib_net_close_from(3)
                let result = extlib_net_directory_has_entries(cPath)
                _exit(result == 1 ? 200 : result == 0 ? 0 : min(199, -result))
            }
            return pid
        }
        guard pid > 0 else { return .unknown }
        switch Self.reap(pid, until: .after(timeout)) {
        case .exited(0): return .empty
        case .exited(200): return .nonEmpty
        case .exited(let code): return .failed(Errno(rawValue: code))
        default: return .unknown
        }
    }

    enum ChildEnd { case exited(Int32), signalled(Int32), timedOut, failed(Errno) }

    /// Waits for a forked child until the deadline; one that overstays is killed and left to init.
    static func reap(_ pid: pid_t, until deadline: Deadline) -> ChildEnd {
        var status: Int32 = 0
        while true {
            let reaped = retryingInterrupted { waitpid(pid, &status, WNOHANG) }
            if reaped == pid { break }
            if reaped < 0 { return .failed(Errno(rawValue: errno)) }
            if deadline.hasPassed {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, WNOHANG)
                return .timedOut
            }
            usleep(2000)
        }
        return status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
    }

    public func statfs(_ path: String, timeout: Duration) -> FileSystemHealth {
        let deadline = Deadline.after(timeout)
        let pid: pid_t = path.withCString { cPath in
            // Everything the child touches is prepared before fork: no allocation, no locks after it.
            var info = statvfs()
            let pid = fork()
            if pid == 0 {
                // No lock, pipe or socket of the parent stays open in a child that may hang for minutes.
                extlib_net_close_from(3)
                // Not retryingInterrupted: after fork, only plain C calls.
                while statvfs(cPath, &info) != 0 {
                    let code = errno
                    if code != EINTR { _exit(code) }
                }
                _exit(0)
            }
            return pid
        }
        guard pid > 0 else { return .uncheckable("fork: \(Errno(rawValue: errno))") }
        switch Self.reap(pid, until: deadline) {
        case .exited(0): return .healthy
        case .exited(let code): return .failed(Errno(rawValue: code))
        case .signalled(let signal): return .uncheckable("the statfs child died of signal \(signal)")
        case .timedOut: return .timedOut(timeout)
        case .failed(let error): return .uncheckable("waitpid: \(error)")
        }
    }
}

