import Foundation
import Logging
import TestSupport
import Testing
@testable import System
@testable import Formats
@testable import Boot
@testable import Immich

/// A temporary root with `/etc/systemd/system`, as every systemd host has.
struct BootRoot {
    let path: String
    let root: SystemRoot

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-boot-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path + SystemRoot.Known.systemdUnitDirectory, withIntermediateDirectories: true)
        root = try SystemRoot(path)
    }

    func file(_ absolutePath: String) -> String { root.path(absolutePath) }

    func exists(_ absolutePath: String) -> Bool { FileManager.default.fileExists(atPath: file(absolutePath)) }

    func write(_ text: String, to absolutePath: String) throws {
        let path = file(absolutePath)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    /// Every path under the root with its kind, mode and contents, for before/after comparisons.
    func snapshot() throws -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = try #require(FileManager.default.enumerator(atPath: path))
        while let relative = enumerator.nextObject() as? String {
            let full = path + "/" + relative
            let attributes = try FileManager.default.attributesOfItem(atPath: full)
            let mode = String((attributes[.posixPermissions] as? Int) ?? -1, radix: 8)
            let type = attributes[.type] as? FileAttributeType
            let contents = type == .typeRegular ? (try? String(contentsOfFile: full, encoding: .utf8)) ?? "?" : "\(type?.rawValue ?? "?")"
            result[relative] = "\(mode) \(contents)"
        }
        return result
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Stands in for systemctl: records every call and answers `status`.
final class RecordingRunner: ProcessRunner, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [[String]] = []
    let status: (_ arguments: [String]) -> Int32

    init(status: @escaping (_ arguments: [String]) -> Int32 = { _ in 0 }) { self.status = status }

    var calls: [[String]] { lock.withLock { recorded } }

    func run(_ executable: String, _ arguments: [String], secret: Secret?, until deadline: Deadline) -> ProcessResult {
        lock.withLock { recorded.append([executable] + arguments) }
        return ProcessResult(status: status(arguments), standardError: "")
    }
}

/// The built extlib-net, next to the test bundle, through a path only root can replace (`TrustedCopy`,
/// which `enable` requires): a real executable for `ExecStart=`, so that `systemd-analyze verify` (which
/// checks it) has a meaningful one.
let builtExtlibNet: String = TrustedCopy.of(buildFolderExtlibNet)

/// The built extlib-net where the build left it, in `.build`.
let buildFolderExtlibNet: String = {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("extlib-net").path), directory.path != "/" {
        directory = directory.deletingLastPathComponent()
    }
    return directory.appendingPathComponent("extlib-net").path
}()

/// The real root of a system systemd does not run (a chroot): systemctl gets `--root=/`, so enable works
/// offline and nothing asks for daemon-reload or `--now`.
@Suite struct OfflineRootTests {
    @Test func theRealRootWithoutSystemdIsEnabledOffline() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-sd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(!BootInstaller.systemdIsRunning(folder))
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(BootInstaller.systemdIsRunning(folder))
        let offline = BootInstaller(root: .real, logger: Logger(label: "test"), runner: RecordingRunner(), systemctl: "/usr/bin/systemctl", live: false)
        #expect(offline.systemctlCommand(["enable", "extlib-net.service"]) == ["systemctl", "--root=/", "enable", "extlib-net.service"])
        let running = BootInstaller(root: .real, logger: Logger(label: "test"), runner: RecordingRunner(), systemctl: "/usr/bin/systemctl", live: true)
        #expect(running.systemctlCommand(["daemon-reload"]) == ["systemctl", "daemon-reload"])
        #expect(BootInstaller(root: .real, logger: Logger(label: "test")).live == BootInstaller.systemdIsRunning())
    }
}

func installer(_ root: BootRoot, runner: RecordingRunner = RecordingRunner(), systemctl: String? = "/usr/bin/systemctl", live: Bool? = nil) -> BootInstaller {
    BootInstaller(root: root.root, logger: Logger(label: "test"), runner: runner, systemctl: systemctl, live: live)
}

