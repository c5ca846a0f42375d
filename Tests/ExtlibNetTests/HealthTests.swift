import Foundation
import Synchronization
import SystemPackage
import Testing
@testable import System
@testable import Mounting
@testable import Health

@Suite struct HealthTests {
    @Test func forkedStatfsReportsTheErrno() {
        #expect(ForkedStatfs().statfs("/", timeout: .seconds(5)) == .healthy)
        #expect(ForkedStatfs().statfs("/no/such/path/here", timeout: .seconds(5)) == .failed(.noSuchFileOrDirectory))
        #expect(ForkedStatfs().statfs("/etc/hostname/x", timeout: .seconds(5)) == .failed(.notDirectory))
    }

    @Test func onlyCurableFailuresCountAsStale() {
        for code in [ESTALE, EIO, ENOTCONN, EHOSTDOWN, ETIMEDOUT, EAGAIN] {
            #expect(FileSystemHealth.failed(Errno(rawValue: code)).isStale)
        }
        #expect(FileSystemHealth.timedOut(.seconds(3)).isStale)
        #expect(!FileSystemHealth.failed(.permissionDenied).isStale)
        #expect(!FileSystemHealth.healthy.isStale)
        #expect(!FileSystemHealth.uncheckable("?").isStale)
    }
}

/// The kernel's side of mounting, for the healer: a mount table, statfs answers per mount point, and
/// umount / mount.nfs that change the table. Thread-safe: the healer checks mounts concurrently.
final class FakeHost: ProcessRunner, StatfsProbe, Sendable {
    struct State {
        var table: [MountInfoEntry] = []
        var health: [String: FileSystemHealth] = [:]
        var calls: [[String]] = []
        var mountResult = ProcessResult(status: 0, standardError: "")
        /// A helper that says it mounted but left nothing in mountinfo (mountsAppear false), or a mount
        /// that is there but unhealthy.
        var mountsAppear = true
        var healthAfterMount = FileSystemHealth.healthy
        /// A helper that mounted something other than what it was asked for.
        var leavesSource: String?
        /// What the doctor's child (`__immich-view`) answers.
        var view = "visible 1 nfs4 1.2.3.4:/volume1/photos\n"
    }
    let state = Mutex(State())
    var table: MountTable { MountTable { self.state.withLock { $0.table } } }
    var calls: [[String]] { state.withLock { $0.calls } }

    /// A Mounter whose helpers, statfs and mount table are this fake's.
    func mounter(root: SystemRoot) -> Mounter {
        var mounter = Mounter(root: root, logger: .init(label: "test"), runner: self, clock: FakeClock())
        mounter.statfsProbe = self
        mounter.mountTable = table
        mounter.mountCalls = self
        return mounter
    }

    func mountNFS(_ source: String, at target: String, health: FileSystemHealth) {
        state.withLock {
            $0.table.append(MountInfo.parse("1 2 0:1 / \(target) rw - nfs4 \(source) rw").first!)
            $0.health[target] = health
        }
    }

    func statfs(_ path: String, timeout: Duration) -> FileSystemHealth {
        state.withLock { state in
            state.calls.append(["statfs", path])
            return state.health[path] ?? .failed(.noSuchFileOrDirectory)
        }
    }

    func run(_ executable: String, _ arguments: [String], secret: Secret?, until deadline: Deadline) -> ProcessResult {
        state.withLock { state in
            state.calls.append([executable] + arguments)
            switch executable {
            case "/bin/umount":
                state.table.removeAll { $0.mountPoint == arguments.last! }
                return ProcessResult(status: 0, standardError: "")
            case MountHelper.nfs:
                guard state.mountResult.status == 0 else { return state.mountResult }
                guard state.mountsAppear else { return ProcessResult(status: 0, standardError: "") }
                // On top of what is at the target, as the kernel stacks it.
                let id = max((state.table.map(\.mountID).max() ?? 0) + 1, 100)
                let parent = state.table.last { $0.mountPoint == arguments[1] }?.mountID ?? 2
                state.table.append(MountInfo.parse("\(id) \(parent) 0:\(id) / \(arguments[1]) rw - nfs4 \(state.leavesSource ?? arguments[0]) rw").first!)
                state.health[arguments[1]] = state.healthAfterMount
                return ProcessResult(status: 0, standardError: "")
            case _ where arguments.first == ImmichView.command:
                return ProcessResult(.exited(0), standardOutput: state.view)
            default:
                return ProcessResult(status: 127, standardError: "unexpected \(executable)")
            }
        }
    }
}

