import ArgumentParser
import ExtlibNet

/// Picks definitions by name, or all of them.
struct Selection: ParsableArguments {
    @Argument(help: "Mount names (see extlib-net list).")
    var names: [String] = []

    @Flag(help: "Every definition in mounts.toml.")
    var all = false

    func validate() throws {
        guard all != !names.isEmpty else { throw ValidationError(all ? "give names or --all, not both" : "give one or more names, or --all") }
        for name in names where !Credential.isValidName(name) { throw ValidationError(MountDefinitionError.invalidName(name).description) }
    }

    func resolve(in store: MountStore) throws -> [MountDefinition] {
        try resolveDefinitions(names, all: all, in: store)
    }
}

/// The named definitions (a usage error names the unknown one), or all of them.
func resolveDefinitions(_ names: [String], all: Bool, in store: MountStore) throws -> [MountDefinition] {
    let file = try reportingMountStoreErrors { () throws(MountStoreError) in try store.load() }
    if all { return file.definitions }
    return try names.map { name in
        guard let definition = file.definition(named: name) else {
            StandardStream.error.write("extlib-net: \(MountStoreError.notFound(name: name, path: store.path))\n")
            throw ExitCode(MountStatus.usage.rawValue)
        }
        return definition
    }
}

/// `--wait` of mount and heal: how long each share's retries may go on.
struct RetryWait: ParsableArguments {
    @Option(name: .customLong("wait"), help: ArgumentHelp("Keep retrying each share for this long (90, 30s, 2min).", valueName: "duration"))
    var text: String = "15s"

    func validate() throws {
        if case .failure(let error) = DurationText.parse(text, in: Mounter.waitRange, option: "--wait", examples: "90, 30s or 2min") {
            throw ValidationError(error.description)
        }
    }

    var duration: Duration { DurationText.parse(text)! }
}

func makeService(_ global: GlobalOptions) throws -> (MountService, MountStore) {
    let root = try global.systemRoot()
    let logger = global.makeLogger()
    return (MountService(mounter: Mounter(root: root, logger: logger)), MountStore(root: root, logger: logger))
}

func holdingLock(_ service: MountService) throws -> FileLock {
    do {
        return try service.lock()
    } catch {
        StandardStream.error.write("extlib-net: cannot lock \(service.lockPath): \(error)\n")
        throw ExitCode(MountStatus.system.rawValue)
    }
}

