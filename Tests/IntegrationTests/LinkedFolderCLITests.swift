import Core
import Foundation
import Testing

/// Folders below --root that are symbolic links to elsewhere: the root is trusted, nothing below it is,
/// so nothing is written (or removed) out there.
@Suite struct LinkedFolderCLITests {
    /// A scratch root whose `folder` (relative, e.g. "etc") links to an empty folder beside the root.
    func linked(_ folder: String) throws -> (ScratchRoot, root: String, elsewhere: String) {
        let scratch = try ScratchRoot()
        let root = scratch.path + "/root"
        let elsewhere = scratch.path + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let link = root + "/" + folder
        try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: elsewhere)
        return (scratch, root, elsewhere)
    }

    func everything(under path: String) -> [String] {
        (FileManager.default.enumerator(atPath: path)?.allObjects as? [String]) ?? []
    }

    @Test(arguments: ["etc", "etc/extlib-net"])
    func credentialsAreNeverWrittenThroughALink(_ folder: String) async throws {
        let (scratch, root, elsewhere) = try linked(folder)
        defer { scratch.remove() }
        let outcome = try await CLI.run(["credentials", "add", "nas", "--user", "alice", "--password-stdin", "--root", root], input: "pw")
        #expect(outcome.status == ExitStatus.configuration.rawValue, "\(outcome.error)")
        #expect(outcome.error.contains("is a symbolic link"), "\(outcome.error)")
        #expect(everything(under: elsewhere).isEmpty, "\(everything(under: elsewhere))")
    }

    @Test(arguments: ["etc", "etc/extlib-net"])
    func mountsTomlIsNeverWrittenThroughALink(_ folder: String) async throws {
        let (scratch, root, elsewhere) = try linked(folder)
        defer { scratch.remove() }
        let outcome = try await CLI.run(["add", "photos", "smb://nas/photos", "--root", root])
        #expect(outcome.status == ExitStatus.configuration.rawValue, "\(outcome.error)")
        #expect(everything(under: elsewhere).isEmpty, "\(everything(under: elsewhere))")
    }

    @Test(arguments: ["etc", "etc/systemd", "etc/systemd/system"])
    func unitsAreNeverWrittenThroughALink(_ folder: String) async throws {
        let (scratch, root, elsewhere) = try linked(folder)
        defer { scratch.remove() }
        let outcome = try await CLI.run(["boot", "enable", "--no-reload", "--root", root])
        #expect(outcome.status == ExitStatus.configuration.rawValue, "\(outcome.error)")
        #expect(outcome.error.contains("is a symbolic link"), "\(outcome.error)")
        #expect(everything(under: elsewhere).isEmpty, "\(everything(under: elsewhere))")
    }

    @Test(arguments: ["run", "run/extlib-net"])
    func theLockAndTheLastErrorAreNeverWrittenThroughALink(_ folder: String) async throws {
        let (scratch, root, elsewhere) = try linked(folder)
        defer { scratch.remove() }
        // Port 1 on loopback refuses at once: one failed attempt, whose error would be recorded.
        #expect(try await CLI.run(["add", "photos", "smb://127.0.0.1:1/photos", "--root", root]).status == 0)
        let outcome = try await CLI.run(["mount", "photos", "--wait", "0", "--root", root])
        #expect(outcome.status != 0, "\(outcome.output)")
        #expect(everything(under: elsewhere).isEmpty, "\(everything(under: elsewhere))")
    }
}
