import Foundation
import Testing
import Formats
@testable import System
@testable import Mounting
@testable import Health

@Suite struct DoctorTests {
    /// The child's answers, by request: visibility, and the sampled files as protocol lines.
    struct Scene {
        var visible = true
        var files: [String] = []
        var snapInstalled = false
        var namespaceExists = true
    }

    func run(_ definition: MountDefinition, _ scene: Scene) throws -> [DoctorFinding] {
        let temp = try TemporaryRoot()
        let host = FakeHost()
        let mounter = host.mounter(root: temp.root)
        let target = mounter.target(of: definition)
        let source = definition.isSMB ? "//nas/photos" : "nas:/volume1/photos"
        host.state.withLock {
            $0.table.append(MountInfo.parse("1 2 0:1 / \(target) rw - \(definition.isSMB ? "cifs" : "nfs4") \(source) rw").first!)
            $0.health[target] = .healthy
        }
        if scene.snapInstalled {
            try FileManager.default.createDirectory(atPath: temp.path + "/snap/immich-distribution/current", withIntermediateDirectories: true)
        }
        let namespace = temp.path + "/ns.mnt"
        if scene.namespaceExists { FileManager.default.createFile(atPath: namespace, contents: nil) }
        let view = ImmichView(runner: FakeRunner { call in
            // The real child writes its protocol to standard output (ImmichView.childMain).
            if call.arguments.contains("--mount-point") { return ProcessResult(status: 0, standardOutput: scene.visible ? "visible 1 \(definition.isSMB ? "cifs" : "nfs4") \(source)\n" : "visible 0\n", standardError: "") }
            return ProcessResult(status: 0, standardOutput: scene.files.map { $0 + "\n" }.joined(), standardError: "")
        }, executable: "/x/extlib-net")
        let findings = Doctor(mounter: mounter, view: view, namespace: namespace).examine([definition])
        withExtendedLifetime(temp) {}
        return findings
    }

    func smb() throws -> MountDefinition { MountDefinition(name: "photos", url: try MountURL.parse("smb://nas/photos")) }
    func nfs() throws -> MountDefinition { MountDefinition(name: "photos", url: try MountURL.parse("nfs://nas/volume1/photos")) }

    func finding(_ findings: [DoctorFinding], _ check: DoctorCheck) -> DoctorFinding? {
        findings.first { $0.check == check }
    }

    @Test func aRootOwnedReadableSMBMountPasses() throws {
        var scene = Scene()
        scene.files = ["file 0 755 0 /r/photos/a.jpg", "file 0 755 0 /r/photos/2024/b\\040c.jpg"]
        let findings = try run(try smb(), scene)
        for check in [DoctorCheck.location, .mounted, .healthy, .visibleInSnap, .readableByImmich, .ownerRule] {
            #expect(finding(findings, check)?.verdict == .pass, "\(check): \(String(describing: finding(findings, check)))")
        }
        #expect(finding(findings, .snapInstalled)?.verdict == .fail)
        #expect(finding(findings, .snapInstalled)?.fix == "sudo snap install immich-distribution")
        #expect(finding(findings, .folderWatching)?.verdict == .note)
    }

    @Test func filesOfAnotherUserMode0600FailWithTheFix() throws {
        var scene = Scene()
        scene.files = ["file 1000 600 13 /r/photos/a.jpg", "file 0 644 0 /r/photos/b.jpg"]
        let findings = try run(try smb(), scene)
        let readable = try #require(finding(findings, .readableByImmich))
        #expect(readable.verdict == .fail)
        #expect(readable.detail.contains("1 of 2 sampled files"))
        #expect(readable.detail.contains("/r/photos/a.jpg: Permission denied"))
        #expect(readable.fix?.contains("without --uid/--gid/--file-mode") == true)
        let owner = try #require(finding(findings, .ownerRule))
        #expect(owner.verdict == .fail)
        #expect(owner.detail.contains("owner 1000"))
    }

    @Test func nfsUnderVarHasNoOwnerRuleButUnderRootItDoes() throws {
        var scene = Scene()
        scene.files = ["file 1026 644 0 /r/photos/a.jpg"]
        #expect(finding(try run(try nfs(), scene), .ownerRule) == nil)
        var underRoot = try nfs()
        underRoot.sandbox = .root
        let owner = try #require(finding(try run(underRoot, scene), .ownerRule))
        #expect(owner.verdict == .fail)
        #expect(owner.fix?.contains("--sandbox var") == true)
    }

    @Test func aMountTheSnapDoesNotSeeFailsWithTheFix() throws {
        var scene = Scene()
        scene.visible = false
        scene.files = ["file 0 644 0 /r/photos/a.jpg"]
        let visible = try #require(finding(try run(try smb(), scene), .visibleInSnap))
        #expect(visible.verdict == .fail)
        #expect(visible.fix?.contains("snap-discard-ns immich-distribution") == true)
    }

