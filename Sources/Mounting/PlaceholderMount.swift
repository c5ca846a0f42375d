import Core
import Logging
import System
import Formats

/// A share's placeholder: the tree of its record (`PlaceholderRecords`) on a staging tmpfs at
/// /var/lib/extlib-net/staging/NAME, shown at the share's mount point as a read-only bind.
///
/// The staging tmpfs is writable (it is refreshed while covered), so no other namespace may see it.
/// snap-confine builds the snap's namespace from recursive binds of host folders (/run, /var/snap,
/// /root, /tmp, /var/lib/snapd, ...), after making every mount shared; /var/lib itself comes from the
/// base snap, so a staging folder under /var/lib/extlib-net is never copied in. The folder is also a
/// private mount point, so nothing mounted there propagates. The bind is read-only before it is
/// attached, so every copy the kernel propagates of it is too.
public struct PlaceholderMount: Sendable {
    public let root: SystemRoot
    public let mountTable: MountTable
    public let records: PlaceholderRecords
    /// The kernel's mount calls (a unit test's made-up mount table comes with calls that make none).
    public let calls: any MountCalls
    let logger: Logger

    /// The name the staging tmpfs and its binds show in /proc/self/mountinfo, `mount` and `df`.
    public static let source = "extlib-net-placeholder"
    public static let stagingDirectory = SystemRoot.Known.stateDirectory + "/staging"

    public init(root: SystemRoot, mountTable: MountTable = .system, calls: any MountCalls = SystemMountCalls(), logger: Logger) {
        self.root = root
        self.mountTable = mountTable
        self.calls = calls
        records = PlaceholderRecords(root: root)
        self.logger = logger
    }

    public func stagingPath(_ name: String) -> String { root.path(Self.stagingDirectory + "/" + name) }

    public static func isPlaceholder(_ entry: MountInfoEntry) -> Bool {
        entry.fileSystemType == "tmpfs" && entry.source == source
    }

    /// How the placeholder of `name` sits at `target`.
    public enum Layering: Sendable, Equatable {
        /// None of ours there.
        case absent
        /// Beneath another mount (the share): shown the moment that one is detached.
        case beneath
        /// The top mount: the path shows the placeholder.
        case shown
    }

    public func layering(at target: String, in table: [MountInfoEntry]? = nil) -> Layering {
        let stack = MountTable.stack(at: target, in: table ?? mountTable.current())
        guard let top = stack.last else { return .absent }
        if Self.isPlaceholder(top) { return .shown }
        return stack.contains(where: Self.isPlaceholder) ? .beneath : .absent
    }

    /// Makes the staging tmpfs of `name` hold exactly its record's tree (made when missing), and returns
    /// the number of files. Refused while `target` shows the placeholder: what is shown stays as Immich
    /// last saw it until the share is back.
    @discardableResult
    public func stage(_ name: String, target: String) throws(PlaceholderError) -> Int {
        let record: PlaceholderRecord, layout: PlaceholderRecord.Layout
        do {
            guard let loaded = try records.loadWithLayout(name) else { throw PlaceholderError(.noRecord(name)) }
            (record, layout) = loaded
        } catch let error as PlaceholderError {
            throw error
        } catch {
            throw PlaceholderError(.damagedRecord(name, "\(error)"))
        }
        let table = mountTable.current()
        let layering = layering(at: target, in: table)
        guard layering != .shown else { throw PlaceholderError(.shown(target)) }
        let staging = stagingPath(name)
        let stagingMount = table.last { $0.mountPoint == staging && Self.isPlaceholder($0) }
        if layering == .beneath {
            // What is beneath the share must be this very tmpfs, or a refresh would fill a copy nobody sees.
            let beneath = MountTable.stack(at: target, in: table).last(where: Self.isPlaceholder)
            guard let stagingMount, stagingMount.device == beneath?.device else { throw PlaceholderError(.notStaged(target)) }
        }
        let needed = layout.inodes + 64
        do {
            try prepareStagingDirectory()
            let mounted = stagingMount != nil
            if mounted, layering == .absent {
                // Not in use at the target: a fresh tmpfs is quicker than emptying this one.
                try calls.detach(staging)
                try calls.mountTmpfs(source: Self.source, at: staging, inodes: needed)
            } else if mounted {
                // Beneath the share: emptied and filled in place (the bind shows this very tmpfs).
                try calls.resizeTmpfs(at: staging, inodes: max(needed, try calls.usedInodes(staging) + 64))
                if case .failure(let failure) = PlaceholderTree.clear(staging) { throw PlaceholderError(.tree(failure)) }
                try calls.resizeTmpfs(at: staging, inodes: needed)
            } else {
                try SecureFile.ensureDirectory(staging, below: root.prefix)
                try calls.mountTmpfs(source: Self.source, at: staging, inodes: needed)
            }
        } catch let error as PlaceholderError {
            throw error
        } catch let error as KernelMount.Failure {
            throw PlaceholderError(.kernel(error))
        } catch {
            throw PlaceholderError(.staging("\(error)"))
        }
        switch PlaceholderTree.build(record.entries.map { ($0.path, $0.modified) }, into: staging) {
        case .success(let count):
            logger.info("placeholder staged", metadata: ["name": "\(name)", "files": "\(count)"])
            return count
        case .failure(let failure):
            throw PlaceholderError(.tree(failure))
        }
    }