struct Mount: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mount shares into the Immich Distribution sandbox.",
        discussion: """
            Before each attempt the server's port is checked (bounded). Transient failures (no route, no \
            answer, connection refused, server busy) are retried with exponential backoff and full jitter: \
            the delay before retry n is random in 0 ... min(30 s, 1 s * 2^n), until --wait runs out \
            (default 15 s: a few attempts). Permanent failures (wrong password, no such share or export, \
            permission denied, unknown option) end at once. SMB tries 3.1.1, 3.0, 2.1, 2.0 (never 1.0 \
            unless asked); NFS tries 4.2, 4.1, 4, 3. Already mounted with the same source: nothing to do.

            \(mountExitStatusHelp)
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    @OptionGroup var wait: RetryWait

    func run() throws {
        let (service, store) = try makeService(global)
        let definitions = try selection.resolve(in: store)
        guard !definitions.isEmpty else {
            StandardStream.output.write("no mounts defined; add one with: extlib-net add NAME URL\n")
            return
        }
        let lock = try holdingLock(service)
        defer { withExtendedLifetime(lock) {} }
        // Several shares on a terminal: one line each, redrawn in place. Otherwise one line per failed attempt.
        let board = definitions.count > 1 ? MountProgressBoard.forStandardError(names: definitions.map(\.name)) : nil
        let results = service.mount(definitions, wait: wait.duration) { event in
            if let board { return board.handle(event) }
            if case .attemptFailed(_, let line) = event { StandardStream.error.write(line + "\n") }
        }
        var failed = 0
        for (definition, result) in zip(definitions, results) {
            switch result {
            case .success(let share):
                let state = share.wasMounted ? "already mounted" : "mounted"
                StandardStream.output.write("\(definition.name): \(state) \(share.source) on \(share.target)\n")
                StandardStream.output.write("  Immich: Administration > External Libraries > import path: \(share.immichPath)\n")
            case .failure(let error):
                failed += 1
                StandardStream.error.write("extlib-net: \(definition.name): \(error)\n")
            }
        }
        if failed == definitions.count { throw ExitCode(MountStatus.mountFailure.rawValue) }
        if failed > 0 { throw ExitCode(MountStatus.someSucceeded.rawValue) }
    }
}

struct Unmount: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unmount shares; never deletes anything in the mount folder.",
        discussion: mountExitStatusHelp)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    @Flag(help: "Detach at once even if the server hangs or files are open (umount --lazy).")
    var lazy = false

    func run() throws {
        let (service, store) = try makeService(global)
        let definitions = try selection.resolve(in: store)
        let lock = try holdingLock(service)
        defer { withExtendedLifetime(lock) {} }
        var failed = 0
        for definition in definitions {
            switch service.unmount(definition, lazy: lazy) {
            case .success(let wasMounted):
                StandardStream.output.write("\(definition.name): \(wasMounted ? "unmounted" : "not mounted")\n")
            case .failure(let error):
                failed += 1
                StandardStream.error.write("extlib-net: \(definition.name): \(error)\n")
            }
        }
        if failed == definitions.count, failed > 0 { throw ExitCode(MountStatus.mountFailure.rawValue) }
        if failed > 0 { throw ExitCode(MountStatus.someSucceeded.rawValue) }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per definition: mounted, healthy (statfs under a deadline), server reachable, last error.",
        discussion: "Every check is bounded; the command answers within a few seconds even when servers hang.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print a JSON array.")
    var json = false

    func run() throws {
        let (service, store) = try makeService(global)
        let file = try reportingMountStoreErrors { () throws(MountStoreError) in try store.load() }
        let statuses = service.status(file.definitions)
        if json {
            let items = statuses.map { status in
                JSON.object([
                    ("name", .string(status.definition.name)), ("target", .string(status.target)), ("mounted", .bool(status.mounted)),
                    ("healthy", status.healthy.map(JSON.bool) ?? .null),
                    ("health", status.health.map { .string($0.description) } ?? .null), ("serverReachable", .bool(status.serverReachable)),
                    ("lastError", .optional(status.lastError)),
                ])
            }
            StandardStream.output.write(JSON.array(items).serialized() + "\n")
            return
        }
        guard !statuses.isEmpty else {
            StandardStream.output.write("no mounts defined; add one with: extlib-net add NAME URL\n")
            return
        }
        let rows = statuses.map { status in
            [status.definition.name, status.mounted ? "yes" : "no", status.health.map { $0.isHealthy ? "yes" : "NO: \($0)" } ?? "-",
             status.serverReachable ? "yes" : "no", status.lastError ?? "-"]
        }
        StandardStream.output.write(TextTable.render(header: ["NAME", "MOUNTED", "HEALTHY", "SERVER", "LAST ERROR"], rows: rows, indent: "").joined(separator: "\n") + "\n")
    }
}

struct Heal: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remount mounts that went stale; healthy ones are left alone.",
        discussion: """
            A mount is stale when statfs (in a child, bounded) does not answer in time or fails with ESTALE, \
            EIO, ENOTCONN, EHOSTDOWN, ETIMEDOUT or EAGAIN. Stale mounts are detached (umount --lazy) and mounted \
            again with the usual retries; the outcome is kept as the last error shown by `extlib-net status`. \
            Definitions that are not mounted are left alone (use extlib-net mount). `boot enable --heal-every` \
            runs this from a systemd timer.

            \(mountExitStatusHelp)
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    @OptionGroup var wait: RetryWait

    func run() throws {
        let (service, store) = try makeService(global)
        let definitions = try selection.resolve(in: store)
        let lock = try holdingLock(service)
        defer { withExtendedLifetime(lock) {} }
        let outcomes = Healer(service: service).heal(definitions, wait: wait.duration) { StandardStream.error.write($0 + "\n") }
        for (definition, outcome) in zip(definitions, outcomes) {
            switch outcome {
            case .healthy: StandardStream.output.write("\(definition.name): healthy, left alone\n")
            case .notMounted: StandardStream.output.write("\(definition.name): not mounted, left alone (extlib-net mount \(definition.name))\n")
            case .healed(let was): StandardStream.output.write("\(definition.name): was stale (\(was)); mounted again\n")
            case .unhealthyLeftAlone(let health):
                StandardStream.error.write("extlib-net: \(definition.name): \(health); a remount would not cure this, left alone\n")
            case .failed(let was, let error):
                StandardStream.error.write("extlib-net: \(definition.name): was stale (\(was)); could not mount it again: \(error)\n")
            }
        }
        let failed = outcomes.filter(\.isFailure).count
        if failed > 0, failed == outcomes.count { throw ExitCode(MountStatus.mountFailure.rawValue) }
        if failed > 0 { throw ExitCode(MountStatus.someSucceeded.rawValue) }
    }
}
