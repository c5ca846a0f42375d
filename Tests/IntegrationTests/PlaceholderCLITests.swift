import Foundation
import Glibc
import TestSupport
import Testing
import Core
import System
import Mounting

/// `unmount --placeholder`, status, list and a plain unmount, end to end with the real binary under a
/// scratch --root and real mounts (the share is never mounted here: the host has no cifs client).
@Suite(.serialized, .enabled(if: getuid() == 0, "mounts tmpfs"))
struct PlaceholderCLITests {
    static func record(_ root: SystemRoot, files: [(String, FileTime)]) throws {
        let entries = files.map { PlaceholderRecord.Entry(path: $0.0, modified: $0.1) }
        try PlaceholderRecords(root: root).save(PlaceholderRecord(definition: "photos", libraryIDs: ["lib-1"], takenAt: "2026-12-04T05:00:00Z",
                                                                  source: .immichAssets, entries: entries))
    }

    static func placeholder(_ json: Any?) -> [String: Any]? { ((json as? [[String: Any]])?.first)?["placeholder"] as? [String: Any] }

    @Test func aPlaceholderPutUpByHandIsShownAndAPlainUnmountRemovesItAndWarns() async throws {
        let scratch = try ScratchRoot()
        defer {
            _ = try? Child.runBlocking("/bin/umount", ["-R", "-l", scratch.path + "/var/lib/extlib-net/staging"], timeout: .seconds(10))
            scratch.remove()
        }
        let root = ["--root", scratch.path]
        #expect(try await CLI.run(["add", "photos", "smb://nas.invalid/photos"] + root).status == 0)
        let target = scratch.path + "/root/snap/immich-distribution/common/photos"

        // No record yet: refused, with what to do, and nothing mounted.
        let refused = try await CLI.run(["unmount", "--placeholder", "photos"] + root)
        #expect(refused.status == ExitStatus.usage.rawValue, "\(refused.error)")
        #expect(refused.error.contains("immich link photos"), "\(refused.error)")
        let none = try await CLI.run(["status", "--json"] + root)
        #expect(Self.placeholder(try JSONSerialization.jsonObject(with: Data(none.output.utf8)))?["state"] as? String == "none")

        try Self.record(try SystemRoot(scratch.path), files: [("2024/a.jpg", FileTime(seconds: 1_700_000_000, nanoseconds: 123_456_789)),
                                                          ("b.jpg", FileTime(seconds: 1_600_000_000, nanoseconds: 1))])
        let listed = try await CLI.run(["list", "--json"] + root)
        #expect(Self.placeholder(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)))?["state"] as? String == "recorded", "\(listed.output)")

        let put = try await CLI.run(["unmount", "--placeholder", "photos"] + root)
        #expect(put.status == 0, "\(put.error)")
        #expect(put.output.contains("the placeholder stands in (2 files)"), "\(put.output)")
        var info = stat()
        #expect(lstat(target + "/2024/a.jpg", &info) == 0 && info.st_mtim.tv_nsec == 123_456_789 && info.st_mode & 0o777 == 0)

        let status = try await CLI.run(["status", "--json"] + root)
        let shown = try #require(Self.placeholder(try JSONSerialization.jsonObject(with: Data(status.output.utf8))), "\(status.output)")
        #expect(shown["state"] as? String == "shown" && shown["files"] as? Int == 2 && shown["since"] is String, "\(shown)")
        #expect(shown["recordTakenAt"] as? String == "2026-12-04T05:00:00Z")
        let table = try await CLI.run(["status"] + root)
        #expect(table.output.contains("placeholder since ") && table.output.contains(", 2 files"), "\(table.output)")
        #expect(table.status == ExitStatus.checkFailed.rawValue, "the share itself is not mounted")

        // Again: nothing changes, still one placeholder.
        #expect(try await CLI.run(["unmount", "--placeholder", "photos"] + root).status == 0)
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n").filter { $0.contains(" \(target) ") }
        #expect(mounts.count == 1, "\(mounts)")
        // Removing the definition while its placeholder stands in is refused (the tmpfs would stay behind).
        let removeShown = try await CLI.run(["remove", "photos"] + root)
        #expect(removeShown.status != 0 && removeShown.error.contains("unmount"), "\(removeShown.error)")

        // A plain unmount takes it away, says what that means, and leaves no staging tmpfs.
        let plain = try await CLI.run(["unmount", "photos"] + root)
        #expect(plain.status == 0, "\(plain.error)")
        #expect(plain.output.contains("photos: unmounted"))
        #expect(plain.error.contains("trash") && plain.error.contains("unmount --placeholder photos"), "\(plain.error)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty)
        let left = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!left.contains(scratch.path + "/var/lib/extlib-net/staging/photos"), "the staging tmpfs is gone")
        let after = try await CLI.run(["status", "--json"] + root)
        #expect(Self.placeholder(try JSONSerialization.jsonObject(with: Data(after.output.utf8)))?["state"] as? String == "recorded")
        // The definition removed: its record (private paths) goes with it.
        #expect(try await CLI.run(["remove", "photos"] + root).status == 0)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/var/lib/extlib-net/placeholders/photos.json"))
    }

    @Test func aDamagedRecordIsNoPlaceholderAndStatusSaysUnprotected() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let root = ["--root", scratch.path]
        #expect(try await CLI.run(["add", "photos", "smb://nas.invalid/photos"] + root).status == 0)
        try Self.record(try SystemRoot(scratch.path), files: [("a.jpg", FileTime(seconds: 1, nanoseconds: 0))])
        let path = scratch.path + "/var/lib/extlib-net/placeholders/photos.json"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "a.jpg", with: "../escape.jpg")
        try text.write(toFile: path, atomically: false, encoding: .utf8)

        let status = try await CLI.run(["status"] + root)
        #expect(status.output.contains("damaged record: unprotected"), "\(status.output)")
        let put = try await CLI.run(["unmount", "--placeholder", "photos"] + root)
        #expect(put.status != 0)
        #expect(put.error.contains("damaged"), "\(put.error)")
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(scratch.path), "nothing mounted from a damaged record")
    }
}
