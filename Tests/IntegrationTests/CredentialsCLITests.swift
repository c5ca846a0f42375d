import Core
import System
import Formats
import Credentials
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway `--root` for the executable.
struct ScratchRoot {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var credentialsFile: String { path + "/etc/extlib-net/credentials" }
    var store: CredentialStore { CredentialStore(root: try! SystemRoot(path), logger: .init(label: "test")) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct CredentialsCLITests {
    static let password = #"pa,ss"word $x=#y"#

    @Test func addListRemoveWithoutEverShowingThePassword() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        var outputs: [CLI.Outcome] = []
        outputs.append(try await CLI.run(["credentials", "add", "nas", "--user", "alice", "--domain", "WG", "--password-stdin", "--root", scratch.path, "--debug"], input: Self.password))
        #expect(outputs.last?.status == 0, "\(outputs.last!.error)")
        outputs.append(try await CLI.run(["credentials", "add", "nas", "--user", "alice", "--password-stdin", "--root", scratch.path, "--debug"], input: Self.password))
        #expect(outputs.last?.status == ExitStatus.usage.rawValue, "exists without --force")
        outputs.append(try await CLI.run(["credentials", "list", "--root", scratch.path, "--debug"]))
        #expect(outputs.last?.output.contains("alice") == true)
        outputs.append(try await CLI.run(["credentials", "list", "--json", "--root", scratch.path, "--debug"]))
        #expect(outputs.last?.output == #"[{"name":"nas","user":"alice","domain":"WG"}]"# + "\n")
        outputs.append(try await CLI.run(["credentials", "check", "nas", "127.0.0.1/share", "--smb-port", "9", "--timeout", "1", "--root", scratch.path, "--debug"]))
        #expect(try scratch.store.credential(named: "nas").password.reveal() == Self.password)
        outputs.append(try await CLI.run(["credentials", "remove", "nas", "--root", scratch.path, "--debug"]))
        #expect(outputs.last?.status == 0)
        outputs.append(try await CLI.run(["credentials", "remove", "nas", "--root", scratch.path, "--debug"]))
        #expect(outputs.last?.status == ExitStatus.usage.rawValue)
        for outcome in outputs {
            #expect(!outcome.output.contains("pa,ss") && !outcome.error.contains("pa,ss"), "the password leaked: \(outcome)")
        }
    }

    @Test(arguments: [
        (["--user", "a,uid=0"], "','"),
        (["--user", "alice", "--domain", "W\tG,x"], "','"),
        (["--user", ""], "empty"),
        (["--user", "WG/alice"], "before which mount.cifs reads a domain"),
        (["--user", "alice%secret"], "after which mount.cifs reads a password"),
    ])
    func badFieldsChangeNothing(_ arguments: [String], _ message: String) async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        _ = try await CLI.run(["credentials", "add", "keep", "--user", "bob", "--password-stdin", "--root", scratch.path], input: "x")
        let before = FileManager.default.contents(atPath: scratch.credentialsFile)
        let outcome = try await CLI.run(["credentials", "add", "new"] + arguments + ["--password-stdin", "--root", scratch.path], input: "pw")
        #expect(outcome.status == 1)
        #expect(outcome.error.contains(message), "\(outcome.error)")
        #expect(FileManager.default.contents(atPath: scratch.credentialsFile) == before)
    }

