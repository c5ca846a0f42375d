import Foundation
import Glibc
import TestSupport
import Testing
@testable import System
@testable import Formats
@testable import Mounting

/// The tree a placeholder copies, and the record it is kept in.
@Suite struct TreeSnapshotTests {
    /// A temp folder with files whose modification times are set to the nanosecond.
    final class Tree {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-tree-\(UUID().uuidString)").path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        func file(_ relative: String, seconds: Int, nanoseconds: Int) throws {
            let full = path + "/" + relative
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: full, contents: Data("x".utf8)))
            var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
            #expect(utimensat(AT_FDCWD, full, &times, 0) == 0)
        }
    }

    @Test func theWalkKeepsExactTimesFollowsNoLinkAndSkipsNamesThatAreNotUTF8() throws {
        let tree = try Tree()
        try tree.file("2024/b c.jpg", seconds: 1_700_000_000, nanoseconds: 123_456_789)
        try tree.file("a.jpg", seconds: 1_600_000_000, nanoseconds: 1)
        try tree.file("2024/raw/\\weird\nname.dng", seconds: 1_650_000_000, nanoseconds: 999_999_999)
        try FileManager.default.createSymbolicLink(atPath: tree.path + "/link.jpg", withDestinationPath: tree.path + "/a.jpg")
        try FileManager.default.createSymbolicLink(atPath: tree.path + "/linked-folder", withDestinationPath: tree.path + "/2024")
        let raw: [UInt8] = Array((tree.path + "/caf").utf8) + [0xE9, 0]
        let fd = raw.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
        #expect(fd >= 0)
        close(fd)

        let snapshot = TreeSnapshot.walk(tree.path, limit: 100)
        // A folder's files first, then its folders, each in name order.
        #expect(snapshot.files == [
            .init(path: "a.jpg", modified: FileTime(seconds: 1_600_000_000, nanoseconds: 1)),
            .init(path: "2024/b c.jpg", modified: FileTime(seconds: 1_700_000_000, nanoseconds: 123_456_789)),
            .init(path: "2024/raw/\\weird\nname.dng", modified: FileTime(seconds: 1_650_000_000, nanoseconds: 999_999_999)),
        ])
        #expect(snapshot.skippedNames == 1 && !snapshot.truncated && snapshot.unlistable.isEmpty)
        #expect(TreeSnapshot.decode(snapshot.encoded()) == snapshot)

        let cut = TreeSnapshot.walk(tree.path, limit: 2)
        #expect(cut.truncated && cut.files.count == 2)
        #expect(TreeSnapshot.decode(cut.encoded()) == cut)
    }

    @Test(arguments: [
        "", "f 1 2 a.jpg\n", "f 1 2 /etc/passwd\nend\n", "f 1 2 a/../b\nend\n", "f 1 1000000000 a\nend\n", "f 1 -1 a\nend\n",
        "f x 2 a\nend\n", "f 1 2 a b\nend\n", "f 1 2 a\\400\nend\n", "f 1 2 a\\3\nend\n", "f 1 2 a\\377\nend\n", "end\nf 1 2 a\n", "g\nend\n",
        "f 1 2 a//b\nend\n", "f 1 2 ./a\nend\n", "f 1 2 a\\000b\nend\n",
    ])
    func aListingThatIsNotWholeAndCleanIsRefused(_ text: String) {
        #expect(TreeSnapshot.decode(Array(text.utf8)) == nil, "\(text.debugDescription)")
    }

    /// Random names round-trip exactly; the test counts how many it checked.
    @Test func randomNamesRoundTrip() {
        var generator = SeededGenerator(state: 0x7EE)
        let alphabet: [Character] = ["a", "Z", "0", " ", "\t", "\n", "\\", "/", ".", "\u{7F}", "é", "\u{202E}", "😀", "\r", "\u{1B}"]
        var checked = 0
        for _ in 0..<5000 {
            let path = HostileInputPropertyTests.randomText(alphabet, length: 24, using: &generator)
            guard TreeSnapshot.isCleanRelative(path) else { continue }
            var snapshot = TreeSnapshot()
            snapshot.files = [.init(path: path, modified: FileTime(seconds: Int64.random(in: -10...4_000_000_000, using: &generator), nanoseconds: Int32.random(in: 0..<1_000_000_000, using: &generator)))]
            #expect(TreeSnapshot.decode(snapshot.encoded()) == snapshot, "\(path.debugDescription)")
            #expect(!snapshot.encoded().dropLast(4).contains { $0 < 0x20 && $0 != 0x0A }, "no control byte in the listing")
            checked += 1
        }
        #expect(checked >= 1000, "only \(checked) of 5000 random names were clean paths")
    }

    /// The real child (this build's `__tree-snapshot`) walks and hands the listing over in a private file.
    @Test func theChildListsTheTreeExactly() throws {
        let tree = try Tree()
        try tree.file("a.jpg", seconds: 1_600_000_000, nanoseconds: 42)
        try tree.file("x/y/z.heic", seconds: 1_700_000_001, nanoseconds: 999_999_999)
        let scratch = try TemporaryRoot()
        let output = scratch.path + "/tree.listing"
        let taken = TreeSnapshot.take(tree.path, scratch: output, below: scratch.path, limit: 100, timeout: .seconds(30),
                                      runner: SystemProcessRunner(), executable: buildFolderExtlibNet)
        #expect(taken == .success(TreeSnapshot.walk(tree.path, limit: 100)))
        #expect((try? taken.get().files.count) == 2)
        #expect(!FileManager.default.fileExists(atPath: output), "the listing file goes once read")
    }

    /// The walk runs in a child with a deadline: a hung server ends as a timeout, never a hang.
    @Test func aChildThatDoesNotAnswerIsATimeout() {
        let runner = FakeRunner { _ in ProcessResult(.signalled(9), timedOut: true) }
        let result = TreeSnapshot.take("/m", scratch: "/tmp/x", below: "", limit: 10, timeout: .seconds(3), runner: runner, executable: "/x")
        #expect(result == .failure(.timedOut(.seconds(3))))
        #expect(runner.calls.first?.arguments == ["__tree-snapshot", "--folder", "/m", "--output", "/tmp/x", "--below", "", "--limit", "10"])
    }
}

