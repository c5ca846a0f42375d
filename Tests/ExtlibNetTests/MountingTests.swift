import Foundation
import Testing
@testable import System
@testable import Formats
@testable import Discovery
@testable import Mounting

@Suite struct MountInfoTests {
    @Test func parsesNetworkMountsWithEscapes() {
        let text = """
            22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw
            97 29 0:52 / /root/snap/immich-distribution/common/Fotos\\040M\\303\\274ller ro,relatime shared:60 - cifs //127.0.0.1/Fotos\\040M\\303\\274ller ro,vers=3.1.1,cache=strict,username=alice,uid=0
            98 29 0:53 / /var/snap/immich-distribution/common/tab\\011and\\134back rw master:1 - nfs4 127.0.0.1:/ rw,vers=4.2
            garbage line
            """
        let entries = MountInfo.parse(text)
        #expect(entries.count == 3)
        #expect(entries[1].mountPoint == "/root/snap/immich-distribution/common/Fotos Müller")
        #expect(entries[1].source == "//127.0.0.1/Fotos Müller")
        #expect(entries[1].fileSystemType == "cifs")
        #expect(entries[1].options == ["ro", "relatime"])
        #expect(entries[1].superOptions.contains("vers=3.1.1"))
        #expect(entries[2].mountPoint == "/var/snap/immich-distribution/common/tab\tand\\back")
        #expect(entries[2].fileSystemType == "nfs4")
    }

    @Test func unescapeLeavesIncompleteEscapesAlone() {
        #expect(MountInfo.unescape("a\\04") == "a\\04")
        #expect(MountInfo.unescape("a\\999b") == "a\\999b")
        #expect(MountInfo.unescape("\\040") == " ")
        #expect(MountInfo.unescape("end\\") == "end\\")
    }
}

@Suite struct BackoffTests {
    @Test func ceilingDoublesUpToTheCap() {
        let backoff = Backoff.standard
        #expect((0...7).map { backoff.ceiling(attempt: $0) } == [1, 2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
        #expect(backoff.ceiling(attempt: 1000) == .seconds(30))
    }

    @Test func everyDelayIsWithinItsBounds() {
        var generator = SystemRandomNumberGenerator()
        let backoff = Backoff(base: .milliseconds(250), cap: .seconds(5))
        for attempt in 0..<12 {
            var seenLow = false
            var seenHigh = false
            let ceiling = backoff.ceiling(attempt: attempt)
            for _ in 0..<200 {
                let delay = backoff.delay(attempt: attempt, using: &generator)
                #expect(delay >= .zero && delay <= ceiling)
                if delay < ceiling / 2 { seenLow = true } else { seenHigh = true }
            }
            #expect(seenLow && seenHigh, "full jitter spreads over the whole range")
        }
    }
}

