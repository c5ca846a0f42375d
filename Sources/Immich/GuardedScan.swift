import Logging


import System
import Formats
import Mounting

extension ImmichService {
    // MARK: scan

    public enum ScanOutcome: Sendable {
        case scanned(ImmichLibrary, recovered: Bool)
        case skipped(Decision)
        case failed(ImmichLibrary, ImmichError)
    }

    /// Scans the libraries (names or ids; all when empty) whose shares are there, skips the others with
    /// the reason. An outage is told to the admins once, when it starts, and once when it ends.
    /// `api`: a client the caller already has (one HTTP client per command, not one per step).
    /// `lockingEach`: take the mount lock around each library's check and scan only, telling this who holds
    /// it when it must wait (`immich scan`; a slow Immich must not keep the heal timer out for the whole
    /// run). Without it the caller holds the lock already (mount, heal) or needs none.
    public func scan(_ wanted: [String], using client: (any ImmichClient)? = nil, lockingEach waiting: ((LockHolder?) -> Void)? = nil) throws -> [ScanOutcome] {
        let started = ContinuousClock.now
        let api = try client ?? api()
        if guardIsOn { reassertGuard(api) }
        let definitions = try mounts.definitions(named: [], all: true)
        let all = try api.libraries()
        let libraries = try wanted.isEmpty ? all : wanted.map { name throws(ImmichError) in try find(name, in: all) }
        var outages = (try? outageFile.load()) ?? [:]
        var outcomes: [ScanOutcome] = []
        // The outages learnt so far are kept even when the run stops half-way (the mount lock stayed busy,
        // Immich went away): their notices were sent and must not be sent again.
        do {
            for (index, library) in libraries.enumerated() {
                // Between two libraries, a moment for a heal or mount that waits on the lock: FileLock looks
                // every 50 ms, and this run would otherwise take it back within microseconds every time.
                if waiting != nil, index > 0 { Pause.microseconds(FileLock.handoverPause) }
                // No mount or unmount between this library's check and its scan request.
                let lock = try waiting.map { waiting throws(LockError) in try mounts.lock(waiting: waiting) }
                defer { withExtendedLifetime(lock) {} }
                // An unknown count counts as "holds assets": the safe side.
                let decision = decide(library, definitions: definitions) { (try? api.statistics(library.id).total).map { $0 < 0 ? -1 : $0 } ?? -1 }
                guard decision.scan else {
                    if outages[library.id] == nil {
                        let shares = Array(Set(decision.problems.compactMap(\.problem.share))).sorted()
                        outages[library.id] = Outage(since: Timestamp.utcNow(), shares: shares)
                        let frozen = decision.problems.allSatisfy { if case .placeholder = $0.problem { true } else { false } }
                        notifyAdmins(api, title: frozen ? "Library '\(library.name)' is frozen, not lost: its share is away and its placeholder stands in"
                                                        : "Library '\(library.name)' not scanned: its share is away",
                                     description: "extlib-net skipped the scan so Immich does not move its photos to the trash: "
                                        + decision.problems.map(\.problem.description).joined(separator: "; ")
                                        + ". It is scanned again once the share is back.", level: .warning)
                    }
                    outcomes.append(.skipped(decision))
                    continue
                }
                switch Result(catching: { () throws(ImmichError) in try api.scan(library.id) }) {
                case .success:
                    let recovered = outages.removeValue(forKey: library.id) != nil
                    if recovered {
                        notifyAdmins(api, title: "Library '\(library.name)' is back", description: "Its share is mounted again and the library was rescanned; assets taken offline come back.", level: .success)
                    }
                    outcomes.append(.scanned(library, recovered: recovered))
                case .failure(let error):
                    outcomes.append(.failed(library, error))
                }
            }
        } catch {
            try? saveOutages(outages)
            throw error
        }
        try saveOutages(outages)
        // The placeholders' records follow the shares while they are there: each scanned library's shares,
        // walked after the run and outside the mount lock (a walk of a large share takes seconds, and must not
        // keep a heal waiting). Only for `immich scan` (the guard's timer): a mount or heal that rescans a
        // library holds the lock, and leaves the record to the next guarded scan.
        if waiting != nil {
            var recorded = Set<String>()
            for case .scanned(let library, _) in outcomes {
                for definition in providers(of: library, in: definitions) where recorded.insert(definition.name).inserted {
                    // A new walk starts only while the run is well within the unit's TimeoutStartSec: systemd
                    // must never stop it in the middle of refreshing a placeholder. The next run records the rest.
                    guard ContinuousClock.now - started < Self.recordingBudget else {
                        logger.notice("placeholder records left to the next guarded scan (this run is long)", metadata: ["name": "\(definition.name)"])
                        continue
                    }
                    _ = recordPlaceholder(definition, api: api)
                }
            }
        }
        return outcomes
    }

