import Foundation
import Subprocess
import SystemPackage
import Testing

/// The no-echo prompt on a real terminal: python3's pty module plays the user.
@Suite struct PromptTests {
    /// Runs extlib-net ARGS on a pseudo-terminal, answers the password prompt, and prints JSON with
    /// everything the terminal showed and the exit status.
    static let driver = #"""
        import json, os, pty, sys
        password, argv = sys.argv[1].encode(), sys.argv[2:]
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(argv[0], argv)
        seen = b""
        while b"Password for" not in seen:
            chunk = os.read(fd, 1024)
            if not chunk: break
            seen += chunk
        os.write(fd, password + b"\n")
        try:
            while True:
                chunk = os.read(fd, 1024)
                if not chunk: break
                seen += chunk
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"screen": seen.decode("utf-8", "replace"), "status": os.waitstatus_to_exitcode(status)}))
        """#

    static func onTerminal(password: String, _ arguments: [String]) async throws -> (screen: String, status: Int) {
        let result = try await Subprocess.run(
            .path(FilePath("/usr/bin/python3")), arguments: Arguments(["-c", driver, password, CLI.executable] + arguments),
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        let parsed = try #require(object, "driver said: \(result.standardOutput) \(result.standardError)")
        return (parsed["screen"] as? String ?? "", parsed["status"] as? Int ?? -1)
    }

    @Test func credentialsAddPromptsWithoutEcho() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let password = "typed,\"secret\" $x"
        let (screen, status) = try await Self.onTerminal(password: password, ["credentials", "add", "nas", "--user", "alice", "--root", scratch.path])
        #expect(status == 0, "\(screen)")
        #expect(screen.contains("Password for alice: "))
        #expect(!screen.contains("typed,"), "the password was echoed: \(screen)")
        #expect(try scratch.store.credential(named: "nas").password.reveal() == password)
    }

    @Test func discoverWithoutATerminalOrStdinFlagExplains() async throws {
        let outcome = try await CLI.run(["discover", "127.0.0.1", "--user", "alice"], input: "pw\n")
        #expect(outcome.status == 1)
        #expect(outcome.error.contains("--password-stdin"))
    }
}
