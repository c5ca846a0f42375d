import ArgumentParser
import Core
import System
import Formats
import Credentials
import Mounting
import Health
import Immich

/// Picks definitions by name, or all of them.
struct Selection: ParsableArguments {
    @Argument(help: "Mount names (see extlib-net list).", transform: MountName.argument)
    var names: [MountName] = []

    @Flag(help: "Every definition in mounts.toml.")
    var all = false

    func validate() throws {
        guard all != !names.isEmpty else { throw ValidationError(all ? "give names or --all, not both" : "give one or more names, or --all") }
    }

    func resolve(in service: MountService) throws -> [MountDefinition] {
        try service.definitions(named: names, all: all)
    }
}

/// `--wait` of mount and heal: how long each share's retries may go on.
struct RetryWait: ParsableArguments {
    @Option(name: .customLong("wait"), help: ArgumentHelp("Keep retrying for this long, all shares together (90, 30s, 2min). (default: 15s)", valueName: "duration"),
            transform: DurationOption.mountWait.transform)
    var duration: Duration = .seconds(15)
}

/// Says who holds the mount lock before waiting for it: never a silent hang.
func announceLockWait(_ holder: LockHolder?) {
    let who = holder.map { "process \($0)" } ?? "another extlib-net"
    StandardStream.error.write("extlib-net: waiting for \(who) to finish (it holds the mount lock; at most \(formatSeconds(FileLock.defaultTimeout.seconds)))\n")
}

/// Shares that came back (mount, heal) while the guard is on: their libraries are rescanned, which never
/// fails the command; what was done goes to standard error.
func rescanLibraries(of names: [String], _ service: MountService) {
    let rescan = ImmichService(mounts: service, logger: service.mounter.logger).afterMount(names)
    for line in RescanPresentation.lines(rescan) { StandardStream.error.write(line + "\n") }
}

func makeService(_ global: GlobalOptions) throws -> MountService {
    MountService(mounter: Mounter(root: try global.systemRoot(), logger: global.makeLogger()))
}

