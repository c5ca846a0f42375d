import Foundation
import Core
import Testing

/// `extlib-net discover` against real smbd, rpcbind and nfs-ganesha in network namespaces of the
/// test bed (Tests/testbed). CI always brings the test bed up; without it these tests are skipped,
/// and `testbedIsUpInCI` fails so CI cannot pass silently.
@Suite(.enabled(if: Testbed.isUp, "Tests/testbed is not up (run scripts/test)"))
struct DiscoverServerTests {
    static let loopback = "127.0.0.1"

    func shares(_ json: [String: Any]) throws -> [[String: Any]] {
        let smb = try #require(json["smb"] as? [String: Any])
        return try #require(smb["shares"] as? [[String: Any]])
    }


    @Test func listsGuestSharesAndExports() async throws {
        let outcome = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--json"], namespace: try Testbed.value("LIVE_NS"))
        #expect(outcome.status == 0, "stderr: \(outcome.error)")
        let json = try outcome.json()
        #expect(json["host"] as? String == Self.loopback)
        #expect(json["addresses"] as? [String] == [Self.loopback])
        let smb = try #require(json["smb"] as? [String: Any])
        #expect(smb["port"] as? Int == 445)
        #expect(smb["reachable"] as? Bool == true)
        #expect(smb["error"] is NSNull)
        let names = try shareNames(json)
        #expect(names.contains("photos"))
        #expect(names.contains("Fotos Müller"), "space and non-ASCII letter intact: \(names)")
        #expect(names.contains("private"))
        #expect(!names.contains("backup$"), "hidden shares only with --all")
        #expect(!names.contains("IPC$"))
        let photos = try #require(try shares(json).first { $0["name"] as? String == "photos" })
        #expect(photos["type"] as? String == "disk")
        #expect(photos["comment"] as? String == "Family photos")
        let accented = try #require(try shares(json).first { $0["name"] as? String == "Fotos Müller" })
        #expect(accented["comment"] as? String == "Ünïcode comment")

        let nfs = try #require(json["nfs"] as? [String: Any])
        #expect(nfs["reachable"] as? Bool == true)
        #expect(nfs["v4only"] as? Bool == false)
        #expect(nfs["error"] is NSNull)
        let exports = try #require(nfs["exports"] as? [[String: Any]])
        let photosExport = try #require(exports.first { $0["path"] as? String == "/volume1/photos" }, "exports: \(exports)")
        let clients = try #require(photosExport["clients"] as? [String])
        #expect(clients.contains { $0 == "127.0.0.1" || $0 == "127.0.0.1/32" }, "clients: \(clients)")
        #expect(clients.contains { $0.hasPrefix("169.254.77.") }, "clients: \(clients)")
        #expect(exports.contains { $0["path"] as? String == "/volume1/backup" })
    }

    @Test func allAddsHiddenSharesAndIPC() async throws {
        let outcome = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--json", "--all"], namespace: try Testbed.value("LIVE_NS"))
        #expect(outcome.status == 0)
        let json = try outcome.json()
        let names = try shareNames(json)
        #expect(names.contains("backup$"))
        #expect(try shares(json).contains { $0["name"] as? String == "IPC$" && $0["type"] as? String == "ipc" })
    }

    @Test func humanOutputHasTablesAndNextSteps() async throws {
        let outcome = try await CLI.run(["discover", "--timeout", "15", Self.loopback], namespace: try Testbed.value("LIVE_NS"))
        #expect(outcome.status == 0)
        let text = outcome.output
        #expect(text.contains("SMB  port 445 open"))
        #expect(text.contains("photos"))
        #expect(text.contains("Family photos"))
        #expect(text.contains("/volume1/photos"))
        #expect(text.contains("extlib-net add photos smb://127.0.0.1/photos"))
        #expect(text.contains("extlib-net add Fotos-Mueller smb://127.0.0.1/Fotos%20M%C3%BCller"))
        #expect(text.contains("extlib-net add volume1-photos nfs://127.0.0.1/volume1/photos"))
    }

    @Test func systemResolverNames() async throws {
        // Tests/testbed gives the namespace an /etc/hosts entry through /etc/netns/NAME/hosts.
        let name = try Testbed.value("LIVE_HOSTNAME")
        let outcome = try await CLI.run(["discover", "--timeout", "15", name, "--json"], namespace: try Testbed.value("LIVE_NS"))
        #expect(outcome.status == 0, "stderr: \(outcome.error)")
        let json = try outcome.json()
        #expect(json["resolvedBy"] as? String == "system resolver")
        #expect(json["addresses"] as? [String] == [Self.loopback])
        #expect(try shareNames(json).contains("photos"))
    }

    // MARK: Accounts

