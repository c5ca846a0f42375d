import Foundation
import Testing
@testable import System
@testable import Formats
@testable import Discovery
@testable import Mounting
@testable import Boot

/// Text that would reach a mount helper's arguments or the kernel's option string.
@Suite struct MountTextTests {
    func definition(_ url: String) throws -> MountDefinition {
        MountDefinition(name: "x", url: try MountURL.parse(url))
    }

    @Test(arguments: [
        ("smb://127.0.0.1/photos%2Cip%3D10.9.9.9", MountText.Part.share),
        ("smb://nas/photos/sub%2Csec%3Dnone", .subfolder),
        ("smb://nas/photos/a%5C..", .subfolder),
        ("nfs://nas/export%2Csec%3Dsys", .exportPath),
        ("nfs://nas/volume1/a,b", .exportPath),
    ])
    func optionInjectionThroughTheURLIsRefused(_ url: String, _ part: MountText.Part) throws {
        let definition = try definition(url)
        do {
            try definition.validate()
            Issue.record("accepted \(url)")
        } catch {
            guard case .options(.unsafeText(let refused, _, _)) = error else { Issue.record("\(error)"); return }
            #expect(refused == part)
            #expect(error.description.contains("cannot be mounted safely"), "\(error)")
        }
    }

    @Test func theMessageSaysWhatIsWrongAndWhatToDo() throws {
        let error = #expect(throws: MountDefinitionError.self) { try definition("smb://nas/photos%2Cip%3D10.9.9.9").validate() }
        let text = error?.description ?? ""
        #expect(text.contains("share name 'photos,ip=10.9.9.9'"), "\(text)")
        #expect(text.contains("','"))
        #expect(text.contains("rename the share on the NAS"))
    }