@Suite struct PlaceholderRecordTests {
    func record(_ entries: [PlaceholderRecord.Entry], name: String = "photos") -> PlaceholderRecord {
        PlaceholderRecord(definition: name, libraryIDs: ["00000000-0000-0000-0000-000000000001"], takenAt: "2026-12-03T22:00:00Z", source: .immichAssets, entries: entries)
    }

    @Test func onlyFilesImmichKnowsAndTheShareHoldsAreKept() {
        var snapshot = TreeSnapshot()
        let time = FileTime(seconds: 1, nanoseconds: 2)
        snapshot.files = ["a.jpg", "new.jpg", "2024/b.jpg"].map { TreeSnapshot.File(path: $0, modified: time) }
        #expect(PlaceholderRecord.entries(of: snapshot, keeping: Set(["a.jpg", "2024/b.jpg", "gone.jpg"].map { Array($0.utf8) })).map(\.path) == ["2024/b.jpg", "a.jpg"],
                "never a file Immich has not imported, never one missing from the share; in byte order, as the tree is built")
        #expect(PlaceholderRecord.entries(of: snapshot, keeping: nil).count == 3)
    }

    /// Two spellings of one name are two files to the kernel, and to the record.
    /// An entry is one string, "SECONDS.NANOSECONDS PATH"; anything else makes the record damaged.
    @Test func entriesAreLinesThatRoundTripAndRefuseJunk() throws {
        var generator = SystemRandomNumberGenerator()
        var roundTrips = 0
        for _ in 0..<2_000 {
            let path = String((0..<Int.random(in: 1...40, using: &generator)).map { _ in
                ["a", " ", "é", "e\u{301}", "/", ".", "\\", "\n", "\"", "😀"].randomElement(using: &generator)!
            }.joined())
            let entry = PlaceholderRecord.Entry(path: path, modified: FileTime(seconds: Int64.random(in: -4_000_000_000...4_000_000_000, using: &generator),
                                                                               nanoseconds: Int32.random(in: 0..<1_000_000_000, using: &generator)))
            let decoded = try JSONDecoder().decode(PlaceholderRecord.Entry.self, from: JSONEncoder().encode(entry))
            #expect(decoded.modified == entry.modified && decoded.path.utf8.elementsEqual(entry.path.utf8))
            roundTrips += 1
        }
        #expect(roundTrips == 2_000)
        #expect(PlaceholderRecord.Entry(line: "1600000000.000000001 2024/a b.jpg") == PlaceholderRecord.Entry(path: "2024/a b.jpg", modified: FileTime(seconds: 1_600_000_000, nanoseconds: 1)))
        for junk in ["", "1600000000 a.jpg", "1600000000.1 a.jpg", "1600000000.0000000001 a.jpg", "x.000000000 a.jpg", "1.00000000x a.jpg",
                     "+1.000000000 a.jpg", "--1.000000000 a.jpg", "99999999999999999999.000000000 a.jpg", ".000000000 a.jpg", "1.000000000"] {
            #expect(PlaceholderRecord.Entry(line: junk) == nil, "\(junk)")
        }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(PlaceholderRecord.Entry.self, from: Data(#"{"path":"a","modified":{"seconds":1,"nanoseconds":0}}"#.utf8)) }
    }

    @Test func namesAreComparedAsBytes() throws {
        let nfc = "caf\u{E9}.jpg", nfd = "cafe\u{301}.jpg"
        #expect(nfc == nfd, "Swift compares them as equal")
        let time = FileTime(seconds: 1, nanoseconds: 0)
        let both = record([.init(path: nfc, modified: time), .init(path: nfd, modified: time)])
        #expect(both.isSound)
        var snapshot = TreeSnapshot()
        snapshot.files = [.init(path: nfc, modified: time), .init(path: nfd, modified: time)]
        #expect(PlaceholderRecord.entries(of: snapshot, keeping: [Array(nfd.utf8)]).map { Array($0.path.utf8) } == [Array(nfd.utf8)])
    }

    @Test func theRecordIsPrivateAtomicAndADamagedOneIsRefused() throws {
        let temp = try TemporaryRoot()
        let records = PlaceholderRecords(root: temp.root)
        let good = record([.init(path: "2024/a b.jpg", modified: FileTime(seconds: 1_700_000_000, nanoseconds: 123_456_789))])
        try records.save(good)
        #expect(try records.load("photos") == good)
        let path = temp.path + PlaceholderRecords.directory + "/photos.json"
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        #expect(try records.load("videos") == nil)

        for bad in [record([.init(path: "../etc/shadow", modified: FileTime(seconds: 1, nanoseconds: 0))]),
                    record([.init(path: "a", modified: FileTime(seconds: 1, nanoseconds: 1_000_000_000))]),
                    record([.init(path: "a", modified: FileTime(seconds: 1, nanoseconds: 0)), .init(path: "a", modified: FileTime(seconds: 2, nanoseconds: 0))]),
                    record([], name: "../x"),
                    record([.init(path: "a", modified: FileTime(seconds: 1, nanoseconds: 0)), .init(path: "a/b", modified: FileTime(seconds: 2, nanoseconds: 0))])] {
            #expect(throws: PlaceholderRecord.Unsound.self) { try records.save(bad) }
        }
        // A hand edit that renames the record or breaks a path: refused on reading, so no placeholder.
        let edited = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "2024\\/a b.jpg", with: "\\/etc\\/shadow")
        try FileManager.default.removeItem(atPath: path)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(edited.utf8), attributes: [.posixPermissions: 0o600]))
        #expect(throws: MalformedFileError.self) { try records.load("photos") }
    }
}

