import Core
import Immich
import Foundation
import TestSupport
import Testing

/// `extlib-net boot ...` as users run it, under a scratch --root: no server needed.
@Suite struct BootCLITests {
    static let serviceFile = "/etc/systemd/system/extlib-net.service"

    @Test func enableHelpDocumentsOptions() async throws {
        let help = try await CLI.run(["boot", "enable", "--help"])
        #expect(help.status == 0)
        for text in ["--wait", "--heal-every", "--no-reload", "--root", "Exits 16 when a unit file"] {
            #expect(help.output.contains(text), "help lacks '\(text)'")
        }
        let top = try await CLI.run(["--help"])
        #expect(top.output.contains("boot"))
    }

    @Test(arguments: [
        (["--wait", "soon"], "--wait must be a duration"),
        (["--wait", "0"], "--wait must be from 1s to 24h"),
        (["--heal-every", "30s"], "--heal-every must be from 1min to 720h"),
        (["--heal-every", "often"], "--heal-every must be a duration"),
        (["--heal-every", "20s"], "not '20s' (remounting more often only adds load)"),
        // The parser quotes the refused text: escaped like all text from outside, never raw to the terminal.
        (["--wait", "1\u{1B}]0;owned\u{07}"], "not '1\\u{1b}]0;owned\\u{7}'"),
    ])
    func badDurationsAreUsageErrors(_ arguments: [String], _ message: String) async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let outcome = try await CLI.run(["boot", "enable", "--root", scratch.path, "--no-reload"] + arguments)
        #expect(outcome.status == 1)
        #expect(outcome.error.contains(message), "stderr: \(outcome.error)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + Self.serviceFile))
        #expect(!outcome.error.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "stderr: \(outcome.error.debugDescription)")
    }

    /// Every duration option is parsed once, by its transform, and refused with its reason and range
    /// before anything runs.
    @Test(arguments: [
        (["immich", "guard", "enable", "--every", "30s"], "--every must be from 1min to 8784h, not '30s'"),
        (["immich", "guard", "enable", "--every", "daily"], "--every must be a duration such as 24h or 6h"),
        (["immich", "recover", "--wait", "25h"], "--wait must be from 0s to 24h, not '25h'"),
        (["mount", "--all", "--wait", "soon"], "--wait must be a duration such as 90, 30s or 2min"),
        (["heal", "--all", "--wait", "1y"], "--wait must be a duration such as 90, 30s or 2min (from 0s to 24h), not '1y'"),
    ])
    func everyDurationOptionSaysWhyItIsRefused(_ arguments: [String], _ message: String) async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let outcome = try await CLI.run(arguments + ["--root", scratch.path])
        #expect(outcome.status == 1 && outcome.error.contains(message), "stderr: \(outcome.error)")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: scratch.path).isEmpty, "nothing written")
    }

    /// A unit runs its binary as root at every boot: one in `.build` is refused, with the fix, and nothing is written.
    @Test(.enabled(if: CLI.built.split(separator: "/").contains(".build"), "EXTLIB_NET_BIN is not in .build"))
    func enableRefusesABinaryInTheBuildFolder() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let before = try FileManager.default.subpathsOfDirectory(atPath: scratch.path)
        let refused = try await CLI.run(["--root", scratch.path, "boot", "enable", "--no-reload", "--heal-every", "15min"], binary: CLI.built)
        #expect(refused.status == 1, "\(refused.error)")
        for text in ["refusing to write a unit that runs \(CLI.built) as root", "build folder (.build)", "scripts/install", ".deb", "nothing was written"] {
            #expect(refused.error.contains(text), "stderr lacks '\(text)': \(refused.error)")
        }
        #expect(try FileManager.default.subpathsOfDirectory(atPath: scratch.path) == before)
    }

    /// boot enable is all or nothing, like the guard's units (one `UnitSet` pipeline): a disk that fills
    /// half-way (a real tmpfs with room for two files) leaves no unit behind, and a later enable works.
    @Test(.enabled(if: getuid() == 0, "mounts a tmpfs"))
    func aFullDiskLeavesNoUnitBehind() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let folder = scratch.path + "/etc/systemd/system"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let mounted = try Child.runBlocking("/bin/mount", ["-t", "tmpfs", "-o", "nr_inodes=3,size=1m,mode=0755", "tmpfs", folder], timeout: .seconds(10))
        try #require(mounted.status == 0, "mount tmpfs: \(mounted.error)")
        defer { _ = try? Child.runBlocking("/bin/umount", ["-l", folder], timeout: .seconds(10)) }
        let full = try await CLI.run(["--root", scratch.path, "boot", "enable", "--no-reload", "--heal-every", "15min"])
        #expect(full.status != 0 && full.error.lowercased().contains("space"), "\(full.error.debugDescription)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [], "nothing left behind")
        let status = try await CLI.run(["--root", scratch.path, "boot", "status", "--json"])
        #expect(try status.json()["enabled"] as? Bool == false)
        _ = try Child.runBlocking("/bin/mount", ["-o", "remount,nr_inodes=100", folder], timeout: .seconds(10))
        let enabled = try await CLI.run(["--root", scratch.path, "boot", "enable", "--no-reload", "--heal-every", "15min"])
        #expect(enabled.status == 0, "\(enabled.error)")
    }

    @Test func enableStatusDisableWithGlobalOptionsFirst() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let enabled = try await CLI.run(["--root", scratch.path, "boot", "enable", "--no-reload", "--wait", "2min", "--heal-every", "15min"])
        #expect(enabled.status == 0, "\(enabled.error)")
        #expect(enabled.output.contains("extlib-net mount --all"))
        let service = try String(contentsOfFile: scratch.path + Self.serviceFile, encoding: .utf8)
        // ExecStart names this very binary, resolved like readlink /proc/self/exe.
        let resolved = URL(fileURLWithPath: CLI.executable).resolvingSymlinksInPath().path
        #expect(service.contains("\nExecStart=\(resolved) mount --all --wait 2min\n"), "\(service)")
        let again = try await CLI.run(["--root=\(scratch.path)", "boot", "enable", "--no-reload", "--wait", "2min", "--heal-every", "15min"])
        #expect(again.output.contains("already enabled, nothing changed"))
        let changed = try await CLI.run(["--root", scratch.path, "boot", "enable", "--no-reload"])
        #expect(changed.output.contains("changed: wait 2min -> 5min; heal timer removed"), "\(changed.output)")
        let status = try await CLI.run(["--root", scratch.path, "boot", "status", "--json"])
        #expect(status.status == 0)
        let json = try status.json()
        #expect(json["enabled"] as? Bool == true)
        let states = try #require(json["files"] as? [[String: Any]]).compactMap { $0["state"] as? String }
        #expect(states == ["present", "present", "present", "not used", "not used"])
        let disabled = try await CLI.run(["--root", scratch.path, "boot", "disable", "--no-reload"])
        #expect(disabled.status == 0)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + Self.serviceFile))
        let twice = try await CLI.run(["--root", scratch.path, "boot", "disable", "--no-reload"])
        #expect(twice.output.contains("not enabled, nothing to do"))
    }

    /// The real `systemctl --root=DIR enable`, which needs no running systemd: it links the unit into
    /// multi-user.target.wants under DIR.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemctl"), "needs systemctl"))
    func enableUnderAnotherRootLinksTheUnitWithSystemctl() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let link = scratch.path + "/etc/systemd/system/multi-user.target.wants/extlib-net.service"
        let enabled = try await CLI.run(["--root", scratch.path, "boot", "enable"])
        #expect(enabled.status == 0, "\(enabled.error)")
        #expect(enabled.output.contains("ran systemctl --root=\(scratch.path) enable extlib-net.service"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == Self.serviceFile)
        let disabled = try await CLI.run(["--root", scratch.path, "boot", "disable"])
        #expect(disabled.status == 0, "\(disabled.error)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == nil)
    }
}