func options(wait: Duration = BootOptions.defaultWait, healEvery: Duration? = nil) -> BootOptions {
    BootOptions(wait: wait, healEvery: healEvery, executable: builtExtlibNet)
}

@Suite struct BootUnitsTests {
    @Test func durationsAreWrittenTheWaySystemdAndDurationTextReadThem() {
        let cases: [(Duration, String)] = [(.seconds(300), "5min"), (.seconds(90), "90s"), (.seconds(3600), "1h"), (.seconds(7200), "2h"),
                                           (.seconds(420), "7min"), (.milliseconds(1500), "1500ms"), (.seconds(0), "0s"), (.seconds(5400), "90min")]
        for (duration, text) in cases {
            #expect(BootUnits.systemdDuration(duration) == text)
            #expect(DurationText.parse(text) == duration)
        }
    }

    @Test func serviceRunsMountBeforeImmichWithAMarginOverTheWait() {
        let service = BootUnits.service(BootOptions(wait: .seconds(300), executable: "/usr/local/bin/extlib-net"))
        #expect(service.hasPrefix(BootUnits.header + "\n"))
        for line in ["Type=oneshot", "RemainAfterExit=yes", "Wants=network-online.target", "After=network-online.target",
                     "ExecStart=/usr/local/bin/extlib-net mount --all --wait 5min", "TimeoutStartSec=7min", "WantedBy=multi-user.target",
                     "Before=snap.immich-distribution.immich-server.service snap.immich-distribution.immich-machine-learning.service snap.immich-distribution.immich-microservices.service"] {
            #expect(service.split(separator: "\n").contains(Substring(line)), "missing \(line)")
        }
        let dropIn = BootUnits.dropIn()
        #expect(dropIn.contains("\nWants=extlib-net.service\nAfter=extlib-net.service\n"))
        #expect(!dropIn.contains("Requires="))
    }

    @Test func optionsAndExecutableReadBackFromTheServiceFile() {
        for executable in ["/usr/local/bin/extlib-net", "/opt/my tools/extlib-net", "/opt/100%/\"x\"\\y$HOME"] {
            for healEvery in [nil, Duration.seconds(600)] {
                let options = BootOptions(wait: .seconds(90), healEvery: healEvery, executable: executable)
                #expect(BootUnits.recordedOptions(inService: BootUnits.service(options)) == options)
            }
        }
        #expect(BootUnits.execArgument("/opt/my tools/x") == "\"/opt/my tools/x\"")
        #expect(BootUnits.execArgument("/opt/100%/x") == "/opt/100%%/x")
        #expect(BootUnits.recordedOptions(inService: "[Service]\nExecStart=/x\n") == nil)
    }

    @Test func healUnitsOnlyWhenAsked() {
        #expect(BootUnits.files(for: options()).map(\.path) == [BootUnits.servicePath, BootUnits.dropInPath, BootUnits.shutdownServicePath])
        let files = BootUnits.files(for: options(healEvery: .seconds(600)))
        #expect(files.map(\.path) == BootUnits.allPaths)
        let timer = files[4].contents
        #expect(timer.contains("\nOnBootSec=10min\nOnUnitActiveSec=10min\n"))
        #expect(timer.contains("\nAccuracySec=1s\n"), "a heal runs when it is due, not up to a minute later")
        #expect(timer.contains("\nWantedBy=timers.target\n"))
        #expect(files[3].contents.contains("\nExecStart=\(builtExtlibNet) heal --all\n"))
        #expect(files[3].contents.contains("\nAfter=extlib-net.service network-online.target\n"))
    }

    /// The shutdown unit: active from boot (nothing to start), its stop unmounts everything lazily, and it
    /// is stopped after Immich and a heal run and before the network and the mounts go.
    @Test func shutdownUnitUnmountsEverythingOnceImmichHasStopped() {
        let unit = BootUnits.files(for: options())[2].contents
        #expect(unit.contains("\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStop=\(builtExtlibNet) unmount --all --shutdown\n"))
        #expect(!unit.contains("ExecStart="), "nothing runs at boot")
        #expect(unit.contains("\nAfter=network-online.target remote-fs.target\n"))
        // Active before the boot mount starts: a reboot while it waits for a NAS still runs the ExecStop.
        #expect(unit.contains("\nBefore=extlib-net.service extlib-net-heal.service snap.immich-distribution.immich-server.service "))
        #expect(unit.contains("\nTimeoutStopSec=90\n"))
        #expect(BootUnits.unitSet(options()).keptRunning == [BootUnits.shutdownServiceName], "boot disable must not unmount")
    }
}