extension PlaceholderRecordTests {
    func entries(_ paths: [String]) -> [PlaceholderRecord.Entry] {
        paths.map { PlaceholderRecord.Entry(path: $0, modified: FileTime(seconds: 1, nanoseconds: 0)) }
    }

    /// What cannot be built whole is refused before anything is mounted: a refresh in place clears the
    /// placeholder first, and must never stop half-way.
    @Test func aRecordThatCannotBeBuiltWholeIsRefused() {
        let deepest = (1...TreeSnapshot.maximumDepth).map { "d\($0)" }.joined(separator: "/")
        #expect(record(entries(["x/a.jpg", "x/b/c.jpg", "y.jpg"])).layout() == .success(.init(files: 3, folders: 2)))
        #expect(record(entries([deepest, String(repeating: "n", count: 255)])).layout() == .success(.init(files: 2, folders: TreeSnapshot.maximumDepth - 1)))
        #expect(record(entries([deepest + "/e"])).layout() == .failure(.badPath(index: 0)), "deeper than a walk or a clear goes")
        #expect(record(entries(["ok/" + String(repeating: "n", count: 256)])).layout() == .failure(.badPath(index: 0)), "a name over NAME_MAX")
        // A file that is also a folder, however the paths between sort.
        for paths in [["a", "a/b"], ["a/b", "a"], ["a", "a b", "a/c"], ["a", "a-", "a/c/d"], ["x/a", "x/a b", "x/a/c", "z"]] {
            guard case .failure(.fileIsFolder) = record(entries(paths)).layout() else { Issue.record("\(paths) accepted"); continue }
        }
        #expect(record(entries(["b", "a", "b"])).layout() == .failure(.twice(index: 2)))
        #expect(record(entries(["b/x", "a", "c/y"])).layout() == .success(.init(files: 3, folders: 2)), "unsorted is sorted first")
        #expect(PlaceholderRecord.Unsound.fileIsFolder(index: 0).description.contains("also the folder"))
    }

