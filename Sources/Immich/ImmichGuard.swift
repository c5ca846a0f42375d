import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Core
import System
import Mounting
import Health
import Boot

/// What `immich guard enable` remembers: Immich's own scan settings before it switched them off, and the
/// schedule the guarded scan runs on instead.
public struct GuardSettings: Codable, Sendable, Equatable {
    public var remembered: LibraryScanSettings
    /// `OnCalendar=` of the guarded scan, from Immich's cron expression; nil with `every`.
    public var onCalendar: String?
    /// `--every`, in seconds; nil with `onCalendar`.
    public var everySeconds: Int64?

    public init(remembered: LibraryScanSettings, onCalendar: String?, everySeconds: Int64?) {
        self.remembered = remembered
        self.onCalendar = onCalendar
        self.everySeconds = everySeconds
    }

    /// Whether the guard runs scans on a timer (Immich's schedule was on, or `--every` was given).
    public var hasTimer: Bool { onCalendar != nil || everySeconds != nil }
}

/// An outage the admins were told about, per library: one notice when it starts, one when it ends.
public struct Outage: Codable, Sendable, Equatable {
    public var since: String
    public var shares: [String]
}

/// A small JSON file, root-only, written atomically (the guard's settings, the outages).
struct PrivateJSONFile<Value: Codable> {
    let path: String
    /// The root: nothing below it is followed when writing.
    let below: String

    func load() throws -> Value? {
        guard let bytes = try SecureFile.readPrivate(path) else { return nil }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(bytes))
        } catch {
            throw ImmichError(.malformedFile(path: path, line: nil))
        }
    }

    func save(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(value) else { throw ImmichError(.malformedFile(path: path, line: nil)) }
        try SecureFile.ensurePrivateDirectory(SecureFile.parentDirectory(of: path), below: below)
        try SecureFile.writePrivate(Array(data) + [0x0A], to: path, below: below)
    }

    @discardableResult
    func remove() -> Bool { (try? SecureFile.remove(path, below: below)) ?? false }
}

/// The units of the guarded scan: a timer on Immich's schedule and the service it starts.
public enum GuardUnits {
    public static let serviceName = "extlib-net-immich-scan.service"
    public static let timerName = "extlib-net-immich-scan.timer"
    public static let recoverName = "extlib-net-immich-recover.service"
    public static let servicePath = "\(SystemRoot.Known.systemdUnitDirectory)/\(serviceName)"
    public static let timerPath = "\(SystemRoot.Known.systemdUnitDirectory)/\(timerName)"
    public static let recoverPath = "\(SystemRoot.Known.systemdUnitDirectory)/\(recoverName)"
    public static let allPaths = [servicePath, timerPath, recoverPath]

    /// What `systemctl enable` is given.
    public static func unitsToEnable(_ settings: GuardSettings) -> [String] {
        settings.hasTimer ? [timerName, recoverName] : [recoverName]
    }
    public static let header = "# Written by `extlib-net immich guard enable`; removed by `extlib-net immich guard disable`. Do not edit."

    /// The scan service and timer (when the guard runs scans on a schedule), and the boot-time recovery:
    /// at boot the shares mount before Immich starts, so the rescan of a share that came back waits for
    /// Immich to answer.
    public static func files(_ settings: GuardSettings, executable: String) -> [BootFile] {
        let recover = """
            \(header)
            [Unit]
            Description=Rescan Immich libraries whose shares came back (extlib-net guard)
            Wants=network-online.target
            After=network-online.target \(BootUnits.serviceName) \(BootUnits.immichServices[0])

            [Service]
            Type=oneshot
            ExecStart=\(BootUnits.execArgument(executable)) immich recover --wait 10min
            TimeoutStartSec=15min

            [Install]
            WantedBy=multi-user.target

            """
        let recoverFile = BootFile(path: recoverPath, contents: recover)
        guard settings.hasTimer else { return [recoverFile] }
        let service = """
            \(header)
            [Unit]
            Description=Scan Immich's external libraries whose shares are mounted (extlib-net guard)
            Wants=network-online.target
            After=network-online.target \(BootUnits.serviceName) \(BootUnits.immichServices[0])

            [Service]
            Type=oneshot
            ExecStart=\(BootUnits.execArgument(executable)) immich scan --all
            TimeoutStartSec=15min

            """
        let schedule: String
        if let onCalendar = settings.onCalendar {
            schedule = "OnCalendar=\(onCalendar)\nPersistent=true"
        } else {
            let every = BootUnits.systemdDuration(.seconds(settings.everySeconds ?? 86_400))
            schedule = "OnBootSec=\(every)\nOnUnitActiveSec=\(every)"
        }
        let timer = """
            \(header)
            [Unit]
            Description=Immich's library scan, only for shares that are there (extlib-net guard)

            [Timer]
            \(schedule)

            [Install]
            WantedBy=timers.target

            """
        return [BootFile(path: servicePath, contents: service), BootFile(path: timerPath, contents: timer), recoverFile]
    }
}

