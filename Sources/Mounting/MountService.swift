import Dispatch
import Logging
import Synchronization

import Core
import System
import Formats
import Discovery
import Credentials

/// mount, unmount and status over several definitions, under `/run/extlib-net.lock` so a boot-time run
/// and a user's run never mount twice.
public struct MountService: Sendable {
    public let mounter: Mounter
    public let store: MountStore

    public init(mounter: Mounter) {
        self.mounter = mounter
        self.store = MountStore(root: mounter.root, logger: mounter.logger)
    }

    var root: SystemRoot { mounter.root }
    public var lockPath: String { root.path(SystemRoot.Known.runDirectory + "/extlib-net.lock") }
    var stateDirectory: String { root.path(SystemRoot.Known.runDirectory + "/extlib-net") }

    /// Holds the lock for the life of the returned object; waits at most `timeout` for another run (a
    /// boot-time mount, a heal timer) to finish, and tells `waiting` who that is.
    public func lock(timeout: Duration = FileLock.defaultTimeout, waiting: (LockHolder?) -> Void = { _ in }) throws(LockError) -> FileLock {
        do {
            // /run is reached without following a link; the lock file itself is opened O_NOFOLLOW.
            try SecureFile.ensureDirectory(root.path(SystemRoot.Known.runDirectory), below: root.prefix)
            return try FileLock(path: lockPath, timeout: timeout, waiting: waiting)
        } catch {
            throw LockError(underlying: error)
        }
    }

    /// The named definitions (an unknown one is a usage error naming it), or all of them.
    public func definitions(named names: [MountName], all: Bool) throws(MountStoreError) -> [MountDefinition] {
        let file = try store.load()
        if all { return file.definitions }
        return try names.map { name throws(MountStoreError) in
            guard let definition = file.definition(named: name.text) else { throw .notFound(name: name.text, path: store.path) }
            return definition
        }
    }

    /// Adds a definition, first checking that its account exists: a typo would otherwise surface only at
    /// mount time, at boot. Returns the mount's target.
    public func add(_ definition: MountDefinition) throws -> String {
        if let credentials = definition.credentials {
            _ = try CredentialStore(root: root, logger: mounter.logger).credential(named: credentials)
        }
        try store.add(definition)
        forget(definition.name)  // an old definition of that name, removed by a hand edit, left its state
        return mounter.target(of: definition)
    }

    /// Removes a definition; refused while its share is mounted (the folder is never touched).
    @discardableResult
    public func remove(named name: String) throws(MountStoreError) -> MountDefinition {
        let definition = try store.definition(named: name)
        switch mounter.state(of: definition) {
        case .mounted, .placeholder: throw .mounted(name: name, target: mounter.target(of: definition))
        case .notMounted, .occupied: break
        }
        try store.remove(named: name)
        forget(name)
        // The definition is gone, so is what stood in for its share: the record lists private paths.
        placeholders.removeStaging(name)
        placeholders.records.remove(name)
        return definition
    }

    /// Mounts each definition, all at once (the mounter bounds how many helpers run); `wait` bounds the
    /// whole batch, however many shares there are. Results in the order given.
    public func mount(_ definitions: [MountDefinition], wait: Duration, events: @escaping @Sendable (MountEvent) -> Void) -> [Result<MountedShare, MountError>] {
        let end = ContinuousClock.now + wait
        return concurrentMap(definitions, limit: max(1, definitions.count)) { definition in
            events(.started(name: definition.name))
            let result = self.mountStacked(definition, wait: max(.zero, end - .now)) { events(.attemptFailed(name: definition.name, line: $0)) }
            self.record(definition.name, result)
            events(.finished(name: definition.name, result))
            return result
        }
    }

    public var placeholders: PlaceholderMount {
        PlaceholderMount(root: root, mountTable: mounter.mountTable, calls: mounter.mountCalls, logger: mounter.logger)
    }

    /// Whether `name` has a placeholder record (not read: a damaged one is refused when the placeholder
    /// is built from it, and status says so).
    public func hasPlaceholderRecord(_ name: String) -> Bool { placeholders.records.exists(name) }