@Suite struct HealerTests {
    func setUp(_ body: (Healer, FakeHost, (String) -> String, UInt16) throws -> Void) throws {
        let (socket, port) = try TCPProbeTests.listener()
        let temp = try TemporaryRoot()
        let host = FakeHost()
        let mounter = host.mounter(root: temp.root)
        let healer = Healer(service: MountService(mounter: mounter))
        try body(healer, host, { mounter.target(of: MountDefinition(name: $0, url: try! MountURL.parse("nfs://h/x"))) }, port)
        withExtendedLifetime((socket, temp)) {}
    }

    func nfs(_ name: String, _ port: UInt16) throws -> MountDefinition {
        var definition = MountDefinition(name: name, url: try MountURL.parse("nfs://127.0.0.1:\(port)/export/\(name)"))
        definition.nfsVersion = .v4_2
        return definition
    }

    @Test func remountsStaleMountsAndLeavesTheRestAlone() throws {
        try setUp { healer, host, target, port in
            host.mountNFS("127.0.0.1:/export/stale", at: target("stale"), health: .failed(.staleNFSFileHandle))
            host.mountNFS("127.0.0.1:/export/fine", at: target("fine"), health: .healthy)
            host.mountNFS("127.0.0.1:/export/denied", at: target("denied"), health: .failed(.permissionDenied))
            let definitions = try ["stale", "fine", "gone", "denied"].map { try nfs($0, port) }
            let outcomes = healer.heal(definitions, wait: .seconds(5)) { _ in }
            #expect(outcomes == [.healed(was: .failed(.staleNFSFileHandle)), .healthy, .notMounted, .unhealthyLeftAlone(.failed(.permissionDenied))])

            let changes = host.calls.filter { $0[0] != "statfs" }
            #expect(changes == [["/bin/umount", "--lazy", "--no-canonicalize", "--", target("stale")],
                                [MountHelper.nfs, "127.0.0.1:/export/stale", target("stale"), "-o", "ro,vers=4.2,port=\(port),nosuid,nodev,noexec"]])
            #expect(host.table.current().filter { $0.mountPoint == target("stale") }.count == 1)
            // A heal is recorded as a heal, never as the last error (0.3.0 wrote "healed by a remount" there).
            let stale = healer.service.mountRecord("stale")
            #expect(stale.lastError == nil && !stale.pending, "\(stale)")
            #expect(stale.lastHeal?.detail.hasPrefix("statfs failed: ") == true, "\(stale)")
            #expect(healer.service.mountRecord("fine") == MountRecord())
        }
    }

    /// A stale mount detached while its NAS is still away: the next heal mounts it once it is back.
    @Test func aStaleMountWhoseRemountFailsIsTriedAgainByTheNextHeal() throws {
        try setUp { healer, host, target, port in
            host.mountNFS("127.0.0.1:/export/gone", at: target("gone"), health: .timedOut(.seconds(3)))
            host.state.withLock { $0.mountResult = ProcessResult(status: 32, standardError: "mount.nfs: Connection timed out") }
            let definition = try nfs("gone", port)
            guard case .failed = healer.heal([definition], wait: .zero) { _ in }[0] else { Issue.record("not failed"); return }
            #expect(healer.service.isPending("gone"))
            host.state.withLock { $0.mountResult = ProcessResult(status: 0, standardError: "") }
            #expect(healer.heal([definition], wait: .seconds(5)) { _ in } == [.mountedPending])
        }
    }

    @Test func aHungMountWhoseRemountFailsIsReported() throws {
        try setUp { healer, host, target, port in
            host.mountNFS("127.0.0.1:/export/hung", at: target("hung"), health: .timedOut(.seconds(3)))
            host.state.withLock { $0.mountResult = ProcessResult(status: 32, standardError: "mount.nfs: access denied by server while mounting") }
            let outcomes = healer.heal([try nfs("hung", port)], wait: .seconds(5)) { _ in }
            guard case .failed(let was, let error) = outcomes[0] else { Issue.record("\(outcomes)"); return }
            #expect(was == .timedOut(.seconds(3)))
            #expect(error.description.contains("access denied"))
            #expect(healer.service.lastError("hung")?.contains("the remount failed: mount.nfs: access denied") == true)
            #expect(outcomes[0].failureStatus != nil)
        }
    }
}