struct Mount: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mount shares into the Immich Distribution sandbox.",
        discussion: """
            Before each attempt the server's port is checked (bounded). While the server does not answer at all \
            (name unresolved, port closed or silent) it is probed again every second, so a share mounts about a \
            second after its NAS comes up. Failures of the helper while the port is open (server busy, no \
            route) are retried with exponential backoff and full jitter: the delay before retry n is random in \
            0 ... min(30 s, 1 s * 2^n), clamped to the time left. --wait (default 15 s) bounds the whole \
            command, however many shares. Permanent failures (wrong password, no such share or export, \
            permission denied, unknown option) end at once. SMB tries 3.1.1, 3.0, 2.1, 2.0 (never 1.0 unless \
            asked); NFS tries 4.2, 4.1, 4, 3. Already mounted with the same source: nothing to do.

            \(ExitStatus.helpText)
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    @OptionGroup var wait: RetryWait

    func run() throws {
        let service = try makeService(global)
        let definitions = try selection.resolve(in: service)
        guard !definitions.isEmpty else {
            StandardStream.output.write("no mounts defined; add one with: extlib-net add NAME URL\n")
            return
        }
        let lock = try service.lock(waiting: announceLockWait)
        defer { withExtendedLifetime(lock) {} }
        // Several shares on a terminal: one line each, redrawn in place. Otherwise one line per failed
        // attempt; also with --verbose or --debug, whose log lines would break the board's redrawing.
        let board = definitions.count > 1 && !global.verbose && !global.debug
            ? StandardStream.error.terminalColumns.map { MountProgressBoard(names: definitions.map(\.name), width: $0) { StandardStream.error.write($0) } }
            : nil
        let results = service.mount(definitions, wait: wait.duration) { event in
            if let board { return board.handle(event) }
            if case .attemptFailed(_, let line) = event { StandardStream.error.write(line + "\n") }
        }
        var failed: [ExitStatus] = []
        for (definition, result) in zip(definitions, results) {
            switch result {
            case .success(let share):
                let state = share.wasMounted ? "already mounted" : "mounted"
                StandardStream.output.write("\(definition.name): \(state) \(share.source) on \(share.target)\n")
                StandardStream.output.write("  Immich: Administration > External Libraries > import path: \(share.immichPath)\n")
            case .failure(let error):
                failed.append(error.exitStatus)
                StandardStream.error.write("extlib-net: \(definition.name): \(error)\n")
            }
        }
        // A share that came back while the guard is on: its library is rescanned (never fails the mount).
        let back = zip(definitions, results).compactMap { definition, result in (try? result.get()).flatMap { $0.wasMounted ? nil : definition.name } }
        rescanLibraries(of: back, service)
        let status = ExitStatus.batch(failed, of: definitions.count)
        if status != .success { throw CommandFailure(status) }
    }
}

struct Unmount: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unmount shares; never deletes anything in the mount folder.",
        discussion: ExitStatus.helpText)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    @Flag(help: "Detach at once even if the server hangs or files are open (umount --lazy).")
    var lazy = false

    @Flag(help: """
        Leave the share's placeholder in its place (its files as Immich last saw them, read-only, empty): \
        Immich keeps the library while the NAS is off. 'extlib-net mount NAME' brings the share back.
        """)
    var placeholder = false

    @Flag(help: """
        What boot's shutdown unit (extlib-net-shutdown.service) runs once Immich has stopped: every layer \
        detached lazily, so a NAS already gone cannot hold up the shutdown, and no warning about Immich.
        """)
    var shutdown = false

    func validate() throws {
        if shutdown, placeholder { throw ValidationError("--shutdown takes everything down; it cannot leave a --placeholder") }
    }

    func run() throws {
        let service = try makeService(global)
        let definitions = try selection.resolve(in: service)
        let lock = try service.lock(waiting: announceLockWait)
        defer { withExtendedLifetime(lock) {} }
        let lazy = self.lazy || shutdown
        var failed: [ExitStatus] = []
        for definition in definitions {
            if placeholder {
                switch service.replaceWithPlaceholder(definition, lazy: lazy) {
                case .success(let files):
                    StandardStream.output.write("\(definition.name): the placeholder stands in (\(files) files): Immich keeps the library as it last saw it; extlib-net mount \(definition.name) brings the share back\n")
                case .failure(let error):
                    failed.append(error.exitStatus)
                    StandardStream.error.write("extlib-net: \(definition.name): \(error)\n")
                }
                continue
            }
            let linked = service.hasPlaceholderRecord(definition.name)
            switch service.unmount(definition, lazy: lazy) {
            case .success(let wasMounted):
                StandardStream.output.write("\(definition.name): \(wasMounted ? "unmounted" : "not mounted")\n")
                if wasMounted, linked, !shutdown {
                    StandardStream.error.write("""
                        extlib-net: \(definition.name): its folder is empty now, so a scan by Immich would move the library's assets \
                        to the trash; 'extlib-net mount \(definition.name)' brings the share back, and 'extlib-net unmount --placeholder \
                        \(definition.name)' keeps the library safe while the NAS is away

                        """)
                }
            case .failure(let error):
                failed.append(error.exitStatus)
                StandardStream.error.write("extlib-net: \(definition.name): \(error)\n")
            }
        }
        let status = ExitStatus.batch(failed, of: definitions.count)
        if status != .success { throw CommandFailure(status) }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per definition: mounted, healthy (statfs under a deadline), server reachable, last error.",
        discussion: """
            Every check is bounded; the command answers within a few seconds even when servers hang. \
            Exits 9 when a definition is not mounted or not healthy.

            \(ExitStatus.helpText)
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print a JSON array.")
    var json = false

    func run() throws {
        let service = try makeService(global)
        let statuses = service.status(try service.definitions(named: [], all: true))
        // Something wrong (not mounted, unhealthy) is worth a status scripts can test; the table still prints.
        let problem = statuses.contains { !$0.mounted || $0.healthy == false }
        if json {
            StandardStream.output.write(Rendering.json(statuses) + "\n")
            if problem { throw CommandFailure(.checkFailed) }
            return
        }
        guard !statuses.isEmpty else {
            StandardStream.output.write("no mounts defined; add one with: extlib-net add NAME URL\n")
            return
        }
        let rows = statuses.map { status in
            [status.definition.name, status.mounted ? "yes" : "no", status.health.map { $0.isHealthy ? "yes" : "NO: \($0)" } ?? "-",
             status.serverReachable ? "yes" : "no",
             status.placeholder.text,
             status.lastError ?? status.record.lastHeal.map { "none; was stale (\($0.detail)), healed by a remount at \($0.at)" } ?? "-"]
        }
        StandardStream.output.write(TextTable.render(header: ["NAME", "MOUNTED", "HEALTHY", "SERVER", "PLACEHOLDER", "LAST ERROR"], rows: rows, indent: "").joined(separator: "\n") + "\n")
        if problem { throw CommandFailure(.checkFailed) }
    }
}