    /// Mounts `definition`'s share. With a placeholder record, the placeholder goes up first so the share
    /// lands on top of it: shown at once if the mount fails or the share later goes away, so Immich never
    /// finds the folder empty. A share mounted today with nothing beneath is restacked: the placeholder on
    /// top of it, then the share mounted again over that.
    /// A restack whose second mount fails takes the placeholder off again: a healthy share is never left
    /// covered.
    public func mountStacked(_ definition: MountDefinition, wait: Duration, progress: @escaping (String) -> Void = { _ in }) -> Result<MountedShare, MountError> {
        let target = mounter.target(of: definition)
        var restacking = false
        if hasPlaceholderRecord(definition.name) {
            switch (mounter.state(of: definition), placeholders.layering(at: target)) {
            case (.notMounted, _):
                showPlaceholder(definition)
            case (.mounted, .absent) where mounter.health(target).isHealthy:
                if case .success = showPlaceholder(definition) { restacking = true }
            default:
                break
            }
        }
        let result = mounter.mount(definition, wait: wait, progress: progress)
        switch result {
        case .success:
            // The share is on top: "placeholder since" is over.
            if placeholders.layering(at: target) != .shown { update(definition.name) { $0.placeholderShown = nil } }
        case .failure(let error) where restacking:
            // Only ours comes off: the share it covers is healthy and shows again.
            do {
                try placeholders.detachShown(at: target)
                update(definition.name) { $0.placeholderShown = nil }
            } catch {
                mounter.logger.error("a placeholder put on a healthy share could not be taken off", metadata: ["name": "\(definition.name)", "error": "\(error)"])
            }
            recordPlaceholderProblem(definition.name, "the share could not be mounted again over its placeholder: \(error)")
        case .failure:
            break
        }
        return result
    }

    /// Puts `definition`'s placeholder up at its target, on top of what is there; a failure is logged and
    /// recorded (the library is then unprotected), never thrown: the share's own mount matters more.
    @discardableResult
    public func showPlaceholder(_ definition: MountDefinition) -> Result<Int, PlaceholderError> {
        let target = mounter.target(of: definition)
        var folder: Int32 = -1
        defer { if folder >= 0 { FileSystem.close(folder) } }
        do {
            let attaching: PlaceholderMount.Attaching
            if mounter.mountTable.entry(at: target) == nil {
                // The bare folder: made if missing, refused when it holds files (they would be hidden),
                // and attached onto through the descriptor the no-follow walk opened.
                _ = try MountTarget.prepare(name: definition.name, base: definition.effectiveSandbox, root: root)
                folder = try MountTarget.walk(definition.effectiveSandbox.path + "/" + definition.name, root: root, creating: false)
                attaching = .onto(folder: folder)
            } else {
                // A network share on top may be dead: looking its root up is left to a child with a deadline.
                attaching = .inChild(runner: mounter.runner, timeout: .seconds(5))
            }
            let wasShown = placeholders.layering(at: target) == .shown
            let count = try placeholders.show(definition.name, target: target, attaching: attaching)
            update(definition.name) { record in
                if !wasShown { record.placeholderShown = .init(at: Timestamp.now(), detail: "\(count) files") }
                record.placeholderProblem = nil
            }
            return .success(count)
        } catch {
            let failure = error as? PlaceholderError ?? (error as? MountTargetError).map { PlaceholderError(.folder($0)) } ?? PlaceholderError(.staging("\(error)"))
            mounter.logger.error("no placeholder", metadata: ["name": "\(definition.name)", "error": "\(failure)"])
            recordPlaceholderProblem(definition.name, "no placeholder: \(failure)")
            return .failure(failure)
        }
    }

    /// What a new placeholder record changed at the share's mount folder.
    public enum PlaceholderRefresh: Sendable, Equatable {
        /// The placeholder beneath the share now holds the new record's tree.
        case refreshed(files: Int)
        /// The share had nothing beneath: the placeholder went on top and the share was mounted again over it.
        case restacked
        /// The share is not what the folder shows (away, or its placeholder stands in): left as it is.
        case notMounted
        case failed(String)
    }

    /// Puts a new record to use while the share is mounted: the placeholder beneath is brought up to date,
    /// or a share with nothing beneath is restacked (see `mountStacked`). Takes the mount lock (waiting at
    /// most `lockTimeout`, and telling `waiting` who holds it), so a heal never detaches the share in the
    /// middle.
    public func refreshPlaceholder(_ definition: MountDefinition, lockTimeout: Duration = .seconds(60),
                                   waiting: (LockHolder?) -> Void = { _ in }) -> PlaceholderRefresh {
        let lock: FileLock
        do { lock = try self.lock(timeout: lockTimeout, waiting: waiting) } catch { return .failed("\(error)") }
        defer { withExtendedLifetime(lock) {} }
        let target = mounter.target(of: definition)
        guard mounter.state(of: definition).isMounted else { return .notMounted }
        switch placeholders.layering(at: target) {
        case .beneath:
            do {
                let files = try placeholders.stage(definition.name, target: target)
                update(definition.name) { $0.placeholderProblem = nil }
                return .refreshed(files: files)
            } catch {
                // A refresh that failed half-way may have left the placeholder beneath incomplete: said so.
                recordPlaceholderProblem(definition.name, "the placeholder beneath the share could not be brought up to date: \(error)")
                return .failed(error.description)
            }
        case .shown:
            return .notMounted
        case .absent:
            guard mounter.health(target).isHealthy else { return .failed("the share is not healthy") }
            switch mountStacked(definition, wait: .seconds(30)) {
            case .success:
                return placeholders.layering(at: target) == .beneath ? .restacked : .failed("the placeholder is not beneath the share")
            case .failure(let error):
                return .failed("the share could not be mounted again over its placeholder: \(error)")
            }
        }
    }