extension HealerTests {
    /// The boot unit gave up on a NAS that came late: the failed mount leaves the definition pending,
    /// and heal mounts it; an unmount on purpose ends that.
    @Test func mountsADefinitionWhoseLastMountFailedButNotOneUnmountedOnPurpose() throws {
        try setUp { healer, host, target, _ in
            // A listener each: the reachability probes of the retries would fill one listener's backlog.
            let listeners = try (0..<3).map { _ in try TCPProbeTests.listener() }
            let late = try nfs("late", listeners[0].1), away = try nfs("away", listeners[1].1), denied = try nfs("denied", listeners[2].1)
            let timedOut = ProcessResult(status: 32, standardError: "mount.nfs: Connection timed out")
            host.state.withLock { $0.mountResult = timedOut }
            let results = healer.service.mount([late, away], wait: .zero) { _ in }
            #expect(results.allSatisfy { if case .failure = $0 { true } else { false } })
            #expect(healer.service.isPending("late") && healer.service.isPending("away"))
            #expect(try healer.service.unmount(away, lazy: false).get() == false)
            #expect(!healer.service.isPending("away"), "an unmount, even of nothing, is on purpose")
            host.state.withLock { $0.mountResult = ProcessResult(status: 32, standardError: "mount.nfs: access denied by server while mounting") }
            _ = healer.service.mount([denied], wait: .zero) { _ in }
            #expect(!healer.service.isPending("denied"), "a retry cannot cure it: heal does not knock every interval")

            // Still failing: reported, still pending.
            host.state.withLock { $0.mountResult = timedOut }
            let failing = healer.heal([late], wait: .zero) { _ in }
            guard case .pendingFailed(let error) = failing[0] else { Issue.record("\(failing)"); return }
            #expect(error.description.contains("timed out"))
            #expect(failing[0].failureStatus != nil && healer.service.isPending("late"))

            host.state.withLock { $0.mountResult = ProcessResult(status: 0, standardError: "") }
            let outcomes = healer.heal([late, away, denied], wait: .seconds(5)) { _ in }
            #expect(outcomes == [.mountedPending, .notMounted, .notMounted])
            #expect(host.table.current().contains { $0.mountPoint == target("late") })
            #expect(!host.table.current().contains { $0.mountPoint == target("away") })
            #expect(!healer.service.isPending("late") && healer.service.lastError("late") == nil)
            #expect(healer.heal([late], wait: .seconds(5)) { _ in } == [.healthy])
            withExtendedLifetime(listeners) {}
        }
    }

