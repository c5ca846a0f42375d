import System
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a program run by a test ended.
public struct ChildOutcome: Sendable {
    /// The exit status, or 128 + the signal that ended it.
    public let status: Int32
    public let output: String
    public let error: String
    public let elapsed: Duration
    /// The deadline passed and the child's process group was killed.
    public let timedOut: Bool
}

public struct ChildSpawnError: Error, CustomStringConvertible {
    public let command: String
    public let code: Int32
    public var description: String { "cannot start \(command): \(String(cString: strerror(code)))" }
}

/// A program a test runs, in a process group of its own, with a clean signal state, standard input
/// from an unlinked file (never a pipe it may not read), and its output on close-on-exec channels.
///
/// Every wait has a deadline: at the deadline the whole group is killed, so a hung child, or a
/// grandchild holding the output open, fails one test instead of hanging the test run. Waiting
/// never happens on a Swift concurrency thread (there may be only two of them).
public final class Child: @unchecked Sendable {
    public enum Capture: Sendable {
        /// Standard output and error apart.
        case separate
        /// Both into `output`, in the order written.
        case merged
        /// Both to /dev/null.
        case none
    }

    public let pid: pid_t
    public let command: String
    private let started = ContinuousClock.now
    private let outputChannel: Int32
    private let errorChannel: Int32
    /// One waiter at a time; `state` alone guards `finished`, so `signal` never waits for a waiter.
    private let waiting = NSLock()
    private let state = NSLock()
    private var finished: ChildOutcome?

    private init(pid: pid_t, command: String, outputChannel: Int32, errorChannel: Int32) {
        self.pid = pid
        self.command = command
        self.outputChannel = outputChannel
        self.errorChannel = errorChannel
    }

    deinit {
        if state.withLock({ finished == nil }) { stop() }
    }

    /// Starts `executable` with the test's environment plus `environment`.
    public static func start(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                             input: String = "", capture: Capture = .separate) throws -> Child {
        let command = ([executable] + arguments).joined(separator: " ")
        var template = Array("/tmp/extlib-net-test-input.XXXXXX".utf8CString)
        let inputFile = mkstemp(&template)
        guard inputFile >= 0, fcntl(inputFile, F_SETFD, FD_CLOEXEC) == 0 else { throw ChildSpawnError(command: command, code: errno) }
        unlink(template)
        defer { close(inputFile) }
        let bytes = Array(input.utf8)
        guard bytes.withUnsafeBytes({ write(inputFile, $0.baseAddress, $0.count) }) == bytes.count, lseek(inputFile, 0, SEEK_SET) == 0 else {
            throw ChildSpawnError(command: command, code: errno)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputFile, 0)
        var ours: [Int32] = []
        var theirs: [Int32] = []
        defer { theirs.forEach { close($0) } }
        func channel() throws -> Int32 {
            var ends: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
                throw ChildSpawnError(command: command, code: errno)
            }
            ours.append(ends[0])
            theirs.append(ends[1])
            return ends[1]
        }
        var outputChannel: Int32 = -1
        var errorChannel: Int32 = -1
        do {
            switch capture {
            case .separate:
                posix_spawn_file_actions_adddup2(&actions, try channel(), 1)
                outputChannel = ours[0]
                posix_spawn_file_actions_adddup2(&actions, try channel(), 2)
                errorChannel = ours[1]
            case .merged:
                let end = try channel()
                outputChannel = ours[0]
                posix_spawn_file_actions_adddup2(&actions, end, 1)
                posix_spawn_file_actions_adddup2(&actions, end, 2)
            case .none:
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            }
        } catch {
            ours.forEach { close($0) }
            throw error
        }

        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let pid: pid_t
        switch SpawnAttributes(newProcessGroup: true).spawn(executable, arguments, environment: variables, actions: &actions) {
        case .success(let child): pid = child
        case .failure(let error):
            ours.forEach { close($0) }
            throw ChildSpawnError(command: command, code: error.rawValue)
        }
        return Child(pid: pid, command: command, outputChannel: outputChannel, errorChannel: errorChannel)
    }

    /// Starts, waits (off the concurrency pool) and returns how it ended.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String = "",
                           capture: Capture = .separate, timeout: Duration = .seconds(120)) async throws -> ChildOutcome {
        try await start(executable, arguments, environment: environment, input: input, capture: capture).finish(timeout: timeout)
    }

    /// `run` for synchronous callers.
    public static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String = "",
                                   capture: Capture = .separate, timeout: Duration = .seconds(120)) throws -> ChildOutcome {
        try start(executable, arguments, environment: environment, input: input, capture: capture).wait(timeout: timeout)
    }

    /// Waits on a thread of its own for the child to exit and close its output, or for the deadline.
    public func finish(timeout: Duration) async -> ChildOutcome {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.wait(timeout: timeout)) }
        }
    }

    /// Sends `signal` to the child's whole process group.
    public func signal(_ signal: Int32) {
        state.withLock { if finished == nil { _ = kill(-pid, signal) } }
    }

    /// Kills the group and reaps the child.
    @discardableResult
    public func stop() -> ChildOutcome {
        signal(SIGKILL)
        return wait(timeout: .seconds(10))
    }

    /// Blocks until the child has exited and closed its output, or until `timeout`: then the whole
    /// group is killed. Called again, returns the first outcome.
    public func wait(timeout: Duration) -> ChildOutcome {
        waiting.lock()
        defer { waiting.unlock() }
        if let finished = state.withLock({ finished }) { return finished }
        let deadline = ContinuousClock.now + timeout
        func remainingMilliseconds() -> Int32 {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return 0 }
            return Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
        }

        var collected: [Int32: [UInt8]] = [:]
        var open = [outputChannel, errorChannel].filter { $0 >= 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), remainingMilliseconds())
            if ready < 0, errno == EINTR { continue }
            if ready <= 0 {
                timedOut = ready == 0
                break
            }
            for pfd in fds where pfd.revents != 0 {
                let count = chunk.withUnsafeMutableBytes { read(pfd.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    collected[pfd.fd, default: []] += chunk.prefix(count)
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    open.removeAll { $0 == pfd.fd }
                }
            }
        }

        var status: Int32 = 0
        var reaped = false
        while !timedOut {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                reaped = true
                break
            }
            if result < 0, errno != EINTR { break }
            if remainingMilliseconds() == 0 { timedOut = true }
            usleep(2000)
        }
        // Nothing of the group outlives the child: a leftover would hold files or pipes of later tests.
        _ = kill(-pid, SIGKILL)
        if !reaped {
            for _ in 0..<5000 {
                if waitpid(pid, &status, WNOHANG) == pid {
                    reaped = true
                    break
                }
                usleep(2000)
            }
        }
        [outputChannel, errorChannel].filter { $0 >= 0 }.forEach { close($0) }

        let code: Int32 = !reaped ? 128 + SIGKILL : status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let outcome = ChildOutcome(
            status: code,
            output: String(decoding: outputChannel >= 0 ? collected[outputChannel] ?? [] : [], as: UTF8.self),
            error: String(decoding: errorChannel >= 0 ? collected[errorChannel] ?? [] : [], as: UTF8.self),
            elapsed: ContinuousClock.now - started, timedOut: timedOut)
        state.withLock { finished = outcome }
        return outcome
    }
}