    /// Definitions built without the URL parser (a future caller, a test) get the same check.
    @Test(arguments: [
        MountURL.smb(host: "nas", port: nil, share: "a\u{0}b", subdirectory: nil),
        .smb(host: "nas", port: nil, share: "a\nb", subdirectory: nil),
        .smb(host: "nas", port: nil, share: #"a\b"#, subdirectory: nil),
        .smb(host: "nas", port: nil, share: "ok", subdirectory: "a/../../etc"),
        .smb(host: "nas,ip=10.9.9.9", port: nil, share: "ok", subdirectory: nil),
        .smb(host: "nas", port: nil, share: "ok", subdirectory: String(repeating: "d/", count: 600) + "d"),
        .nfs(host: "nas", port: nil, path: "relative"),
        .nfs(host: "nas", port: nil, path: "/a\u{7F}"),
    ])
    func everyPartIsChecked(_ url: MountURL) {
        var definition = MountDefinition(name: "x", url: url)
        definition.options = []
        #expect(throws: MountDefinitionError.self) { try definition.validate() }
    }

    @Test func ordinaryNamesStillPass() throws {
        for url in ["smb://nas.local/Fotos%20M%C3%BCller/2024/a=b", "smb://nas/backup$/x%25y", "nfs://nas/volume1/my%20photos", "nfs://nas/", "smb://[::1]:445/x"] {
            try definition(url).validate()
        }
    }

    @Test func aHandEditedFileIsCaughtWhenRead() {
        let text = """
            [mounts.ok]
            url = "smb://nas/ok"

            [mounts.evil]
            url = "smb://127.0.0.1/photos%2Cip%3D10.9.9.9"
            """
        do {
            _ = try MountsFile.parse(text)
            Issue.record("accepted")
        } catch {
            #expect(error.line == 4, "the table's header: \(error)")
            #expect(error.problem.contains("cannot be mounted safely"), "\(error)")
        }
    }

    @Test(arguments: ["DOM/alice", #"DOM\alice"#, "alice%password"])
    func userNamesMountCIFSWouldSplitAreRefused(_ user: String) {
        var options = CIFSOptions()
        options.username = user
        #expect {
            try options.optionString()
        } throws: { error in
            guard case MountOptionError.unsafeText(.username, _, _) = error else { return false }
            return true
        }
    }

    @Test func theMounterRefusesBeforeAnyHelperRuns() throws {
        let runner = FakeRunner { _ in ProcessResult(status: 0, standardError: "") }
        let mounter = Mounter(root: try TemporaryRoot().root, logger: .init(label: "test"), runner: runner, clock: FakeClock())
        let unsafe = MountDefinition(name: "x", url: .smb(host: "127.0.0.1", port: nil, share: "photos,ip=10.9.9.9", subdirectory: nil))
        let outcome = mounter.attempt(unsafe, target: "/t", account: nil)
        guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
        #expect(failure.kind == .permanent)
        #expect(failure.reason.contains("cannot be mounted safely"))
        let alice = SMBAccount(user: "DOM/alice", domain: nil, password: Secret("x"))
        let withAccount = mounter.attempt(MountDefinition(name: "x", url: .smb(host: "127.0.0.1", port: nil, share: "ok", subdirectory: nil)), target: "/t", account: alice)
        guard case .failure = withAccount else { Issue.record("\(withAccount)"); return }
        #expect(runner.calls.isEmpty)
    }
}

@Suite struct DiscoverUnsafeNamesTests {
    let hostile = SMBShare(name: "photos,ip=10.9.9.9", type: .disk, comment: "")
    let fine = SMBShare(name: "photos", type: .disk, comment: "")

    @Test func noAddLineForAShareThatCannotBeMountedSafely() {
        let report = makeReport(shares: [hostile, fine], exports: [NFSExport(path: "/a,b", clients: []), NFSExport(path: "/ok", clients: [])])
        let steps = DiscoveryPresentation.nextSteps(report)
        #expect(steps == ["extlib-net add photos smb://nas.local/photos", "extlib-net add ok nfs://nas.local/ok"], "\(steps)")
        let text = DiscoveryPresentation.text(report)
        #expect(text.contains("'photos,ip=10.9.9.9' cannot be mounted safely (no add line)"), "\(text)")
        #expect(text.contains("'/a,b' cannot be mounted safely"), "\(text)")
        #expect(!text.contains("%2C"))
    }

    @Test func jsonSaysWhichSharesCannotBeMounted() {
        let json = Rendering.json(makeReport(shares: [hostile, fine]))
        #expect(json.contains(#""name":"photos,ip=10.9.9.9","type":"disk","comment":"","mountable":false,"unmountableReason":"it contains ','"#), "\(json)")
        #expect(json.contains(#""name":"photos","type":"disk","comment":"","mountable":true,"unmountableReason":null"#))
    }

    @Test func aLineBreakInAShareNameCannotForgeOutput() {
        let text = DiscoveryPresentation.text(makeReport(shares: [SMBShare(name: "x\nextlib-net add evil smb://h/e", type: .disk, comment: "")]))
        #expect(!text.contains("\nextlib-net add evil"), "\(text)")
        #expect(text.contains(#"x\nextlib-net add evil"#))
    }
}

@Suite struct MountFlagTests {
    @Test func nosuidNodevAlwaysNoexecUnlessAsked() throws {
        var definition = MountDefinition(name: "x", url: try MountURL.parse("smb://nas/photos"))
        let address = IPAddress("192.0.2.7")!
        #expect(Mounter.plans(for: definition, address: address, target: "/t", account: nil).allSatisfy { $0.arguments[3].contains(",nosuid,nodev,noexec,") })
        definition.exec = true
        let plans = Mounter.plans(for: definition, address: address, target: "/t", account: nil)
        #expect(plans.allSatisfy { $0.arguments[3].contains(",nosuid,nodev,") && !$0.arguments[3].contains("noexec") })
        var nfs = MountDefinition(name: "y", url: try MountURL.parse("nfs://nas/e"))
        #expect(Mounter.plans(for: nfs, address: address, target: "/t", account: nil).allSatisfy { $0.arguments[3].hasSuffix(",nosuid,nodev,noexec") })
        nfs.exec = true
        #expect(Mounter.plans(for: nfs, address: address, target: "/t", account: nil).allSatisfy { $0.arguments[3].hasSuffix(",nosuid,nodev") })
    }

    @Test func execIsKeptInMountsToml() throws {
        var definition = MountDefinition(name: "x", url: try MountURL.parse("smb://nas/photos"))
        definition.exec = true
        var file = MountsFile()
        try file.append(definition)
        #expect(file.rendered().contains("exec = true"))
        #expect(try MountsFile.parse(file.rendered()).definitions.first?.exec == true)
        #expect(try MountsFile.parse("[mounts.y]\nurl = \"smb://nas/y\"\n").definitions.first?.exec == false)
        #expect(throws: MountsFileError.self) { try MountsFile.parse("[mounts.y]\nurl = \"smb://nas/y\"\nexec = \"yes\"\n") }
    }

    @Test(arguments: ["noforceuid", "noforcegid", "source=//evil/x", "suid", "dev", "exec", "nosuid", "noexec", "defaults", "remount",
                      "bind", "unc=\\\\evil\\x", "ip=10.9.9.9", "addr=10.9.9.9", "prefixpath=..", "rwpidforward", "devices", "uid_x", "domainauto", "fmask=777"])
    func cifsExtrasThatUndoTheToolsSettingsAreRefused(_ text: String) {
        #expect(throws: MountOptionError.self) { try CIFSOptions.parseExtras(text) }
    }

    @Test(arguments: ["source=evil:/x", "suid", "dev", "exec", "mounthost=evil", "mountaddr=10.9.9.9", "remount", "defaults"])
    func nfsExtrasThatUndoTheToolsSettingsAreRefused(_ text: String) {
        #expect(throws: MountOptionError.self) { try NFSOptions.parseExtras(text) }
    }

    @Test func theReasonPointsAtTheFlag() {
        let error = #expect(throws: MountOptionError.self) { try CIFSOptions.parseExtras("exec") }
        #expect(error?.description.contains("--exec") == true)
        let prefix = #expect(throws: MountOptionError.self) { try CIFSOptions.parseExtras("rwpidforward") }
        #expect(prefix?.description.contains("'rw'") == true, "\(String(describing: prefix))")
    }

    @Test func ordinaryExtrasStillPass() throws {
        #expect(try CIFSOptions.parseExtras("cache=none,actimeo=30,nobrl,user_xattr,sec=ntlmssp,iocharset=utf8,cruid=0") .count == 7)
        #expect(try NFSOptions.parseExtras("soft,timeo=50,retrans=2,sec=krb5:krb5i,nolock").count == 5)
    }

    @Test(arguments: [0o6777, 0o4755, 0o2755, 0o1777] as [UInt16])
    func setuidSetgidAndStickyModesAreRefused(_ mode: UInt16) throws {
        var definition = MountDefinition(name: "x", url: try MountURL.parse("smb://nas/photos"))
        definition.fileMode = mode
        #expect(throws: MountDefinitionError.options(.specialModeBits(mode))) { try definition.validate() }
        definition.fileMode = nil
        definition.directoryMode = mode
        #expect(throws: MountDefinitionError.options(.specialModeBits(mode))) { try definition.validate() }
        var options = CIFSOptions()
        options.fileMode = mode
        #expect(throws: MountOptionError.specialModeBits(mode)) { try options.optionString() }
        #expect(throws: MountsFileError.self) { try MountsFile.parse("[mounts.y]\nurl = \"smb://nas/y\"\nfile-mode = \"\(String(mode, radix: 8))\"\n") }
    }

    @Test func plainModesPass() throws {
        var definition = MountDefinition(name: "x", url: try MountURL.parse("smb://nas/photos"))
        definition.fileMode = 0o777
        definition.directoryMode = 0o755
        try definition.validate()
    }
}

@Suite struct HugeNumberTests {
    static let huge = ["1e300", "1e18", "9.3e15", "99999999999999999999", "99999999999999999999h", "9999999999999999min", "1e300s",
                       "inf", "nan", "-1", "0x1p1023", String(repeating: "9", count: 400)]

    @Test(arguments: huge)
    func durationsBeyondTheMaximumAreNotDurations(_ text: String) {
        #expect(DurationText.parse(text) == nil, "\(text)")
        guard case .failure(let error) = DurationText.parse(text, in: Mounter.waitRange, option: "--wait", examples: "90") else {
            Issue.record("accepted \(text)")
            return
        }
        #expect(error.description.hasPrefix("--wait must be a duration such as 90 (from 0s to 24h)"), "\(error)")
    }

    @Test func rangesAreUsageErrorsThatNameTheBounds() {
        #expect(DurationText.parse("366d") == nil)
        #expect(DurationText.parse("8784h") == DurationText.maximum)
        guard case .failure(let error) = DurationText.parse("25h", in: Mounter.waitRange, option: "--wait", examples: "90") else {
            Issue.record("accepted 25h")
            return
        }
        #expect(error.description == "--wait must be from 0s to 24h, not '25h'")
        #expect(DurationText.parse("24h", in: Mounter.waitRange, option: "--wait", examples: "90") == .success(.seconds(86400)))
    }

    /// A hand-edited (or hostile) header: never trusted, never a crash.
    @Test(arguments: ["wait=1e300 heal-every=none", "wait=99999999999999999999h heal-every=none", "wait=5min heal-every=9.3e15",
                      "wait=0 heal-every=none", "wait=5min heal-every=1s", "wait=25h heal-every=none"])
    func anOutOfRangeHeaderIsUnreadableAndDisableStillRemovesItsFiles(_ recorded: String) throws {
        let root = try BootRoot()
        defer { root.remove() }
        let boot = installer(root)
        _ = try boot.enable(options(healEvery: .seconds(600)), reload: false)
        let path = root.file(BootUnits.servicePath)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let edited = text.replacingOccurrences(of: "# extlib-net-boot: wait=5min heal-every=10min", with: "# extlib-net-boot: " + recorded)
        #expect(edited != text)
        try edited.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(BootUnits.recordedOptions(inService: edited) == nil)
        let state = try boot.status()
        #expect(state.options == nil)
        #expect(state.files.first?.state == .modified)
        let again = try boot.enable(options(), reload: false)
        #expect(again.previous == nil)
        let report = try boot.disable(reload: false)
        #expect(report.changes.count == 3, "\(report.changes)")
        #expect(BootUnits.allPaths.allSatisfy { !root.exists($0) })
    }
}

@Suite struct MountsFileTextTests {
    @Test func aNULByteIsMalformedWithItsLine() {
        let text = "[mounts.a]\nurl = \"smb://nas/a\"\n\u{0}\n[mounts.b]\nurl = 42\n"
        #expect(throws: MountsFileError(line: 3, problem: "contains a NUL byte")) { try MountsFile.parse(text) }
    }

    @Test(arguments: [#"url = "smb://nas/a\u0000b""#, #"url = "smb://nas/a\U00000000b""#, "url = \"\"\"\nsmb://nas/a\\u0000\"\"\""])
    func aNULEscapeIsMalformed(_ line: String) {
        let text = "# mine\n[mounts.a]\n" + line + "\n"
        do {
            _ = try MountsFile.parse(text)
            Issue.record("accepted \(line)")
        } catch {
            #expect(error.line == 3 || error.line == 4, "\(error)")
            #expect(error.problem.contains("NUL"), "\(error)")
        }
    }

    @Test func onlyEscapesInBasicStringsCount() throws {
        func nulLine(_ text: String) -> Int? {
            let result = Result { () throws(TOMLSubset.Failure) in try TOMLSubset.parse(Array(text.utf8)) }
            guard case .failure(let failure) = result else { return nil }
            return failure.problem == MountsFile.nulEscapeProblem ? failure.line : nil
        }
        #expect(nulLine(#"url = 'smb://nas/\u0000'"#) == nil, "literal strings have no escapes")
        #expect(nulLine("# a comment: \\u0000\nurl = \"x\"") == nil)
        #expect(nulLine(#"url = "a\\u0000""#) == nil, "an escaped backslash, then text")
        #expect(nulLine("a = \"x\"\nb = \"\\u0041\\u0000\"") == 2)
        #expect(nulLine("a = '''\n\\u0000'''\nb = \"\\u0000\"") == 3)
        #expect(try TOMLSubset.parse(Array(#"url = 'smb://nas/\u0000'"#.utf8)).topLevel.first?.value == .string(#"smb://nas/\u0000"#))
    }

    @Test func aNameWithADotIsWrittenAsAQuotedKeyAndStaysReadable() throws {
        var file = MountsFile()
        try file.append(MountDefinition(name: "my.photos", url: try MountURL.parse("smb://nas/photos")))
        try file.append(MountDefinition(name: "other", url: try MountURL.parse("smb://nas/other")))
        #expect(file.rendered().contains("[mounts.\"my.photos\"]\n"))
        #expect(file.rendered().contains("[mounts.other]\n"))
        let reread = try MountsFile.parse(file.rendered())
        #expect(reread.definitions.map(\.name) == ["my.photos", "other"])
        var edited = reread
        try edited.remove(named: "my.photos")
        #expect(try MountsFile.parse(edited.rendered()).definitions.map(\.name) == ["other"])
    }

    @Test func aPasswordThatIsNotUTF8IsRefusedNotChanged() throws {
        #expect(throws: PasswordInput.Failure.notUTF8) { try PasswordInput.secret(fromLine: [0x61, 0xFF, 0x62, 0x0A]) }
        #expect(throws: PasswordInput.Failure.notUTF8) { try PasswordInput.secret(fromLine: [0xC3]) }
        #expect(try PasswordInput.secret(fromLine: Array("pä,ss\n".utf8)).reveal() == "pä,ss")
    }
}

@Suite struct UnitFileInjectionTests {
    @Test(arguments: ["/opt/extlib\nExecStart=/bin/evil", "/opt/a\rb", "/opt/a\tb", "/opt/a\u{0}b", "/opt/a\u{7F}b", "relative/extlib-net"])
    func aBinaryPathSystemdCannotCarryIsRefusedBeforeAnythingIsWritten(_ path: String) throws {
        let root = try BootRoot()
        defer { root.remove() }
        let before = try root.snapshot()
        let options = BootOptions(wait: .seconds(60), healEvery: .seconds(600), executable: path)
        #expect {
            try installer(root).enable(options, reload: false)
        } throws: { error in
            guard let error = error as? BootError, case .unrepresentable(let what, _, _) = error.code else { return false }
            return what == "the binary's path" && !error.description.contains("\n") && error.exitStatus == .configuration
        }
        #expect(try root.snapshot() == before)
    }

    @Test func pathsSystemdCanQuoteStillWork() throws {
        let root = try BootRoot()
        defer { root.remove() }
        // A real, root-owned binary at such a path: boot enable trusts nothing else.
        let folder = root.path + "-bin/my tools"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: root.path + "-bin") }
        chmod(root.path + "-bin", 0o755)
        let path = folder + #"/ex"t\l%n$HOME;x"#
        FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755])
        _ = try installer(root).enable(BootOptions(executable: path), reload: false)
        let text = try String(contentsOfFile: root.file(BootUnits.servicePath), encoding: .utf8)
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("ExecStart=") }.count == 1)
        #expect(BootUnits.recordedOptions(inService: text)?.executable == path)
    }

    @Test func outOfRangeDurationsAreRefusedByTheLibraryToo() throws {
        let root = try BootRoot()
        defer { root.remove() }
        #expect(throws: BootError.self) { try installer(root).enable(options(wait: .seconds(86401)), reload: false) }
        #expect(throws: BootError.self) { try installer(root).enable(options(healEvery: .seconds(1)), reload: false) }
        #expect(!root.exists(BootUnits.servicePath))
    }

    @Test func aLinkedDropInFolderStopsEnableBeforeTheServiceIsWritten() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let elsewhere = root.path + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root.file(BootUnits.dropInDirectory), withDestinationPath: elsewhere)
        let before = try root.snapshot()
        do {
            _ = try installer(root).enable(options(), reload: false)
            Issue.record("enabled")
        } catch {
            #expect(error.code == .file(SecureFileError(path: root.file(BootUnits.dropInDirectory), code: .symlinkedFolder)))
            #expect(error.description.contains("follows no link"), "\(error)")
            #expect(!error.description.contains("passwords"))
        }
        #expect(try root.snapshot() == before, "nothing half-made")
        #expect(!root.exists(BootUnits.servicePath))
    }

    @Test func disableNeverRemovesThroughALinkedFolder() throws {
        let root = try BootRoot()
        defer { root.remove() }
        _ = try installer(root).enable(options(), reload: false)
        let elsewhere = root.path + "/elsewhere"
        try FileManager.default.moveItem(atPath: root.file(BootUnits.dropInDirectory), toPath: elsewhere)
        try FileManager.default.createSymbolicLink(atPath: root.file(BootUnits.dropInDirectory), withDestinationPath: elsewhere)
        let report = try installer(root).disable(reload: false)
        #expect(report.changes.contains(.keptForeign(root.file(BootUnits.dropInPath))))
        #expect(FileManager.default.fileExists(atPath: elsewhere + "/extlib-net.conf"))
        #expect(!root.exists(BootUnits.servicePath))
    }

    @Test func eachFileKindSaysWhatItIs() {
        let unit = SecureFileError(path: "/r/etc/systemd/system/extlib-net.service", code: .symlink).description
        #expect(unit.contains("a systemd unit file") && !unit.contains("password"), "\(unit)")
        let mounts = SecureFileError(path: "/r/etc/extlib-net/mounts.toml", code: .symlink).description
        #expect(mounts.contains("mounts.toml") && !mounts.contains("password"), "\(mounts)")
        #expect(SecureFileError(path: "/r/etc/extlib-net/credentials", code: .symlink).description.contains("holds passwords"))
    }
}

