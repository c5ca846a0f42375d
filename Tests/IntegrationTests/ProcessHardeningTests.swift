import Core
import Foundation
import TestSupport
import Testing

/// Done once in `main` for every command: not dumpable, and a signal at a password prompt puts the
/// terminal's echo back. Before, only setup and immich disabled core dumps (with RLIMIT_CORE alone, which a
/// piped core_pattern such as apport ignores), and Ctrl-C at `credentials add`'s prompt left the echo off.
@Suite struct ProcessHardeningTests {
    /// Runs ARGS on a new pty (as `user` when given, through setpriv), waits for `prompt`, reads the owner
    /// of /proc/PID/status (root for a process that is not dumpable, whoever runs it; the folder itself
    /// keeps the process's own uid), sends `signal`, and prints
    /// the exit code and whether the terminal echoes afterwards.
    static let driver = #"""
        import json, os, pty, select, signal as sig, sys, termios, time
        prompt, signal_name, argv = sys.argv[1].encode(), sys.argv[2], sys.argv[3:]
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(argv[0], argv)
        seen, deadline = b"", time.time() + 20
        while prompt not in seen and time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:
                    break
                if not chunk: break
                seen += chunk
        owner = os.stat(f"/proc/{pid}/status").st_uid
        echo_during = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
        if signal_name == "INT":
            os.write(fd, b"half-typ\x03")
        else:
            os.kill(pid, getattr(sig, "SIG" + signal_name))
        try:
            while True:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if not ready:
                    if os.waitpid(pid, os.WNOHANG)[0]: break
                    continue
                chunk = os.read(fd, 1024)
                if not chunk: break
                seen += chunk
        except OSError:
            pass
        echo_after = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
        try:
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            code = None
        print(json.dumps({"screen": seen.decode("utf-8", "replace"), "owner": owner, "echoDuring": echo_during,
                          "echoAfter": echo_after, "status": code, "prompted": prompt in seen}))
        """#

    struct Run {
        let screen: String
        let owner: Int
        let echoDuring: Bool
        let echoAfter: Bool
        let status: Int?
        let prompted: Bool
    }

    static func run(_ arguments: [String], prompt: String, signal: String, asUser user: String? = nil) async throws -> Run {
        let command = (user.map { ["/usr/bin/setpriv", "--reuid=\($0)", "--regid=\($0)", "--clear-groups", "--"] } ?? []) + [CLI.executable] + arguments
        let result = try await Child.run("/usr/bin/python3", ["-c", driver, prompt, signal] + command, timeout: .seconds(60))
        #expect(!result.timedOut, "the terminal driver did not end: \(result.output) \(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], "driver said: \(result.output) \(result.error)")
        return Run(screen: object["screen"] as? String ?? "", owner: object["owner"] as? Int ?? -1, echoDuring: object["echoDuring"] as? Bool ?? true,
                   echoAfter: object["echoAfter"] as? Bool ?? false, status: object["status"] as? Int, prompted: object["prompted"] as? Bool ?? false)
    }

    @Test func ctrlCAtCredentialsAddsPromptRestoresTheEchoAndExits8() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let run = try await Self.run(["credentials", "add", "nas", "--user", "alice", "--root", scratch.path], prompt: "Password for alice", signal: "INT")
        #expect(run.prompted, "\(run.screen)")
        #expect(!run.echoDuring, "the prompt turned the echo off")
        #expect(run.echoAfter, "Ctrl-C left the terminal without echo: \(run.screen)")
        #expect(run.status == Int(ExitStatus.interrupted.rawValue), "\(run.screen)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/etc/extlib-net/credentials"), "nothing written")
    }

    @Test(arguments: ["TERM", "HUP"])
    func aSignalAtThePromptRestoresTheEcho(_ signal: String) async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let run = try await Self.run(["credentials", "add", "nas", "--user", "alice", "--root", scratch.path], prompt: "Password for alice", signal: signal)
        #expect(run.prompted, "\(run.screen)")
        #expect(run.echoAfter, "SIG\(signal) left the terminal without echo: \(run.screen)")
        #expect(run.status == -Int(signal == "TERM" ? SIGTERM : SIGHUP), "still ended by the signal: \(String(describing: run.status))")
    }

    /// `discover HOST --user` holds a password too. Run as nobody, its /proc files belong to root: the
    /// kernel's mark of a process that is not dumpable (no core file, no ptrace by its own user).
    @Test func discoverWithAPasswordIsNotDumpable() async throws {
        let run = try await Self.run(["discover", "127.0.0.1", "--user", "alice"], prompt: "Password for alice", signal: "INT", asUser: "65534")
        #expect(run.prompted, "\(run.screen)")
        #expect(run.owner == 0, "/proc/PID/status belongs to uid \(run.owner): the process is dumpable")
        #expect(run.echoAfter)
        #expect(run.status == Int(ExitStatus.interrupted.rawValue), "\(run.screen)")
    }
}