    @Test func multiLinePasswordOnStandardInputIsRefused() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let outcome = try await CLI.run(["credentials", "add", "nas", "--user", "a", "--password-stdin", "--root", scratch.path], input: "one\ntwo\n")
        #expect(outcome.status == 1)
        #expect(!FileManager.default.fileExists(atPath: scratch.credentialsFile))
    }

    @Test func concurrentAddsAllLand() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let count = 16
        let statuses = try await withThrowingTaskGroup(of: Int32.self) { group in
            for index in 0..<count {
                group.addTask {
                    try await CLI.run(["credentials", "add", "nas\(index)", "--user", "user\(index)", "--password-stdin", "--root", scratch.path], input: "pw\(index),\"")
                        .status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 0, count: count))
        let document = try scratch.store.load()
        #expect(Set(document.credentials.map(\.name)) == Set((0..<count).map { "nas\($0)" }))
        for index in 0..<count {
            #expect(document.credential(named: "nas\(index)")?.password.reveal() == "pw\(index),\"")
        }
    }

    /// Kills the writer at random moments, many times: the file is always the old or the new version,
    /// whole, private, and parseable.
    @Test func killedWritersNeverLeaveAPartialOrReadableFile() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        // Uninterrupted runs set the window: kills land from before start-up to after the rename. It is
        // measured again every 20 kills: the test run's load falls while this runs (once, a window taken
        // at the start was so long that none of 120 kills landed before the writer finished).
        var calibration = 0
        func measureWindow() async throws -> UInt32 {
            var runs: [Duration] = []
            for _ in 0..<3 {
                let started = ContinuousClock.now
                let outcome = try await spawnAdd(root: scratch.path, name: "base\(calibration)", password: "p").finish(timeout: CLI.limit)
                calibration += 1
                #expect(outcome.status == 0 && !outcome.timedOut)
                runs.append(ContinuousClock.now - started)
            }
            let typical = runs.sorted()[1]
            return UInt32(clamping: typical.components.seconds * 1_000_000 + typical.components.attoseconds / 1_000_000_000_000) * 6 / 5
        }
        var window: UInt32 = 0
        var landed = 0
        var killed = 0
        for iteration in 0..<120 {
            if iteration % 20 == 0 { window = try await measureWindow() }
            let before = try scratch.store.load().credentials.map(\.name)
            let child = try spawnAdd(root: scratch.path, name: "c\(iteration)", password: "pw,\(iteration)")
            usleep(UInt32.random(in: 0...window))
            child.signal(SIGKILL)
            let outcome = await child.finish(timeout: CLI.limit)
            #expect(!outcome.timedOut)
            if outcome.status == 128 + SIGKILL { killed += 1 }

            var info = stat()
            #expect(lstat(scratch.credentialsFile, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600, "iteration \(iteration): mode \(String(info.st_mode & 0o777, radix: 8))")
            let after = try scratch.store.load().credentials.map(\.name)
            #expect(after == before || after == before + ["c\(iteration)"], "iteration \(iteration): \(after)")
            if after.count > before.count { landed += 1 }
            for name in try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/etc/extlib-net") where name != "credentials" {
                var leftover = stat()
                #expect(lstat(scratch.path + "/etc/extlib-net/" + name, &leftover) == 0 && leftover.st_mode & 0o077 == 0, "\(name) is readable by others")
            }
        }
        // Both outcomes must have happened, or the test did not probe the window it is about.
        #expect(killed > 0)
        #expect(landed > 0)
    }

    /// `extlib-net credentials add` with the password on standard input.
    private func spawnAdd(root: String, name: String, password: String) throws -> Child {
        try Child.start(CLI.executable, ["credentials", "add", name, "--user", "u", "--password-stdin", "--root", root], input: password, capture: .none)
    }

    @Test func exampleFileParses() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let bytes = try Data(contentsOf: repository.appendingPathComponent("credentials.example"))
        let document = try CredentialsDocument.parse(Array(bytes))
        #expect(document.credentials.map(\.name) == ["nas", "backup-nas"])
        #expect(document.credential(named: "nas")?.password.reveal() == #"correct horse, battery "staple""#)
        #expect(document.credential(named: "backup-nas")?.password.reveal() == "  spaces at both ends are kept  ")
    }
}