struct Heal: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remount mounts that went stale; healthy ones are left alone.",
        discussion: """
            A mount is stale when statfs (in a child, bounded) does not answer in time or fails with ESTALE, \
            EIO, ENOTCONN, EHOSTDOWN, ETIMEDOUT or EAGAIN. Stale mounts are detached (umount --lazy) and mounted \
            again with the usual retries; the outcome is kept (the last heal or the last error, shown by `extlib-net status`). \
            A definition that is not mounted is mounted only when its last mount failed because its NAS was \
            away (the boot unit gave up on a NAS that came late, say) and it was not unmounted since; others \
            are left alone (use extlib-net mount). `boot enable --heal-every` runs this from a systemd timer.

            \(ExitStatus.helpText)
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    @OptionGroup var wait: RetryWait

    func run() throws {
        let service = try makeService(global)
        let definitions = try selection.resolve(in: service)
        let outcomes = try healLocked(definitions, service)
        // After the lock is let go: taking a record again walks the share, which must not keep a mount or
        // the next heal waiting.
        var immich = ImmichService(mounts: service, logger: service.mounter.logger)
        immich.lockWaiting = { announceLockWait($0) }
        for line in RecordRefreshPresentation.lines(immich.refreshOutdatedRecords(definitions)) { StandardStream.output.write(line + "\n") }
        let status = ExitStatus.batch(outcomes.compactMap(\.failureStatus), of: outcomes.count)
        if status != .success { throw CommandFailure(status) }
    }

    private func healLocked(_ definitions: [MountDefinition], _ service: MountService) throws -> [Healer.Outcome] {
        let lock = try service.lock(waiting: announceLockWait)
        defer { withExtendedLifetime(lock) {} }
        let outcomes = Healer(service: service).heal(definitions, wait: wait.duration) { StandardStream.error.write($0 + "\n") }
        for (definition, outcome) in zip(definitions, outcomes) {
            switch outcome {
            case .healthy: StandardStream.output.write("\(definition.name): healthy, left alone\n")
            case .notMounted: StandardStream.output.write("\(definition.name): not mounted, left alone (extlib-net mount \(definition.name))\n")
            case .healed(let was): StandardStream.output.write("\(definition.name): was stale (\(was)); mounted again\n")
            case .mountedPending: StandardStream.output.write("\(definition.name): its last mount had failed; mounted now\n")
            case .pendingFailed(let error):
                StandardStream.error.write("extlib-net: \(definition.name): its last mount had failed, and this one too: \(error)\n")
            case .unhealthyLeftAlone(let health):
                StandardStream.error.write("extlib-net: \(definition.name): \(health); a remount would not cure this, left alone\n")
            case .failed(let was, let error):
                StandardStream.error.write("extlib-net: \(definition.name): was stale (\(was)); could not mount it again: \(error)\n")
            }
        }
        let healed = zip(definitions, outcomes).compactMap { definition, outcome in
            switch outcome {
            case .healed, .mountedPending: return definition.name
            default: return nil
            }
        }
        rescanLibraries(of: healed, service)
        return outcomes
    }
}