/// The mount folder swapped while an attempt is under way (anything that writes in the sandbox can).
@Suite struct MountTargetSwapTests {
    enum Swap: CaseIterable { case link, otherFolder, removed }

    @Test(arguments: Swap.allCases)
    func aFolderSwappedDuringASlowAttemptGetsNoHelper(_ swap: Swap) throws {
        let (socket, port) = try TCPProbeTests.listener()
        defer { withExtendedLifetime(socket) {} }
        let temp = try TemporaryRoot()
        let elsewhere = temp.path + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let definition = MountDefinition(name: "photos", url: try MountURL.parse("smb://127.0.0.1:\(port)/photos"))
        let target = temp.path + SandboxBase.root.path + "/photos"
        // The first helper (SMB 3.1.1) is slow and fails as "not supported"; meanwhile the folder is swapped.
        let runner = FakeRunner { _ in
            try? FileManager.default.moveItem(atPath: target, toPath: target + ".moved")
            switch swap {
            case .link: try? FileManager.default.createSymbolicLink(atPath: target, withDestinationPath: elsewhere)
            case .otherFolder: try? FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            case .removed: break
            }
            return ProcessResult(status: 32, standardError: "mount error(95): Operation not supported")
        }
        let mounter = Mounter(root: temp.root, logger: .init(label: "test"), runner: runner, clock: FakeClock())
        let result = mounter.mount(definition, wait: .zero)
        guard case .failure(let error) = result else { Issue.record("\(result)"); return }
        #expect(error.description.contains("was replaced after extlib-net prepared it"), "\(error)")
        #expect(runner.calls.count == 1, "no helper after the swap: \(runner.calls.map(\.arguments))")
    }