/// Numbers far out of range: a usage error (1), never a crash.
@Suite struct HugeNumberCLITests {
    @Test(arguments: ["1e300", "1e18", "9.3e15", "99999999999999999999", "25h"])
    func mountAndHealWait(_ value: String) async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        for command in ["mount", "heal"] {
            let outcome = try await CLI.run([command, "--all", "--wait", value, "--root", scratch.path])
            #expect(outcome.status == 1, "\(command) --wait \(value): \(outcome.error)")
            #expect(outcome.error.contains("--wait must be"), "\(outcome.error)")
        }
    }

    @Test(arguments: [["--heal-every", "1e300"], ["--wait", "1e300"], ["--wait", "99999999999999999999"], ["--heal-every", "9.3e15"]])
    func bootEnable(_ arguments: [String]) async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let outcome = try await CLI.run(["boot", "enable", "--no-reload", "--root", scratch.path] + arguments)
        #expect(outcome.status == 1, "\(outcome.error)")
        #expect(outcome.error.contains("must be"), "\(outcome.error)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + BootCLITests.serviceFile))
    }
}

/// The real binary started from a path with a line break: `boot enable` writes nothing.
@Suite struct UnitFileInjectionCLITests {
    @Test func aBinaryPathWithALineBreakIsRefused() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let directory = scratch.path + "/bin\nExecStart=/bin/evil"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let binary = directory + "/extlib-net"
        if link(CLI.executable, binary) != 0 { try FileManager.default.copyItem(atPath: CLI.executable, toPath: binary) }
        let root = scratch.path + "/root"
        let outcome = try await Child.run(binary, ["boot", "enable", "--no-reload", "--root", root], environment: [:], input: "", timeout: CLI.limit)
        #expect(outcome.status == ExitStatus.configuration.rawValue, "\(outcome.error)")
        #expect(outcome.error.contains("cannot be written into a systemd unit file"), "\(outcome.error)")
        #expect(outcome.error.contains(#"bin\nExecStart"#), "the line break is shown escaped: \(outcome.error)")
        #expect(!FileManager.default.fileExists(atPath: root + BootCLITests.serviceFile))
    }

    /// The same binary for the guard's units: before, `immich guard enable` wrote the path as it was, and
    /// the line break started an `ExecStartPre=` line in both guard services.
    @Test func theGuardRefusesABinaryPathWithALineBreakBeforeImmichChanges() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        try await immich.login()
        let directory = immich.scratch.path + "/bin\nExecStartPre=/bin/evil"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let binary = directory + "/extlib-net"
        if link(CLI.executable, binary) != 0 { try FileManager.default.copyItem(atPath: CLI.executable, toPath: binary) }
        let before = try immich.config()
        let outcome = try await Child.run(binary, ["immich", "guard", "enable", "--no-reload", "--root", immich.scratch.path], environment: [:], input: "", timeout: CLI.limit)
        #expect(outcome.status == ExitStatus.configuration.rawValue, "\(outcome.error)")
        #expect(outcome.error.contains("cannot be written into a systemd unit file"), "\(outcome.error)")
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + GuardUnits.servicePath))
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + GuardUnits.recoverPath))
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + "/etc/extlib-net/immich-guard"))
        #expect(NSDictionary(dictionary: try immich.config()).isEqual(to: before), "Immich unchanged")
    }

    @Test func aLinkedDropInFolderLeavesNothingHalfMade() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let units = scratch.path + "/etc/systemd/system"
        try FileManager.default.createDirectory(atPath: units, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.path + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: units + "/snap.immich-distribution.immich-server.service.d", withDestinationPath: scratch.path + "/elsewhere")
        let outcome = try await CLI.run(["boot", "enable", "--no-reload", "--root", scratch.path])
        #expect(outcome.status == ExitStatus.configuration.rawValue, "\(outcome.error)")
        #expect(outcome.error.contains("is a symbolic link; extlib-net follows no link"), "\(outcome.error)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + BootCLITests.serviceFile))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/elsewhere").isEmpty)
    }
}