    /// Immich's own schedule switched back on while the guard is on (the web UI, a restored database):
    /// switched off again, changing nothing else, and the admins are told.
    func reassertGuard(_ api: any ImmichClient) {
        // Never while a guard enable or disable runs (it holds the guard lock), and only if the guard is still
        // on once the lock is ours: a disable that gave Immich its schedule back is not undone.
        guard let lock = try? guardLock(timeout: .zero) else { return }
        defer { withExtendedLifetime(lock) {} }
        guard guardIsOn, let config = try? api.systemConfig(), let current = try? LibraryScanSettings(config: config), !current.isGuarded,
            let off = LibraryScanSettings.switchedOff(config)
        else { return }
        do {
            try api.putSystemConfig(off)
            // Watching an admin turned on again comes back with `guard disable`, like the schedule.
            if current.watchEnabled, var settings = try? guardFile.load(), !settings.switchedWatchOff {
                settings.switchedWatchOff = true
                try? guardFile.save(settings)
            }
            notifyAdmins(api, title: current.enabled ? "Immich's scheduled library scan was switched on again" : "Immich's folder watching was switched on again",
                         description: "extlib-net's guard switched it off again: a scheduled scan while a NAS is away moves its photos to the trash, and folder watching removes the assets of a share swapped for its placeholder. The guarded scan runs on the schedule instead; to give Immich its own settings back, run extlib-net immich guard disable.",
                         level: .warning)
            logger.warning("Immich's scheduled scan was on again; switched it off")
        } catch {
            logger.warning("Immich's scheduled scan is on again and could not be switched off", metadata: ["error": "\(error)"])
        }
    }

    func saveOutages(_ outages: [String: Outage]) throws {
        if outages.isEmpty { outageFile.remove() } else { try outageFile.save(outages) }
    }

    func notifyAdmins(_ api: any ImmichClient, title: String, description: String, level: NoticeLevel) {
        do {
            for admin in try api.adminUsers() where admin.isAdmin == true {
                try api.notify(admin.id, title: title, description: description, level: level)
            }
        } catch {
            logger.warning("could not post a notice in Immich", metadata: ["error": "\(error)"])
        }
    }

    // MARK: when a share comes back

    /// What `afterMount` did for shares that came back: values, rendered by `RescanPresentation`.
    public enum Rescan: Sendable {
        /// The guard is off, nothing came back, or no library needed a rescan.
        case nothingToDo
        case scanned([ScanOutcome])
        /// Immich did not answer: `immich recover` (the boot unit) does it later.
        case immichAway(shares: [String])
        case failed(shares: [String], String)
    }

    /// After `mount` or `heal` brought `names` (back) up, while the guard is on: rescans their libraries
    /// when Immich holds offline assets there or the share was away at a scheduled scan. Never throws:
    /// the mount succeeded whatever happens here.
    public func afterMount(_ names: [String], using client: (any ImmichClient)? = nil) -> Rescan {
        guard !names.isEmpty, guardIsOn else { return .nothingToDo }
        do {
            let api = try client ?? api()
            let definitions = try mounts.definitions(named: [], all: true)
            let back = definitions.filter { names.contains($0.name) }
            let outages = (try? outageFile.load()) ?? [:]
            let me = try api.me()
            var wanted: [String] = []
            for library in try api.libraries() where library.importPaths.contains(where: { path in back.contains { provider(of: path, in: [$0]) != nil } }) {
                // Immich's search sees only the key's user's assets: another owner's library, or an
                // error, is "maybe offline", and a rescan that passes the guard does no harm.
                let offline = library.ownerId == me.id ? ((try? api.offlineAssets(in: library.id, limit: 1)) ?? 1) : 1
                if offline > 0 || outages[library.id] != nil { wanted.append(library.id) }
            }
            guard !wanted.isEmpty else { return .nothingToDo }
            return .scanned(try scan(wanted, using: api))
        } catch let error as ImmichError where error.code == .notRunning(url: error.url) || error.isTimeout {
            return .immichAway(shares: names)
        } catch {
            return .failed(shares: names, "\(error)")
        }
    }

    /// `immich recover`: waits (bounded) for Immich to answer, then rescans the libraries of every share
    /// that is mounted and had an outage or holds offline assets: what a boot needs, where the shares
    /// mount before Immich starts.
    public func recover(wait: Duration, clock: any RetryClock = SystemRetryClock()) throws -> Rescan {
        guard guardIsOn else { return .nothingToDo }
        let api = try api()
        let end = clock.now + wait
        while true {
            let answered = Result { () throws(ImmichError) in try api.ping() }
            guard case .failure(let error) = answered else { break }
            // HAProxy answers 502/503/504 while immich-server starts: as good as a refused connection.
            guard error.exitStatus == .unreachable || error.isProxyUnavailable, clock.now < end else { throw error }
            clock.sleep(for: min(.seconds(2), end - clock.now))
        }
        let definitions = try mounts.definitions(named: [], all: true)
        return afterMount(definitions.filter { mounts.mounter.state(of: $0).isMounted }.map(\.name), using: api)
    }

    /// The definitions whose folders the library imports, once each.
    func providers(of library: ImmichLibrary, in definitions: [MountDefinition]) -> [MountDefinition] {
        var names = Set<String>()
        return library.importPaths.compactMap { provider(of: $0, in: definitions) }.filter { names.insert($0.name).inserted }
    }
}