    /// Random trees from a few names: the layout's folder count and refusals agree with a plain count, and
    /// every record it accepts builds whole and clears whole on disk.
    @Test func theLayoutAgreesWithAPlainCountAndWhatItAcceptsBuilds() throws {
        var generator = SystemRandomNumberGenerator()
        let names = ["a", "b", "a b", "a-", "a0", "é", "e\u{301}"]
        var accepted = 0, refused = 0
        for _ in 0..<300 {
            let paths = (0..<Int.random(in: 1...12, using: &generator)).map { _ in
                (0..<Int.random(in: 1...4, using: &generator)).map { _ in names.randomElement(using: &generator)! }.joined(separator: "/")
            }
            var folders = Set<[UInt8]>()
            for path in paths {
                let bytes = Array(path.utf8)
                for (index, byte) in bytes.enumerated() where byte == 0x2F { folders.insert(Array(bytes[..<index])) }
            }
            let files = paths.map { Array($0.utf8) }
            let unsound = Set(files).count != files.count || files.contains { folders.contains($0) }
            switch record(entries(paths)).layout() {
            case .success(let layout):
                #expect(!unsound, "\(paths)")
                #expect(layout == .init(files: paths.count, folders: folders.count), "\(paths)")
                let tree = try TreeSnapshotTests.Tree()
                #expect(PlaceholderTree.build(paths.map { ($0, FileTime(seconds: 1, nanoseconds: 0)) }, into: tree.path) == .success(paths.count), "\(paths)")
                #expect(PlaceholderTree.clear(tree.path) == .success(paths.count + folders.count), "\(paths)")
                accepted += 1
            case .failure:
                #expect(unsound, "\(paths)")
                refused += 1
            }
        }
        #expect(accepted > 30 && refused > 30, "both kinds met: \(accepted) accepted, \(refused) refused")
    }
}

