import System
import Mounting
import Foundation
import Testing

/// add / list / remove through the real executable, under a scratch --root.
@Suite struct MountDefinitionCLITests {
    var mountsFile: (ScratchRoot) -> String = { $0.path + "/etc/extlib-net/mounts.toml" }

    @Test func addListRemove() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let root = ["--root", scratch.path]
        let smb = try await CLI.run(["add", "photos", "smb://nas.local/Fotos%20M%C3%BCller/2024", "--smb-version", "3.0", "--file-mode", "0640"] + root)
        #expect(smb.status == 0, "\(smb.error)")
        #expect(smb.output.contains(scratch.path + "/root/snap/immich-distribution/common/photos"))
        let nfs = try await CLI.run(["add", "library", "nfs://nas.local/volume1/photos", "--rw", "--nfs-version", "3"] + root)
        #expect(nfs.status == 0, "\(nfs.error)")
        #expect(nfs.output.contains(scratch.path + "/var/snap/immich-distribution/common/library"), "NFS defaults to /var/snap")

        let list = try await CLI.run(["list", "--json"] + root)
        let items = try #require(try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [[String: Any]])
        #expect(items.map { $0["name"] as? String } == ["photos", "library"])
        #expect(items.first?["url"] as? String == "smb://nas.local/Fotos%20M%C3%BCller/2024")
        #expect(items.last?["rw"] as? Bool == true)
        #expect(items.allSatisfy { $0["mounted"] as? Bool == false })

        let duplicate = try await CLI.run(["add", "photos", "smb://nas/x"] + root)
        #expect(duplicate.status == 1)
        #expect(duplicate.error.contains("exists already"))

        let removed = try await CLI.run(["remove", "photos"] + root)
        #expect(removed.status == 0)
        let again = try await CLI.run(["remove", "photos"] + root)
        #expect(again.status == 1)
        #expect(try MountStore(root: SystemRoot(scratch.path), logger: .init(label: "t")).load().definitions.map(\.name) == ["library"])
    }

    @Test(arguments: [
        (["add", "bad name", "smb://nas/x"], "not a valid mount name"),
        // Names are typed values, each with its own rule's message; hostile text is escaped.
        (["add", "x", "smb://nas/x", "--credentials", "bad/name"], "'bad/name' is not a valid credential name"),
        (["add", "n\u{1B}[2Jx", "smb://nas/x"], "'n\\u{1b}[2Jx' is not a valid mount name"),
        (["remove", "a b"], "'a b' is not a valid mount name"),
        (["mount", "ok", "\u{202E}evil"], "'\\u{202e}evil' is not a valid mount name"),
        (["credentials", "remove", "x/y"], "'x/y' is not a valid credential name"),
        (["discover", "nas", "--credentials", "../x"], "'../x' is not a valid credential name"),
        (["status", "\u{202E}evil"], "Unexpected argument '\\u{202e}evil'"),
        (["immich", "link", String(repeating: "a", count: 65)], "is not a valid mount name"),
        (["add", "x", "http://nas/x"], "not an smb:// or nfs:// URL"),
        (["add", "x", "smb://alice:secret@nas/x"], "contains a user name or password"),
        (["add", "x", "smb://nas/x", "--options", "username=root"], "may not set 'username'"),
        (["add", "x", "smb://nas/x", "--options", "cache=none,,x"], "empty entry"),
        (["add", "x", "smb://nas/x", "--smb-version", "4"], "--smb-version must be one of"),
        (["add", "x", "nfs://nas/x", "--credentials", "nas"], "does not apply to an nfs:// URL"),
        (["add", "x", "smb://nas/x", "--file-mode", "rwx"], "octal mode"),
        (["add", "x", "smb://nas/x", "--sandbox", "home"], "--sandbox must be root or var"),
        (["add", "upload", "nfs://nas/x"], "Immich's own media folder"),
        (["add", "x", "smb://nas/x", "--credentials", "ghost"], "no credential named 'ghost'"),
        (["add", "x", "smb://127.0.0.1/photos%2Cip%3D10.9.9.9"], "share name 'photos,ip=10.9.9.9' cannot be mounted safely"),
        (["add", "x", "smb://nas/photos/sub%2Csec%3Dnone"], "subfolder 'sub,sec=none' cannot be mounted safely"),
        (["add", "x", "nfs://nas/export%2Csec%3Dsys"], "export path '/export,sec=sys' cannot be mounted safely"),
        (["add", "x", "smb://nas/x", "--options", "noforceuid"], "may not set 'noforceuid'"),
        (["add", "x", "smb://nas/x", "--options", "cache=none,source=//evil/x"], "may not set 'source'"),
        (["add", "x", "smb://nas/x", "--options", "exec"], "add the definition with --exec"),
        (["add", "x", "nfs://nas/x", "--options", "suid"], "may not set 'suid'"),
        (["add", "x", "smb://nas/x", "--file-mode", "6777"], "setuid, setgid or sticky"),
        (["add", "x", "smb://nas/x", "--dir-mode", "1777"], "setuid, setgid or sticky"),
    ])
    func badDefinitionsChangeNothing(_ arguments: [String], _ message: String) async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let first = try await CLI.run(["add", "keep", "smb://nas/keep", "--root", scratch.path])
        #expect(first.status == 0)
        let before = FileManager.default.contents(atPath: mountsFile(scratch))
        let outcome = try await CLI.run(arguments + ["--root", scratch.path])
        #expect(outcome.status == 1, "\(outcome.error)")
        #expect(outcome.error.contains(message), "\(outcome.error)")
        #expect(!outcome.error.contains("secret"))
        #expect(!outcome.error.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || $0 == "\u{202E}" }, "\(outcome.error.debugDescription)")
        #expect(FileManager.default.contents(atPath: mountsFile(scratch)) == before)
    }

    @Test func malformedFileIsReportedAndNeverRewritten() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.path + "/etc/extlib-net", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let text = "# mine\n[mounts.a]\nurl = \"smb://nas/a\"\nrw = maybe\n"
        FileManager.default.createFile(atPath: mountsFile(scratch), contents: Data(text.utf8), attributes: [.posixPermissions: 0o644])
        for arguments in [["list"], ["add", "b", "smb://nas/b"], ["remove", "a"]] {
            let outcome = try await CLI.run(arguments + ["--root", scratch.path])
            #expect(outcome.status == 16, "\(arguments): \(outcome.error)")
            #expect(outcome.error.contains("line 4"), "\(outcome.error)")
        }
        #expect(FileManager.default.contents(atPath: mountsFile(scratch)) == Data(text.utf8))
    }

    @Test func aHandEditedUnsafeDefinitionIsCaughtAtMountTime() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.path + "/etc/extlib-net", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let text = "[mounts.evil]\nurl = \"smb://127.0.0.1/photos%2Cip%3D10.9.9.9\"\n"
        FileManager.default.createFile(atPath: mountsFile(scratch), contents: Data(text.utf8), attributes: [.posixPermissions: 0o644])
        let outcome = try await CLI.run(["mount", "evil", "--root", scratch.path])
        #expect(outcome.status == 16, "\(outcome.error)")
        #expect(outcome.error.contains("line 1"), "\(outcome.error)")
        #expect(outcome.error.contains("cannot be mounted safely"), "\(outcome.error)")
    }

    @Test func execIsStoredOnlyWhenAsked() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        #expect(try await CLI.run(["add", "tools", "smb://nas/tools", "--exec", "--root", scratch.path]).status == 0)
        #expect(try await CLI.run(["add", "photos", "smb://nas/photos", "--root", scratch.path]).status == 0)
        let definitions = try MountStore(root: SystemRoot(scratch.path), logger: .init(label: "t")).load().definitions
        #expect(definitions.map(\.exec) == [true, false])
    }

    @Test func helpSaysWhereMountsGo() async throws {
        let help = try await CLI.run(["add", "--help"])
        #expect(help.output.contains("/root/snap/immich-distribution/common/NAME"))
    }
}

