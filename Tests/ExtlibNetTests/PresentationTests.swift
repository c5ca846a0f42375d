import Testing
@testable import Core
@testable import System
@testable import Formats
@testable import Discovery
@testable import Credentials

/// A report as the network would have produced it, for presentation and status tests.
func makeReport(
    smbProbes: [(UInt16, PortState)] = [(445, .open), (139, .closed)],
    shares: [SMBShare] = [], smbError: SMBListingError? = nil, listedAs: String? = nil,
    nfsPort: PortState = .open, portmapper: PortState = .open,
    exports: [NFSExport] = [], nfsError: NFSListingError? = nil,
    host: String = "nas.local"
) -> DiscoveryReport {
    let resolved = ResolvedHost(host: .name(host), addresses: [IPAddress("192.0.2.7")!], method: .multicastDNS)
    var report = DiscoveryReport(host: host, resolved: resolved, options: DiscoveryOptions(host: .name(host)))
    report.smb.probes = smbProbes.map { (port: $0.0, state: $0.1) }
    report.smb.shares = shares
    report.smb.error = smbError
    report.smb.listedAs = listedAs
    report.nfs.nfsPort = nfsPort
    report.nfs.portmapper = portmapper
    report.nfs.exports = exports
    report.nfs.error = nfsError
    return report
}

@Suite struct PresentationTests {
    let photos = SMBShare(name: "Fotos Müller", type: .disk, comment: "Ünïcode \"quoted\"")

    @Test func jsonHasTheDocumentedShape() {
        let report = makeReport(shares: [photos], exports: [NFSExport(path: "/volume1/photos", clients: ["127.0.0.1", "169.254.77.0/24"])])
        let json = Rendering.json(report)
        #expect(json.hasPrefix(#"{"host":"nas.local","addresses":["192.0.2.7"],"#))
        #expect(json.contains(#""smb":{"port":445,"reachable":true,"shares":[{"name":"Fotos Müller","type":"disk","comment":"Ünïcode \"quoted\"","mountable":true,"unmountableReason":null}],"error":null,"#))
        #expect(json.contains(#""nfs":{"reachable":true,"exports":[{"path":"/volume1/photos","clients":["127.0.0.1","169.254.77.0/24"],"mountable":true,"unmountableReason":null}],"v4only":false,"error":null,"#))
    }

    @Test func jsonPortIsNullWhenNoSMBPortIsOpen() {
        let report = makeReport(smbProbes: [(445, .noAnswer), (139, .closed)])
        let json = Rendering.json(report)
        #expect(json.contains(#""smb":{"port":null,"reachable":false,"shares":[],"error":null"#))
    }

    @Test func v4OnlyWhenNoPortmapperOrNoMountService() {
        #expect(makeReport(portmapper: .closed).nfs.isV4Only)
        #expect(makeReport(portmapper: .open, nfsError: .noMountService).nfs.isV4Only)
        #expect(!makeReport(portmapper: .open, nfsError: .timedOut(step: "x")).nfs.isV4Only)
        #expect(!makeReport(nfsPort: .closed, portmapper: .closed).nfs.isV4Only)
        let json = Rendering.json(makeReport(portmapper: .closed))
        #expect(json.contains(#""v4only":true,"error":null"#))
    }

    @Test func statusFollowsWhatWasFound() {
        #expect(makeReport(shares: [photos]).exitStatus == .success)
        #expect(makeReport(nfsPort: .open, portmapper: .closed).exitStatus == .success)
        #expect(makeReport(smbProbes: [(445, .closed)], nfsPort: .closed, portmapper: .noAnswer).exitStatus == .unreachable)
        #expect(makeReport(smbError: .authenticationRequired, nfsPort: .closed, portmapper: .closed).exitStatus == .authentication)
        #expect(makeReport(shares: [photos], smbError: .authenticationFailed(user: "alice")).exitStatus == .authentication)
        #expect(makeReport(smbError: .timedOut, nfsPort: .closed, portmapper: .closed).exitStatus == .refused)
        // Guest refused on SMB, but NFS exports found: something was found.
        #expect(makeReport(smbError: .authenticationRequired, exports: [NFSExport(path: "/x", clients: [])]).exitStatus == .success)
    }