    /// The record in /run is a typed file, root-only; 0.3.0's prose `.pending` still counts after an
    /// upgrade without a reboot, and a damaged record is no record, not a failed command.
    @Test func theMountRecordIsTypedPrivateAndReadsTheOldPendingFile() throws {
        try setUp { healer, host, _, port in
            let service = healer.service
            let late = try nfs("late", port)
            host.state.withLock { $0.mountResult = ProcessResult(status: 32, standardError: "mount.nfs: Connection timed out") }
            _ = service.mount([late], wait: .zero) { _ in }
            let path = service.stateDirectory + "/late.json"
            var info = stat()
            #expect(lstat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
            let record = try #require(try service.recordFile("late").load())
            #expect(record.pending && record.lastError?.detail.contains("timed out") == true && record.lastHeal == nil)

            try FileManager.default.removeItem(atPath: path)
            #expect(FileManager.default.createFile(atPath: path, contents: Data("not json".utf8), attributes: [.posixPermissions: 0o600]))
            #expect(service.mountRecord("late") == MountRecord(), "a damaged record reads as none")
            try FileManager.default.removeItem(atPath: path)
            #expect(FileManager.default.createFile(atPath: service.stateDirectory + "/late.pending", contents: Data("a mount failed while the server was away; heal tries it again\n".utf8),
                                                   attributes: [.posixPermissions: 0o600]))
            #expect(service.isPending("late"), "0.3.0's pending file")
            _ = try service.unmount(late, lazy: false).get()
            #expect(!service.isPending("late") && !FileManager.default.fileExists(atPath: service.stateDirectory + "/late.pending"))
        }
    }
}

/// `Mounter.mount` as a whole, as `mount` and `heal` call it: what is found at the target first, then
/// the helper, then the verification, with the helper and the kernel's tables faked (the VM suite runs
/// the real ones).
@Suite struct MounterMountTests {
    func setUp(_ body: (Mounter, FakeHost, MountDefinition) throws -> Void) throws {
        let (socket, port) = try TCPProbeTests.listener()
        let temp = try TemporaryRoot()
        let host = FakeHost()
        let mounter = host.mounter(root: temp.root)
        var definition = MountDefinition(name: "photos", url: try MountURL.parse("nfs://127.0.0.1:\(port)/export/photos"))
        definition.nfsVersion = .v4_2
        try body(mounter, host, definition)
        withExtendedLifetime((socket, temp)) {}
    }

    func helperRuns(_ host: FakeHost) -> Int { host.calls.filter { $0[0] == MountHelper.nfs }.count }

    @Test func mountsVerifiesAndReportsTheImportPath() throws {
        try setUp { mounter, host, definition in
            let share = try mounter.mount(definition, wait: .seconds(5)).get()
            #expect(!share.wasMounted)
            #expect(share.source == "127.0.0.1:/export/photos")
            #expect(share.target == mounter.target(of: definition))
            #expect(share.immichPath == "/var/snap/immich-distribution/common/photos")
            #expect(helperRuns(host) == 1)
        }
    }

    @Test func alreadyMountedRunsNoHelper() throws {
        try setUp { mounter, host, definition in
            host.mountNFS("127.0.0.1:/export/photos", at: mounter.target(of: definition), health: .healthy)
            let share = try mounter.mount(definition, wait: .seconds(5)).get()
            #expect(share.wasMounted)
            #expect(helperRuns(host) == 0)
        }
    }

    @Test func somethingElseAtTheTargetIsRefused() throws {
        try setUp { mounter, host, definition in
            host.mountNFS("10.0.0.9:/elsewhere", at: mounter.target(of: definition), health: .healthy)
            guard case .failure(.occupied(_, let source)) = mounter.mount(definition, wait: .seconds(5)) else {
                Issue.record("not refused"); return
            }
            #expect(source == "10.0.0.9:/elsewhere")
            #expect(helperRuns(host) == 0)
        }
    }

    /// The helper said yes but mountinfo shows nothing: not mounted, and said so (the next mount must not
    /// find "something else mounted").
    @Test func aHelperSuccessThatMountedNothingIsNotVerified() throws {
        try setUp { mounter, host, definition in
            host.state.withLock { $0.mountsAppear = false }
            guard case .failure(let error) = mounter.mount(definition, wait: .seconds(5)), case .notVerified(let message) = error else {
                Issue.record("verified?"); return
            }
            #expect(message.contains("is not what /proc/self/mountinfo shows"))
            #expect(error.exitStatus == .mountFailure)
            #expect(!host.calls.contains { $0[0] == "/bin/umount" }, "nothing there to detach")
        }
    }