/// Everything `extlib-net immich` does: the connection, linking definitions to external libraries, and the
/// guard that keeps Immich from scanning a library whose share is away.
public struct ImmichService: Sendable {
    public let mounts: MountService
    public let logger: Logger
    public var timeout: Duration = .seconds(10)
    public var runner: any ProcessRunner = SystemProcessRunner()
    /// The snap's mount namespace: where Immich scans. When it is there, a share must be mounted in it
    /// too (a host mount that did not reach the snap looks like an empty folder to Immich).
    public var snapNamespace: String?

    public init(mounts: MountService, logger: Logger) {
        self.mounts = mounts
        self.logger = logger
        snapNamespace = mounts.mounter.root.path(Doctor.snapNamespace)
    }

    var root: SystemRoot { mounts.mounter.root }
    public var connections: ImmichConnectionStore { ImmichConnectionStore(root: root) }
    var guardFile: PrivateJSONFile<GuardSettings> { PrivateJSONFile(path: root.path(SystemRoot.Known.immichGuardFile), below: root.prefix) }
    var outageFile: PrivateJSONFile<[String: Outage]> { PrivateJSONFile(path: root.path(SystemRoot.Known.stateDirectory + "/immich-outages"), below: root.prefix) }
    public var guardPath: String { guardFile.path }
    /// The guard's settings file is there (and readable).
    package var guardIsOn: Bool {
        guard let settings = try? guardFile.load() else { return false }
        return settings != nil
    }

    public func api() throws -> ImmichAPI {
        ImmichAPI(connection: try connections.required(), timeout: timeout, logger: logger)
    }

    // MARK: login

    /// Checks the key (its user must be an admin) and only then stores it with the URL.
    public func login(url: ImmichURL, key: Secret) throws -> ImmichUser {
        let connection = ImmichConnection(url: url, apiKey: key)
        let me = try ImmichAPI(connection: connection, timeout: timeout, logger: logger).me()
        guard me.isAdmin == true else { throw ImmichError(.notAdmin(me.email)) }
        try connections.save(connection)
        return me
    }

    public func logout() throws -> Bool { try connections.remove() }

    // MARK: link

    /// The import path of a definition as the snap sees it: never under `--root`.
    public func importPath(of definition: MountDefinition) -> String { mounts.mounter.immichPath(of: definition) }

    /// The definition whose folder is `path` or holds it.
    public func provider(of path: String, in definitions: [MountDefinition]) -> MountDefinition? {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        return definitions.first { trimmed == importPath(of: $0) || trimmed.hasPrefix(importPath(of: $0) + "/") }
    }

    public struct LinkOutcome: Sendable {
        public let library: ImmichLibrary
        public let created: Bool
        /// False when the library had the path already: nothing changed.
        public let changed: Bool
        public let verdict: ImportPathVerdict?
    }