    @Test func guestRefusedSaysAuthenticationRequired() async throws {
        let port = try Testbed.value("SMB_AUTH_PORT")
        let outcome = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--smb-port", port, "--json"], namespace: try Testbed.value("LIVE_NS"))
        let json = try outcome.json()
        let smb = try #require(json["smb"] as? [String: Any])
        #expect(smb["error"] as? String == "authentication required")
        #expect(smb["authRequired"] as? Bool == true)
        #expect(try shares(json).isEmpty)
        // NFS exports were still found, so the run found something.
        #expect(outcome.status == 0)

        let text = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--smb-port", port], namespace: try Testbed.value("LIVE_NS"))
        #expect(text.output.contains("authentication required"))
        #expect(text.output.contains("extlib-net discover 127.0.0.1 --smb-port \(port) --user NAME"))
    }

    @Test func rightPasswordListsTheAccountsShares() async throws {
        let port = try Testbed.value("SMB_AUTH_PORT")
        let user = try Testbed.value("SMB_USER")
        let password = try Testbed.password()
        let outcome = try await CLI.run(
            ["discover", "--timeout", "15", Self.loopback, "--smb-port", port, "--user", user, "--password-stdin", "--json", "--debug"],
            namespace: try Testbed.value("LIVE_NS"), input: password + "\n")
        #expect(outcome.status == 0, "stderr: \(outcome.error)")
        let json = try outcome.json()
        let smb = try #require(json["smb"] as? [String: Any])
        #expect(smb["error"] is NSNull)
        #expect(smb["listedAs"] as? String == user)
        #expect(try shareNames(json).contains("secure"))
        #expect(!outcome.output.contains(password) && !outcome.error.contains(password), "the password leaked")
    }

    // MARK: An old NAS that speaks only SMB1 (smbd with server max protocol = NT1)

    @Test func smb1OnlyServerIsRecognisedAndNotListedWithoutOptIn() async throws {
        let port = try Testbed.value("SMB_SMB1_PORT")
        let live = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--smb-port", port, "--json"], namespace: try Testbed.value("LIVE_NS"))
        let json = try live.json()
        let smb = try #require(json["smb"] as? [String: Any])
        #expect(smb["smb1Only"] as? Bool == true, "\(smb)")
        #expect((smb["error"] as? String)?.contains("only SMB1") == true, "\(smb)")
        #expect(try shares(json).isEmpty, "SMB1 is never used without --smb1")

        let text = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--smb-port", port], namespace: try Testbed.value("LIVE_NS"))
        #expect(text.output.contains("speaks only SMB1"), "\(text.output)")
        #expect(text.output.contains("extlib-net discover 127.0.0.1 --smb-port \(port) --smb1"), "\(text.output)")
    }

    @Test func smb1OptInListsAndSuggestsSMBVersion1() async throws {
        let port = try Testbed.value("SMB_SMB1_PORT")
        let share = try Testbed.value("SMB_SMB1_SHARE")
        let outcome = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--smb-port", port, "--smb1", "--json"], namespace: try Testbed.value("LIVE_NS"))
        let json = try outcome.json()
        let smb = try #require(json["smb"] as? [String: Any])
        #expect(smb["error"] is NSNull, "\(smb)")
        #expect(smb["smb1Only"] as? Bool == true)
        #expect(try shareNames(json).contains(share))
        #expect(outcome.status == 0, "stderr: \(outcome.error)")

        let text = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--smb-port", port, "--smb1"], namespace: try Testbed.value("LIVE_NS"))
        #expect(text.output.contains("listed over SMB1"), "\(text.output)")
        #expect(text.output.contains("extlib-net add \(share) smb://127.0.0.1:\(port)/\(share) --smb-version 1.0"), "\(text.output)")
    }

    @Test func modernServerIsNotCalledSMB1Only() async throws {
        // --smb1 against an SMB3 server: listed as usual, and no --smb-version 1.0 in the add lines.
        let outcome = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--smb1", "--json"], namespace: try Testbed.value("LIVE_NS"))
        let json = try outcome.json()
        let smb = try #require(json["smb"] as? [String: Any])
        #expect(smb["smb1Only"] as? Bool == false)
        #expect(try shareNames(json).contains("photos"))
        let text = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--smb1"], namespace: try Testbed.value("LIVE_NS"))
        #expect(!text.output.contains("--smb-version 1.0"), "\(text.output)")
    }