@Suite struct MountURLTests {
    @Test func parsesWhatDiscoverPrints() throws {
        #expect(try MountURL.parse("smb://nas.local/photos") == .smb(host: "nas.local", port: nil, share: "photos", subdirectory: nil))
        #expect(try MountURL.parse("smb://127.0.0.1:1445/Fotos%20M%C3%BCller/2024/summer")
            == .smb(host: "127.0.0.1", port: 1445, share: "Fotos Müller", subdirectory: "2024/summer"))
        #expect(try MountURL.parse("nfs://nas.local/volume1/photos") == .nfs(host: "nas.local", port: nil, path: "/volume1/photos"))
        #expect(try MountURL.parse("NFS://[::1]:2049/export") == .nfs(host: "::1", port: 2049, path: "/export"))
        #expect(try MountURL.parse("nfs://nas.local/") == .nfs(host: "nas.local", port: nil, path: "/"), "NFSv4 pseudo-root")
        #expect(try MountURL.parse("nfs://nas.local/").description == "nfs://nas.local/")
    }

    @Test func roundTripsThroughItsDescription() throws {
        for text in ["smb://nas.local/Fotos%20M%C3%BCller/a%20b", "nfs://nas.local/volume1/my%20photos", "smb://[::1]:445/x", "nfs://10host:2049/e"] {
            #expect(try MountURL.parse(text).description == text)
        }
        // Every share name discover can print parses back to itself.
        for share in ["photos", "Fotos Müller", "backup$", "a,b", "100%", "日本"] {
            let url = "smb://nas/" + URLComponent.encode(share)
            guard case .smb(_, _, let parsed, _) = try MountURL.parse(url) else { Issue.record("not smb"); continue }
            #expect(parsed == share)
        }
    }

    @Test(arguments: [
        ("http://nas/photos", "is not an smb:// or nfs:// URL"),
        ("smb://nas", "names no share"),
        ("smb://nas/", "names no share"),
        ("smb://alice:secret@nas/photos", "contains a user name or password"),
        ("smb://nas:0/photos", "invalid port"),
        ("smb://nas:99999/photos", "invalid port"),
        ("smb://:445/photos", "no valid host"),
        ("smb://na s/photos", "no valid host"),
        ("smb://nas/%zz", "bad %-escape"),
        ("smb://nas/photos/../etc", "'..'"),
        ("smb://nas/a%2Fb", "'..'"),
        ("smb://nas/a%0Ab", "control-character"),
        ("smb://nas/photos?x=1", "'?' or '#'"),
    ])
    func rejectsBadURLs(_ url: String, _ message: String) {
        do {
            _ = try MountURL.parse(url)
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
            #expect(!error.description.contains("secret"))
        }
    }
}

@Suite struct CIFSOptionsTests {
    @Test func guestReadOnlyOwnedByRootByDefault() throws {
        #expect(try CIFSOptions().optionString() == "ro,guest,uid=0,gid=0,forceuid,forcegid,nosharesock,nosuid,nodev,noexec")
    }

    @Test func accountVersionModesAndExtras() throws {
        var options = CIFSOptions()
        options.readOnly = false
        options.username = "alice"
        options.domain = "WORKGROUP"
        options.dialect = .v3_0
        options.port = 1445
        options.fileMode = 0o644
        options.directoryMode = 0o755
        options.extras = try CIFSOptions.parseExtras("cache=none,actimeo=30,nobrl")
        #expect(try options.optionString() == "rw,username=alice,domain=WORKGROUP,vers=3.0,port=1445,uid=0,gid=0,forceuid,forcegid,nosharesock,nosuid,nodev,noexec,file_mode=0644,dir_mode=0755,cache=none,actimeo=30,nobrl")
    }

    @Test(arguments: ["alice,uid=0", "alice\n", "", "a,password=x"])
    func hostileUsernamesAreRefused(_ username: String) {
        var options = CIFSOptions()
        options.username = username
        #expect(throws: MountOptionError.self) { try options.optionString() }
    }

    @Test func hostileDomainIsRefused() {
        var options = CIFSOptions()
        options.username = "alice"
        options.domain = "WG,uid=0"
        #expect(throws: MountOptionError.self) { try options.optionString() }
    }

    @Test(arguments: [
        ("password=x", MountOptionError.reservedOption("password")),
        ("cache=none,username=root", .reservedOption("username")),
        ("Credentials=/etc/x", .reservedOption("Credentials")),
        ("uid=1000", .reservedOption("uid")),
        ("rw", .reservedOption("rw")),
        ("a,,b", .emptyOption),
        ("cache=none,", .emptyOption),
        ("=x", .badOption("=x")),
        ("cache=no ne", .badOption("cache=no ne")),
        ("x\ny", .badOption("x\ny")),
        ("ké=v", .badOption("ké=v")),
    ])
    func hostileExtrasAreRefused(_ text: String, _ expected: MountOptionError) {
        #expect(throws: expected) { try CIFSOptions.parseExtras(text) }
    }

    @Test func modesAreBounded() {
        var options = CIFSOptions()
        options.fileMode = 0o17777
        #expect(throws: MountOptionError.badMode(0o17777)) { try options.optionString() }
    }