/// `systemd-analyze verify` on the files `boot enable` writes. It exits 0 on mere warnings (an unknown
/// key, an unparsable value) unless `--recursive-errors=yes`, so both the status and silence are required.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze"))
struct BootVerifyTests {
    /// Runs `systemd-analyze verify --recursive-errors=yes UNITS` with the root's unit folder and
    /// `stubs` searched first (then the system's own units: network-online.target, multi-user.target).
    func verify(_ root: BootRoot, stubs: String, _ units: [String]) throws -> (status: Int32, output: String) {
        try runCapturingOutput("/usr/bin/systemd-analyze", ["verify", "--recursive-errors=yes"] + units, environment: [
            "SYSTEMD_UNIT_PATH": "\(root.file(SystemRoot.Known.systemdUnitDirectory)):\(stubs):", "SYSTEMD_LOG_COLOR": "0",
        ])
    }

    /// A stand-in for the snap's server unit, so its drop-in is loaded with it.
    func stubs(_ root: BootRoot) throws -> String {
        let directory = root.path + "-stubs"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "[Unit]\nDescription=stand-in\n\n[Service]\nExecStart=/usr/bin/sleep infinity\n"
            .write(toFile: directory + "/snap.immich-distribution.immich-server.service", atomically: false, encoding: .utf8)
        return directory
    }

    @Test func everyWrittenUnitVerifiesCleanly() throws {
        let root = try BootRoot()
        let stubs = try stubs(root)
        defer { root.remove(); try? FileManager.default.removeItem(atPath: stubs) }
        #expect(FileManager.default.isExecutableFile(atPath: builtExtlibNet), "\(builtExtlibNet)")
        _ = try installer(root).enable(options(healEvery: .seconds(600)), reload: false)
        // The service by path; the heal units; the Immich server unit by name, which loads our drop-in and,
        // recursively, extlib-net.service it wants. The Before= units need not exist: verify says nothing.
        for units in [[root.file(BootUnits.servicePath)], [BootUnits.healServiceName, BootUnits.healTimerName],
                      ["snap.immich-distribution.immich-server.service"]] {
            let (status, output) = try verify(root, stubs: stubs, units)
            #expect(status == 0 && output.isEmpty, "\(units): status \(status): \(output)")
        }
    }

    @Test func brokenUnitsFailVerification() throws {
        let root = try BootRoot()
        let stubs = try stubs(root)
        defer { root.remove(); try? FileManager.default.removeItem(atPath: stubs) }
        _ = try installer(root).enable(options(), reload: false)
        let service = root.file(BootUnits.servicePath)
        let good = try String(contentsOfFile: service, encoding: .utf8)
        let breakages = [("Type=oneshot", "Type=oneshoot"), ("ExecStart=\(builtExtlibNet)", "ExecStart=/nonexistent/extlib-net"), ("[Service]", "[Servce]")]
        for (from, to) in breakages {
            try good.replacingOccurrences(of: from, with: to).write(toFile: service, atomically: false, encoding: .utf8)
            let (status, output) = try verify(root, stubs: stubs, [service])
            #expect(status != 0, "\(to) passed: \(output)")
            // Reached through the drop-in too (proof that verify loads it), except the missing executable:
            // for units reached recursively, verify checks the configuration, not ExecStart's file.
            guard !to.hasPrefix("ExecStart") else { continue }
            let (viaDropIn, _) = try verify(root, stubs: stubs, ["snap.immich-distribution.immich-server.service"])
            #expect(viaDropIn != 0, "\(to) passed through the drop-in")
        }
        try good.write(toFile: service, atomically: false, encoding: .utf8)
        let dropIn = root.file(BootUnits.dropInPath)
        try BootUnits.dropIn().replacingOccurrences(of: "Wants=", with: "Wantz=").write(toFile: dropIn, atomically: false, encoding: .utf8)
        let (status, output) = try verify(root, stubs: stubs, ["snap.immich-distribution.immich-server.service"])
        #expect(status != 0 && output.contains("Wantz"), "a broken drop-in passed: \(output)")
    }
}