    /// How the bind is attached: here, or in a child under a deadline when the target's top mount is a
    /// network share that may hang (`KernelMount.attachReadOnlyBindInChild`).
    public enum Attaching: Sendable {
        /// By the target's path.
        case inProcess
        /// Onto the folder open at this descriptor (the bare mount folder, reached without following links).
        case onto(folder: Int32)
        case inChild(runner: any ProcessRunner, timeout: Duration)
    }

    /// Stages `name`'s placeholder and attaches it at `target`, on top of whatever is mounted there (nothing,
    /// or a share that is away). Nothing changes when it is already the top.
    @discardableResult
    public func show(_ name: String, target: String, attaching: Attaching = .inProcess) throws(PlaceholderError) -> Int {
        if layering(at: target) == .shown { return try fileCount(name) }
        let count = try stage(name, target: target)
        do {
            switch attaching {
            case .inProcess: try calls.attachReadOnlyBind(of: stagingPath(name), at: target)
            case .onto(let folder): try calls.attachReadOnlyBind(of: stagingPath(name), onto: folder, shown: target)
            case .inChild(let runner, let timeout): try calls.attachReadOnlyBindInChild(of: stagingPath(name), at: target, below: root.prefix, runner: runner, timeout: timeout)
            }
        } catch {
            throw PlaceholderError(.kernel(error))
        }
        logger.info("placeholder shown", metadata: ["name": "\(name)", "target": "\(target)"])
        return count
    }

    /// Detaches the placeholder when it is the top mount at `target` (our tmpfs: it cannot hang). Returns
    /// whether it was there.
    @discardableResult
    public func detachShown(at target: String) throws(PlaceholderError) -> Bool {
        guard layering(at: target) == .shown else { return false }
        do {
            try calls.detach(target)
        } catch {
            throw PlaceholderError(.kernel(error))
        }
        return true
    }

    /// Unmounts the staging tmpfs of `name` (binds of it at a target keep it alive until they go).
    public func removeStaging(_ name: String) {
        let staging = stagingPath(name)
        guard mountTable.current().contains(where: { $0.mountPoint == staging && Self.isPlaceholder($0) }) else { return }
        do {
            try calls.detach(staging)
        } catch {
            logger.warning("could not unmount a placeholder's staging tmpfs", metadata: ["path": "\(staging)", "error": "\(error)"])
        }
    }

    /// Files in the staging tmpfs of `name`: its used inodes less its folders is not known without a
    /// walk, so this is the record's count.
    public func fileCount(_ name: String) throws(PlaceholderError) -> Int {
        do {
            return try records.load(name)?.entries.count ?? 0
        } catch {
            throw PlaceholderError(.damagedRecord(name, "\(error)"))
        }
    }

    /// /var/lib/extlib-net/staging: root-only, and a private mount point of its own.
    private func prepareStagingDirectory() throws {
        try SecureFile.ensurePrivateDirectory(root.path(SystemRoot.Known.stateDirectory), below: root.prefix)
        let directory = root.path(Self.stagingDirectory)
        try SecureFile.ensurePrivateDirectory(directory, below: root.prefix)
        try calls.makePrivateMountPoint(directory)
    }

}

/// Why a placeholder could not be staged or shown.
public struct PlaceholderError: Error, Equatable, CustomStringConvertible {
    public enum Code: Equatable, Sendable {
        case noRecord(String)
        case damagedRecord(String, String)
        /// The target shows the placeholder: it is not rebuilt while Immich may be looking at it.
        case shown(String)
        case kernel(KernelMount.Failure)
        case tree(PlaceholderTree.Failure)
        case staging(String)
        /// The placeholder beneath the share is not its staging tmpfs (that was unmounted by hand).
        case notStaged(String)
        /// The share's mount folder (missing parents, a link on the way, files in it).
        case folder(MountTargetError)
    }

