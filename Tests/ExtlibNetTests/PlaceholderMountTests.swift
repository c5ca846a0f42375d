import Foundation
import Glibc
import Logging
import Synchronization
import TestSupport
import Testing
@testable import System
@testable import Formats
@testable import Mounting

/// The placeholder's mounts, real ones on this machine's kernel: a tmpfs "share" stands in for the NAS
/// (the host has no cifs or nfs client; the VM suite does them for real). Each test works in a folder that
/// is a shared mount of its own, so a slave namespace (as the snap's is) receives what is mounted there.
@Suite(.serialized, .enabled(if: getuid() == 0, "mounts tmpfs"))
struct PlaceholderMountTests {
    final class Bed {
        let base: String
        let root: SystemRoot
        let target: String
        let shareSource: String
        let placeholders: PlaceholderMount

        init() throws {
            base = NSTemporaryDirectory() + "extlib-net-placeholder-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            try Self.run("/bin/mount", ["--bind", base, base])
            try Self.run("/bin/mount", ["--make-shared", base])
            root = try SystemRoot(base + "/root")
            target = base + "/root/var/snap/immich-distribution/common/photos"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            shareSource = base + "/nas"
            try FileManager.default.createDirectory(atPath: shareSource, withIntermediateDirectories: true)
            try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "mode=0755", "nas", shareSource])
            try Self.run("/bin/mount", ["--make-private", shareSource])
            placeholders = PlaceholderMount(root: root, logger: Logger(label: "test"))
        }

        deinit {
            _ = try? Child.runBlocking("/bin/umount", ["-R", "-l", base], timeout: .seconds(10))
            try? FileManager.default.removeItem(atPath: base)
        }

        static func run(_ program: String, _ arguments: [String]) throws {
            let outcome = try Child.runBlocking(program, arguments, timeout: .seconds(10))
            try #require(outcome.status == 0, "\(program) \(arguments): \(outcome.error)")
        }

        /// A file on the "share", with an exact modification time.
        func shareFile(_ relative: String, seconds: Int, nanoseconds: Int) throws {
            let path = shareSource + "/" + relative
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: path, contents: Data("photo bytes".utf8))
            var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        }

        /// The share's files as a record (what Immich knows and the share holds).
        func record(_ paths: [String]? = nil) throws -> PlaceholderRecord {
            let snapshot = TreeSnapshot.walk(shareSource, limit: 10_000)
            let entries = snapshot.files.filter { paths?.contains($0.path) ?? true }.map { PlaceholderRecord.Entry(path: $0.path, modified: $0.modified) }
            let record = PlaceholderRecord(definition: "photos", libraryIDs: ["lib"], takenAt: Timestamp.utcNow(), source: .immichAssets, entries: entries)
            try PlaceholderRecords(root: root).save(record)
            return record
        }

        /// Mounts the "share" at the target (a bind of the NAS's tmpfs), on top of what is there.
        func mountShare() throws { try Self.run("/bin/mount", ["--bind", shareSource, target]) }

        var layering: PlaceholderMount.Layering { placeholders.layering(at: target) }
    }

    @Test func aPlaceholderShowsTheRecordsFilesReadOnlyEvenInASlaveNamespace() throws {
        let bed = try Bed()
        try bed.shareFile("a.jpg", seconds: 1_600_000_000, nanoseconds: 123_456_789)
        try bed.shareFile("2024/06/b c.jpg", seconds: 1_700_000_000, nanoseconds: 1)
        try bed.shareFile("not-imported.jpg", seconds: 1_700_000_001, nanoseconds: 0)
        let record = try bed.record(["a.jpg", "2024/06/b c.jpg"])

        // The snap's namespace exists before the placeholder: a slave of the shared folder, waiting.
        let go = bed.base + "/go"
        let slave = Process()
        slave.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        let script = """
            while [ ! -e "$0" ]; do sleep 0.05; done
            stat -c '%Y.%y' "$1/a.jpg" || echo NO-STAT
            touch "$1/new.jpg" 2>&1 || true
            : > "$1/a.jpg" 2>&1 || true
            """
        slave.arguments = ["--mount", "--propagation", "slave", "--", "/bin/sh", "-c", script, go, bed.target]
        let output = Pipe()
        slave.standardOutput = output
        slave.standardError = output
        try slave.run()
        Thread.sleep(forTimeInterval: 0.3)

        #expect(try bed.placeholders.show("photos", target: bed.target) == 2)
        #expect(bed.layering == .shown)
        FileManager.default.createFile(atPath: go, contents: nil)
        slave.waitUntilExit()
        let seen = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(seen.hasPrefix("1600000000.") && seen.contains(".123456789"), "the slave sees the placeholder, to the nanosecond: \(seen)")
        #expect(seen.components(separatedBy: "Read-only file system").count == 3, "both writes refused in the slave: \(seen)")

        // Here too: the same paths and times as the share's, nothing Immich had not imported.
        let walked = TreeSnapshot.walk(bed.target, limit: 100)
        #expect(walked.isComplete && Set(walked.files) == Set(record.entries.map { TreeSnapshot.File(path: $0.path, modified: $0.modified) }))
        #expect(!FileManager.default.fileExists(atPath: bed.target + "/not-imported.jpg"))
        // As the snap's Immich runs: stat works, reading fails.
        let read = try Child.runBlocking("/usr/sbin/capsh", ["--drop=cap_dac_override,cap_dac_read_search", "--", "-c", "stat -c %s \"$0\" && cat \"$0\"", bed.target + "/a.jpg"],
                                         timeout: .seconds(10))
        #expect(read.output.hasPrefix("0") && read.status != 0 && read.error.contains("Permission denied"), "\(read.output) \(read.error)")
        // The staging tmpfs is private: the slave namespace never had it.
        let staging = bed.placeholders.stagingPath("photos")
        let entries = MountInfo.parse(String(decoding: try SecureFile.readProcFile("/proc/self/mountinfo"), as: UTF8.self))
        let stagingEntry = try #require(entries.first { $0.mountPoint == staging })
        #expect(PlaceholderMount.isPlaceholder(stagingEntry))
    }

    /// The swap both ways, with a thread stat'ing a file in a tight loop: the path shows the share or the
    /// placeholder at every instant, never an empty folder.
    @Test func aShareThatGoesAndComesBackNeverLeavesAnEmptyFolder() throws {
        let bed = try Bed()
        for index in 0..<20 { try bed.shareFile("2024/p\(index).jpg", seconds: 1_700_000_000 + index, nanoseconds: index) }
        _ = try bed.record()
        // A share mounted today, with nothing beneath: restacked, placeholder on top, the share again over it.
        try bed.mountShare()
        #expect(bed.layering == .absent)
        try bed.placeholders.show("photos", target: bed.target)
        #expect(bed.layering == .shown)
        try bed.mountShare()
        #expect(bed.layering == .beneath)

        let stop = Atomic<Bool>(false)
        let misses = Atomic<Int>(0)
        let looks = Atomic<Int>(0)
        let probe = bed.target + "/2024/p7.jpg"
        let thread = Thread {
            var info = stat()
            while !stop.load(ordering: .relaxed) {
                if lstat(probe, &info) != 0 { misses.add(1, ordering: .relaxed) }
                looks.add(1, ordering: .relaxed)
            }
        }
        thread.start()
        for _ in 0..<5 {
            // The share goes (what heal does to a stale one): the placeholder is there at once.
            try KernelMount.detach(bed.target)
            #expect(bed.layering == .shown)
            Thread.sleep(forTimeInterval: 0.02)
            // And comes back on top of it.
            try bed.mountShare()
            #expect(bed.layering == .beneath)
            Thread.sleep(forTimeInterval: 0.02)
        }
        stop.store(true, ordering: .relaxed)
        while !thread.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        #expect(misses.load(ordering: .relaxed) == 0, "the path was empty or missing \(misses.load(ordering: .relaxed)) times")
        #expect(looks.load(ordering: .relaxed) > 1_000, "the loop looked often enough to see a gap: \(looks.load(ordering: .relaxed))")
    }

    /// snap-confine builds the snap's namespace as this does: every mount made shared, then recursive
    /// binds of host folders (/run, /var/snap, /root, /tmp, ...) into a new root; /var/lib comes from the
    /// base snap. In it, the only placeholder mount is the read-only bind at the target: never the
    /// writable staging tmpfs.
    @Test func aNamespaceBuiltAsSnapConfineDoesSeesOnlyTheReadOnlyBind() throws {
        let bed = try Bed()
        try bed.shareFile("a.jpg", seconds: 1_600_000_000, nanoseconds: 1)
        _ = try bed.record()
        try bed.placeholders.show("photos", target: bed.target)
        let staging = bed.placeholders.stagingPath("photos")
        #expect(FileManager.default.fileExists(atPath: staging + "/a.jpg"))
        let script = """
            set -e
            mount --make-rshared /
            mkdir -p "$0/newroot"
            mount -t tmpfs none "$0/newroot"
            for folder in run var/snap root tmp var/tmp var/log; do
              mkdir -p "$0/newroot/$folder"
              if [ -d "$1/$folder" ]; then mount --rbind "$1/$folder" "$0/newroot/$folder"; fi
            done
            mount --make-rslave "$0/newroot"
            findmnt -rn -o TARGET,VFS-OPTIONS,SOURCE | awk -v top="$0/newroot/" 'index($1, top) == 1 && $3 == "extlib-net-placeholder" { print $2 }'
            stat -c %Y "$0/newroot/var/snap/immich-distribution/common/photos/a.jpg"
            touch "$0/newroot/var/snap/immich-distribution/common/photos/new.jpg" 2>&1 || true
            """
        let outcome = try Child.runBlocking("/usr/bin/unshare", ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, bed.base, bed.root.prefix],
                                            timeout: .seconds(10))
        let lines = outcome.output.split(separator: "\n").map(String.init)
        #expect(outcome.status == 0 && lines.count >= 2, "\(outcome.output) \(outcome.error)")
        #expect(lines.filter { !$0.hasPrefix("1600000000") && !$0.contains("Read-only") }.count == 1, "one placeholder mount in the snap's namespace: \(outcome.output)")
        #expect(lines.first?.hasPrefix("ro,") == true, "and it is read-only: \(outcome.output)")
        #expect(lines.contains("1600000000"), "the placeholder itself came along: \(outcome.output)")
        #expect(outcome.output.contains("Read-only file system"), "\(outcome.output) \(outcome.error)")
        #expect(staging.hasPrefix(bed.root.path("/var/lib/extlib-net/")), "\(staging)")
    }

    /// The child that attaches over a share that may hang walks to the target following no link: the
    /// snap's root can write under its common folder, and a folder swapped for a link must never send a
    /// placeholder over another path.
    @Test func theChildAttachFollowsNoLink() throws {
        let bed = try Bed()
        try bed.shareFile("a.jpg", seconds: 1_600_000_000, nanoseconds: 1)
        _ = try bed.record()
        try bed.placeholders.stage("photos", target: bed.target)
        let staging = bed.placeholders.stagingPath("photos")
        let common = (bed.target as NSString).deletingLastPathComponent
        let elsewhere = bed.base + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere + "/photos", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: common, toPath: common + ".real")
        try FileManager.default.createSymbolicLink(atPath: common, withDestinationPath: elsewhere)
        #expect(KernelMount.runAttachChild(source: staging, target: bed.target, below: bed.root.prefix) == ELOOP)
        let table = MountTable.system.current()
        #expect(MountTable.stack(at: elsewhere + "/photos", in: table).isEmpty, "nothing mounted where the link points")
        try FileManager.default.removeItem(atPath: common)
        try FileManager.default.moveItem(atPath: common + ".real", toPath: common)
        // The mount folder itself a link: refused too.
        try FileManager.default.removeItem(atPath: bed.target)
        try FileManager.default.createSymbolicLink(atPath: bed.target, withDestinationPath: elsewhere + "/photos")
        #expect(KernelMount.runAttachChild(source: staging, target: bed.target, below: bed.root.prefix) == ENOTDIR)
        #expect(MountTable.stack(at: elsewhere + "/photos", in: MountTable.system.current()).isEmpty)
        try FileManager.default.removeItem(atPath: bed.target)
        try FileManager.default.createDirectory(atPath: bed.target, withIntermediateDirectories: false)
        // The plain path: attached, read-only, on top.
        #expect(KernelMount.runAttachChild(source: staging, target: bed.target, below: bed.root.prefix) == 0)
        #expect(bed.layering == .shown)
        #expect(FileManager.default.fileExists(atPath: bed.target + "/a.jpg"))
    }

    /// The placeholder beneath the share is that very staging tmpfs, or a refresh is refused: filling a
    /// new staging tmpfs nobody sees is not a refresh.
    @Test func aRefreshIsRefusedWhenTheStagingTmpfsIsNotWhatIsBeneath() throws {
        let bed = try Bed()
        try bed.shareFile("old.jpg", seconds: 1_500_000_000, nanoseconds: 5)
        _ = try bed.record()
        try bed.placeholders.show("photos", target: bed.target)
        try bed.mountShare()
        #expect(bed.layering == .beneath)
        #expect(try bed.placeholders.stage("photos", target: bed.target) == 1)
        try KernelMount.detach(bed.placeholders.stagingPath("photos"))
        #expect(throws: PlaceholderError(.notStaged(bed.target))) { try bed.placeholders.stage("photos", target: bed.target) }
        #expect(bed.layering == .beneath)
    }

    /// A placeholder beneath the share is brought up to date in place; a shown one is left as it is.
    @Test func aCoveredPlaceholderIsRefreshedAndAShownOneIsNot() throws {
        let bed = try Bed()
        try bed.shareFile("old.jpg", seconds: 1_500_000_000, nanoseconds: 5)
        _ = try bed.record()
        try bed.placeholders.show("photos", target: bed.target)
        try bed.mountShare()
        #expect(bed.layering == .beneath)

        try FileManager.default.removeItem(atPath: bed.shareSource + "/old.jpg")
        try bed.shareFile("new/one.jpg", seconds: 1_600_000_000, nanoseconds: 6)
        _ = try bed.record()
        #expect(try bed.placeholders.stage("photos", target: bed.target) == 1)
        try KernelMount.detach(bed.target)
        #expect(bed.layering == .shown)
        #expect(TreeSnapshot.walk(bed.target, limit: 10).files == [TreeSnapshot.File(path: "new/one.jpg", modified: FileTime(seconds: 1_600_000_000, nanoseconds: 6))])

        // Shown: what Immich last saw stays.
        #expect(throws: PlaceholderError(.shown(bed.target))) { try bed.placeholders.stage("photos", target: bed.target) }
        #expect(try bed.placeholders.show("photos", target: bed.target) == 1, "showing it again changes nothing")
        #expect(MountTable.stack(at: bed.target, in: MountTable.system.current()).count == 1)
        #expect(try bed.placeholders.detachShown(at: bed.target))
        #expect(bed.layering == .absent)
    }

    @Test func noRecordNoPlaceholder() throws {
        let bed = try Bed()
        #expect(throws: PlaceholderError(.noRecord("photos"))) { try bed.placeholders.show("photos", target: bed.target) }
        #expect(bed.layering == .absent)
        #expect(PlaceholderError(.noRecord("photos")).description.contains("immich link photos"))
    }
}

/// The stack at one path, from mountinfo lines in any order.
@Suite struct MountStackTests {
    func entry(_ id: Int, parent: Int, at path: String, _ type: String = "cifs", source: String = "//nas/photos") -> MountInfoEntry {
        MountInfoEntry(mountID: id, parentID: parent, root: "/", mountPoint: path, options: ["rw"], fileSystemType: type, source: source, superOptions: [])
    }

    @Test func theTopIsTheMountNothingSitsOn() {
        let target = "/root/snap/immich-distribution/common/photos"
        // The share (40) restacked: placeholder (41) on it, the share again (52) on that; listed out of order.
        let table = [entry(52, parent: 41, at: target), entry(1, parent: 0, at: "/"), entry(40, parent: 1, at: target),
                     entry(41, parent: 40, at: target, "tmpfs", source: PlaceholderMount.source)]
        #expect(MountTable.stack(at: target, in: table).map(\.mountID) == [40, 41, 52])
        #expect(MountTable.entry(at: target, in: table)?.mountID == 52)
        #expect(MountTable.entry(at: "/nowhere", in: table) == nil)
        #expect(MountTable.stack(at: "/", in: table).map(\.mountID) == [1])
    }
}