@Suite struct BootInstallerTests {
    func inode(_ path: String) throws -> [String] {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return ["\(attributes[.systemFileNumber] ?? "")", "\(attributes[.modificationDate] ?? "")"]
    }

    @Test func enableWritesAllFiles0644AndTwiceChangesNothing() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let boot = installer(root)
        let first = try boot.enable(options(healEvery: .seconds(600)), reload: false)
        #expect(first.changes == BootUnits.allPaths.map { .created(root.file($0)) })
        for path in BootUnits.allPaths {
            let attributes = try FileManager.default.attributesOfItem(atPath: root.file(path))
            #expect(attributes[.posixPermissions] as? Int == 0o644, "\(path)")
        }
        let dropInDirectory = try FileManager.default.attributesOfItem(atPath: root.file(BootUnits.dropInDirectory))
        #expect(dropInDirectory[.posixPermissions] as? Int == 0o755)
        let before = try BootUnits.allPaths.map { try inode(root.file($0)) }
        let second = try boot.enable(options(healEvery: .seconds(600)), reload: false)
        #expect(second.changedNothing)
        #expect(second.previous == options(healEvery: .seconds(600)))
        #expect(try BootUnits.allPaths.map { try inode(root.file($0)) } == before, "rewritten")
    }

    @Test func enableWithoutHealAfterEnableWithItRemovesTheTimer() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let boot = installer(root)
        _ = try boot.enable(options(healEvery: .seconds(600)), reload: false)
        let report = try boot.enable(options(wait: .seconds(60)), reload: false)
        #expect(report.changes.contains(.updated(root.file(BootUnits.servicePath))))
        #expect(report.changes.contains(.unchanged(root.file(BootUnits.dropInPath))))
        #expect(report.changes.contains(.removed(root.file(BootUnits.healTimerPath))))
        #expect(report.previous?.healEvery == .seconds(600))
        #expect(!root.exists(BootUnits.healServicePath) && !root.exists(BootUnits.healTimerPath))
        #expect(root.exists(BootUnits.servicePath) && root.exists(BootUnits.dropInPath))
    }

    @Test(arguments: [false, true])
    func disableRemovesExactlyWhatEnableWrote(otherDropIn: Bool) throws {
        let root = try BootRoot()
        defer { root.remove() }
        try root.write("[Service]\nExecStart=/bin/true\n", to: "/etc/systemd/system/other.service")
        if otherDropIn { try root.write("[Unit]\nAfter=other.service\n", to: BootUnits.dropInDirectory + "/other.conf") }
        let before = try root.snapshot()
        let boot = installer(root)
        _ = try boot.enable(options(healEvery: .seconds(600)), reload: false)
        #expect(try root.snapshot() != before)
        let report = try boot.disable(reload: false)
        #expect(report.changes == BootUnits.allPaths.map { .removed(root.file($0)) })
        #expect(try root.snapshot() == before)
    }

    @Test func foreignFilesAreNeverOverwrittenNorRemoved() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let mine = "[Timer]\nOnCalendar=daily\n"
        try root.write(mine, to: BootUnits.healTimerPath)
        let boot = installer(root)
        // Not wanted: left alone, with a note.
        let enabled = try boot.enable(options(), reload: false)
        #expect(enabled.changes.contains(.keptForeign(root.file(BootUnits.healTimerPath))))
        let disabledOnce = try boot.disable(reload: false)
        #expect(disabledOnce.changes == [.keptForeign(root.file(BootUnits.healTimerPath)), .removed(root.file(BootUnits.servicePath)),
                                         .removed(root.file(BootUnits.dropInPath)), .removed(root.file(BootUnits.shutdownServicePath))])
        // Wanted: refused before anything is written.
        #expect(throws: BootError(.foreign(path: root.file(BootUnits.healTimerPath)))) { try boot.enable(options(healEvery: .seconds(600)), reload: false) }
        #expect(!root.exists(BootUnits.servicePath) && !root.exists(BootUnits.dropInPath))
        #expect(try String(contentsOfFile: root.file(BootUnits.healTimerPath), encoding: .utf8) == mine)
        // A symlink at our path is never followed or removed either.
        try FileManager.default.createSymbolicLink(atPath: root.file(BootUnits.servicePath), withDestinationPath: "/etc/hostname")
        let disabled = try boot.disable(reload: false)
        #expect(disabled.changes.contains(.keptForeign(root.file(BootUnits.servicePath))))
        #expect(disabled.changedNothing)
    }

    @Test func disableWhenNothingIsEnabledDoesNothing() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let runner = RecordingRunner()
        let before = try root.snapshot()
        let report = try installer(root, runner: runner).disable(reload: true)
        #expect(report.changes.isEmpty && report.changedNothing)
        #expect(runner.calls.isEmpty)
        #expect(try root.snapshot() == before)
    }

    @Test func noReloadRunsNoProcess() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let runner = RecordingRunner()
        let boot = installer(root, runner: runner, live: true)
        _ = try boot.enable(options(healEvery: .seconds(600)), reload: false)
        _ = try boot.enable(options(), reload: false)
        _ = try boot.disable(reload: false)
        #expect(runner.calls.isEmpty)
    }

    @Test func liveSystemReloadsThenEnablesAndDisablesThenReloads() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let runner = RecordingRunner()
        let boot = installer(root, runner: runner, live: true)
        let enabled = try boot.enable(options(healEvery: .seconds(600)), reload: true)
        #expect(enabled.systemctlFailure == nil)
        #expect(runner.calls == [["/usr/bin/systemctl", "daemon-reload"],
                                 ["/usr/bin/systemctl", "enable", "extlib-net.service", "extlib-net-shutdown.service", "extlib-net-heal.timer"],
                                 ["/usr/bin/systemctl", "start", "extlib-net-shutdown.service"]])
        _ = try boot.disable(reload: true)
        // The shutdown unit is not stopped: its stop unmounts every share.
        #expect(Array(runner.calls.dropFirst(3)) == [["/usr/bin/systemctl", "disable", "--now", "extlib-net.service", "extlib-net-heal.timer"],
                                                     ["/usr/bin/systemctl", "disable", "extlib-net-shutdown.service"],
                                                     ["/usr/bin/systemctl", "daemon-reload"]])
    }

    @Test func anotherRootUsesSystemctlRootAndNoDaemonReload() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let runner = RecordingRunner()
        let boot = installer(root, runner: runner)
        _ = try boot.enable(options(healEvery: .seconds(600)), reload: true)
        _ = try boot.enable(options(), reload: true)
        _ = try boot.disable(reload: true)
        let systemctl = ["/usr/bin/systemctl", "--root=\(root.path)"]
        #expect(runner.calls == [systemctl + ["enable", "extlib-net.service", "extlib-net-shutdown.service", "extlib-net-heal.timer"],
                                 systemctl + ["disable", "extlib-net-heal.timer"],
                                 systemctl + ["enable", "extlib-net.service", "extlib-net-shutdown.service"],
                                 systemctl + ["disable", "extlib-net.service", "extlib-net-shutdown.service"]])
    }

    @Test func systemctlFailingOrMissingKeepsTheFiles() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let failing = RecordingRunner { $0.first == "enable" ? 1 : 0 }
        let report = try installer(root, runner: failing, live: true).enable(options(), reload: true)
        #expect(report.systemctlFailure?.exitStatus == .system)
        #expect(report.systemctlFailure?.description.contains("systemctl enable extlib-net.service extlib-net-shutdown.service failed with status 1") == true)
        #expect(root.exists(BootUnits.servicePath) && root.exists(BootUnits.dropInPath))

        let missing = try installer(root, runner: RecordingRunner(), systemctl: nil, live: true).disable(reload: true)
        #expect(missing.systemctlFailure == BootError(.systemctlMissing))
        #expect(missing.systemctlFailure?.exitStatus == .system)
        #expect(!root.exists(BootUnits.servicePath), "disable removes the files even without systemctl")
    }

    @Test func statusReportsPresentMissingModifiedAndForeign() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let runner = RecordingRunner()
        let boot = installer(root, runner: runner)
        let none = try boot.status()
        #expect(!none.enabled && none.files.map(\.state) == [.missing, .unused, .unused, .unused, .unused])
        _ = try boot.enable(options(healEvery: .seconds(600)), reload: false)
        let fresh = try boot.status()
        #expect(fresh.options == options(healEvery: .seconds(600)))
        #expect(fresh.files.map(\.state) == [.present, .present, .present, .present, .present])
        #expect(fresh.isEnabled == nil && runner.calls.isEmpty, "systemctl is only asked on the live system")

        let timer = root.file(BootUnits.healTimerPath)
        try (try String(contentsOfFile: timer, encoding: .utf8) + "Persistent=true\n").write(toFile: timer, atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: root.file(BootUnits.dropInPath))
        try root.write("[Service]\nExecStart=/bin/true\n", to: BootUnits.healServicePath)
        #expect(try boot.status().files.map(\.state) == [.present, .missing, .present, .foreign, .modified])

        let live = try installer(root, runner: runner, live: true).status()
        #expect(runner.calls.map { Array($0.dropFirst()) } == [["is-enabled", "extlib-net.service"], ["is-active", "extlib-net.service"]])
        // The runner answers nothing on standard output: that is no state, and says why.
        #expect(live.isEnabled == .unknown(reason: "status 0") && live.isActive == .unknown(reason: "status 0"))
        #expect(SystemctlAnswer("enabled") == .state("enabled") && SystemctlAnswer("enabled-runtime") == .state("enabled-runtime"))
        for bad in ["", "Enabled", "unknown (status 3)", "active\u{1B}[2J", String(repeating: "a", count: 33)] {
            #expect(SystemctlAnswer(bad) == nil, "\(bad.debugDescription)")
        }
        #expect(!Rendering.json(live).contains("unknown"), "JSON carries a state word or null, never prose")
    }
}