    /// Makes sure an external library has the definition's import path: `library` (name or id) gets it
    /// added; without it, a library named after the definition is found or created (owned by `owner`, an
    /// email, or the key's user). Immich's own validation of the path is returned.
    public func link(_ definition: MountDefinition, library wanted: String?, owner: String?) throws -> LinkOutcome {
        let api = try api()
        let path = importPath(of: definition)
        // The folder Immich is pointed at exists from now on (an empty folder is a valid import path;
        // the guard's scan never runs on it while the share is away).
        if mounts.mounter.state(of: definition) == .notMounted {
            _ = try? MountTarget.prepare(name: definition.name, base: definition.effectiveSandbox, root: root)
        }
        let libraries = try api.libraries()
        var target: ImmichLibrary
        var created = false
        var changed = false
        if let wanted {
            target = try find(wanted, in: libraries)
        } else if let existing = libraries.first(where: { $0.importPaths.contains(path) }) {
            target = existing
        } else if let named = libraries.first(where: { $0.name == definition.name }) {
            target = named
        } else {
            let ownerID: String
            if let owner {
                guard let user = try api.adminUsers().first(where: { $0.email.lowercased() == owner.lowercased() }) else { throw ImmichError(.noSuchUser(owner)) }
                ownerID = user.id
            } else {
                ownerID = try api.me().id
            }
            target = try api.createLibrary(ownerId: ownerID, name: definition.name, importPaths: [path])
            created = true
            changed = true
        }
        if !target.importPaths.contains(path) {
            // Add to a copy of the paths Immich has: nothing else of the library changes.
            target = try api.setImportPaths(target, target.importPaths + [path])
            changed = true
        }
        let verdict = try api.validate(target, importPaths: [path]).first { $0.importPath == path }
        return LinkOutcome(library: target, created: created, changed: changed, verdict: verdict)
    }

    /// Removes the definition's path from every library that has it; returns those libraries (as they
    /// were). Immich takes their assets under it offline on its next scan.
    public func unlink(_ definition: MountDefinition) throws -> [ImmichLibrary] {
        let api = try api()
        let path = importPath(of: definition)
        let linked = try api.libraries().filter { $0.importPaths.contains(path) }
        for library in linked { _ = try api.setImportPaths(library, library.importPaths.filter { $0 != path }) }
        return linked
    }

    func find(_ wanted: String, in libraries: [ImmichLibrary]) throws(ImmichError) -> ImmichLibrary {
        if let byID = libraries.first(where: { $0.id.lowercased() == wanted.lowercased() }) { return byID }
        let named = libraries.filter { $0.name == wanted }
        guard let first = named.first else { throw ImmichError(.noSuchLibrary(wanted)) }
        guard named.count == 1 else { throw ImmichError(.ambiguousLibrary(wanted)) }
        return first
    }

    // MARK: the scan decision

    /// Why one import path keeps its library from being scanned.
    public enum PathProblem: Sendable, Equatable, CustomStringConvertible {
        case notMounted(definition: String)
        case occupied(definition: String, source: String)
        case unhealthy(definition: String, FileSystemHealth)
        /// Mounted and answering, but empty while Immich holds assets: the signature of a NAS that is away.
        case emptyWhileHoldingAssets(path: String, assets: Int)
        case missing(path: String)
        case empty(path: String)
        case uncheckable(path: String)
        /// Mounted on the host, but not in the snap's mount namespace, where Immich scans.
        case notVisibleInSnap(definition: String, String)
        /// A library without import paths: a scan could only take everything offline.
        case noImportPaths

        public var description: String {
            switch self {
            case .notMounted(let name): return "share '\(name)' is not mounted (extlib-net mount \(name))"
            case .occupied(let name, let source): return "something else is mounted where share '\(name)' belongs (\(Terminal.printable(source)))"
            case .unhealthy(let name, let health): return "share '\(name)' is mounted but not answering: \(health)"
            case .emptyWhileHoldingAssets(let path, let assets):
                let count = assets < 0 ? "an unknown number of" : "\(assets)"
                return "\(Terminal.printable(path)) is empty while Immich holds \(count) asset\(assets == 1 ? "" : "s") of this library"
            case .missing(let path): return "\(Terminal.printable(path)) does not exist"
            case .empty(let path): return "\(Terminal.printable(path)) is empty"
            case .uncheckable(let path): return "\(Terminal.printable(path)) could not be read (in time)"
            case .noImportPaths: return "the library has no import paths"
            case .notVisibleInSnap(let name, let why): return "share '\(name)' is mounted, but not inside the snap where Immich scans (\(why)); see extlib-net doctor \(name)"
            }
        }