    @Test func negotiationNeverFallsBackToSMB1() {
        #expect(!SMBDialect.fallbackOrder.contains(.v1_0))
        #expect(SMBDialect.fallbackOrder.first == .v3_1_1)
    }
}

@Suite struct MountTargetTests {
    @Test func createsTheWholePathPrivatelyWalked() throws {
        let temp = try TemporaryRoot()
        let path = try MountTarget.prepare(name: "photos", base: .root, root: temp.root)
        #expect(path == temp.path + "/root/snap/immich-distribution/common/photos")
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
        // An existing, empty target is fine (a second `mount` of the same definition).
        #expect(try MountTarget.prepare(name: "photos", base: .root, root: temp.root) == path)
    }

    @Test(arguments: ["root/snap", "root/snap/immich-distribution", "root/snap/immich-distribution/common", "root/snap/immich-distribution/common/photos"])
    func refusesASymlinkAnywhereOnThePath(_ planted: String) throws {
        let temp = try TemporaryRoot()
        let elsewhere = temp.path + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere + "/immich-distribution/common/photos", withIntermediateDirectories: true)
        let link = temp.path + "/" + planted
        try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: elsewhere)
        #expect(throws: MountTargetError.symlink(link)) { try MountTarget.prepare(name: "photos", base: .root, root: temp.root) }
    }

    @Test func refusesAFileOrANonEmptyDirectory() throws {
        let temp = try TemporaryRoot()
        let base = temp.path + "/var/snap/immich-distribution/common"
        try FileManager.default.createDirectory(atPath: base + "/full", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: base + "/full/keep.jpg", contents: Data("x".utf8))
        FileManager.default.createFile(atPath: base + "/file", contents: Data("x".utf8))
        #expect(throws: MountTargetError.notEmpty(base + "/full")) { try MountTarget.prepare(name: "full", base: .var, root: temp.root) }
        #expect(throws: MountTargetError.notDirectory(base + "/file")) { try MountTarget.prepare(name: "file", base: .var, root: temp.root) }
        #expect(FileManager.default.fileExists(atPath: base + "/full/keep.jpg"))
    }

    @Test func refusesImmichsOwnMediaFolder() throws {
        let temp = try TemporaryRoot()
        #expect(throws: MountTargetError.insideImmichMedia(temp.path + "/var/snap/immich-distribution/common/upload")) {
            try MountTarget.prepare(name: "upload", base: .var, root: temp.root)
        }
    }
}

@Suite struct MountsFileTests {
    func smb(_ name: String = "photos") throws -> MountDefinition {
        var definition = MountDefinition(name: name, url: try MountURL.parse("smb://nas.local/Fotos%20M%C3%BCller/2024"))
        definition.credentials = "nas"
        definition.smbVersion = .v3_0
        definition.uid = 1000
        definition.fileMode = 0o644
        definition.options = ["cache=none", "actimeo=30"]
        return definition
    }

    @Test func appendedDefinitionsParseBackEqual() throws {
        var file = MountsFile()
        let photos = try smb()
        var backup = MountDefinition(name: "backup", url: try MountURL.parse("nfs://nas.local/volume1/backup"))
        backup.readWrite = true
        backup.nfsVersion = .v3
        backup.sandbox = .root
        try file.append(photos)
        try file.append(backup)
        let parsed = try MountsFile.parse(file.rendered())
        #expect(parsed.definitions == [photos, backup])
        #expect(parsed.definition(named: "backup")?.effectiveSandbox == .root)
        #expect(parsed.definition(named: "photos")?.effectiveSandbox == .root)
        #expect(file.rendered().hasPrefix("# extlib-net mount definitions"))
    }