    @Test func withoutTheSnapTheNamespaceCheckIsSkippedAndTheRestRuns() throws {
        var scene = Scene()
        scene.namespaceExists = false
        scene.files = ["file 0 644 0 /r/photos/a.jpg"]
        let findings = try run(try smb(), scene)
        #expect(finding(findings, .visibleInSnap)?.verdict == .skip)
        #expect(finding(findings, .readableByImmich)?.verdict == .pass)
    }

    @Test func anEmptyMountIsAWarning() throws {
        let findings = try run(try smb(), Scene())
        #expect(finding(findings, .readableByImmich)?.verdict == .warn)
        #expect(finding(findings, .readableByImmich)?.detail.contains("empty library") == true)
    }

    @Test func anUnmountedDefinitionSaysHowToMountIt() throws {
        let temp = try TemporaryRoot()
        let host = FakeHost()
        let mounter = host.mounter(root: temp.root)
        let findings = Doctor(mounter: mounter, namespace: "/nonexistent").examine([try smb()])
        #expect(finding(findings, .mounted)?.verdict == .fail)
        #expect(finding(findings, .mounted)?.fix == "extlib-net mount photos")
        #expect(finding(findings, .readableByImmich) == nil)
    }

    @Test func theLineProtocolRoundTripsHostilePaths() {
        let path = "/r/a b\\c\td\nü.jpg"
        let line = "file 0 644 0 \(MountInfo.escape(path))"
        #expect(!line.dropFirst().contains("\n"))
        guard case .success(let report) = ImmichView.parse(line + "\n", status: 0) else { Issue.record("no report"); return }
        #expect(report.files.first?.path == path)
        guard case .failure(.namespace(let file, .noSuchFileOrDirectory)) = ImmichView.parse("failed namespace 2 /x\\040y\n", status: 3) else {
            Issue.record("namespace failure not reported")
            return
        }
        #expect(file == "/x y")
    }

    /// Only standard output is the protocol: a "visible 1" on standard error (a library's warning, a
    /// runtime message) is not read as the child's answer, and a failing child's standard error explains it.
    @Test func onlyStandardOutputIsTheProtocol() {
        let stderrOnly = ImmichView(runner: FakeRunner { _ in ProcessResult(status: 0, standardOutput: "", standardError: "visible 1\n") })
        guard case .success(let report) = stderrOnly.look(ImmichView.Request(mountPoint: "/m")) else { Issue.record("no report"); return }
        #expect(report.visible == nil, "standard error was read as the protocol")
        let stdout = ImmichView(runner: FakeRunner { _ in ProcessResult(status: 0, standardOutput: "visible 1 cifs //nas/photos\\040x\n", standardError: "") })
        guard case .success(let seen) = stdout.look(ImmichView.Request(mountPoint: "/m")) else { Issue.record("no report"); return }
        #expect(seen.visible == true && seen.topType == "cifs" && seen.topSource == "//nas/photos x" && seen.showsShare)
        // The placeholder on top is not the share, however visible the mount point is.
        let placeholder = ImmichView(runner: FakeRunner { _ in ProcessResult(status: 0, standardOutput: "visible 1 tmpfs \(PlaceholderMount.source)\n", standardError: "") })
        guard case .success(let covered) = placeholder.look(ImmichView.Request(mountPoint: "/m")) else { Issue.record("no report"); return }
        #expect(covered.visible == true && covered.showsPlaceholder && !covered.showsShare)
        guard case .success(let bare) = ImmichView.parse("visible 1\n", status: 0) else { Issue.record("no report"); return }
        #expect(!bare.showsShare, "a report that does not say what is on top is not a share")
        let crashed = ImmichView(runner: FakeRunner { _ in ProcessResult(status: 134, standardOutput: "", standardError: "Fatal error: \u{1B}[2J\n") })
        guard case .failure(.child(let message)) = crashed.look(ImmichView.Request(mountPoint: "/m")) else { Issue.record("no failure"); return }
        #expect(message.contains("Fatal error: \\u{1b}[2J"), "\(message)")
    }

    /// The check's text is what `doctor` prints and `--json` carries; the code keys findings by the case.
    @Test func aCheckIsPrintedAndEncodedByItsDocumentedText() throws {
        let finding = DoctorFinding("photos", .readableByImmich, .fail, "permission denied", fix: "use --uid 0")
        #expect(DoctorPresentation.lines(finding) == ["[FAIL] photos: readable by Immich: permission denied", "       fix: use --uid 0"])
        #expect(DoctorPresentation.lines(DoctorFinding("photos", .mounted, .pass, "ok", fix: "unused")) == ["[PASS] photos: mounted: ok"])
        let json = Rendering.json(DoctorReport([finding]))
        #expect(json.contains("\"check\" : \"readable by Immich\"") || json.contains("\"check\":\"readable by Immich\""), "\(json)")
        #expect(Set(DoctorCheck.allCases.map(\.rawValue)).count == DoctorCheck.allCases.count)
    }
}