/// Runs a program with these variables added to the test's environment; its exit status and its
/// standard output and error together.
func runCapturingOutput(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let outcome = try Child.runBlocking(executable, arguments, environment: environment, capture: .merged, timeout: .seconds(60))
    #expect(!outcome.timedOut, "\(executable) \(arguments) did not end within a minute")
    return (outcome.status, outcome.output)
}

/// contrib/extlib-net-boot, for hosts without systemd. Serialized: each case writes a fake binary and runs it,
/// and a sibling forking in between can hold the half-written file open, so exec fails with ETXTBSY (126).
@Suite(.serialized) struct BootScriptTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("contrib/extlib-net-boot").path

    @Test func isPosixShell() throws {
        let text = try String(contentsOfFile: Self.script, encoding: .utf8)
        #expect(text.hasPrefix("#!/bin/sh\n"))
        #expect(FileManager.default.isExecutableFile(atPath: Self.script))
        for shell in ["/bin/sh", "/usr/bin/dash", "/bin/dash"] where FileManager.default.isExecutableFile(atPath: shell) {
            let (status, output) = try runCapturingOutput(shell, ["-n", Self.script])
            #expect(status == 0, "\(shell) -n: \(output)")
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/checkbashisms") {
            let (status, output) = try runCapturingOutput("/usr/bin/checkbashisms", [Self.script])
            #expect(status == 0, "checkbashisms: \(output)")
        }
    }

    @Test(arguments: [(nil, "5min", 0), ("90s", "90s", 32), (nil, "5min", 64)] as [(String?, String, Int32)])
    func callsMountAllWaitAndPassesTheStatusOn(_ wait: String?, _ expected: String, _ exit: Int32) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-script-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fake = directory + "/fake extlib-net"
        try "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$(dirname \"$0\")/arguments\"\nexit \(exit)\n"
            .write(toFile: fake, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        var environment = ["EXTLIB_NET": fake]
        if let wait { environment["EXTLIB_NET_WAIT"] = wait }
        let (status, output) = try runCapturingOutput(Self.script, [], environment: environment)
        #expect(status == exit, "\(output)")
        #expect(try String(contentsOfFile: directory + "/arguments", encoding: .utf8) == "mount\n--all\n--wait\n\(expected)\n")
    }
}