    @Test func handEditsAndCommentsSurviveEdits() throws {
        let text = """
            # my NAS
            [mounts.photos]   # the family library
            url = 'nfs://nas.local/volume1/photos'
            options = "noatime"

            # kept: describes old
            [mounts.old]
            url = "smb://nas/old"
            """
        var file = try MountsFile.parse(text)
        #expect(file.definition(named: "photos")?.options == ["noatime"])
        #expect(file.definition(named: "photos")?.effectiveSandbox == .var)
        try file.remove(named: "photos")
        try file.append(try smb("new"))
        let result = file.rendered()
        #expect(result.contains("# my NAS"))
        #expect(result.contains("# kept: describes old"))
        #expect(!result.contains("volume1/photos"))
        #expect(try MountsFile.parse(result).definitions.map(\.name) == ["old", "new"])
    }

    @Test(arguments: [
        ("[mounts.a]\nurl = \"smb://nas/a\"\nurl = \"x\"\n", 3),
        ("[mounts.a]\nurl = smb://nas/a\n", 2),
        ("[mounts.a]\nurl = \"smb://nas/a\"\n\n[mounts.b]\nurl = \"ftp://x\"\n", 4),
        ("[mounts.b]\nurl = \"nfs://nas/x\"\ncredentials = \"nas\"\n", 1),
        ("[mounts.b]\nurl = \"smb://nas/x\"\nuid = -1\n", 1),
        ("[mounts.b]\nurl = \"smb://nas/x\"\nfile-mode = \"999\"\n", 1),
        ("[mounts.b]\nurl = \"smb://nas/x\"\noptions = \"password=x\"\n", 1),
        ("[mounts.b]\nurl = \"smb://nas/x\"\nusername = \"root\"\n", 1),
        ("[mounts.\"bad name\"]\nurl = \"smb://nas/x\"\n", 1),
        ("[other]\nx = 1\n", 1),
        ("[mounts.upload]\nurl = \"nfs://nas/x\"\n", 1),
    ])
    func malformedFilesNameTheLine(_ text: String, _ line: Int) {
        do {
            _ = try MountsFile.parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
        }
    }

    @Test func quotingSurvivesHostileValues() throws {
        var definition = MountDefinition(name: "q", url: try MountURL.parse("smb://nas/a%22b%23c/sub%20dir"))
        definition.options = [#"x=a"b\c"#]
        var file = MountsFile()
        try file.append(definition)
        #expect(try MountsFile.parse(file.rendered()).definitions == [definition])
        #expect(MountsFile.quoted("tab\there\u{7F}") == #""tab\u0009here\u007F""#)
    }
}

/// A clock that only moves when the code under test sleeps.
final class FakeClock: RetryClock, @unchecked Sendable {
    private(set) var now: ContinuousClock.Instant = .now
    private(set) var sleeps: [Duration] = []
    func sleep(for duration: Duration) {
        sleeps.append(duration)
        now = now + duration
    }
}

/// Deterministic randomness for the retry tests (SplitMix64).
struct SeededGenerator: RandomNumberGenerator, Sendable {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct RetryTests {
    let refused = MountFailure(.transient, "mount error(111): Connection refused")
    let denied = MountFailure(.permanent, "mount error(13): Permission denied")

    @Test func transientFailuresAreRetriedWithBoundedDelaysUntilSuccess() {
        let clock = FakeClock()
        var retrier = Retrier(wait: .seconds(120), clock: clock, generator: SeededGenerator(state: 7))
        var reports: [Retrier<SeededGenerator>.Report] = []
        let result = retrier.run(report: { reports.append($0) }) { number, _ -> AttemptOutcome<String> in
            number < 6 ? .failure(refused) : .success("mounted")
        }
        #expect(result == .success("mounted"))
        #expect(reports.map(\.attempt) == [1, 2, 3, 4, 5])
        #expect(clock.sleeps.count == 5)
        for (index, delay) in clock.sleeps.enumerated() {
            #expect(delay >= .zero && delay <= Backoff.standard.ceiling(attempt: index), "delay \(index) = \(delay)")
        }
        #expect(reports.map(\.nextDelay) == clock.sleeps.map { Optional($0) })
    }