    /// `unmount --placeholder`: the share's placeholder takes its place on purpose (heal leaves it so). With
    /// the placeholder beneath, the share is detached; without, the placeholder goes on top of it (the share
    /// stays covered beneath until a plain unmount), so the folder is never empty. Returns the files shown.
    public func replaceWithPlaceholder(_ definition: MountDefinition, lazy: Bool) -> Result<Int, MountError> {
        let target = mounter.target(of: definition)
        let placeholders = self.placeholders
        do {
            let count: Int
            switch placeholders.layering(at: target) {
            case .shown:
                count = try placeholders.fileCount(definition.name)
            case .beneath:
                if case .failure(let error) = detachTop(definition, lazy: lazy) { return .failure(error) }
                guard placeholders.layering(at: target) == .shown else {
                    return .failure(.failed(MountFailure(.permanent, "the share was unmounted but its placeholder is not what \(target) shows")))
                }
                count = try placeholders.fileCount(definition.name)
            case .absent:
                count = try showPlaceholder(definition).get()
            }
            update(definition.name) { record in
                if record.placeholderShown == nil { record.placeholderShown = .init(at: Timestamp.now(), detail: "\(count) files") }
            }
            clearPending(definition.name)
            return .success(count)
        } catch let error as PlaceholderError {
            return .failure(.placeholder(error))
        } catch {
            return .failure(.failed(MountFailure(.permanent, "\(error)")))
        }
    }

    /// The most mounts one target may have stacked (the share, its placeholder, a restacked share, and
    /// room for a hand-made one); more is not ours, and unmount stops there.
    static let maximumLayers = 8

    /// Unmounts every layer at the definition's target, top first: the share (umount(8) in a child, see
    /// `detachTop`), the placeholder beneath it, and any older layers; then the placeholder's staging
    /// tmpfs. Returns whether anything was mounted there.
    public func unmount(_ definition: MountDefinition, lazy: Bool, timeout: Duration = .seconds(10)) -> Result<Bool, MountError> {
        let target = mounter.target(of: definition)
        var removed = false
        for _ in 0..<Self.maximumLayers {
            guard let top = mounter.mountTable.entry(at: target) else { break }
            if PlaceholderMount.isPlaceholder(top) {
                do {
                    try mounter.mountCalls.detach(target)
                } catch {
                    return .failure(.failed(MountFailure(.permanent, "the placeholder: \(error)")))
                }
            } else {
                switch detachTop(definition, lazy: lazy, timeout: timeout) {
                case .success(false): break
                case .success(true): break
                case .failure(let error): return .failure(error)
                }
            }
            removed = true
        }
        if let left = mounter.mountTable.entry(at: target) {
            return .failure(.failed(MountFailure(.permanent, "\(Self.maximumLayers) mounts were removed and \(left.source) is still at \(target)")))
        }
        placeholders.removeStaging(definition.name)
        update(definition.name) { $0.placeholderShown = nil }
        clearPending(definition.name)
        return .success(removed)
    }

    /// Detaches the share on top of `definition`'s target (a heal of a stale share): the placeholder
    /// beneath, if there is one, is shown at once.
    public func detachShare(_ definition: MountDefinition) -> Result<Bool, MountError> {
        let target = mounter.target(of: definition)
        guard let top = mounter.mountTable.entry(at: target), !PlaceholderMount.isPlaceholder(top) else { return .success(false) }
        let result = detachTop(definition, lazy: true)
        if case .success = result, placeholders.layering(at: target) == .shown {
            update(definition.name) { $0.placeholderShown = .init(at: Timestamp.now(), detail: "\((try? placeholders.fileCount(definition.name)) ?? 0) files") }
        }
        return result
    }