        /// The share it belongs to, for the notice.
        var share: String? {
            switch self {
            case .notMounted(let name), .occupied(let name, _), .unhealthy(let name, _), .notVisibleInSnap(let name, _): return name
            default: return nil
            }
        }
    }

    public struct Decision: Sendable {
        public let library: ImmichLibrary
        public let problems: [(path: String, problem: PathProblem)]
        public var scan: Bool { problems.isEmpty }
    }

    /// Whether `library` may be scanned now. Every definition whose folder is an import path, lies below
    /// one or holds one must be mounted (the same share), answer statfs (in a child, bounded), and its
    /// folder must not be empty while Immich holds assets of the library; an import path no definition
    /// provides must exist and hold something. Nothing here touches a possibly dead mount in this
    /// process: folders are read in children.
    public func decide(_ library: ImmichLibrary, definitions: [MountDefinition], assets: () -> Int) -> Decision {
        let mounter = mounts.mounter
        var problems: [(String, PathProblem)] = []
        lazy var held = assets()
        guard !library.importPaths.isEmpty else {
            return Decision(library: library, problems: [("-", .noImportPaths)])
        }
        for path in library.importPaths {
            let normal = Self.normalized(path)
            let local = normal.hasPrefix("/") ? root.path(normal) : normal
            // The share holding this path, and every share inside it (an import path of the whole sandbox
            // folder holds them all).
            var involved = definitions.filter { definition in
                let folder = importPath(of: definition)
                return normal == folder || normal.hasPrefix(folder + "/") || folder.hasPrefix(normal == "/" ? "/" : normal + "/")
            }
            involved.sort { $0.name < $1.name }
            var healthy = true
            for definition in involved {
                switch mounter.state(of: definition) {
                case .notMounted: problems.append((path, .notMounted(definition: definition.name))); healthy = false; continue
                case .occupied(let entry): problems.append((path, .occupied(definition: definition.name, source: entry.source))); healthy = false; continue
                case .mounted: break
                }
                let target = mounter.target(of: definition)
                let health = mounter.health(target)
                guard health.isHealthy else { problems.append((path, .unhealthy(definition: definition.name, health))); healthy = false; continue }
                if let namespace = snapNamespace, access(namespace, F_OK) == 0 {
                    switch ImmichView(runner: mounter.runner).look(ImmichView.Request(namespace: namespace, mountPoint: target)) {
                    case .success(let report) where report.visible == true: break
                    case .success: problems.append((path, .notVisibleInSnap(definition: definition.name, "not in its mount table"))); healthy = false; continue
                    case .failure(let failure): problems.append((path, .notVisibleInSnap(definition: definition.name, failure.description))); healthy = false; continue
                    }
                }
                switch mounter.statfsProbe.contents(target, timeout: mounter.healthTimeout) {
                case .nonEmpty: break
                case .empty: if held != 0 { problems.append((path, .emptyWhileHoldingAssets(path: importPath(of: definition), assets: held))); healthy = false }
                case .failed, .unknown: problems.append((path, .uncheckable(path: importPath(of: definition)))); healthy = false
                }
            }
            guard healthy else { continue }
            let isShareItself = involved.contains { normal == importPath(of: $0) }
            if isShareItself { continue }
            // A folder of its own, or a subfolder of a share: it must be there and hold something.
            switch mounter.statfsProbe.contents(local, timeout: mounter.healthTimeout) {
            case .nonEmpty: break
            case .empty: problems.append((path, involved.isEmpty ? .empty(path: path) : .emptyWhileHoldingAssets(path: path, assets: held)))
            case .failed(.noSuchFileOrDirectory), .failed(.notDirectory): problems.append((path, .missing(path: path)))
            case .failed, .unknown: problems.append((path, .uncheckable(path: path)))
            }
        }
        return Decision(library: library, problems: problems)
    }