    @Test func permanentFailureStopsAtOnce() {
        let clock = FakeClock()
        var retrier = Retrier(wait: .seconds(120), clock: clock, generator: SeededGenerator(state: 1))
        var attempts = 0
        let result = retrier.run(report: { _ in }) { _, _ -> AttemptOutcome<Int> in
            attempts += 1
            return .failure(denied)
        }
        #expect(result == .failure(denied))
        #expect(attempts == 1)
        #expect(clock.sleeps.isEmpty)
    }

    @Test func waitBoundsTheWholeLoop() {
        let clock = FakeClock()
        let start = clock.now
        var retrier = Retrier(wait: .seconds(20), clock: clock, generator: SeededGenerator(state: 3))
        var last: Retrier<SeededGenerator>.Report?
        var lefts: [Duration] = []
        let result = retrier.run(report: { last = $0 }) { _, left -> AttemptOutcome<Int> in
            lefts.append(left)
            return .failure(refused)
        }
        #expect(result == .failure(refused))
        #expect(clock.now - start == .seconds(20), "delays are clamped to the time left, not given up on: the last try is at the end")
        #expect(lefts.last == .zero)
        #expect(zip(lefts, lefts.dropFirst()).allSatisfy { $0 > $1 }, "each attempt knows the time left")
        #expect(last?.nextDelay == nil, "the last report says no further try follows")
    }

    /// A NAS that is off is probed every second (no helper runs then), so the mount follows within about
    /// a second of it answering; the same reason is reported once per 30 s, not every second.
    @Test func anUnreachableServerIsProbedEverySecondAndReportedQuietly() {
        let clock = FakeClock()
        var retrier = Retrier(wait: .seconds(300), clock: clock, generator: SeededGenerator(state: 5))
        let off = MountFailure(.unreachable, "connection refused by 127.0.0.1:445")
        var reports: [Retrier<SeededGenerator>.Report] = []
        let result = retrier.run(report: { reports.append($0) }) { number, _ -> AttemptOutcome<String> in
            number <= 100 ? .failure(off) : .success("mounted")
        }
        #expect(result == .success("mounted"))
        #expect(clock.sleeps.count == 100)
        #expect(clock.sleeps.allSatisfy { $0 == .seconds(1) })
        #expect(reports.count == 4, "attempts 1, 31, 61, 91: \(reports.map(\.attempt))")
        // A helper failure while the port is open still backs off.
        let clock2 = FakeClock()
        var backing = Retrier(wait: .seconds(300), clock: clock2, generator: SeededGenerator(state: 5))
        _ = backing.run(report: { _ in }) { number, _ -> AttemptOutcome<String> in number <= 6 ? .failure(refused) : .success("x") }
        #expect(clock2.sleeps.reduce(.zero, +) > .seconds(6), "backoff grows: \(clock2.sleeps)")
    }

    @Test(arguments: [
        ("mount error(13): Permission denied\nRefer to the mount.cifs(8) manual page", MountFailure.Kind.permanent),
        ("mount error(2): No such file or directory", .permanent),
        ("mount error(22): Invalid argument", .permanent),
        ("mount error(111): Connection refused", .transient),
        ("mount error(112): Host is down", .transient),
        ("mount error(113): Could not connect to server", .transient),
        ("mount error(95): Operation not supported", .unsupportedVersion),
        ("mount.nfs: Connection refused", .transient),
        ("mount.nfs: Connection timed out", .transient),
        ("mount.nfs: access denied by server while mounting 127.0.0.1:/x", .permanent),
        ("mount.nfs: Protocol not supported", .unsupportedVersion),
        ("mount.nfs: mount system call failed", .transient),
        ("mount.nfs: an incorrect mount option was specified", .permanent),
        ("mount error(111): could not connect to 127.0.0.1Unable to find suitable address.", .transient),
        ("mount.nfs: requested NFS version or transport protocol is not supported", .unsupportedVersion),
        ("something nobody expected", .permanent),
    ])
    func classifiesHelperErrors(_ text: String, _ kind: MountFailure.Kind) {
        let failure = MountFailure.classify(status: 32, standardError: text)
        #expect(failure.kind == kind, "\(text)")
        #expect(failure.reason == String(text.split(separator: "\n").first!))
    }

