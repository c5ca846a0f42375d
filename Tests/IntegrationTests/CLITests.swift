import Core
import Testing

/// Argument handling of the real executable: no server needed.
@Suite struct CLITests {
    @Test func discoverHelpNamesItsOptions() async throws {
        let help = try await CLI.run(["discover", "--help"])
        #expect(help.status == 0)
        for option in ["--timeout", "--all", "--json", "--smb-port", "--user", "--password-stdin", "--root"] {
            #expect(help.output.contains(option))
        }
    }

    @Test func topLevelHelpListsDiscover() async throws {
        let help = try await CLI.run(["--help"])
        #expect(help.status == 0)
        #expect(help.output.contains("discover"))
        #expect(help.output.contains("Immich"))
    }

    @Test func versionIsPrinted() async throws {
        let version = try await CLI.run(["--version"])
        #expect(version.status == 0)
        #expect(version.output == ExtlibNetVersion.current + "\n")
    }

    @Test(arguments: [
        ([""], "the host is empty"),
        (["smb://nas.local/photos"], "extlib-net discover nas.local"),
        (["//nas/photos"], "is a URL"),
        (["/mnt/nas"], "looks like a path"),
        (["nas:445"], "--smb-port"),
        (["nas", "--timeout", "0"], "--timeout must be between"),
        (["nas", "--timeout", "-1"], "--timeout must be between"),
        (["nas", "--timeout", "1e9"], "--timeout must be between"),
        (["nas", "--timeout", "nan"], "--timeout must be between"),
        (["nas", "--smb-port", "70000"], "--smb-port must be between"),
        (["nas", "--password-stdin"], "--password-stdin needs --user"),
        (["nas", "--user", "alice,uid=0"], "smuggle"),
        (["nas", "--root", "relative/dir"], "relative"),
    ])
    func badInputIsAUsageError(_ arguments: [String], _ message: String) async throws {
        let outcome = try await CLI.run(["discover"] + arguments)
        #expect(outcome.status == 1)
        #expect(outcome.error.contains(message), "stderr: \(outcome.error)")
        #expect(!outcome.error.contains("Fatal error"))
    }

    @Test func emptyPasswordOnStandardInputIsRefused() async throws {
        let outcome = try await CLI.run(["discover", "127.0.0.1", "--user", "alice", "--password-stdin"], input: "")
        #expect(outcome.status == 1)
        #expect(outcome.error.contains("password read from standard input is empty"))
    }

    @Test func globalOptionsMayComeBeforeTheSubcommand() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let added = try await CLI.run(["--root", scratch.path, "--verbose", "add", "x", "smb://nas/x"])
        #expect(added.status == 0, "\(added.error)")
        let listed = try await CLI.run(["--root=\(scratch.path)", "list", "--json"])
        #expect(listed.output.contains(#""name":"x""#))
        let stored = try await CLI.run(["--root", scratch.path, "credentials", "add", "nas", "--user", "u", "--password-stdin"], input: "pw")
        #expect(stored.status == 0, "\(stored.error)")
    }

    @Test func rootFromEnvironmentIsValidatedToo() async throws {
        let outcome = try await CLI.run(["discover", "nas"], environment: ["EXTLIB_NET_ROOT": "not/absolute"])
        #expect(outcome.status == 1)
        #expect(outcome.error.contains("relative"))
    }
}