    @Test func textShowsTablesAndNextSteps() {
        let report = makeReport(shares: [photos], exports: [NFSExport(path: "/volume1/photos", clients: [])])
        let text = DiscoveryPresentation.text(report)
        #expect(text.contains("nas.local: 192.0.2.7 (multicast DNS query)"))
        #expect(text.contains("  Fotos Müller  disk  Ünïcode"))
        #expect(text.contains("  /volume1/photos  (everyone)"))
        #expect(text.contains("extlib-net add Fotos-Mueller smb://nas.local/Fotos%20M%C3%BCller"))
        #expect(text.contains("extlib-net add volume1-photos nfs://nas.local/volume1/photos"))
    }

    @Test func authenticationRequiredSaysWhatToRunNext() {
        let text = DiscoveryPresentation.text(makeReport(smbError: .authenticationRequired))
        #expect(text.contains("authentication required"))
        #expect(text.contains("extlib-net discover nas.local --user NAME"))
        #expect(!text.contains("no disk shares"))
    }

    @Test func authenticationFailureIsDistinct() {
        let text = DiscoveryPresentation.text(makeReport(smbError: .authenticationFailed(user: "alice")), account: .user("alice"))
        #expect(text.contains("authentication failed"))
        #expect(!text.contains("authentication required"))
    }

    @Test func accountLeadsToACredentialsStep() {
        let steps = DiscoveryPresentation.nextSteps(makeReport(shares: [SMBShare(name: "secure", type: .disk, comment: "")], listedAs: "alice"), account: .user("alice"))
        #expect(steps.first == "extlib-net credentials add nas.local --user alice")
        #expect(steps.last == "extlib-net add secure smb://nas.local/secure --credentials nas.local")
    }

    @Test(arguments: [
        ("photos", "photos"), ("Fotos Müller", "Fotos-Mueller"), ("/volume1/photos", "volume1-photos"),
        ("backup$", "backup"), ("日本", "share"), ("--x--", "x"), (String(repeating: "a", count: 80), String(repeating: "a", count: 64)),
    ])
    func suggestedNamesMatchTheNameRule(_ pair: (String, String)) {
        let name = DiscoveryPresentation.suggestedName(pair.0)
        #expect(name == pair.1)
        #expect(name.count <= 64 && name.first!.isASCII && (name.first!.isLetter || name.first!.isNumber))
    }
}

@Suite struct SupportTests {
    @Test func jsonEscapes() {
        #expect(JSON.string("a\"b\\c\n\u{1}").serialized() == #""a\"b\\c\n\u0001""#)
        #expect(JSON.object([("z", .null), ("a", .bool(true)), ("n", .number(445))]).serialized() == #"{"z":null,"a":true,"n":445}"#)
        // One JSON type for output and for Immich's config: objects equal whatever their order, a
        // replacement keeps every other member in its place.
        #expect(JSON.object([("a", .integer(1)), ("b", .integer(2))]) == JSON.object([("b", .integer(2)), ("a", .integer(1))]))
        #expect(JSON.object([("a", .integer(1))]) != JSON.object([("a", .integer(1)), ("b", .null)]))
        let replaced = JSON.object([("z", .integer(1)), ("a", .object([("k", .bool(true))]))]).replacing(["a", "k"], with: .bool(false))
        #expect(replaced?.serialized() == #"{"z":1,"a":{"k":false}}"#)
        #expect(JSON.object([("a", .integer(1))]).replacing(["missing"], with: .null) == nil)
    }

    private struct Inner: Encodable { let z: Int; let a: [String?] }
    private struct Outer: Encodable {
        let zulu: String
        let alpha: Bool?
        let inner: Inner
        let table: [String: Int]
        let numbers: [Double]
    }