    /// What mount.cifs 7.0 (Debian 12) wrote in the VM for an SMB1-only server: the errno is on the 4th line.
    static let smb1OnlyServerText = """
        mount error: Server abruptly closed the connection.
        This can happen if the server does not support the SMB version you are trying to use.
        The default SMB version recently changed from SMB1 to SMB2.1 and above. Try mounting with vers=1.0.
        mount error(112): Host is down
        Refer to the mount.cifs(8) manual page (e.g. man mount.cifs) and kernel log messages (dmesg)
        """

    @Test func hostDownIsFoundOnAnyLine() {
        #expect(MountFailure.classify(status: 32, standardError: Self.smb1OnlyServerText).kind == .transient)
        #expect(MountFailure.saysHostDown(Self.smb1OnlyServerText))
        #expect(MountFailure.saysHostDown("mount error(112): Host is down"))
        #expect(!MountFailure.saysHostDown("mount error(13): Permission denied"))
        #expect(!MountFailure.saysHostDown("mount error(111): Connection refused"))
    }
}

/// Stands in for mount.cifs / mount.nfs: records every call and answers from a script.
final class FakeRunner: ProcessRunner, @unchecked Sendable {
    struct Call { let executable: String; let arguments: [String]; let secret: Secret? }
    private(set) var calls: [Call] = []
    let answer: (Call) -> ProcessResult

    init(_ answer: @escaping (Call) -> ProcessResult) { self.answer = answer }

