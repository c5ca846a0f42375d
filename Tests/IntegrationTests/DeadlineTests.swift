import Foundation
import Core
import Testing

/// Everything that proves a deadline: hung servers (SIGSTOP), a hung protocol beside a live one, an
/// unanswered mDNS name. `scripts/test` runs this suite in a pass of its own, after the others, so that
/// wall-clock limits are not measured on a machine busy with the crash test's process storm.
@Suite(.enabled(if: Testbed.isUp, "Tests/testbed is not up (run scripts/test)"))
struct DeadlineTests {
    static let loopback = "127.0.0.1"


    @Test(arguments: [1.0, 2.0])
    func hungServerStillEndsInTime(_ timeout: Double) async throws {
        let outcome = try await CLI.runBounded(["discover", Self.loopback, "--json", "--timeout", String(timeout)],
                                               timeout: .milliseconds(Int64(timeout * 1000)), namespace: try Testbed.value("HUNG_NS"))
        #expect(outcome.status == ExitStatus.refused.rawValue)
        let json = try outcome.json()
        let smb = try #require(json["smb"] as? [String: Any])
        #expect(smb["reachable"] as? Bool == true, "the kernel still accepts connections")
        #expect(smb["error"] as? String == "no answer")
        let nfs = try #require(json["nfs"] as? [String: Any])
        #expect((nfs["error"] as? String)?.contains("no answer") == true)
    }

    @Test func onlySMBHangs() async throws {
        let port = try Testbed.value("SMB_HUNG_PORT")
        let outcome = try await CLI.runBounded(["discover", Self.loopback, "--json", "--timeout", "1.5", "--smb-port", port],
                                               timeout: .milliseconds(1500), namespace: try Testbed.value("LIVE_NS"))
        #expect(outcome.status == 0, "NFS exports were found")
        let json = try outcome.json()
        #expect((json["smb"] as? [String: Any])?["error"] as? String == "no answer")
        #expect(((json["nfs"] as? [String: Any])?["exports"] as? [Any])?.isEmpty == false)
    }

    @Test func onlyNFSHangs() async throws {
        let port = try Testbed.value("SMB_LIVE_PORT_IN_HUNG")
        let outcome = try await CLI.runBounded(["discover", Self.loopback, "--json", "--timeout", "1.5", "--smb-port", port],
                                               timeout: .milliseconds(1500), namespace: try Testbed.value("HUNG_NS"))
        #expect(outcome.status == 0, "SMB shares were found")
        let json = try outcome.json()
        #expect(try shareNames(json).isEmpty == false)
        #expect(((json["nfs"] as? [String: Any])?["error"] as? String)?.contains("no answer") == true)
    }

    @Test func unknownLocalNameEndsWithinTimeout() async throws {
        let emptyRoot = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-noavahi-\(getpid())").path
        try FileManager.default.createDirectory(atPath: emptyRoot, withIntermediateDirectories: true)
        for root in [emptyRoot, try Testbed.value("MDNS_CLIENT_ROOT")] {
            let outcome = try await CLI.runBounded(["discover", "ghost.local", "--timeout", "1.5", "--root", root],
                                                   timeout: .milliseconds(1500), namespace: try Testbed.value("MDNS_CLIENT_NS"))
            #expect(outcome.status == ExitStatus.hostNotFound.rawValue, "root \(root): \(outcome.error)")
        }
    }

    @Test func credentialsCheckOnAHungServer() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let added = try await CLI.run(["credentials", "add", "nas", "--user", "alice", "--password-stdin", "--root", scratch.path], input: "pw")
        #expect(added.status == 0)
        let hung = try await CLI.runBounded(["credentials", "check", "nas", "127.0.0.1", "--timeout", "1", "--root", scratch.path],
                                            timeout: .seconds(1), namespace: try Testbed.value("HUNG_NS"))
        #expect(hung.status == ExitStatus.unreachable.rawValue)
        #expect(hung.error.contains("did not answer in time"))
    }

    @Test func refusedPortsDoNotWaitForTheTimeout() async throws {
        // With --timeout 10, refused ports must end the run long before: allow 1 s of the tool's own work.
        let outcome = try await CLI.runBounded(["discover", Self.loopback, "--timeout", "10"], timeout: .milliseconds(700), namespace: try Testbed.value("EMPTY_NS"))
        #expect(outcome.status == ExitStatus.unreachable.rawValue)
    }
}