    /// The one path to --json: declaration order, explicit nulls (synthesized code calls encodeIfPresent),
    /// a dictionary's keys sorted so equal values print alike, nesting and escaping intact.
    @Test func orderedEncoderKeepsOrderAndNulls() throws {
        let value = Outer(zulu: "a\"b", alpha: nil, inner: Inner(z: 445, a: ["x", nil]), table: ["b": 2, "a": 1, "c": 3], numbers: [1.5, -2])
        #expect(Rendering.json(value) == #"{"zulu":"a\"b","alpha":null,"inner":{"z":445,"a":["x",null]},"table":{"a":1,"b":2,"c":3},"numbers":[1.5,-2]}"#)
        #expect(Rendering.json([Inner(z: 1, a: [])]) == #"[{"z":1,"a":[]}]"#)
        #expect(Rendering.json(Optional<Int>.none) == "null")
        #expect(Rendering.json([Int64.max, 1_000_000_000_000_000]) == "[9223372036854775807,1000000000000000]", "integers exact")
        #expect(throws: EncodingError.self) { try OrderedJSONEncoder.encode([1.0, .nan]) }
    }

    /// The JSON that commands print never carries a password: the listing type has no field for it.
    @Test func credentialListingHasNoPassword() throws {
        let credential = try Credential(name: "nas", username: "alice", password: Secret("s3cret,pw"), domain: nil)
        let json = Rendering.json([CredentialListing(credential)])
        #expect(json == #"[{"name":"nas","user":"alice","domain":null}]"#)
        #expect(!json.contains("s3cret"))
    }

    @Test func shellQuoting() {
        #expect(shellQuoted("photos") == "photos")
        #expect(shellQuoted("it's here") == #"'it'\''s here'"#)
        #expect(shellQuoted("$HOME") == "'$HOME'")
        #expect(shellQuoted("") == "''")
    }

    @Test func urlComponentsRoundTrip() {
        for text in ["Fotos Müller", "a/b c", "100%", "日本"] {
            #expect(URLComponent.decode(URLComponent.encode(text)) == text)
        }
        #expect(URLComponent.encode("/volume1/my photos", keepingSlashes: true) == "/volume1/my%20photos")
        #expect(URLComponent.decode("%zz") == nil)
    }

    @Test func secretsNeverPrint() {
        let secret = Secret("pa,ss\"word")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("pa,ss"))
        let account = SMBAccount(user: "alice", domain: nil, password: secret)
        #expect(!"\(account)".contains("pa,ss"))
    }

    @Test func passwordLines() throws {
        #expect(try PasswordInput.secret(fromLine: Array("pw\n".utf8)).reveal() == "pw")
        #expect(try PasswordInput.secret(fromLine: Array("p w,\"\r\n".utf8)).reveal() == "p w,\"")
        #expect(throws: PasswordInput.Failure.empty) { try PasswordInput.secret(fromLine: Array("\n".utf8)) }
        #expect(throws: PasswordInput.Failure.containsNewline) { try PasswordInput.secret(fromLine: Array("a\nb\n".utf8)) }
    }

    @Test func accountFieldsRejectInjection() {
        #expect(throws: Never.self) { try Credential.check(username: "alice") }
        #expect { try Credential.check(username: "alice,uid=0") } throws: { "\($0)".contains("','") }
        #expect(throws: CredentialFieldError.self) { try Credential.check(username: "a\nb") }
        #expect(throws: CredentialFieldError.self) { try Credential.check(username: "") }
        #expect(throws: CredentialFieldError.self) { try Credential.check(username: String(repeating: "a", count: 257)) }
    }

    @Test func deadlineRoundsUp() {
        let deadline = Deadline.after(.milliseconds(1500))
        let millis = deadline.remainingMilliseconds()
        #expect(millis > 1400 && millis <= 1500)
        #expect(Deadline.after(.zero).remainingMilliseconds() == 0)
        #expect(deadline.capped(after: .milliseconds(10)) < deadline)
    }
}

@Suite struct DurationTextTests {
    @Test func parsesWhatPeopleType() {
        #expect(DurationText.parse("90") == .seconds(90))
        #expect(DurationText.parse("90s") == .seconds(90))
        #expect(DurationText.parse("2min") == .seconds(120))
        #expect(DurationText.parse("1m30s") == .seconds(90))
        #expect(DurationText.parse("1.5") == .milliseconds(1500))
        #expect(DurationText.parse("1h") == .seconds(3600))
        for bad in ["", "-1", "abc", "5 min", "3x", "nan", "1e400"] {
            #expect(DurationText.parse(bad) == nil, "\(bad)")
        }
    }
}
