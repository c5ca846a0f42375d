import Foundation
import TestSupport
import Core
import Testing

/// The doctor's child process and heal / doctor end to end on the host, under a scratch --root: real
/// setns into namespaces made here, real capability dropping, real file permissions.
@Suite(.serialized) struct HealthCLITests {
    func shell(_ command: String) throws {
        let outcome = try Child.runBlocking("/bin/sh", ["-c", command], capture: .merged, timeout: .seconds(30))
        #expect(outcome.status == 0, "\(command): \(outcome.output)")
    }

    @Test func readsFilesAsImmichWouldWithoutDACOverride() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let folder = scratch.path + "/library"
        try FileManager.default.createDirectory(atPath: folder + "/2024 trip", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folder + "/root-only.jpg", contents: Data("a".utf8), attributes: [.posixPermissions: 0o600])
        FileManager.default.createFile(atPath: folder + "/2024 trip/other user.jpg", contents: Data("b".utf8), attributes: [.posixPermissions: 0o600])
        try shell("chown 1000:1000 '\(folder)/2024 trip/other user.jpg'")

        let view = try await CLI.run(["__immich-view", "--sample", folder])
        #expect(view.status == 0, "\(view.error)")
        let lines = view.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("file 0 600 0 \(folder)/root-only.jpg"), "root reads its own 0600 file without any override")
        #expect(lines.contains("file 1000 600 13 \(folder)/2024\\040trip/other\\040user.jpg"), "\(lines)")
    }

    @Test func entersAMountNamespaceAndReportsWhetherTheMountIsThere() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let point = scratch.path + "/point"
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        // A namespace made before the mount (private propagation) never sees it.
        let holder = try Child.start("/usr/bin/unshare", ["--mount", "--propagation", "private", "sleep", "60"], capture: .none)
        defer { holder.stop() }
        try await Task.sleep(for: .milliseconds(300))
        try shell("mount -t tmpfs extlib-net-test '\(point)'")
        defer { try? shell("umount '\(point)'") }

        let outside = try await CLI.run(["__immich-view", "--namespace", "/proc/\(holder.pid)/ns/mnt", "--mount-point", point])
        #expect(outside.status == 0, "\(outside.error)")
        #expect(outside.output == "visible 0\n")
        let inside = try await CLI.run(["__immich-view", "--namespace", "/proc/self/ns/mnt", "--mount-point", point])
        #expect(inside.output == "visible 1 tmpfs extlib-net-test\n")
        // A placeholder on top is named as such: the parent does not count it as the share.
        try shell("mount -t tmpfs extlib-net-placeholder '\(point)'")
        defer { try? shell("umount '\(point)'") }
        let covered = try await CLI.run(["__immich-view", "--namespace", "/proc/self/ns/mnt", "--mount-point", point])
        #expect(covered.output == "visible 1 tmpfs extlib-net-placeholder\n")
        let missing = try await CLI.run(["__immich-view", "--namespace", scratch.path + "/none", "--mount-point", point])
        #expect(missing.status == 3)
        #expect(missing.output.hasPrefix("failed namespace 2 "))
    }

    @Test func doctorWithoutTheSnapSaysSoAndStillChecksTheMounts() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let root = ["--root", scratch.path]
        #expect(try await CLI.run(["add", "photos", "smb://nas.invalid/photos"] + root).status == 0)
        let doctor = try await CLI.run(["doctor"] + root)
        #expect(doctor.status == ExitStatus.checkFailed.rawValue)
        #expect(doctor.output.contains("[FAIL] immich-distribution: snap installed"))
        #expect(doctor.output.contains("fix: sudo snap install immich-distribution"))
        #expect(doctor.output.contains("[FAIL] photos: mounted"))
        #expect(doctor.output.contains("fix: extlib-net mount photos"))
        #expect(doctor.output.contains("[NOTE] immich-distribution: folder watching"))

        let json = try await CLI.run(["doctor", "--json"] + root).json()
        #expect(json["ok"] as? Bool == false)
        let findings = try #require(json["findings"] as? [[String: Any]])
        #expect(findings.contains { $0["check"] as? String == "mounted" && $0["verdict"] as? String == "fail" })

        let unknown = try await CLI.run(["doctor", "nope"] + root)
        #expect(unknown.status == 1)
    }

    @Test func healLeavesWhatIsNotMountedAlone() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let root = ["--root", scratch.path]
        #expect(try await CLI.run(["add", "photos", "nfs://nas.invalid/volume1/photos"] + root).status == 0)
        let heal = try await CLI.run(["heal", "--all"] + root)
        #expect(heal.status == 0, "\(heal.error)")
        #expect(heal.output == "photos: not mounted, left alone (extlib-net mount photos)\n")
        let both = try await CLI.run(["heal", "--all", "photos"] + root)
        #expect(both.status == 1)
    }

    @Test func helpExplainsHealAndDoctor() async throws {
        let heal = try await CLI.run(["heal", "--help"])
        for text in ["ESTALE", "--wait", "--heal-every", "32"] { #expect(heal.output.contains(text), "heal help lacks \(text)") }
        let doctor = try await CLI.run(["doctor", "--help"])
        let words = doctor.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for text in ["CAP_DAC_OVERRIDE", "--namespace", "--json", "owner-qualified", "9 when at least one failed"] {
            #expect(words.contains(text), "doctor help lacks \(text)")
        }
        let top = try await CLI.run(["--help"])
        #expect(!top.output.contains("__immich-view"), "internal commands stay hidden")
    }
}