    /// `//` and `/./` collapsed, no trailing slash: the spelling Immich keeps may differ from ours.
    static func normalized(_ path: String) -> String {
        guard path.hasPrefix("/") else { return path }
        let parts = path.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    // MARK: scan

    public enum ScanOutcome: Sendable {
        case scanned(ImmichLibrary, recovered: Bool)
        case skipped(Decision)
        case failed(ImmichLibrary, ImmichError)
    }

    /// Scans the libraries (names or ids; all when empty) whose shares are there, skips the others with
    /// the reason. An outage is told to the admins once, when it starts, and once when it ends.
    /// `api`: a client the caller already has (one HTTP client per command, not one per step).
    public func scan(_ wanted: [String], using client: ImmichAPI? = nil) throws -> [ScanOutcome] {
        let api = try client ?? api()
        if guardIsOn { reassertGuard(api) }
        let definitions = try mounts.definitions(named: [], all: true)
        let all = try api.libraries()
        let libraries = try wanted.isEmpty ? all : wanted.map { name throws(ImmichError) in try find(name, in: all) }
        var outages = (try? outageFile.load()) ?? [:]
        var outcomes: [ScanOutcome] = []
        for library in libraries {
            // An unknown count counts as "holds assets": the safe side.
            let decision = decide(library, definitions: definitions) { (try? api.statistics(library.id).total).map { $0 < 0 ? -1 : $0 } ?? -1 }
            guard decision.scan else {
                if outages[library.id] == nil {
                    let shares = Array(Set(decision.problems.compactMap(\.problem.share))).sorted()
                    outages[library.id] = Outage(since: Self.now(), shares: shares)
                    notifyAdmins(api, title: "Library '\(library.name)' not scanned: its share is away",
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
        try saveOutages(outages)
        return outcomes
    }

    /// Immich's own schedule switched back on while the guard is on (the web UI, a restored database):
    /// switched off again, changing nothing else, and the admins are told.
    func reassertGuard(_ api: ImmichAPI) {
        guard let config = try? api.systemConfig(), let current = try? LibraryScanSettings(config: config), current.enabled,
            let off = config.replacing(["library", "scan", "enabled"], with: .bool(false))
        else { return }
        do {
            try api.putSystemConfig(off)
            notifyAdmins(api, title: "Immich's scheduled library scan was switched on again",
                         description: "extlib-net's guard switched it off again: a scheduled scan while a NAS is away moves its photos to the trash. The guarded scan runs on the schedule instead; to give Immich its own schedule back, run extlib-net immich guard disable.",
                         level: .warning)
            logger.warning("Immich's scheduled scan was on again; switched it off")
        } catch {
            logger.warning("Immich's scheduled scan is on again and could not be switched off", metadata: ["error": "\(error)"])
        }
    }

    func saveOutages(_ outages: [String: Outage]) throws {
        if outages.isEmpty { outageFile.remove() } else { try outageFile.save(outages) }
    }

    func notifyAdmins(_ api: ImmichAPI, title: String, description: String, level: ImmichAPI.NoticeLevel) {
        do {
            for admin in try api.adminUsers() where admin.isAdmin == true {
                try api.notify(admin.id, title: title, description: description, level: level)
            }
        } catch {
            logger.warning("could not post a notice in Immich", metadata: ["error": "\(error)"])
        }
    }

    static func now() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    // MARK: when a share comes back

    /// After `mount` or `heal` brought `names` (back) up, while the guard is on: rescans their libraries
    /// when Immich holds offline assets there or the share was away at a scheduled scan. Never throws:
    /// the mount succeeded whatever happens here; the lines say what was done.
    public func afterMount(_ names: [String], using client: ImmichAPI? = nil) -> [String] {
        guard !names.isEmpty, guardIsOn else { return [] }
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
            guard !wanted.isEmpty else { return [] }
            return try scan(wanted, using: api).map { outcome in
                switch outcome {
                case .scanned(let library, _): return "immich: '\(Terminal.printable(library.name))' rescanned: its assets come back"
                case .skipped(let decision):
                    return "immich: '\(Terminal.printable(decision.library.name))' not rescanned yet: " + decision.problems.map(\.problem.description).joined(separator: "; ")
                case .failed(let library, let error): return "immich: rescanning '\(Terminal.printable(library.name))' failed: \(error)"
                }
            }
        } catch let error as ImmichError where error.code == .notRunning(url: error.url) || error.isTimeout {
            return ["immich: Immich is not answering, so the libraries of \(names.joined(separator: ", ")) are not rescanned yet; run extlib-net immich recover once it runs (at boot, \(GuardUnits.recoverName) does)"]
        } catch {
            return ["immich: could not rescan the libraries of \(names.joined(separator: ", ")): \(error)"]
        }
    }

    /// `immich recover`: waits (bounded) for Immich to answer, then rescans the libraries of every share
    /// that is mounted and had an outage or holds offline assets: what a boot needs, where the shares
    /// mount before Immich starts.
    public func recover(wait: Duration, clock: any RetryClock = SystemRetryClock()) throws -> [String] {
        guard guardIsOn else { return [] }
        let api = try api()
        let end = clock.now + wait
        while true {
            let answered = Result { () throws(ImmichError) in try api.ping() }
            guard case .failure(let error) = answered else { break }
            guard error.exitStatus == .unreachable, clock.now < end else { throw error }
            clock.sleep(for: min(.seconds(2), end - clock.now))
        }
        let definitions = try mounts.definitions(named: [], all: true)
        return afterMount(definitions.filter { mounts.mounter.state(of: $0).isMounted }.map(\.name), using: api)
    }

    // MARK: the guard

    public struct GuardReport: Sendable {
        public var settings: GuardSettings
        public var units: BootReport
        public var wasOn: Bool
        public var calendarChecked: Bool
        public var watchWarning: Bool { settings.remembered.watchEnabled }
    }

    /// Switches Immich's own scheduled scan off (changing nothing else in its config), remembers how it
    /// was, and installs a timer running the guarded scan on Immich's schedule (or every `every`).
    public func enableGuard(every: Duration?, executable: String, reload: Bool) throws -> GuardReport {
        // Before Immich's settings or the guard file change: the timer would run this binary as root.
        try BootInstaller.checkExecutable(executable)
        let api = try api()
        let config = try api.systemConfig()
        let current = try LibraryScanSettings(config: config)
        let previous = try guardFile.load()
        // Enabled before: what it remembered is Immich's own setting, not the "off" the guard made.
        let remembered = previous?.remembered ?? current
        var settings = GuardSettings(remembered: remembered, onCalendar: nil, everySeconds: nil)
        var checked = false
        if let every {
            guard every >= .seconds(60), every <= .seconds(366 * 86_400) else {
                throw CommandFailure(.usage, "--every must be between 1min and 366d")
            }
            settings.everySeconds = Int64(every.seconds)
        } else if remembered.enabled {
            let calendar = try CronSchedule.onCalendar(remembered.cronExpression)
            let (problem, ran) = installer(reload: reload).checkCalendar(calendar)
            if let problem {
                throw CronSchedule.Unconvertible(expression: remembered.cronExpression, reason: "systemd-analyze calendar '\(calendar)' refused it: \(Terminal.printable(problem))")
            }
            checked = ran
            settings.onCalendar = calendar
        }
        // Remember first: if anything after this fails, disable still knows what to restore.
        try guardFile.save(settings)
        if current.enabled {
            guard let off = config.replacing(["library", "scan", "enabled"], with: .bool(false)) else {
                throw ImmichError(.badAnswer(route: "GET /api/system-config", "no library.scan.enabled"))
            }
            do {
                try api.putSystemConfig(off)
            } catch {
                if previous == nil { guardFile.remove() }
                throw error
            }
        }
        let files = GuardUnits.files(settings, executable: executable)
        var units: BootReport
        do {
            units = try installer(reload: reload).install(files, running: executable, header: GuardUnits.header, enabling: GuardUnits.unitsToEnable(settings), reload: reload)
        } catch {
            // Nothing half-made: Immich gets its schedule back and nothing is remembered (if this enable
            // was the first); otherwise the guard stays on as before.
            if previous == nil {
                if current.enabled { try? api.putSystemConfig(config) }
                guardFile.remove()
            }
            throw error
        }
        if !settings.hasTimer {
            // Asked for before with a timer: that timer goes.
            let gone = try installer(reload: reload).uninstall([GuardUnits.servicePath, GuardUnits.timerPath], header: GuardUnits.header, disabling: [GuardUnits.timerName], reload: reload)
            units.changes += gone.changes
            units.commands += gone.commands
            if units.systemctlFailure == nil { units.systemctlFailure = gone.systemctlFailure }
        }
        return GuardReport(settings: settings, units: units, wasOn: previous != nil, calendarChecked: checked)
    }

    /// Restores exactly the remembered scan settings and removes the units.
    public func disableGuard(reload: Bool) throws -> GuardReport? {
        guard let settings = try guardFile.load() else {
            let units = try installer(reload: reload).uninstall(GuardUnits.allPaths, header: GuardUnits.header, disabling: [GuardUnits.timerName, GuardUnits.recoverName], reload: reload)
            return units.changedNothing ? nil : GuardReport(settings: GuardSettings(remembered: LibraryScanSettings(enabled: true, cronExpression: "", watchEnabled: false), onCalendar: nil, everySeconds: nil), units: units, wasOn: false, calendarChecked: false)
        }
        let api = try api()
        let config = try api.systemConfig()
        guard let restored = config.replacing(["library", "scan", "enabled"], with: .bool(settings.remembered.enabled))?
            .replacing(["library", "scan", "cronExpression"], with: .string(settings.remembered.cronExpression))
        else { throw ImmichError(.badAnswer(route: "GET /api/system-config", "no library.scan settings")) }
        if restored != config { try api.putSystemConfig(restored) }
        let units = try installer(reload: reload).uninstall(GuardUnits.allPaths, header: GuardUnits.header, disabling: [GuardUnits.timerName, GuardUnits.recoverName], reload: reload)
        guardFile.remove()
        return GuardReport(settings: settings, units: units, wasOn: true, calendarChecked: false)
    }

    public struct GuardState: Sendable {
        public let settings: GuardSettings?
        /// Immich's `library.scan.enabled` now; nil when Immich could not be asked.
        public let immichScanEnabled: Bool?
        public let immichWatchEnabled: Bool?
        public let immichProblem: String?
        public let files: [BootFileState]
        public let outages: [String: Outage]

        public var isOn: Bool { settings != nil }
    }

    public func guardState(executable: String) throws -> GuardState {
        let settings = try guardFile.load()
        var enabled: Bool?
        var watch: Bool?
        var problem: String?
        do {
            let current = try LibraryScanSettings(config: try api().systemConfig())
            enabled = current.enabled
            watch = current.watchEnabled
        } catch {
            problem = "\(error)"
        }
        let files = try settings.map { try installer(reload: false).states(of: GuardUnits.files($0, executable: executable), header: GuardUnits.header) } ?? []
        return GuardState(settings: settings, immichScanEnabled: enabled, immichWatchEnabled: watch, immichProblem: problem,
                          files: files, outages: (try? outageFile.load()) ?? [:])
    }

    func installer(reload: Bool) -> BootInstaller {
        BootInstaller(root: root, logger: logger, runner: runner)
    }

    // MARK: status

    public struct PathStatus: Sendable {
        public let path: String
        public let definition: String?
        public let mounted: Bool?
        public let health: FileSystemHealth?
    }

    public struct LibraryStatus: Sendable {
        public let library: ImmichLibrary
        public let paths: [PathStatus]
        public let assets: Int?
        public let offline: Int?
    }

    public func libraryStatus() throws -> [LibraryStatus] {
        let api = try api()
        let definitions = try mounts.definitions(named: [], all: true)
        let mounter = mounts.mounter
        return try api.libraries().map { library in
            let paths = library.importPaths.map { path in
                guard let definition = provider(of: path, in: definitions) else { return PathStatus(path: path, definition: nil, mounted: nil, health: nil) }
                let mounted = mounter.state(of: definition).isMounted
                return PathStatus(path: path, definition: definition.name, mounted: mounted, health: mounted ? mounter.health(mounter.target(of: definition)) : nil)
            }
            return LibraryStatus(library: library, paths: paths, assets: try? api.statistics(library.id).total,
                                 offline: try? api.offlineAssets(in: library.id))
        }
    }
}

extension CronSchedule.Unconvertible: ReportableError {
    public var exitStatus: ExitStatus { .usage }
}

// MARK: doctor

extension ImmichService {
    /// doctor's Immich checks: the API answers the stored key, every definition is linked, the guard is
    /// on, folder watching is off. Without a stored connection: one warning saying how to connect.
    public func doctorFindings(_ definitions: [MountDefinition]) -> [DoctorFinding] {
        let subject = "immich"
        let connection: ImmichConnection?
        do {
            connection = try connections.load()
        } catch {
            return [DoctorFinding(subject, "API connection", .fail, "\(error)", fix: "extlib-net immich login --from-snap")]
        }
        guard let connection else {
            return [DoctorFinding(subject, "API connection", .warn, "extlib-net is not connected to Immich's API, so it cannot guard the libraries' scans",
                                  fix: "extlib-net immich login --from-snap, then extlib-net immich guard enable")]
        }
        let api = ImmichAPI(connection: connection, timeout: timeout, logger: logger)
        var findings: [DoctorFinding] = []
        let libraries: [ImmichLibrary]
        do {
            let me = try api.me()
            guard me.isAdmin == true else { throw ImmichError(.notAdmin(me.email)) }
            libraries = try api.libraries()
            findings.append(DoctorFinding(subject, "API connection", .pass, "Immich at \(connection.url) answers the stored key (\(Terminal.printable(me.email)), an admin)"))
        } catch {
            return [DoctorFinding(subject, "API connection", .fail, "\(error)", fix: "start Immich (snap start immich-distribution) or log in again: extlib-net immich login --from-snap")]
        }
        for definition in definitions {
            let path = importPath(of: definition)
            if let library = libraries.first(where: { $0.importPaths.contains { provider(of: $0, in: [definition]) != nil } }) {
                findings.append(DoctorFinding(definition.name, "linked in Immich", .pass, "library '\(Terminal.printable(library.name))' imports \(path)"))
            } else {
                findings.append(DoctorFinding(definition.name, "linked in Immich", .warn, "no Immich library imports \(path)", fix: "extlib-net immich link \(definition.name)"))
            }
        }
        let on = guardIsOn
        do {
            let settings = try LibraryScanSettings(config: try api.systemConfig())
            if on, !settings.enabled {
                findings.append(DoctorFinding(subject, "scan guard", .pass, "Immich's own scheduled scan is off; the guarded scan runs instead"))
            } else if settings.enabled {
                findings.append(DoctorFinding(subject, "scan guard", .fail,
                    "Immich's own scheduled scan is on ('\(Terminal.printable(settings.cronExpression))'): a scan while a share is away moves its whole library to the trash",
                    fix: "extlib-net immich guard enable"))
            } else {
                findings.append(DoctorFinding(subject, "scan guard", .warn, "Immich's scheduled scan is off and the guard is not on: new photos on the shares are not imported",
                                              fix: "extlib-net immich guard enable --every 24h"))
            }
            findings.append(settings.watchEnabled
                ? DoctorFinding(subject, "folder watching", .warn, "Immich's folder watching is on; it does not see changes on network shares",
                                fix: "turn it off: Administration > Settings > External Library > Watch")
                : DoctorFinding(subject, "folder watching", .pass, "off (it does not work on network shares)"))
        } catch {
            findings.append(DoctorFinding(subject, "scan guard", .fail, "\(error)"))
        }
        return findings
    }
}
