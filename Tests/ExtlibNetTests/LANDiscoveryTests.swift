import Foundation
import Testing
@testable import System
@testable import Formats
@testable import Discovery

/// Seeded random bytes and mutations of a valid input, for every parser of what LAN hosts send.
enum Mutations {
    static func inputs(seeds: [[UInt8]], rounds: Int, seed: UInt64, insertions: [[UInt8]] = []) -> [[UInt8]] {
        var generator = SeededGenerator(state: seed)
        var result: [[UInt8]] = []
        for round in 0..<rounds {
            if round % 5 == 0 {
                result.append((0..<Int.random(in: 0...600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
                continue
            }
            var bytes = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0...3, using: &generator) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes.remove(at: at)
                case 2 where !insertions.isEmpty: bytes.insert(contentsOf: insertions.randomElement(using: &generator)!, at: at)
                default: bytes = Array(bytes.prefix(at))
                }
            }
            result.append(bytes)
        }
        return result
    }
}

@Suite struct DNSMessageTests {
    @Test func realAvahiAnswersParse() throws {
        let smb = try DNSMessage.parse(LANCaptures.avahiPTRSMB)
        #expect(smb.isResponse)
        #expect(smb.records.contains { $0.data == .ptr("photonas._smb._tcp.local") })
        #expect(smb.records.contains { $0.data == .ptr("photonas._device-info._tcp.local") })
        let srv = try DNSMessage.parse(LANCaptures.avahiSRVTXTSMB)
        #expect(srv.records.contains { if case .srv(_, _, 445, "photonas.local") = $0.data { true } else { false } })
        let nfs = try DNSMessage.parse(LANCaptures.avahiSRVTXTNFS)
        #expect(nfs.records.contains { $0.data == .txt([Array("path=/volume1/photos".utf8)]) })
        let a = try DNSMessage.parse(LANCaptures.avahiASMB)
        #expect(a.records.contains { $0.name == "photonas.local" && $0.data == .a(IPAddress("169.254.78.11")!) })
    }

    @Test func browseStateFromRealAnswers() {
        var state = BrowseState()
        for packet in LANCaptures.mdns { state.absorb(try! DNSMessage.parse(packet), from: nil) }
        let announcements = state.announcements
        let smb = announcements.first { $0.kind == .smb }
        #expect(smb?.host == "photonas.local")
        #expect(smb?.addresses == [IPAddress("169.254.78.11")!])
        #expect(announcements.first { $0.kind == .nfs }?.txt["path"] == "/volume1/photos")
        #expect(announcements.first { $0.kind == .deviceInfo }?.txt["model"] == "ExtlibTestNAS")
        #expect(state.questions().count == 3, "nothing left to ask but the service types: \(state.questions())")
        let hosts = LANDiscovery.merge(announcements: announcements, wsd: [], ownAddresses: [])
        #expect(hosts.map(\.name) == ["nfsnas.local", "photonas.local"])
        #expect(hosts[1].model == "ExtlibTestNAS")
        #expect(hosts[0].exports == ["/volume1/photos"])
    }