/// The placeholder's tree on a real tmpfs: what Immich stats is what the share had, and reading it fails.
@Suite struct PlaceholderTreeTests {
    /// One descriptor per level, not per folder: a YYYY/MM/DD library has thousands of folders, more than
    /// the usual limit of 1,024 open files. A '/' followed by a combining mark is still a '/' on disk.
    @Test func thousandsOfFoldersAndCombiningMarksBuildAndWalkBack() throws {
        let target = try TreeSnapshotTests.Tree()
        var files: [(path: String, modified: FileTime)] = []
        for day in 0..<3000 { files.append(("\(2000 + day / 366)/\(day % 12 + 1)/\(day)/p.jpg", FileTime(seconds: Int64(day), nanoseconds: Int32(day)))) }
        files.append(("Album/\u{301}.jpg", FileTime(seconds: 7, nanoseconds: 8)))
        #expect(PlaceholderTree.build(files, into: target.path) == .success(3001))
        let walked = TreeSnapshot.walk(target.path, limit: 10_000)
        #expect(walked.isComplete && walked.files.count == 3001)
        #expect(Set(walked.files.map { [UInt8]($0.path.utf8) }) == Set(files.map { [UInt8]($0.path.utf8) }))
        #expect(!TreeSnapshot.isCleanRelative("/\u{301}/x") && !TreeSnapshot.isCleanRelative("a/\u{301}/../b") && TreeSnapshot.isCleanRelative("Album/\u{301}.jpg"))
    }

    @Test(.enabled(if: getuid() == 0, "mounts a tmpfs"))
    func theTreeStatsLikeTheShareAndRefusesReadsWithoutDACOverride() throws {
        let share = try TreeSnapshotTests.Tree()
        try share.file("a.jpg", seconds: 1_600_000_000, nanoseconds: 123_456_789)
        try share.file("2024/06/b c.jpg", seconds: 1_700_000_000, nanoseconds: 1)
        try share.file("2024/\\odd\nname.heic", seconds: 1_650_000_000, nanoseconds: 999_999_999)
        let snapshot = TreeSnapshot.walk(share.path, limit: 100)

        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-staging-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let mounted = try Child.runBlocking("/bin/mount", ["-t", "tmpfs", "-o", "nr_inodes=64,mode=0755", "tmpfs", staging], timeout: .seconds(10))
        try #require(mounted.status == 0, "\(mounted.error)")
        defer { _ = try? Child.runBlocking("/bin/umount", ["-l", staging], timeout: .seconds(10)) }

        #expect(PlaceholderTree.build(snapshot.files.map { ($0.path, $0.modified) }, into: staging) == .success(3))
        // Walked like the share: the same paths and the same times, to the nanosecond.
        #expect(TreeSnapshot.walk(staging, limit: 100) == snapshot)
        let info = try FileInfo.of(staging + "/2024/06/b c.jpg").get()
        #expect(info.owner == 0 && info.permissions == 0 && info.kind == .regular)

        // As the snap's Immich runs: root without the two DAC capabilities. stat works, open does not.
        if FileManager.default.isExecutableFile(atPath: "/usr/sbin/capsh") || FileManager.default.isExecutableFile(atPath: "/sbin/capsh") {
            let capsh = FileManager.default.isExecutableFile(atPath: "/usr/sbin/capsh") ? "/usr/sbin/capsh" : "/sbin/capsh"
            let file = staging + "/a.jpg"
            let read = try Child.runBlocking(capsh, ["--drop=cap_dac_override,cap_dac_read_search", "--", "-c", "stat -c %Y \"$0\" && cat \"$0\"", file], timeout: .seconds(10))
            #expect(read.output.hasPrefix("1600000000") && read.status != 0 && read.error.contains("Permission denied"), "\(read.output) \(read.error)")
        }
        // A second build into the same tree refuses to overwrite (O_EXCL): a placeholder is built once, into an empty folder.
        guard case .failure(let failure) = PlaceholderTree.build([("a.jpg", FileTime(seconds: 1, nanoseconds: 0))], into: staging) else {
            Issue.record("overwrote a file"); return
        }
        #expect(failure.errno == .fileExists)
    }
}
