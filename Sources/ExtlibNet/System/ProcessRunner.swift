import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a child process ended.
public struct ProcessResult: Sendable, Equatable {
    /// The exit status, or 128 + the signal number.
    public let status: Int32
    public let standardError: String
    /// The deadline passed: the child was killed (it may still sit in the kernel, unreaped).
    public let timedOut: Bool

    public init(status: Int32, standardError: String, timedOut: Bool = false) {
        self.status = status
        self.standardError = standardError
        self.timedOut = timedOut
    }
}

/// Runs helper programs (mount.cifs, mount.nfs). A protocol so unit tests can stand in for them.
public protocol ProcessRunner: Sendable {
    /// Runs `executable` with `arguments` (an argv array, no shell). With `secret`, the child finds it
    /// on a pipe at file descriptor 3 and `PASSWD_FD=3` in its environment: the password itself is never
    /// in argv or the environment.
    func run(_ executable: String, _ arguments: [String], secret: Secret?, until deadline: Deadline) -> ProcessResult
}

public struct SystemProcessRunner: ProcessRunner {
    public init() {}

    /// The only environment helpers get: no inherited variables, nothing secret.
    static let basePath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
    static let secretDescriptor: Int32 = 3

    private static func channel(_ ends: inout [Int32]) -> Bool {
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0
    }

    public func run(_ executable: String, _ arguments: [String], secret: Secret?, until deadline: Deadline) -> ProcessResult {
        // socketpair, not pipe: it is created close-on-exec atomically (pipe2 is not in Swift's Glibc),
        // so a helper spawned concurrently by another thread never inherits these ends.
        var errorPipe: [Int32] = [-1, -1]
        guard Self.channel(&errorPipe) else { return ProcessResult(status: 127, standardError: "pipe: \(Errno(rawValue: errno))") }
        defer { close(errorPipe[0]) }
        var secretPipe: [Int32] = [-1, -1]
        if secret != nil {
            guard Self.channel(&secretPipe) else {
                close(errorPipe[1])
                return ProcessResult(status: 127, standardError: "pipe: \(Errno(rawValue: errno))")
            }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        var environment = [Self.basePath, "LANG=C"]
        if secret != nil {
            posix_spawn_file_actions_adddup2(&actions, secretPipe[0], Self.secretDescriptor)
            environment.append("PASSWD_FD=\(Self.secretDescriptor)")
        }
        let spawned = SpawnAttributes().spawn(executable, arguments, environment: environment, closingFrom: Self.secretDescriptor + 1, actions: &actions)
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
        case .failure(let error): return ProcessResult(status: 127, standardError: "\(executable): \(error)")
        }

        var output: [UInt8] = []
        var timedOut = false
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            var pfd = pollfd(fd: errorPipe[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(deadline.remainingMilliseconds()))
            if ready < 0, errno == EINTR { continue }
            if ready <= 0 {
                timedOut = true
                break
            }
            let count = chunk.withUnsafeMutableBytes { read(errorPipe[0], $0.baseAddress, $0.count) }
            if count <= 0 { break }
            if output.count < 65536 { output += chunk.prefix(count) }
        }
        let text = String(decoding: output, as: UTF8.self)
        if timedOut {
            kill(pid, SIGKILL)
            // A helper stuck in the kernel (a hung server) may not die yet: never block on it.
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            return ProcessResult(status: 128 + SIGKILL, standardError: text, timedOut: true)
        }
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0, errno != EINTR { return ProcessResult(status: 127, standardError: text) }
            if deadline.hasPassed {
                kill(pid, SIGKILL)
                return ProcessResult(status: 128 + SIGKILL, standardError: text, timedOut: true)
            }
            usleep(2000)
        }
        let exited = status & 0x7f == 0
        return ProcessResult(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), standardError: text)
    }
}