    @Test func anUntouchedFolderStillMounts() throws {
        let (socket, port) = try TCPProbeTests.listener()
        defer { withExtendedLifetime(socket) {} }
        let temp = try TemporaryRoot()
        let runner = FakeRunner { call in
            call.arguments[3].contains("vers=3.1.1") ? ProcessResult(status: 32, standardError: "mount error(95): Operation not supported") : ProcessResult(status: 0, standardError: "")
        }
        let mounter = Mounter(root: temp.root, logger: .init(label: "test"), runner: runner, clock: FakeClock())
        _ = mounter.mount(MountDefinition(name: "photos", url: try MountURL.parse("smb://127.0.0.1:\(port)/photos")), wait: .zero)
        #expect(runner.calls.count == 2, "the second version ran: the folder was still the prepared one")
    }
}

/// Seeded random and mutated inputs for the checks above: never a crash, and nothing unsafe gets through.
@Suite struct HostileInputPropertyTests {
    static func randomText(_ alphabet: [Character], length: Int, using generator: inout SeededGenerator) -> String {
        String((0..<Int.random(in: 0...length, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
    }

    @Test func durationsNeverCrashAndStayWithinTheMaximum() {
        var generator = SeededGenerator(state: 0xD0_0D)
        let alphabet = Array("0123456789.eE+-xpsminh ") + ["9", "9", "9"]
        var parsed = 0
        for _ in 0..<20_000 {
            let text = Self.randomText(alphabet, length: 30, using: &generator)
            if let duration = DurationText.parse(text) {
                parsed += 1
                #expect(duration >= .zero && duration <= DurationText.maximum, "\(text)")
                _ = BootUnits.systemdDuration(duration)
            }
        }
        #expect(parsed >= CountedMinimum.durations, "only \(parsed) of 20000 random durations parsed")
    }

    @Test func noURLThatPassesValidationCarriesAnOptionSeparator() {
        var generator = SeededGenerator(state: 0xC0_FFEE)
        let alphabet = Array("ab/.%2C5c0A:,=\\ ") + ["%2C", "%5C", "%00", "%0A", "%2F", "..", "%25"].flatMap { Array($0) }
        var accepted = 0
        for _ in 0..<20_000 {
            let scheme = Bool.random(using: &generator) ? "smb" : "nfs"
            let text = "\(scheme)://nas/" + Self.randomText(alphabet, length: 24, using: &generator)
            guard let url = try? MountURL.parse(text) else { continue }
            let definition = MountDefinition(name: "x", url: url)
            guard (try? definition.validate()) != nil else { continue }
            accepted += 1
            let address = IPAddress("192.0.2.7")!
            for plan in Mounter.plans(for: definition, address: address, target: "/t", account: nil) {
                let source = plan.arguments[0]
                #expect(!source.contains(",") && !source.unicodeScalars.contains { $0.value < 0x20 }, "\(text) -> \(source)")
                if case .smb = url { #expect(!source.dropFirst(2).contains("\\"), "\(text) -> \(source)") }
                #expect(!source.split(separator: "/").contains(".."), "\(text) -> \(source)")
            }
        }
        #expect(accepted > 1000, "the generator also makes valid URLs")
    }

    @Test func mutatedMountsFilesNeverCrashAndWhatIsReadIsSafe() throws {
        var generator = SeededGenerator(state: 0x70_4D1)
        let seed = Array("""
            # mine
            [mounts.photos]
            url = "smb://nas/photos/2024"
            rw = false
            options = "cache=none"
            file-mode = "0644"

            [mounts."my.nfs"]
            url = "nfs://nas/volume1/photos"
            exec = true

            """.utf8)
        let insertions: [[UInt8]] = [[0], Array("\\u0000".utf8), Array("%2C".utf8), Array(",".utf8), Array("\"".utf8), Array("\n".utf8),
                                     Array("[".utf8), Array(".".utf8), Array("6777".utf8), Array("exec".utf8), Array("\\".utf8), [0xFF],
                                     Array("\n[".utf8), Array("\n[[".utf8), Array("%".utf8), Array("#".utf8), Array("=".utf8), Array("{".utf8),
                                     Array("'".utf8), Array("\"\"\"".utf8), Array(" ".utf8), Array("\t".utf8), Array("]".utf8)]
        for _ in 0..<6_000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let at = Int.random(in: 0...bytes.count, using: &generator)
                if Bool.random(using: &generator), at < bytes.count { bytes.remove(at: at) } else {
                    bytes.insert(contentsOf: insertions.randomElement(using: &generator)!, at: at)
                }
            }
            guard let text = String(validating: bytes, as: UTF8.self), let file = try? MountsFile.parse(text) else { continue }
            for definition in file.definitions {
                #expect((try? definition.validate()) != nil)
                #expect(!definition.options.joined().contains { $0.asciiValue.map { $0 < 0x20 } ?? false })
                #expect((definition.fileMode ?? 0) <= 0o777)
            }
        }
    }
}

/// toml++ (behind the earlier TOMLKit reader) asserted on a table header
/// whose name cannot start a key; found by the mutation test above.
@Suite struct MountsFileHeaderTests {
    @Test(arguments: ["[%x]", "[ %]", "[[%]]", "[#]", "[=]", "[\t%]", "[mounts.a]\nurl = \"smb://nas/a\"\n\n[[ {]]"])
    func aTableHeaderThatCannotStartAKeyIsMalformed(_ text: String) {
        #expect {
            try MountsFile.parse(text + "\n")
        } throws: { error in
            (error as? MountsFileError)?.problem == MountsFile.badHeaderProblem
        }
    }

    @Test func validHeadersAndStringContentsAreNotFlagged() {
        for text in ["[mounts.a]", "[ mounts.\"b\" ]", "['mounts'.c]", "[[x]]", "  [mounts.d]", "url = \"\"\"\n[%x]\"\"\"", "a = '''\n[#]'''", "# [%]"] {
            let result = Result { () throws(TOMLSubset.Failure) in try TOMLSubset.parse(Array(text.utf8)) }
            if case .failure(let failure) = result { #expect(failure.problem != MountsFile.badHeaderProblem, "\(text)") }
        }
    }
}