    @Test func wrongPasswordIsADistinctError() async throws {
        let port = try Testbed.value("SMB_AUTH_PORT")
        let user = try Testbed.value("SMB_USER")
        let wrong = "not-the-password,\"really\""
        let outcome = try await CLI.run(
            ["discover", "--timeout", "15", Self.loopback, "--smb-port", port, "--user", user, "--password-stdin", "--json", "--debug"],
            namespace: try Testbed.value("LIVE_NS"), input: wrong)
        #expect(outcome.status == ExitStatus.authentication.rawValue)
        let json = try outcome.json()
        let smb = try #require(json["smb"] as? [String: Any])
        let error = try #require(smb["error"] as? String)
        #expect(error.contains("rejected user '\(user)'"))
        #expect(error != "authentication required")
        #expect(!outcome.output.contains(wrong) && !outcome.error.contains(wrong), "the password leaked")
    }

    @Test func wrongPasswordOnAGuestServerIsNotHidden() async throws {
        // Guest listing works on port 445; a wrong account must still be reported, not ignored.
        let user = try Testbed.value("SMB_USER")
        let outcome = try await CLI.run(
            ["discover", "--timeout", "15", Self.loopback, "--user", user, "--password-stdin", "--json"],
            namespace: try Testbed.value("LIVE_NS"), input: "wrong")
        #expect(outcome.status == ExitStatus.authentication.rawValue)
        let smb = try #require(try outcome.json()["smb"] as? [String: Any])
        #expect((smb["error"] as? String)?.contains("rejected") == true)
        #expect(try shareNames(try outcome.json()).contains("photos"), "guest shares still shown")
    }

    // MARK: NFSv4-only, closed and hung servers

    @Test func nfsV4OnlyServer() async throws {
        let outcome = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--json"], namespace: try Testbed.value("V4ONLY_NS"))
        #expect(outcome.status == 0)
        let nfs = try #require(try outcome.json()["nfs"] as? [String: Any])
        #expect(nfs["v4only"] as? Bool == true)
        #expect(nfs["reachable"] as? Bool == true)
        let text = try await CLI.run(["discover", "--timeout", "15", Self.loopback], namespace: try Testbed.value("V4ONLY_NS"))
        #expect(text.output.contains("NFSv4-only"))
        #expect(text.output.contains("nfs://127.0.0.1/EXPORT/PATH"))
    }

    @Test func closedPortsMeanNothingReachable() async throws {
        let outcome = try await CLI.run(["discover", "--timeout", "15", Self.loopback, "--json"], namespace: try Testbed.value("EMPTY_NS"))
        #expect(outcome.status == ExitStatus.unreachable.rawValue)
        let json = try outcome.json()
        let smb = try #require(json["smb"] as? [String: Any])
        #expect(smb["reachable"] as? Bool == false)
        #expect(smb["port"] is NSNull)
        #expect((smb["probes"] as? [String: String])?["445"] == "closed")
        #expect((json["nfs"] as? [String: Any])?["reachable"] as? Bool == false)
    }

    @Test func unknownNameDoesNotResolve() async throws {
        let outcome = try await CLI.run(["discover", "--timeout", "15", "no-such-nas.invalid"], namespace: try Testbed.value("EMPTY_NS"))
        #expect(outcome.status == ExitStatus.hostNotFound.rawValue)
        #expect(outcome.error.contains("does not resolve") || outcome.error.contains("did not resolve"))
    }

    // MARK: .local names

    @Test func localNameThroughOurOwnMulticastQuery() async throws {
        let emptyRoot = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-noavahi-\(getpid())").path
        try FileManager.default.createDirectory(atPath: emptyRoot, withIntermediateDirectories: true)
        let outcome = try await CLI.run(["discover", "--timeout", "15", "nas.local", "--json", "--root", emptyRoot], namespace: try Testbed.value("MDNS_CLIENT_NS"))
        #expect(outcome.status == 0, "stderr: \(outcome.error)")
        let json = try outcome.json()
        #expect(json["resolvedBy"] as? String == "multicast DNS query")
        #expect(json["addresses"] as? [String] == [try Testbed.value("MDNS_NAS_ADDR")])
        #expect(try shareNames(json).contains("photos"))
    }

    @Test func localNameThroughAvahiDaemon() async throws {
        let outcome = try await CLI.run(["discover", "--timeout", "15", "nas.local", "--json", "--root", try Testbed.value("MDNS_CLIENT_ROOT")],
                                        namespace: try Testbed.value("MDNS_CLIENT_NS"))
        #expect(outcome.status == 0, "stderr: \(outcome.error)")
        let json = try outcome.json()
        #expect(json["resolvedBy"] as? String == "avahi-daemon")
        #expect(json["addresses"] as? [String] == [try Testbed.value("MDNS_NAS_ADDR")])
    }

}

/// Outside the suites that skip themselves without the test bed, so that a CI run without it fails
/// (inside them, this check was skipped exactly when it mattered).
@Suite struct TestbedPresenceTests {
    @Test func testbedIsUpInCI() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(Testbed.isUp, "CI must run the server tests: EXTLIB_NET_TESTBED is not set or its env file is missing")
        }
    }
}