    /// Unmounts the top mount at the target with umount(8) under a deadline: unmounting a hard NFS mount
    /// of a dead server can block forever, which `--lazy` (MNT_DETACH) avoids. A lazy unmount detaches at
    /// once, so it is given 3 s, and the mount table, not umount's end, says whether it worked;
    /// `--no-canonicalize` keeps umount from resolving the path, which on a dead mount waits on the server
    /// (our targets are canonical). The child, not this process, drops the last reference of a hung cifs
    /// mount (which can take minutes), and it holds no lock.
    func detachTop(_ definition: MountDefinition, lazy: Bool, timeout: Duration = .seconds(10)) -> Result<Bool, MountError> {
        let target = mounter.target(of: definition)
        // Whatever is at the target (ours or not) is what the user asks to unmount.
        guard let before = mounter.mountTable.entry(at: target) else { clearPending(definition.name); return .success(false) }
        let result: ProcessResult
        do {
            result = try mounter.runner.run(MountHelper.umount, (lazy ? ["--lazy", "--no-canonicalize"] : []) + ["--", target], secret: nil,
                                            until: .after(lazy ? min(timeout, .seconds(3)) : timeout))
        } catch {
            return .failure(.failed(MountFailure(.permanent, "\(error); install util-linux")))
        }
        // An unmount is on purpose: heal no longer mounts a share whose last mount had failed.
        if result.status == 0 { clearPending(definition.name); return .success(true) }
        // A lazy unmount of a hung CIFS mount detaches at once, but umount itself then waits minutes on the
        // dead server (measured in the VM): what counts is that the mount is gone.
        if lazy, mounter.mountTable.entry(at: target)?.mountID != before.mountID { clearPending(definition.name); return .success(true) }
        if result.timedOut {
            return .failure(.failed(MountFailure(.transient, "umount did not finish within \(formatSeconds(timeout.seconds)) (is the server hung?); try --lazy")))
        }
        let message = result.messages.split(separator: "\n").first.map(String.init) ?? "umount exited with \(result.status)"
        let busy = message.contains("busy") ? "; close what uses it, or use --lazy" : ""
        return .failure(.failed(MountFailure(.permanent, message + busy)))
    }

    public struct Status: Sendable {
        public let definition: MountDefinition
        public let target: String
        public let mounted: Bool
        /// `nil` when not mounted.
        public let health: FileSystemHealth?
        public var healthy: Bool? { health.map(\.isHealthy) }
        public let serverReachable: Bool
        public let record: MountRecord
        public var lastError: String? { record.lastError?.detail }
        public let placeholder: PlaceholderStatus
    }

    /// Checks every definition at once; each check is bounded, so this returns within a few seconds
    /// even when servers hang.
    public func status(_ definitions: [MountDefinition]) -> [Status] {
        let table = mounter.mountTable.current()
        // Every definition at once, and per definition the statfs child and the server probe at once:
        // with a dead link the answer comes after the longest single deadline, not their sum.
        return concurrentMap(definitions, limit: definitions.count) { definition in
            let target = self.mounter.target(of: definition)
            let mounted = self.mounter.state(of: definition, in: table).isMounted
            let checks = concurrentMap([0, 1], limit: 2) { which -> (FileSystemHealth?, Bool) in
                which == 0 ? (mounted ? self.mounter.health(target) : nil, false) : (nil, self.reachable(definition))
            }
            let record = self.mountRecord(definition.name)
            return Status(definition: definition, target: target, mounted: mounted, health: checks[0].0,
                          serverReachable: checks[1].1, record: record,
                          placeholder: self.placeholderStatus(definition, record: record, in: table))
        }
    }

    /// What stands in for `definition`'s share while it is away, as `table` (or the kernel's) shows it.
    public func placeholderStatus(_ definition: MountDefinition, record: MountRecord? = nil, in table: [MountInfoEntry]? = nil) -> PlaceholderStatus {
        let record = record ?? mountRecord(definition.name)
        return placeholders.status(definition.name, target: mounter.target(of: definition), shownSince: record.placeholderShown?.at,
                                   problem: record.placeholderProblem?.detail, in: table ?? mounter.mountTable.current())
    }

    func reachable(_ definition: MountDefinition) -> Bool {
        guard let host = try? HostName.parse(definition.url.host),
            let resolved = try? HostResolver(root: root, logger: mounter.logger).resolve(host, until: .after(mounter.probeTimeout))
        else { return false }
        return TCPProbe.probe([Endpoint(resolved.preferredAddress, Mounter.port(of: definition))], until: .after(mounter.probeTimeout)) == [.open]
    }

