import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a child process ended, with what it wrote: standard output and standard error kept apart.
public struct ProcessResult: Sendable, Equatable {
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
    }

    public let termination: Termination
    public let standardOutput: String
    public let standardError: String
    /// The deadline passed: the child (and what it started) was killed; it may still sit in the kernel, unreaped.
    public let timedOut: Bool

    public init(_ termination: Termination, standardOutput: String = "", standardError: String = "", timedOut: Bool = false) {
        self.termination = termination
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.timedOut = timedOut
    }

    /// For tests and fakes: an exit status, or 128 + a signal number.
    public init(status: Int32, standardOutput: String = "", standardError: String, timedOut: Bool = false) {
        self.init(status > 128 ? .signalled(status - 128) : .exited(status), standardOutput: standardOutput, standardError: standardError, timedOut: timedOut)
    }

    /// The exit status, or 128 + the signal number, as a shell shows it.
    public var status: Int32 {
        switch termination {
        case .exited(let code): return code
        case .signalled(let signal): return 128 + signal
        }
    }

    /// What a helper said about a failure: its errors, then its output (some helpers print there).
    public var messages: String {
        [standardError, standardOutput].filter { !$0.isEmpty }.joined(separator: "\n")
    }
}

/// A program could not be started at all.
public struct SpawnError: Error, Equatable, CustomStringConvertible {
    public let executable: String
    public let errno: Errno
    public var description: String {
        errno == .noSuchFileOrDirectory ? "\(executable) is not installed" : "cannot start \(executable): \(errno)"
    }
}

/// Runs helper programs (mount.cifs, mount.nfs). A protocol so unit tests can stand in for them.
public protocol ProcessRunner: Sendable {
    /// Runs `executable` with `arguments` (an argv array, no shell). With `secret`, the child finds it
    /// on a pipe at file descriptor 3 and `PASSWD_FD=3` in its environment: the password itself is never
    /// in argv or the environment. At the deadline the child and everything it started are killed.
    func run(_ executable: String, _ arguments: [String], secret: Secret?, until deadline: Deadline) throws(SpawnError) -> ProcessResult
}

public struct SystemProcessRunner: ProcessRunner {
    public init() {}

    /// The only environment helpers get: no inherited variables, nothing secret.
    static let basePath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
    static let secretDescriptor: Int32 = 3

    private static func channel(_ ends: inout [Int32]) -> Bool {
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0
    }

    public func run(_ executable: String, _ arguments: [String], secret: Secret?, until deadline: Deadline) throws(SpawnError) -> ProcessResult {
        // socketpair, not pipe: it is created close-on-exec atomically (pipe2 is not in Swift's Glibc),
        // so a helper spawned concurrently by another thread never inherits these ends.
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        var secretPipe: [Int32] = [-1, -1]
        guard Self.channel(&outputPipe) else { throw SpawnError(executable: executable, errno: Errno(rawValue: errno)) }
        guard Self.channel(&errorPipe) else {
            close(outputPipe[0]); close(outputPipe[1])
            throw SpawnError(executable: executable, errno: Errno(rawValue: errno))
        }
        defer { close(outputPipe[0]); close(errorPipe[0]) }
        if secret != nil {
            guard Self.channel(&secretPipe) else {
                close(outputPipe[1]); close(errorPipe[1])
                throw SpawnError(executable: executable, errno: Errno(rawValue: errno))
            }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        var environment = [Self.basePath, "LANG=C"]
        if secret != nil {
            posix_spawn_file_actions_adddup2(&actions, secretPipe[0], Self.secretDescriptor)
            environment.append("PASSWD_FD=\(Self.secretDescriptor)")
        }
        let spawned = SpawnAttributes().spawn(executable, arguments, environment: environment, closingFrom: Self.secretDescriptor + 1, actions: &actions)
        close(outputPipe[1])
        close(errorPipe[1])
        if let secret {
            close(secretPipe[0])
            // A password of at most a few hundred bytes fits the socket's buffer: this never blocks. A
            // helper that exits without reading it (a usage error) gives EPIPE, never a SIGPIPE that kills us.
            secret.withCString { pointer in _ = send(secretPipe[1], pointer, strlen(pointer), Int32(MSG_NOSIGNAL)) }
            shutdown(secretPipe[1], Int32(SHUT_WR))
            close(secretPipe[1])
        }
        let pid: pid_t
        switch spawned {
        case .success(let child): pid = child
        case .failure(let error): throw SpawnError(executable: executable, errno: error)
        }

        // Both channels until both close (the child and anything it started are done writing) or the deadline.
        var collected: [[UInt8]] = [[], []]
        var open = [true, true]
        var timedOut = false
        var chunk = [UInt8](repeating: 0, count: 4096)
        while open[0] || open[1] {
            var pfds = [pollfd(fd: open[0] ? outputPipe[0] : -1, events: Int16(POLLIN), revents: 0),
                        pollfd(fd: open[1] ? errorPipe[0] : -1, events: Int16(POLLIN), revents: 0)]
            let ready = retryingInterrupted { poll(&pfds, 2, Int32(deadline.remainingMilliseconds())) }
            if ready <= 0 {
                timedOut = true
                break
            }
            for index in 0..<2 where open[index] && pfds[index].revents != 0 {
                let count = chunk.withUnsafeMutableBytes { read(pfds[index].fd, $0.baseAddress, $0.count) }
                if count <= 0 { open[index] = false; continue }
                if collected[index].count < 65536 { collected[index] += chunk.prefix(count) }
            }
        }
        let output = String(decoding: collected[0], as: UTF8.self)
        let errors = String(decoding: collected[1], as: UTF8.self)
        if timedOut {
            ProcessTree.kill(pid)
            // A helper stuck in the kernel (a hung server) may not die yet: never block on it.
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            return ProcessResult(.signalled(SIGKILL), standardOutput: output, standardError: errors, timedOut: true)
        }
        switch ForkedStatfs.reap(pid, until: deadline) {
        case .exited(let code): return ProcessResult(.exited(code), standardOutput: output, standardError: errors)
        case .signalled(let signal): return ProcessResult(.signalled(signal), standardOutput: output, standardError: errors)
        case .timedOut, .failed:
            ProcessTree.kill(pid)
            return ProcessResult(.signalled(SIGKILL), standardOutput: output, standardError: errors, timedOut: true)
        }
    }
}

/// A child and what it started (umount runs umount.nfs, mount.cifs may run a key helper): at a deadline
/// all of them go, children first, so none keeps a pipe open or a mount half-made.
enum ProcessTree {
    static func kill(_ pid: pid_t) {
        for child in children(of: pid) { kill(child) }
        Glibc.kill(pid, SIGKILL)
    }

    /// The direct children, from /proc/PID/task/*/children.
    static func children(of pid: pid_t) -> [pid_t] {
        guard let bytes = try? SecureFile.readProcFile("/proc/\(pid)/task/\(pid)/children") else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: " ").compactMap { pid_t($0.trimmingCharacters()) }
    }
}

private extension Substring {
    func trimmingCharacters() -> Substring { drop { $0 == "\n" || $0 == " " } }
}
