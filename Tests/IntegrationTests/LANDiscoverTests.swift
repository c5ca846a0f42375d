import Foundation
import Core
import Discovery
import Testing

/// `extlib-net discover` without HOST on the test bed's LAN of namespaces (Tests/testbed): real
/// avahi-daemon, wsdd and wsdd2 announcers, a silent smbd, and a hostile neighbour that answers with
/// garbage and never answers its metadata URL. Serialized: every browse hears every host on the LAN, and
/// six at once (each with a hostile neighbour answering) made the timing checks measure the machine's load.
@Suite(.serialized, .enabled(if: Testbed.isUp, "Tests/testbed is not up (run scripts/test)"))
struct LANDiscoverTests {
    static let emptyRoot: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-lan-noavahi-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    enum Client: CaseIterable {
        case ownQueries, withAvahi
    }

    /// `bounded`: also check the run ended within the timeout (one test does; timing checks in every test
    /// measured the load of the rest of the suite running beside them).
    func browse(_ client: Client, timeout: String = "2", bounded: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) async throws -> (CLI.Outcome, [[String: Any]]) {
        let namespace = try Testbed.value(client == .ownQueries ? "LAN_CLIENT_NS" : "LAN_CLIENT_AVAHI_NS")
        let root = client == .ownQueries ? Self.emptyRoot : try Testbed.value("LAN_CLIENT_ROOT")
        let arguments = ["discover", "--json", "--timeout", timeout, "--root", root]
        let outcome = bounded
            ? try await CLI.runBounded(arguments, timeout: .milliseconds(Int64(Double(timeout)! * 1000)), namespace: namespace, sourceLocation: sourceLocation)
            : try await CLI.run(arguments, namespace: namespace, sourceLocation: sourceLocation)
        #expect(outcome.status == 0, "stderr: \(outcome.error)", sourceLocation: sourceLocation)
        let json = try outcome.json()
        #expect(json.keys.sorted() == ["hosts"], sourceLocation: sourceLocation)
        return (outcome, try #require(json["hosts"] as? [[String: Any]], sourceLocation: sourceLocation))
    }

    func host(_ hosts: [[String: Any]], address: String) -> [String: Any]? {
        hosts.first { ($0["addresses"] as? [String])?.contains(address) == true }
    }

    @Test(arguments: Client.allCases)
    func findsEveryAnnouncerAndNothingElse(_ client: Client) async throws {
        let (outcome, hosts) = try await browse(client)
        let smb = try #require(host(hosts, address: try Testbed.value("LAN_SMB_ADDR")), "\(outcome.output)")
        #expect(smb["name"] as? String == (try Testbed.value("LAN_SMB_NAME")))
        #expect(smb["services"] as? [String] == ["smb"])
        #expect(smb["foundBy"] as? [String] == ["mdns"])
        #expect(smb["model"] as? String == (try Testbed.value("LAN_SMB_MODEL")))
        #expect(smb["exports"] as? [String] == [])
        #expect(Set(smb.keys) == ["name", "addresses", "services", "foundBy", "model", "exports"])

        let nfs = try #require(host(hosts, address: try Testbed.value("LAN_NFS_ADDR")), "\(outcome.output)")
        #expect(nfs["name"] as? String == (try Testbed.value("LAN_NFS_NAME")))
        #expect(nfs["services"] as? [String] == ["nfs"])
        #expect(nfs["exports"] as? [String] == [try Testbed.value("LAN_NFS_PATH")])
        #expect(nfs["model"] is NSNull)
        // nfsnas's avahi-daemon also runs on IPv6: its AAAA answer comes over ff02::fb.
        #expect((nfs["addresses"] as? [String])?.contains { $0.hasPrefix("fe80:") } == true, "\(nfs)")

        let wsd = try #require(host(hosts, address: try Testbed.value("LAN_WSD_ADDR")), "\(outcome.output)")
        #expect(wsd["name"] as? String == (try Testbed.value("LAN_WSD_NAME")))
        #expect(wsd["services"] as? [String] == ["smb"])
        #expect(wsd["foundBy"] as? [String] == ["wsd"])

        let wsd2 = try #require(host(hosts, address: try Testbed.value("LAN_WSD2_ADDR")), "\(outcome.output)")
        #expect(wsd2["name"] as? String == (try Testbed.value("LAN_WSD2_NAME")))
        #expect(wsd2["foundBy"] as? [String] == ["wsd"])

        #expect(host(hosts, address: try Testbed.value("LAN_SILENT_ADDR")) == nil, "the silent host announced nothing")
        #expect(host(hosts, address: try Testbed.value("LAN_HOSTILE_ADDR")) == nil, "garbage and a dead metadata URL are no NAS")
        // The avahi client announces an _smb._tcp of its own: listed from the other client, never by itself.
        let avahiClient = host(hosts, address: try Testbed.value("LAN_CLIENT_AVAHI_ADDR"))
        if client == .withAvahi {
            #expect(avahiClient == nil, "this machine is never listed: \(outcome.output)")
        } else {
            #expect(avahiClient?["name"] as? String == "lanclient.local", "\(outcome.output)")
        }
        #expect(hosts.count == 5 - (client == .withAvahi ? 1 : 0), "\(outcome.output)")
    }

    @Test func humanOutputGivesTheNextCommands() async throws {
        let outcome = try await CLI.run(["discover", "--timeout", "2", "--root", Self.emptyRoot], namespace: try Testbed.value("LAN_CLIENT_NS"))
        #expect(outcome.status == 0, "stderr: \(outcome.error)")
        let lines = outcome.output.split(separator: "\n").map(String.init)
        let wsdAddress = try Testbed.value("LAN_WSD_ADDR")
        #expect(lines.contains { $0.hasPrefix("photonas.local  169.254.78.11  smb; model ExtlibTestNAS; via mDNS") }, "\(outcome.output)")
        #expect(lines.contains { $0.hasPrefix("WINNAS  \(wsdAddress)  smb; model wsdd; workgroup TESTGROUP; via WS-Discovery") }, "\(outcome.output)")
        #expect(lines.contains("  extlib-net discover photonas.local"), "\(outcome.output)")
        #expect(lines.contains("  extlib-net discover \(wsdAddress)"), "a NetBIOS name is given as its address: \(outcome.output)")
    }

    /// The printed name works as HOST, through our own mDNS query and through avahi-daemon.
    @Test(arguments: Client.allCases)
    func thePrintedNameResolves(_ client: Client) async throws {
        let (_, hosts) = try await browse(client)
        let name = try #require(host(hosts, address: try Testbed.value("LAN_SMB_ADDR"))?["name"] as? String)
        let namespace = try Testbed.value(client == .ownQueries ? "LAN_CLIENT_NS" : "LAN_CLIENT_AVAHI_NS")
        let root = client == .ownQueries ? Self.emptyRoot : try Testbed.value("LAN_CLIENT_ROOT")
        let outcome = try await CLI.run(["discover", name, "--json", "--root", root], namespace: namespace)
        #expect(outcome.status == 0, "stderr: \(outcome.error)")
        let json = try outcome.json()
        #expect(json["resolvedBy"] as? String == (client == .ownQueries ? "multicast DNS query" : "avahi-daemon"))
        #expect(try shareNames(json).contains("photos"))
    }

    /// The hostile neighbour answers everything with garbage, again 4 s later, and its metadata URL
    /// never answers: the browse still ends within --timeout and lists the others.
    @Test func garbageAndLateAnswersDoNotDelayTheEnd() async throws {
        let (outcome, hosts) = try await browse(.ownQueries, timeout: "2", bounded: true)
        #expect(hosts.count == 5, "\(outcome.output)")
        #expect(outcome.elapsed >= .milliseconds(1900), "listens for the whole timeout: \(outcome.elapsed)")
    }

    @Test func nothingAnnouncedExitsSeven() async throws {
        let outcome = try await CLI.runBounded(["discover", "--timeout", "0.5", "--root", Self.emptyRoot], timeout: .milliseconds(500),
                                               namespace: try Testbed.value("EMPTY_NS"))
        #expect(outcome.status == ExitStatus.noneFound.rawValue, "\(outcome.output) \(outcome.error)")
        #expect(outcome.output.contains("No NAS announced itself"))
        let json = try await CLI.run(["discover", "--json", "--timeout", "0.5", "--root", Self.emptyRoot], namespace: try Testbed.value("EMPTY_NS"))
        #expect(json.status == ExitStatus.noneFound.rawValue)
        #expect(json.output == #"{"hosts":[]}"# + "\n")
    }
}

/// Options that only apply to one HOST are refused without it, before any traffic.
@Suite struct LANDiscoverUsageTests {
    @Test(arguments: [["--user", "alice"], ["--credentials", "nas"], ["--all"], ["--smb-port", "445"], ["--password-stdin"], ["--domain", "WG"], ["--smb1"]])
    func hostOnlyOptionsNeedAHost(_ options: [String]) async throws {
        let outcome = try await CLI.run(["discover"] + options)
        #expect(outcome.status == ExitStatus.usage.rawValue)
        #expect(outcome.error.contains("\(options[0]) needs a HOST"), "\(outcome.error)")
    }
}
