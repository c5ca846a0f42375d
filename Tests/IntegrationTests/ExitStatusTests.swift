import Core
import Foundation
import Testing

/// One exit-status table for the whole tool: the same condition exits the same way from every command,
/// and README.md and every command's --help show the same table.
@Suite struct ExitStatusTests {
    static let commands: [[String]] = [
        [], ["setup"], ["discover"], ["credentials"], ["add"],
        ["mount"], ["unmount"], ["status"], ["heal"], ["boot"], ["boot", "enable"], ["doctor"], ["immich"], ["immich", "scan"],
    ]

    /// The codes scripts and systemd units depend on, written out here rather than derived from the enum
    /// (the help and README checks compare against text made from it, so they cannot catch a changed code).
    @Test func theCodesAreTheDocumentedOnes() throws {
        let codes = Dictionary(uniqueKeysWithValues: ExitStatus.allCases.map { ($0.rawValue, $0) })
        let documented: [Int32: Core.ExitStatus] = [
            0: .success, 1: .usage, 2: .system, 3: .hostNotFound, 4: .unreachable, 5: .authentication, 6: .refused,
            7: .noneFound, 8: .interrupted, 9: .checkFailed, 10: .skipped, 16: .configuration, 32: .mountFailure, 64: .someFailed,
        ]
        #expect(codes == documented)
        // mount(8)'s meanings, which the mounting commands follow.
        #expect(ExitStatus.usage.rawValue == 1 && ExitStatus.system.rawValue == 2 && ExitStatus.mountFailure.rawValue == 32 && ExitStatus.someFailed.rawValue == 64)
        let help = ExitStatus.helpText
        #expect(help.contains(" 0  success") && help.contains("32  mount failure") && help.contains("64  some succeeded, others failed"))
    }

    @Test func readmeShowsTheTable() throws {
        let readme = try String(contentsOfFile: #filePath.components(separatedBy: "/Tests/")[0] + "/README.md", encoding: .utf8)
        #expect(readme.contains(ExitStatus.markdownTable), "README.md's exit-status table differs from ExitStatus; paste:\n\(ExitStatus.markdownTable)")
    }

    @Test(arguments: commands)
    func everyHelpShowsTheTable(_ command: [String]) async throws {
        let help = try await CLI.run(command + ["--help"])
        #expect(help.status == 0)
        // argument-parser rewraps long lines; compare words.
        let words = { (text: String) in text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        #expect(words(help.output).contains(words(ExitStatus.helpText)), "\(command) --help lacks the exit-status table")
    }

    /// The issue's example: an unsafe credentials file exited 1, 2, 16 or 32 depending on the command.
    @Test func unsafeCredentialsFileIsStatus16Everywhere() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let root = ["--root", scratch.path]
        let added = try await CLI.run(["credentials", "add", "nas", "--user", "alice", "--password-stdin"] + root, input: "pw")
        #expect(added.status == 0, "\(added.error)")
        let definition = try await CLI.run(["add", "photos", "smb://nas.invalid/photos", "--credentials", "nas"] + root)
        #expect(definition.status == 0, "\(definition.error)")
        #expect(chmod(scratch.credentialsFile, 0o644) == 0)
        for command in [
            ["discover", "127.0.0.1", "--credentials", "nas", "--timeout", "0.5"], ["credentials", "list"],
            ["add", "videos", "smb://nas.invalid/videos", "--credentials", "nas"], ["mount", "photos", "--wait", "1"],
        ] {
            let outcome = try await CLI.run(command + root)
            #expect(outcome.status == ExitStatus.configuration.rawValue, "\(command): \(outcome.status) \(outcome.error)")
            #expect(outcome.error.contains("chmod 600"), "\(command): \(outcome.error)")
        }
    }

    @Test func unknownNamesAreUsageErrorsEverywhere() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let root = ["--root", scratch.path]
        for command in [["mount", "ghost"], ["unmount", "ghost"], ["heal", "ghost"], ["remove", "ghost"], ["doctor", "ghost"],
                        ["credentials", "remove", "ghost"], ["credentials", "check", "ghost", "127.0.0.1"]] {
            let outcome = try await CLI.run(command + root)
            #expect(outcome.status == ExitStatus.usage.rawValue, "\(command): \(outcome.status) \(outcome.error)")
            #expect(outcome.error.contains("list"), "the message says how to see the names: \(outcome.error)")
        }
    }

    @Test func statusExitsNonZeroWhenSomethingIsNotMounted() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let root = ["--root", scratch.path]
        let none = try await CLI.run(["status"] + root)
        #expect(none.status == 0, "no definitions, nothing wrong")
        #expect(try await CLI.run(["add", "photos", "nfs://nas.invalid/volume1/photos"] + root).status == 0)
        let status = try await CLI.run(["status", "--json"] + root)
        #expect(status.status == ExitStatus.checkFailed.rawValue, "\(status.error)")
    }

    /// A heal is shown as one (the VM suite checks the same line after a real heal), and `--json` carries it
    /// apart from the last error.
    @Test func statusShowsTheLastHealFromTheTypedRecord() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let root = ["--root", scratch.path]
        #expect(try await CLI.run(["add", "photos", "nfs://nas.invalid/volume1/photos"] + root).status == 0)
        let folder = scratch.path + "/run/extlib-net"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let record = #"{"lastHeal": {"at": "2026-12-03 22:00:00", "detail": "statfs failed: Stale file handle"}, "pending": false}"#
        #expect(FileManager.default.createFile(atPath: folder + "/photos.json", contents: Data(record.utf8), attributes: [.posixPermissions: 0o600]))
        let text = try await CLI.run(["status"] + root)
        #expect(text.output.contains("none; was stale (statfs failed: Stale file handle), healed by a remount at 2026-12-03 22:00:00"), "\(text.output)")
        let json = try await CLI.run(["status", "--json"] + root)
        let item = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]]).first
        #expect(item?["lastError"] is NSNull && (item?["lastHeal"] as? [String: Any])?["at"] as? String == "2026-12-03 22:00:00", "\(json.output)")
    }

    @Test func unresolvedJSONHasTheStableKeys() async throws {
        let outcome = try await CLI.run(["discover", "no-such-nas.invalid", "--json", "--timeout", "1"])
        #expect(outcome.status == ExitStatus.hostNotFound.rawValue)
        let json = try outcome.json()
        #expect(json["host"] as? String == "no-such-nas.invalid")
        #expect((json["addresses"] as? [Any])?.isEmpty == true)
        let smb = try #require(json["smb"] as? [String: Any])
        let nfs = try #require(json["nfs"] as? [String: Any])
        for key in ["port", "reachable", "shares", "error"] { #expect(smb.keys.contains(key), "smb.\(key)") }
        for key in ["reachable", "exports", "v4only", "error"] { #expect(nfs.keys.contains(key), "nfs.\(key)") }
    }
}