    public let code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String {
        switch code {
        case .noRecord(let name):
            return "\(name) has no placeholder record yet; extlib-net immich link \(name) (or the next guarded scan) takes one while the share is mounted"
        case .damagedRecord(let name, let why): return "the placeholder record of \(name) is damaged: \(why)"
        case .shown(let target): return "\(target) shows the placeholder now; it is brought up to date once the share is back"
        case .kernel(let failure): return "cannot mount the placeholder: \(failure)"
        case .tree(let failure): return failure.description
        case .staging(let why): return "cannot prepare the placeholder's staging folder: \(why)"
        case .notStaged(let target):
            return "the placeholder beneath the share at \(target) is no longer its staging copy (was it unmounted by hand?), so it cannot be brought up to date; extlib-net unmount, then mount, of the share builds it again"
        case .folder(let error): return "no placeholder: \(error)"
        }
    }
}

extension PlaceholderError: ReportableError {
    public var exitStatus: ExitStatus {
        switch code {
        case .noRecord, .shown: return .usage
        case .damagedRecord: return .configuration
        case .kernel, .tree, .staging, .notStaged: return .system
        case .folder(let error): return error.exitStatus
        }
    }
}

/// What stands in for a share while it is away, for status, list and doctor.
public struct PlaceholderStatus: Sendable, Equatable, Encodable {
    public enum State: String, Sendable, Encodable {
        /// The placeholder is what the folder shows: the share is away.
        case shown
        /// Beneath the mounted share, shown the moment it goes.
        case beneath
        /// A record, and nothing at the folder: neither the share nor its placeholder (the folder is empty;
        /// the next mount or heal puts it up).
        case recorded
        /// A record, and the share mounted with nothing beneath: should it go away, the folder is empty until
        /// heal covers it (the next mount restacks it).
        case uncovered
        /// No record: the library is unprotected while the share is away.
        case none
        /// The record cannot be used: the library is unprotected.
        case damaged
    }

    public let state: State
    /// Files in the record (nil without one).
    public let files: Int?
    /// When it was put up in the share's place (local time); only while shown.
    public let since: String?
    /// When its record was taken (UTC).
    public let recordTakenAt: String?
    /// The last time it could not be put up or brought up to date, and why (cleared once that works).
    public let problem: String?

    public init(state: State, files: Int?, since: String?, recordTakenAt: String?, problem: String? = nil) {
        self.state = state
        self.files = files
        self.since = since
        self.recordTakenAt = recordTakenAt
        self.problem = problem
    }

    public var isProtected: Bool { state != .none && state != .damaged }

    /// One line: "placeholder since TIME, N files".
    public var text: String {
        let count = files.map { "\($0) file\($0 == 1 ? "" : "s")" } ?? "?"
        switch state {
        case .shown: return "placeholder since \(since ?? "an unknown time"), \(count)"
        case .beneath: return "ready beneath the share, \(count)"
        case .recorded: return "recorded, \(count), not up"
        case .uncovered: return "not beneath the share, \(count)"
        case .none: return "none"
        case .damaged: return "damaged record: unprotected"
        }
    }
}

extension PlaceholderMount {
    /// `name`'s placeholder at `target` as `table` shows it; `shownSince` and `problem` from the mount's
    /// record.
    public func status(_ name: String, target: String, shownSince: String?, problem: String? = nil, in table: [MountInfoEntry]) -> PlaceholderStatus {
        let record: PlaceholderRecord
        do {
            guard let loaded = try records.load(name) else { return PlaceholderStatus(state: .none, files: nil, since: nil, recordTakenAt: nil) }
            record = loaded
        } catch {
            return PlaceholderStatus(state: .damaged, files: nil, since: nil, recordTakenAt: nil, problem: problem)
        }
        let state: PlaceholderStatus.State
        switch layering(at: target, in: table) {
        case .shown: state = .shown
        case .beneath: state = .beneath
        case .absent: state = MountTable.stack(at: target, in: table).isEmpty ? .recorded : .uncovered
        }
        return PlaceholderStatus(state: state, files: record.entries.count, since: state == .shown ? shownSince : nil,
                                 recordTakenAt: record.takenAt, problem: problem)
    }
}