/// mounts.toml text the earlier TOMLKit-based reader misread or crashed on (kept as regressions).
@Suite struct MountsFileTextCLITests {
    @Test func aNULByteIsReportedNotSilentlyTheEnd() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.path + "/etc/extlib-net", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let text = "[mounts.a]\nurl = \"smb://nas/a\"\n\u{0}\n[mounts.b]\nrw = maybe\n"
        let path = scratch.path + "/etc/extlib-net/mounts.toml"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644])
        let outcome = try await CLI.run(["list", "--root", scratch.path])
        #expect(outcome.status == 16, "\(outcome.error)")
        #expect(outcome.error.contains("line 3: contains a NUL byte"), "\(outcome.error)")
    }

    /// TOMLKit aborted on this (an assertion in toml++).
    @Test func aHeaderThatCannotStartAKeyIsReportedNotACrash() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.path + "/etc/extlib-net", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = scratch.path + "/etc/extlib-net/mounts.toml"
        FileManager.default.createFile(atPath: path, contents: Data("[mounts.a]\nurl = \"smb://nas/a\"\n[%x]\n".utf8), attributes: [.posixPermissions: 0o644])
        let outcome = try await CLI.run(["list", "--root", scratch.path])
        #expect(outcome.status == 16, "\(outcome.error)")
        #expect(outcome.error.contains("line 3: a table header must start with a name"), "\(outcome.error)")
    }

    @Test func aDottedNameCanBeAddedListedAndRemoved() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let added = try await CLI.run(["add", "my.photos", "smb://nas/photos", "--root", scratch.path])
        #expect(added.status == 0, "\(added.error)")
        let list = try await CLI.run(["list", "--root", scratch.path])
        #expect(list.status == 0, "\(list.error)")
        #expect(list.output.contains("my.photos"))
        let removed = try await CLI.run(["remove", "my.photos", "--root", scratch.path])
        #expect(removed.status == 0, "\(removed.error)")
    }
}