    /// The last mount error per definition lives in /run (forgotten at reboot, like the mounts). A mount
    /// that failed because the server was away or the network failed also leaves the definition pending:
    /// `heal` tries it again (the boot unit gave up on a NAS that came late), until it mounts or the user
    /// unmounts it. A failure a retry cannot cure (a wrong password, no such share) does not: retrying it
    /// every heal interval would only knock on the NAS (and may trip its block of failed logins).
    package func record(_ name: String, _ result: Result<MountedShare, MountError>) {
        switch result {
        case .success:
            // Past errors go; a placeholder that could not be put up is still worth saying.
            update(name) { $0.lastError = nil; $0.lastHeal = nil; $0.pending = false }
        case .failure(let error):
            let cured = Self.retryCures(error)
            update(name) { $0.lastError = .init(at: Timestamp.now(), detail: error.description); $0.pending = cured }
        }
    }

    package static func retryCures(_ error: MountError) -> Bool {
        guard case .failed(let failure) = error else { return false }
        return failure.kind == .transient || failure.kind == .unreachable
    }

    func recordFile(_ name: String) -> PrivateJSONFile<MountRecord> {
        PrivateJSONFile(path: stateDirectory + "/\(name).json", below: root.prefix,
                        repair: "delete it; extlib-net writes it again at the next mount")
    }

    /// The files 0.3.0 wrote (prose): read as pending, and removed with the record.
    private func legacyPath(_ name: String, _ suffix: String) -> String { stateDirectory + "/\(name).\(suffix)" }

    /// What is known of `name`; an unreadable record counts as none (it is only a record), and is logged.
    package func mountRecord(_ name: String) -> MountRecord {
        var record: MountRecord
        do { record = try recordFile(name).load() ?? MountRecord() } catch {
            mounter.logger.warning("ignoring a damaged mount record", metadata: ["name": "\(name)", "error": "\(error)"])
            record = MountRecord()
        }
        if !record.pending, (try? SecureFile.readPrivate(legacyPath(name, "pending"))) != nil { record.pending = true }
        return record
    }

    func forget(_ name: String) {
        recordFile(name).remove()
        for suffix in ["error", "pending"] { _ = try? SecureFile.remove(legacyPath(name, suffix), below: root.prefix) }
    }

    package func markPending(_ name: String) { update(name) { $0.pending = true } }

    func clearPending(_ name: String) {
        _ = try? SecureFile.remove(legacyPath(name, "pending"), below: root.prefix)
        guard mountRecord(name).pending else { return }
        update(name) { $0.pending = false }
    }

    /// The last mount of `name` failed, and it has not been unmounted on purpose since (see `record`).
    public func isPending(_ name: String) -> Bool { mountRecord(name).pending }

    package func recordPlaceholderProblem(_ name: String, _ message: String) {
        update(name) { $0.placeholderProblem = .init(at: Timestamp.now(), detail: message) }
    }

    package func recordError(_ name: String, _ message: String) { update(name) { $0.lastError = .init(at: Timestamp.now(), detail: message) } }

    /// A stale mount mounted again: a heal, not an error; the share is back, so an earlier error is past.
    package func recordHeal(_ name: String, was health: FileSystemHealth) {
        update(name) { $0.lastHeal = .init(at: Timestamp.now(), detail: health.description); $0.lastError = nil; $0.pending = false }
    }

    /// Changes `name`'s record in /run/extlib-net (0700), written 0600 and atomically; a failure is
    /// logged, never thrown: the mount's outcome matters more than its record.
    private func update(_ name: String, _ change: (inout MountRecord) -> Void) {
        var record = mountRecord(name)
        change(&record)
        do {
            try SecureFile.ensureDirectory(root.path(SystemRoot.Known.runDirectory), below: root.prefix)
            if record.isEmpty { recordFile(name).remove() } else { try recordFile(name).save(record) }
            for suffix in ["error", "pending"] { _ = try? SecureFile.remove(legacyPath(name, suffix), below: root.prefix) }
        } catch {
            mounter.logger.warning("cannot record the state of a mount", metadata: ["name": "\(name)", "error": "\(error)"])
        }
    }

    func lastError(_ name: String) -> String? { mountRecord(name).lastError?.detail }
}

/// The mount lock could not be taken.
public struct LockError: ReportableError, Equatable {
    public let underlying: SecureFileError
    public var exitStatus: ExitStatus { .system }
    public var description: String {
        if case .busy = underlying.code { return underlying.description }
        let hint = underlying.exitStatus == .system ? " (run extlib-net as root)" : ""
        return "cannot take the lock \(underlying.path)\(hint): \(underlying)"
    }
}
