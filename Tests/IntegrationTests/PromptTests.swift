import Foundation
import TestSupport
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
        let result = try await Child.run("/usr/bin/python3", ["-c", driver, password, CLI.executable] + arguments, timeout: .seconds(30))
        #expect(!result.timedOut, "the terminal driver did not end: \(result.output) \(result.error)")
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let parsed = try #require(object, "driver said: \(result.output) \(result.error)")
        return (parsed["screen"] as? String ?? "", parsed["status"] as? Int ?? -1)
    }

    /// Ten times: the driver answers the moment the prompt shows, which once raced the echo switch
    /// (a flush after the prompt discarded the answer, and the prompt waited forever).
    @Test func credentialsAddPromptsWithoutEcho() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let password = "typed,\"secret\" $x"
        for round in 0..<10 {
            let (screen, status) = try await Self.onTerminal(password: password, ["credentials", "add", "nas\(round)", "--user", "alice", "--root", scratch.path])
            #expect(status == 0, "\(screen)")
            #expect(screen.contains("Password for alice: "))
            #expect(!screen.contains("typed,"), "the password was echoed: \(screen)")
            #expect(try scratch.store.credential(named: "nas\(round)").password.reveal() == password)
        }
    }

    @Test func discoverWithoutATerminalOrStdinFlagExplains() async throws {
        let outcome = try await CLI.run(["discover", "127.0.0.1", "--user", "alice"], input: "pw\n")
        #expect(outcome.status == 1)
        #expect(outcome.error.contains("--password-stdin"))
    }
}