/// `BootInstaller.checkExecutable`: a unit runs its binary as root, so only a binary nobody but root can
/// replace may be named; checked on files made here with each owner and mode.
@Suite(.enabled(if: getuid() == 0, "needs root: files owned by root and by others")) struct TrustedBinaryTests {
    /// A root-owned 0755 folder under the temporary directory (sticky /tmp is allowed) with a 0755 binary.
    struct Layout {
        let folder: String
        var binary: String { folder + "/extlib-net" }

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-trust-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder + "/.build/release", withIntermediateDirectories: true)
            for path in [binary, folder + "/.build/release/extlib-net"] {
                try "#!/bin/sh\n".write(toFile: path, atomically: false, encoding: .utf8)
                #expect(chmod(path, 0o755) == 0)
            }
            #expect(chmod(folder, 0o755) == 0)
        }

        func remove() { try? FileManager.default.removeItem(atPath: folder) }
    }

    func problem(_ path: String) -> UntrustedBinary.Problem? {
        do {
            try BootInstaller.checkExecutable(path)
            return nil
        } catch {
            guard case .untrustedBinary(let untrusted) = error.code else { Issue.record("\(error)"); return nil }
            #expect(untrusted.binary == path)
            return untrusted.problem
        }
    }

    @Test func rootOwnedAndNotWritableByOthersIsTrusted() throws {
        let layout = try Layout()
        defer { layout.remove() }
        #expect(problem(layout.binary) == nil)
        #expect(problem(builtExtlibNet) == nil, "the tests' copy of the build")
        // Sticky and writable by all (as /tmp): only root may rename or remove root's entry there.
        #expect(chmod(layout.folder, 0o1777) == 0)
        #expect(problem(layout.binary) == nil)
        // A symlink is followed, and the real path is what is checked.
        let link = layout.folder + "/link"
        #expect(symlink(layout.folder + "/.build/release/extlib-net", link) == 0)
        #expect(problem(link) == .buildFolder)
    }

    @Test func aBuildFolderIsRefused() throws {
        let layout = try Layout()
        defer { layout.remove() }
        #expect(problem(layout.folder + "/.build/release/extlib-net") == .buildFolder)
        #expect(problem(buildFolderExtlibNet) == .buildFolder)
    }

    @Test func writableByGroupOrOthersIsRefused() throws {
        let layout = try Layout()
        defer { layout.remove() }
        for mode: mode_t in [0o775, 0o757, 0o777] {
            #expect(chmod(layout.binary, mode) == 0)
            #expect(problem(layout.binary) == .writable(path: layout.binary, mode: UInt32(S_IFREG | mode)))
        }
        // Sticky does not help a file: whoever may write it may change it.
        #expect(chmod(layout.binary, 0o1777) == 0)
        #expect(problem(layout.binary) == .writable(path: layout.binary, mode: UInt32(S_IFREG | 0o1777)))
        #expect(chmod(layout.binary, 0o755) == 0)
        #expect(chmod(layout.folder, 0o775) == 0)
        #expect(problem(layout.binary) == .writable(path: layout.folder, mode: UInt32(S_IFDIR | 0o775)))
        let error = BootError(.untrustedBinary(UntrustedBinary(binary: layout.binary, problem: .writable(path: layout.folder, mode: UInt32(S_IFDIR | 0o775)))))
        #expect(error.description.contains("is writable by its group (mode 775)"))
        #expect(error.exitStatus == .usage)
    }

    @Test func notOwnedByRootIsRefused() throws {
        let layout = try Layout()
        defer { layout.remove() }
        #expect(chown(layout.binary, 65534, 0) == 0)
        #expect(problem(layout.binary) == .notOwnedByRoot(path: layout.binary, uid: 65534))
        #expect(chown(layout.binary, 0, 0) == 0)
        #expect(chown(layout.folder, 65534, 65534) == 0)
        #expect(problem(layout.binary) == .notOwnedByRoot(path: layout.folder, uid: 65534))
    }

    @Test func missingOrNotAFileIsRefused() throws {
        let layout = try Layout()
        defer { layout.remove() }
        #expect(problem(layout.folder + "/nothing") == .cannotInspect(path: layout.folder + "/nothing", errno: ENOENT))
        #expect(problem(layout.folder) == .notRegularFile)
    }

    /// Refused before anything is written: not the units, not their folders.
    @Test func enableAndInstallWriteNothingForAnUntrustedBinary() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let before = try root.snapshot()
        let untrusted = BootOptions(wait: .seconds(60), healEvery: .seconds(600), executable: buildFolderExtlibNet)
        #expect(throws: BootError(.untrustedBinary(UntrustedBinary(binary: buildFolderExtlibNet, problem: .buildFolder)))) {
            try installer(root).enable(untrusted, reload: true)
        }
        let guardUnits = GuardUnits.unitSet(GuardSettings(remembered: LibraryScanSettings(enabled: true, cronExpression: "0 0 * * *", watchEnabled: false),
                                                          schedule: .calendar("*-*-* 00:00:00")), executable: buildFolderExtlibNet)
        #expect(throws: BootError.self) { try installer(root).apply(guardUnits, reload: true) }
        #expect(try root.snapshot() == before)
    }

    /// The one pipeline checks every file of every set: a control character that slipped into a value
    /// (here a carriage return, or an escape) refuses the whole set before anything is written.
    @Test func aUnitSetWithAControlCharacterWritesNothing() throws {
        let root = try BootRoot()
        defer { root.remove() }
        let before = try root.snapshot()
        let good = BootUnits.unitSet(options(healEvery: .seconds(600)))
        for bad in ["ExecStart=/bin/true\r\nExecStartPre=/bin/sh", "Description=\u{1B}[2J", "X=\u{2028}"] {
            var files = good.wanted
            files[2] = BootFile(path: files[2].path, contents: files[2].contents + bad + "\n")
            let set = UnitSet(writer: good.writer, header: good.header, allPaths: good.allPaths, wanted: files, executable: good.executable,
                              enabling: good.enabling, startNow: false, enabledUnitAt: good.enabledUnitAt)
            #expect(throws: BootError.self) { try installer(root).apply(set, reload: false) }
        }
        let foreignPath = UnitSet(writer: good.writer, header: good.header, allPaths: [BootUnits.servicePath], wanted: good.wanted,
                                  executable: good.executable, enabling: [], startNow: false, enabledUnitAt: [:])
        #expect(throws: BootError.self) { try installer(root).apply(foreignPath, reload: false) }
        #expect(try root.snapshot() == before)
        #expect(try installer(root).apply(good, reload: false).changes.count == 5)
    }
}

/// One rendering of a unit report for boot, the guard and setup; the warning names the command whose
/// files they are (the guard's said "boot enable").
@Suite struct BootReportPresentationTests {
    @Test func linesNameTheirWriterAndLeaveTheFailedRunToTheError() {
        var report = BootReport()
        report.changes = [.created("/a"), .updated("/b"), .removed("/c"), .unchanged("/d"), .keptForeign("/e")]
        report.commands = [["systemctl", "daemon-reload"], ["systemctl", "enable", "x.timer"]]
        report.systemctlFailure = BootError(.systemctlFailed(command: "systemctl enable x.timer", status: 1, output: "", timedOut: false))
        let lines = BootReportPresentation.lines(report, writer: "immich guard enable")
        #expect(lines.done == ["wrote /a", "updated /b", "removed /c", "ran systemctl daemon-reload"])
        #expect(lines.warnings == ["left /e alone: it was not written by extlib-net immich guard enable"])
        #expect(BootReportPresentation.lines(report, writer: "boot enable").warnings == ["left /e alone: it was not written by extlib-net boot enable"])
    }
}