/// `credentials check` and `discover --credentials` against the test bed's real smbd.
@Suite(.enabled(if: Testbed.isUp, "Tests/testbed is not up (run scripts/test)"))
struct CredentialsServerTests {
    func storeAccount(_ scratch: ScratchRoot, name: String, password: String) async throws {
        let user = try Testbed.value("SMB_USER")
        let outcome = try await CLI.run(["credentials", "add", name, "--user", user, "--password-stdin", "--root", scratch.path], input: password)
        #expect(outcome.status == 0, "\(outcome.error)")
    }

    @Test func rightPasswordWithCommaAndQuoteWorks() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let password = try Testbed.password()
        #expect(password.contains(",") && password.contains("\""), "the test account's password has a comma and a quote")
        try await storeAccount(scratch, name: "nas", password: password)
        let port = try Testbed.value("SMB_AUTH_PORT")
        let outcome = try await CLI.run(["credentials", "check", "nas", "127.0.0.1/secure", "--smb-port", port, "--timeout", "15", "--root", scratch.path, "--debug"],
                                        namespace: try Testbed.value("LIVE_NS"))
        #expect(outcome.status == 0, "\(outcome.error)")
        #expect(outcome.output.contains("'nas' works"))
        #expect(outcome.output.contains("share 'secure' opened"))
        #expect(!outcome.output.contains(password) && !outcome.error.contains(password))

        let guestServer = try await CLI.run(["credentials", "check", "nas", "127.0.0.1/private", "--timeout", "15", "--root", scratch.path], namespace: try Testbed.value("LIVE_NS"))
        #expect(guestServer.status == 0, "\(guestServer.error)")
    }

    @Test func wrongPasswordFails() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        try await storeAccount(scratch, name: "nas", password: "wrong,\"one")
        for port in [try Testbed.value("SMB_AUTH_PORT"), "445"] {
            let outcome = try await CLI.run(["credentials", "check", "nas", "127.0.0.1", "--smb-port", port, "--timeout", "15", "--root", scratch.path, "--debug"],
                                            namespace: try Testbed.value("LIVE_NS"))
            #expect(outcome.status == ExitStatus.authentication.rawValue, "port \(port): \(outcome.error)")
            #expect(outcome.error.contains("wrong user name or password"))
            #expect(!outcome.error.contains("wrong,\"one"))
        }
    }

    @Test func missingShareAndMissingServerAreDistinct() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        try await storeAccount(scratch, name: "nas", password: try Testbed.password())
        let port = try Testbed.value("SMB_AUTH_PORT")
        let noShare = try await CLI.run(["credentials", "check", "nas", "127.0.0.1/nope", "--smb-port", port, "--timeout", "15", "--root", scratch.path], namespace: try Testbed.value("LIVE_NS"))
        #expect(noShare.status == ExitStatus.refused.rawValue, "\(noShare.error)")
        #expect(noShare.error.contains("no such share"))
        let noServer = try await CLI.run(["credentials", "check", "nas", "127.0.0.1", "--timeout", "15", "--root", scratch.path], namespace: try Testbed.value("EMPTY_NS"))
        #expect(noServer.status == ExitStatus.unreachable.rawValue)
    }

    @Test func discoverUsesTheStoredAccount() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        try await storeAccount(scratch, name: "nas", password: try Testbed.password())
        let port = try Testbed.value("SMB_AUTH_PORT")
        let outcome = try await CLI.run(["discover", "127.0.0.1", "--timeout", "15", "--smb-port", port, "--credentials", "nas", "--root", scratch.path],
                                        namespace: try Testbed.value("LIVE_NS"))
        #expect(outcome.status == 0, "\(outcome.error)")
        #expect(outcome.output.contains("listed as user"))
        #expect(outcome.output.contains("extlib-net add secure smb://127.0.0.1:\(port)/secure --credentials nas"))
        let missing = try await CLI.run(["discover", "127.0.0.1", "--timeout", "15", "--credentials", "ghost", "--root", scratch.path], namespace: try Testbed.value("LIVE_NS"))
        #expect(missing.status == 1)
        #expect(missing.error.contains("no credential named 'ghost'"))
    }
}