    /// The helper mounted something else there: not verified, and detached, so the next mount does not
    /// find "something else mounted".
    @Test func aWrongMountLeftByTheHelperIsDetached() throws {
        try setUp { mounter, host, definition in
            host.state.withLock { $0.leavesSource = "10.0.0.9:/elsewhere" }
            guard case .failure(.notVerified(let message)) = mounter.mount(definition, wait: .seconds(5)) else {
                Issue.record("verified?"); return
            }
            #expect(message.contains("is not what /proc/self/mountinfo shows"))
            #expect(message.contains("it was unmounted again"))
            #expect(mounter.state(of: definition) == .notMounted)
        }
    }

    /// Mounted but statfs fails: detached again, so nothing half-working is left at the target.
    @Test func anUnhealthyNewMountIsDetachedAgain() throws {
        try setUp { mounter, host, definition in
            host.state.withLock { $0.healthAfterMount = .timedOut(.seconds(3)) }
            guard case .failure(.notVerified(let message)) = mounter.mount(definition, wait: .seconds(5)) else {
                Issue.record("verified?"); return
            }
            #expect(message.contains("unhealthy"))
            #expect(message.contains("it was unmounted again"))
            #expect(host.calls.contains(["/bin/umount", "--lazy", "--no-canonicalize", "--", mounter.target(of: definition)]))
            #expect(mounter.state(of: definition) == .notMounted)
        }
    }
}

/// The placeholder's mount calls against the made-up table: a tmpfs or a bind is a new top entry, a
/// detach takes the top one away; nothing is mounted for real.
extension FakeHost: MountCalls {
    /// A new mount at `path`; a bind (`of`) shares the device of the mount at that path, as the kernel's does.
    private func push(_ source: String, _ type: String, at path: String, of bound: String? = nil) {
        state.withLock { state in
            let id = max((state.table.map(\.mountID).max() ?? 0) + 1, 100)
            let parent = state.table.last { $0.mountPoint == path }?.mountID ?? 1
            let device = bound.flatMap { bound in state.table.last { $0.mountPoint == bound }?.device } ?? "0:\(id)"
            state.table.append(MountInfo.parse("\(id) \(parent) \(device) / \(path) ro - \(type) \(source) ro").first!)
            state.calls.append(["mount", type, path])
        }
    }

    /// A new tmpfs is empty: the folder (a real one, the tree is built in it) is emptied.
    func mountTmpfs(source: String, at path: String, inodes: Int) throws(KernelMount.Failure) {
        _ = PlaceholderTree.clear(path)
        push(source, "tmpfs", at: path)
    }
    func resizeTmpfs(at path: String, inodes: Int) throws(KernelMount.Failure) {}
    func makePrivateMountPoint(_ path: String) throws(KernelMount.Failure) {}
    func attachReadOnlyBind(of source: String, at target: String) throws(KernelMount.Failure) { push(PlaceholderMount.source, "tmpfs", at: target, of: source) }
    func attachReadOnlyBind(of source: String, onto folder: Int32, shown target: String) throws(KernelMount.Failure) {
        push(PlaceholderMount.source, "tmpfs", at: target, of: source)
    }
    func attachReadOnlyBindInChild(of source: String, at target: String, below prefix: String, runner: any ProcessRunner, timeout: Duration) throws(KernelMount.Failure) {
        push(PlaceholderMount.source, "tmpfs", at: target, of: source)
    }
    func detach(_ path: String) throws(KernelMount.Failure) {
        state.withLock { state in
            if let index = state.table.lastIndex(where: { $0.mountPoint == path }) { state.table.remove(at: index) }
            state.calls.append(["detach", path])
        }
    }
    func usedInodes(_ path: String) throws(KernelMount.Failure) -> Int { 1 }
}