    func run(_ executable: String, _ arguments: [String], secret: Secret?, until deadline: Deadline) -> ProcessResult {
        let call = Call(executable: executable, arguments: arguments, secret: secret)
        calls.append(call)
        return answer(call)
    }
}

@Suite struct MounterTests {
    let alice = SMBAccount(user: "alice", domain: "WG", password: Secret(#"pa,ss"word"#))

    func definition(_ url: String, port: UInt16? = nil) throws -> MountDefinition {
        MountDefinition(name: "photos", url: try MountURL.parse(url))
    }

    @Test func smbPlansNegotiateDownwardsNeverSMB1AndKeepThePasswordOutOfArgv() throws {
        let plans = Mounter.plans(for: try definition("smb://nas.local/Fotos%20M%C3%BCller/2024"), address: IPAddress("192.0.2.7")!, target: "/t", account: alice)
        #expect(plans.map(\.version) == [.smb(.v3_1_1), .smb(.v3_0), .smb(.v2_1), .smb(.v2_0)])
        #expect(plans.map(\.version.description) == ["SMB 3.1.1", "SMB 3.0", "SMB 2.1", "SMB 2.0"])
        #expect(plans[0].helper == "/sbin/mount.cifs")
        #expect(plans[0].arguments == ["//nas.local/Fotos Müller/2024", "/t", "-o", "ro,username=alice,domain=WG,vers=3.1.1,uid=0,gid=0,forceuid,forcegid,nosharesock,nosuid,nodev,noexec,ip=192.0.2.7"])
        #expect(plans.allSatisfy { !$0.arguments.joined().contains("pa,ss") })
    }

    @Test func nfsPlansUseTheResolvedAddress() throws {
        var nfs = try definition("nfs://nas.local/volume1/photos")
        nfs.readWrite = true
        let plans = Mounter.plans(for: nfs, address: IPAddress("192.0.2.7")!, target: "/t", account: nil)
        #expect(plans.map(\.version) == [.nfs(.v4_2), .nfs(.v4_1), .nfs(.v4), .nfs(.v3)])
        #expect(plans.map(\.version.description) == ["NFS 4.2", "NFS 4.1", "NFS 4", "NFS 3"])
        #expect(plans.map(\.isNFSv4) == [true, true, true, false])
        #expect(plans.last?.arguments == ["192.0.2.7:/volume1/photos", "/t", "-o", "rw,vers=3,nosuid,nodev,noexec"])
        nfs.nfsVersion = .v3
        #expect(Mounter.plans(for: nfs, address: IPAddress("192.0.2.7")!, target: "/t", account: nil).count == 1)
    }

    /// A real listener on the host's loopback, so the reachability check passes.
    func withListener(_ body: (UInt16) throws -> Void) throws {
        let (socket, port) = try TCPProbeTests.listener()
        try body(port)
        withExtendedLifetime(socket) {}
    }

    func mounter(_ runner: FakeRunner) throws -> Mounter {
        Mounter(root: try TemporaryRoot().root, logger: .init(label: "test"), runner: runner, clock: FakeClock())
    }

    @Test func unsupportedDialectsFallBackToTheNextVersion() throws {
        try withListener { port in
            let runner = FakeRunner { call in
                call.arguments[3].contains("vers=3.1.1") ? ProcessResult(status: 32, standardError: "mount error(95): Operation not supported") : ProcessResult(status: 0, standardError: "")
            }
            let outcome = try mounter(runner).attempt(try definition("smb://127.0.0.1:\(port)/photos"), target: "/t", account: alice)
            guard case .success(let source) = outcome else { Issue.record("\(outcome)"); return }
            #expect(source == "//127.0.0.1/photos")
            #expect(runner.calls.count == 2)
            #expect(runner.calls.allSatisfy { $0.secret?.reveal() == #"pa,ss"word"# })
        }
    }

    @Test func wrongPasswordFailsAtOnceWithoutTryingOtherVersions() throws {
        try withListener { port in
            let runner = FakeRunner { _ in ProcessResult(status: 32, standardError: "mount error(13): Permission denied\n") }
            let outcome = try mounter(runner).attempt(try definition("smb://127.0.0.1:\(port)/photos"), target: "/t", account: alice)
            guard case .failure(let failure) = outcome else { Issue.record("mounted?"); return }
            #expect(failure.kind == .permanent)
            #expect(runner.calls.count == 1)
        }
    }

    @Test func anExportPathMissingOverNFSv4IsTriedOverNFSv3() throws {
        try withListener { port in
            let notFound = "mount.nfs: mounting 127.0.0.1:/srv/export failed, reason given by server: No such file or directory\n"
            let runner = FakeRunner { call in
                call.arguments[3].contains("vers=3") ? ProcessResult(status: 0, standardError: "") : ProcessResult(status: 32, standardError: notFound)
            }
            let outcome = try mounter(runner).attempt(try definition("nfs://127.0.0.1:\(port)/srv/export"), target: "/t", account: nil)
            guard case .success = outcome else { Issue.record("\(outcome)"); return }
            #expect(runner.calls.map { $0.arguments[3] } == ["ro,vers=4.2,port=\(port),nosuid,nodev,noexec", "ro,vers=3,port=\(port),nosuid,nodev,noexec"], "4.1 and 4.0 see the same pseudo file system")

            let nowhere = FakeRunner { _ in ProcessResult(status: 32, standardError: notFound) }
            let missing = try mounter(nowhere).attempt(try definition("nfs://127.0.0.1:\(port)/srv/export"), target: "/t", account: nil)
            guard case .failure(let failure) = missing else { Issue.record("mounted?"); return }
            #expect(failure.kind == .permanent)
            #expect(failure.reason.contains("No such file"))
            #expect(nowhere.calls.count == 2)
        }
    }

    @Test func closedPortIsUnreachableAndNoHelperRuns() throws {
        var port: UInt16 = 0
        try withListener { port = $0 }  // closed once the listener is gone
        let runner = FakeRunner { _ in ProcessResult(status: 0, standardError: "") }
        let outcome = try mounter(runner).attempt(try definition("nfs://127.0.0.1:\(port)/x"), target: "/t", account: nil)
        guard case .failure(let failure) = outcome else { Issue.record("mounted?"); return }
        #expect(failure.kind == .unreachable)
        #expect(failure.reason.contains("connection refused"))
        #expect(runner.calls.isEmpty)
    }

    @Test func hungHelperIsTransient() throws {
        try withListener { port in
            let runner = FakeRunner { _ in ProcessResult(status: 137, standardError: "", timedOut: true) }
            let outcome = try mounter(runner).attempt(try definition("smb://127.0.0.1:\(port)/photos"), target: "/t", account: nil)
            guard case .failure(let failure) = outcome else { Issue.record("mounted?"); return }
            #expect(failure.kind == .transient)
        }
    }

    @Test func mountinfoMatching() throws {
        let smb = try definition("smb://nas.local/Fotos%20M%C3%BCller")
        let entry = { (type: String, source: String) in
            MountInfo.parse("1 2 0:1 / /t rw - \(type) \(source.replacingOccurrences(of: " ", with: "\\040")) rw").first!
        }
        #expect(Mounter.matches(entry("cifs", "//nas.local/Fotos Müller"), smb))
        #expect(Mounter.matches(entry("cifs", "//192.0.2.7/fotos müller"), smb), "SMB share names are case-insensitive")
        #expect(!Mounter.matches(entry("cifs", "//nas.local/other"), smb))
        #expect(!Mounter.matches(entry("nfs4", "nas.local:/Fotos Müller"), smb))
        let nfs = try definition("nfs://nas.local/volume1/photos")
        #expect(Mounter.matches(entry("nfs4", "192.0.2.7:/volume1/photos"), nfs))
        #expect(!Mounter.matches(entry("nfs", "192.0.2.7:/volume1"), nfs))
        #expect(Mounter.matches(entry("nfs4", "127.0.0.1:/"), try definition("nfs://127.0.0.1/")))
    }
}

@Suite struct MountProgressBoardTests {
    final class Screen: @unchecked Sendable {
        var written = ""
    }

    /// Replays what the board wrote through a minimal terminal: cursor up, carriage return, clear line.
    static func render(_ bytes: String) -> [String] {
        var lines: [String] = [""]
        var row = 0
        var rest = Substring(bytes)
        while let character = rest.first {
            rest = rest.dropFirst()
            switch character {
            case "\u{1B}":
                let command = rest.prefix { !$0.isLetter }
                let letter = rest.dropFirst(command.count).first
                rest = rest.dropFirst(command.count + 1)
                if letter == "A" { row -= Int(command.dropFirst()) ?? 1 }
                if letter == "K" { lines[row] = "" }
            case "\r": break
            case "\n":
                row += 1
                if row == lines.count { lines.append("") }
            default: lines[row].append(character)
            }
        }
        return Array(lines.dropLast())
    }

    @Test func oneLinePerShareRedrawnInPlace() {
        let screen = Screen()
        let board = MountProgressBoard(names: ["photos", "videos"], width: 60) { screen.written += $0 }
        board.handle(.started(name: "videos"))
        #expect(Self.render(screen.written) == ["photos: waiting", "videos: mounting ..."])
        board.handle(.attemptFailed(name: "videos", line: "videos: attempt 1 failed: connection refused; next try in 0.8 s"))
        board.handle(.started(name: "photos"))
        let share = MountedShare(name: "photos", target: "/r/photos", immichPath: "/r/photos", source: "//nas/p", wasMounted: false)
        board.handle(.finished(name: "photos", .success(share)))
        let lines = Self.render(screen.written)
        #expect(lines[0] == "photos: mounted on /r/photos")
        // Cut to the width less one, so a line never wraps and the cursor arithmetic stays right.
        #expect(lines[1] == String("videos: attempt 1 failed: connection refused; next try in 0.8 s".prefix(59)))
        board.handle(.finished(name: "videos", .failure(.credentials(.notFound(name: "acct", path: "/etc/extlib-net/credentials")))))
        #expect(Self.render(screen.written) == ["photos: mounted on /r/photos", String("videos: FAILED: no credential named 'acct' in /etc/extlib-net/credentials".prefix(59))])
        board.handle(.started(name: "unknown"))
        #expect(Self.render(screen.written).count == 2)
    }
}