    @Test func hostileShapesAreErrors() {
        let header: [UInt8] = [0, 0, 0x84, 0]
        func expectError(_ packet: [UInt8], _ error: DNSParseError) {
            #expect(throws: error) { try DNSMessage.parse(packet) }
        }
        expectError([], .truncated)
        expectError(header + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], .countsExceedPacket)
        // An answer whose name points at itself.
        expectError(header + [0, 0, 0, 1, 0, 0, 0, 0] + [0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 120, 0, 2, 0xC0, 12], .nameLoop)
        // A pointer forward, to a place that points back.
        expectError(header + [0, 0, 0, 1, 0, 0, 0, 0] + [0xC0, 14, 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0], .nameLoop)
        // A label that is not UTF-8.
        expectError(header + [0, 0, 0, 1, 0, 0, 0, 0] + [2, 0xFF, 0xFE, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4], .invalidUTF8)
        // An A record with 3 bytes of data, a wrong type for its length.
        expectError(header + [0, 0, 0, 1, 0, 0, 0, 0] + [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3], .badRecord(1))
        // Length beyond the packet.
        expectError(header + [0, 0, 0, 1, 0, 0, 0, 0] + [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 200, 1, 2, 3], .truncated)
        // A name longer than 255 bytes.
        let long: [UInt8] = (0..<5).flatMap { _ -> [UInt8] in [63] + [UInt8](repeating: 0x61, count: 63) } + [0]
        expectError(header + [0, 1, 0, 0, 0, 0, 0, 0] + long + [0, 1, 0, 1], .nameTooLong)
        expectError([UInt8](repeating: 0, count: 9001), .tooLarge(9001))
    }

    @Test func labelsWithDotsSurviveARoundTrip() throws {
        let query = DNSMessage.query(id: 7, questions: [(#"My\.NAS._smb._tcp.local"#, DNSMessage.RecordType.srv)])
        let parsed = try DNSMessage.parse(query)
        #expect(parsed.questions.first?.name == #"My\.NAS._smb._tcp.local"#)
        #expect(LANDiscovery.instanceLabel(#"My\.NAS._smb._tcp.local"#) == "My.NAS")
    }

    /// Never a crash or a hang; a parse that succeeds gives records the browse state can take.
    @Test func mutatedAndRandomPacketsNeverCrash() {
        let started = ContinuousClock.now
        var parsed = 0
        var state = BrowseState()
        let insertions: [[UInt8]] = [[0xC0, 0x0C], [0xC0, 0xFF], [0x3F], [0xFF, 0xFF], [0], [0xFE]]
        for packet in Mutations.inputs(seeds: LANCaptures.mdns, rounds: 15_000, seed: 0xD15C_0BEE, insertions: insertions) {
            guard let message = try? DNSMessage.parse(packet) else { continue }
            parsed += 1
            state.absorb(message, from: nil)
            _ = state.questions()
        }
        #expect(parsed > 300, "many mutations still parse")
        #expect(state.instances.count <= BrowseState.maximumInstances)
        #expect(ContinuousClock.now - started < .seconds(60), "no packet makes parsing slow (debug build, loaded machine)")
    }
}

@Suite struct BoundedXMLTests {
    @Test func realMessagesParse() throws {
        guard case .probeMatches(_, let matches) = try WSDMessage.parse(LANCaptures.wsddProbeMatch) else { Issue.record("not a ProbeMatches"); return }
        #expect(matches == [.init(endpoint: "urn:uuid:6f1c7e0a-1b2c-4d3e-8f40-5a6b7c8d9e01", types: ["wsdp:Device", "pub:Computer"], xaddrs: [])])
        guard case .probeMatches(_, let second) = try WSDMessage.parse(LANCaptures.wsdd2ProbeMatch) else { Issue.record("not a ProbeMatches"); return }
        #expect(second.first?.xaddrs.first?.hasPrefix("http://169.254.78.14:3702/") == true)
        guard case .resolveMatches(_, let resolved) = try WSDMessage.parse(LANCaptures.wsddResolveMatch) else { Issue.record("not a ResolveMatches"); return }
        #expect(resolved.first?.xaddrs == ["http://169.254.78.13:5357/6f1c7e0a-1b2c-4d3e-8f40-5a6b7c8d9e01"])
    }

    @Test func realMetadataParses() throws {
        let wsdd = try BoundedHTTP.parse(LANCaptures.wsddGetResponse, complete: true)
        #expect(wsdd.status == 200)
        let metadata = try WSDMessage.parseMetadata(wsdd.body)
        #expect(metadata.computer == "WINNAS/Workgroup:TESTGROUP")
        #expect(WSDMessage.splitComputer(metadata.computer!) == ("WINNAS", "TESTGROUP", nil))
        let wsdd2 = try BoundedHTTP.parse(LANCaptures.wsdd2GetResponse, complete: false)
        #expect(try WSDMessage.parseMetadata(wsdd2.body).computer == "WSD2NAS/Workgroup:TESTGROUP")
        #expect(WSDMessage.splitComputer("PC/Domain:corp.example") == ("PC", nil, "corp.example"))
    }

    @Test func bombsAndDeepNestingFailFast() {
        let started = ContinuousClock.now
        let bomb = Array("""
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><a>&lol2;</a>
            """.utf8)
        #expect(throws: XMLParseError.doctypeNotAllowed) { try XMLTree.parse(bomb) }
        #expect(throws: XMLParseError.unknownEntity("lol")) { try XMLTree.parse(Array("<a>&lol;</a>".utf8)) }
        let deep = Array((String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)).utf8)
        #expect(throws: XMLParseError.tooLarge(deep.count)) { try XMLTree.parse(deep) }
        let deepSmall = Array((String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40)).utf8)
        #expect(throws: XMLParseError.tooDeep) { try XMLTree.parse(deepSmall) }
        let wide = Array(("<a>" + String(repeating: "<b/>", count: 5000) + "</a>").utf8)
        #expect(throws: XMLParseError.tooManyElements) { try XMLTree.parse(wide) }
        #expect(throws: XMLParseError.invalidUTF8) { try XMLTree.parse([0x3C, 0x61, 0x3E, 0xFF, 0x3C, 0x2F, 0x61, 0x3E]) }
        #expect(throws: XMLParseError.mismatchedTag("a", "b")) { try XMLTree.parse(Array("<a></b>".utf8)) }
        #expect(throws: XMLParseError.undeclaredPrefix("x")) { try XMLTree.parse(Array("<x:a/>".utf8)) }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func entitiesAndCDATA() throws {
        let tree = try XMLTree.parse(Array(#"<a xmlns="urn:x" k='1 &amp; 2'>x &lt;&#65;&#x42;<![CDATA[&lt;]]></a>"#.utf8))
        #expect(tree.namespace == "urn:x")
        #expect(tree.attributes["k"] == "1 & 2")
        #expect(tree.text == "x <AB&lt;")
    }

    @Test func mutatedMessagesNeverCrash() {
        let started = ContinuousClock.now
        let seeds = LANCaptures.wsd + [try! BoundedHTTP.parse(LANCaptures.wsddGetResponse, complete: true).body]
        let insertions = ["<", ">", "</", "/>", "&", "&amp;", "&#0;", "&#x110000;", "<!DOCTYPE x>", "<![CDATA[", "]]>", "\"", "'", "xmlns:wsa=\"\"", "\u{FF}"].map { Array($0.utf8) } + [[0xFF], [0xC0, 0x80]]
        var parsed = 0
        for bytes in Mutations.inputs(seeds: seeds, rounds: 10_000, seed: 0x50A9, insertions: insertions) {
            if (try? WSDMessage.parse(bytes)) != nil { parsed += 1 }
            _ = try? WSDMessage.parseMetadata(bytes)
        }
        #expect(parsed > 250, "many mutations still parse")
        #expect(ContinuousClock.now - started < .seconds(60))
    }
}

@Suite struct BoundedHTTPTests {
    @Test func framings() throws {
        let length = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello extra".utf8)
        #expect(try BoundedHTTP.parse(length, complete: false).body == Array("hello".utf8))
        let chunked = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;x=y\r\n!\r\n0\r\n\r\n".utf8)
        #expect(try BoundedHTTP.parse(chunked, complete: false).body == Array("hello!".utf8))
        let closed = Array("HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nnope".utf8)
        #expect(throws: HTTPError.incomplete) { try BoundedHTTP.parse(closed, complete: false) }
        #expect(try BoundedHTTP.parse(closed, complete: true).status == 404)
        #expect(throws: HTTPError.incomplete) { try BoundedHTTP.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc".utf8), complete: false) }
        #expect(throws: HTTPError.self) { try BoundedHTTP.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n".utf8), complete: true) }
        #expect(throws: HTTPError.self) { try BoundedHTTP.parse(Array("SSH-2.0-x\r\n\r\n".utf8), complete: true) }
        #expect(throws: HTTPError.self) { try BoundedHTTP.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n".utf8), complete: true) }
    }

    @Test func targetsAreAddressLiteralsOnly() {
        #expect(BoundedHTTP.target("http://169.254.78.13:5357/uuid") == .init(address: IPAddress("169.254.78.13")!, port: 5357, path: "/uuid", authority: "169.254.78.13:5357"))
        #expect(BoundedHTTP.target("http://[fe80::1%eth0]:3702/x")?.address == IPAddress("fe80::1"))
        #expect(BoundedHTTP.target("http://192.0.2.1")?.port == 80)
        for bad in ["https://192.0.2.1/", "http://nas.local:5357/", "http://192.0.2.1:0/", "http://192.0.2.1:99999/", "http://[::1/", "ftp://x", ""] {
            #expect(BoundedHTTP.target(bad) == nil, "\(bad)")
        }
    }

    @Test func mutatedResponsesNeverCrash() {
        let started = ContinuousClock.now
        let insertions = ["\r\n", "\r\n\r\n", "Content-Length: 99999999\r\n", "Transfer-Encoding: chunked\r\n", "0\r\n", "FFFFFFFF\r\n", ":"].map { Array($0.utf8) }
        for bytes in Mutations.inputs(seeds: LANCaptures.http, rounds: 10_000, seed: 0x4777, insertions: insertions) {
            _ = try? BoundedHTTP.parse(bytes, complete: false)
            if let response = try? BoundedHTTP.parse(bytes, complete: true) { #expect(response.body.count <= bytes.count) }
        }
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    /// A server that accepts and never answers costs the deadline, no more.
    @Test func aSilentServerEndsAtTheDeadline() throws {
        let (listening, port) = try TCPProbeTests.listener()
        let started = ContinuousClock.now
        #expect(throws: HTTPError.timedOut) {
            try BoundedHTTP.post([], to: .init(address: IPAddress("127.0.0.1")!, port: port, path: "/", authority: "x"), contentType: "text/plain", until: .after(.milliseconds(300)))
        }
        #expect(ContinuousClock.now - started < .milliseconds(800))
        withExtendedLifetime(listening) {}
    }
}

@Suite struct AvahiLineTests {
    @Test func randomLinesNeverCrash() {
        let seeds = [Array("+ 2 0 nas.local 169.254.77.1\n".utf8), Array("- 15 Timeout reached\n".utf8)]
        for bytes in Mutations.inputs(seeds: seeds, rounds: 10_000, seed: 0xA7A1, insertions: [[0xFF], [10], [32], [0]]) {
            if case .resolved(let addresses) = AvahiClient.parse(String(decoding: bytes, as: UTF8.self)) { #expect(addresses.count == 1) }
        }
    }
}

@Suite struct LANMergeTests {
    static let smb = ServiceAnnouncement(instance: "nas._smb._tcp.local", kind: .smb, host: "nas.local", port: 445, txt: [:], addresses: [IPAddress("192.0.2.7")!])

    @Test func mdnsAndWSDOfOneHostMerge() {
        let wsd = WSDHost(endpoint: "urn:uuid:1", addresses: [IPAddress("192.0.2.7")!], computerName: "NAS", workgroup: "WG", domain: nil, model: nil)
        let hosts = LANDiscovery.merge(announcements: [Self.smb], wsd: [wsd], ownAddresses: [])
        #expect(hosts.count == 1)
        #expect(hosts[0].name == "nas.local")
        #expect(hosts[0].foundBy == [.mdns, .wsd])
        #expect(hosts[0].nextCommandTarget == "nas.local")
    }

    @Test func thisMachineAndSilentHostsAreLeftOut() {
        let deviceOnly = ServiceAnnouncement(instance: "mac._device-info._tcp.local", kind: .deviceInfo, host: nil, port: nil, txt: ["model": "Mac"], addresses: [])
        #expect(LANDiscovery.merge(announcements: [Self.smb, deviceOnly], wsd: [], ownAddresses: [IPAddress("192.0.2.7")!]).isEmpty)
        #expect(LANDiscovery.merge(announcements: [deviceOnly], wsd: [], ownAddresses: []).isEmpty)
    }

    @Test func aNetBIOSNameGetsTheAddressAsNextCommand() {
        let wsd = WSDHost(endpoint: "urn:uuid:1", addresses: [IPAddress("192.0.2.9")!], computerName: "WINNAS", workgroup: "WG", domain: nil, model: nil)
        let hosts = LANDiscovery.merge(announcements: [], wsd: [wsd], ownAddresses: [])
        #expect(hosts.first?.nextCommandTarget == "192.0.2.9")
        let text = LANDiscoveryPresentation.text(hosts, seconds: 3)
        #expect(text.contains("extlib-net discover 192.0.2.9"), "\(text)")
        #expect(text.contains("WINNAS"))
    }

    @Test func jsonShape() throws {
        let json = Rendering.json(LANDiscoveryReport(hosts: LANDiscovery.merge(announcements: [Self.smb], wsd: [], ownAddresses: [])))
        #expect(json == #"{"hosts":[{"name":"nas.local","addresses":["192.0.2.7"],"services":["smb"],"foundBy":["mdns"],"model":null,"exports":[]}]}"#)
    }

    @Test func controlCharactersNeverReachTheTerminal() {
        let evil = ServiceAnnouncement(instance: "x._smb._tcp.local", kind: .smb, host: "e\u{1B}[2Jvil.local", port: 445, txt: [:], addresses: [IPAddress("192.0.2.8")!])
        let text = LANDiscoveryPresentation.text(LANDiscovery.merge(announcements: [evil], wsd: [], ownAddresses: []), seconds: 3)
        #expect(!text.contains("\u{1B}"))
    }
}
