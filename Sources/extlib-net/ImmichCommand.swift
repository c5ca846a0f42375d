import ArgumentParser

import Core
import System
import Formats
import Credentials
import Mounting
import Immich
import Boot

struct ImmichCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "immich",
        abstract: "Link shares to Immich external libraries, and guard them: no scan while a share is away.",
        discussion: """
            Immich's library scan takes every asset it cannot see offline and into the trash: a scan while a \
            NAS is away (Immich scans daily at midnight by default) trashes the whole library. The guard \
            switches Immich's own schedule off and runs `extlib-net immich scan --all` on that schedule \
            instead, which scans only libraries whose shares are mounted and healthy. When a share comes back \
            (mount, heal, boot), its library is rescanned, which brings the assets back.

            The API key is kept in /etc/extlib-net/immich (root only, 0600); it never appears on a command \
            line, in output or in logs. The tests use a stand-in of Immich's API (Tests/testbed/immich-standin).

            \(ExitStatus.helpText)
            """,
        subcommands: [Login.self, Logout.self, Link.self, Unlink.self, Show.self, GuardCommand.self, Scan.self, Recover.self]
    )

    static func service(_ global: GlobalOptions, timeout: Double) throws -> ImmichService {
        var service = ImmichService(mounts: try makeService(global), logger: global.makeLogger())
        service.timeout = .milliseconds(Int64(timeout * 1000))
        service.lockWaiting = { announceLockWait($0) }
        return service
    }

    static func definition(named name: MountName, _ service: ImmichService) throws -> MountDefinition {
        try service.mounts.definitions(named: [name], all: false)[0]
    }
}

/// `--timeout` of every immich command: each request's deadline.
struct RequestTimeout: ParsableArguments {
    @Option(name: .customLong("timeout"), parsing: .unconditional, help: ArgumentHelp("Each request to Immich must answer within this many seconds (1 to 120).", valueName: "seconds"))
    var seconds: Double = 10

    func validate() throws {
        guard seconds.isFinite, (1...120).contains(seconds) else { throw ValidationError("--timeout must be between 1 and 120 seconds, not \(seconds)") }
    }
}

extension ImmichCommand {
    struct Login: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an admin API key and store it with Immich's URL.",
            discussion: """
                --from-snap reads the admin key the Immich Distribution snap keeps for its own scripts (snap get \
                immich-distribution admin-api-key); --api-key-stdin reads one line from standard input. The key \
                must belong to an admin (libraries and the system config are admin-only). Nothing is stored \
                unless Immich accepts it.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var timeout: RequestTimeout

        @Option(help: ArgumentHelp("Immich's address (default \(ImmichConnection.defaultURL), where the snap's Immich listens).", valueName: "url"))
        var url: String = ImmichConnection.defaultURL

        @Flag(name: .customLong("api-key-stdin"), help: "Read the API key from standard input (one line).")
        var apiKeyStdin = false

        @Flag(name: .customLong("from-snap"), help: "Use the admin key the Immich Distribution snap keeps.")
        var fromSnap = false

        func validate() throws {
            guard apiKeyStdin != fromSnap else { throw ValidationError("give --api-key-stdin or --from-snap (one of them)") }
            do { _ = try ImmichURL.parse(url) } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            let service = try ImmichCommand.service(global, timeout: timeout.seconds)
            let key: Secret
            if fromSnap {
                key = try SnapAPIKey.read(runner: service.runner)
            } else {
                key = try PasswordInput.fromStandardInput()
                try ImmichConnection.checkKey(key.reveal())
            }
            let url = try ImmichURL.parse(url)
            if url.scheme == "http", !["127.0.0.1", "::1", "localhost"].contains(url.host) {
                StandardStream.error.write("extlib-net: warning: \(url) is plain HTTP to another machine: the API key crosses the network unencrypted; use https:// or the snap's local http://127.0.0.1:3001\n")
            }
            let user = try service.login(url: url, key: key)
            StandardStream.output.write("logged in to Immich at \(url) as \(Terminal.printable(user.email)) (admin); stored in \(service.connections.path)\n")
        }
    }

    struct Logout: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget the stored Immich URL and API key.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let service = try ImmichCommand.service(global, timeout: 10)
            let removed = try service.logout()
            StandardStream.output.write(removed ? "removed \(service.connections.path)\n" : "not logged in, nothing to do\n")
        }
    }

    struct Link: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an Immich external library import the share's folder.",
            discussion: """
                The import path is the folder as the snap sees it (/root/snap/immich-distribution/common/NAME or \
                /var/snap/...). Without --library, a library named NAME is used or created (owned by the key's \
                user, or --owner); with it, the path is added to that library. Immich's own check of the path is \
                printed. Running it again changes nothing.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var timeout: RequestTimeout
        @Argument(help: "The mount definition (see extlib-net list).", transform: MountName.argument) var name: MountName
        @Option(help: ArgumentHelp("An existing library's name or id.", valueName: "name-or-id")) var library: String?
        @Option(help: ArgumentHelp("The email of the user who owns a new library.", valueName: "email")) var owner: String?

        func validate() throws {
            if library != nil, owner != nil { throw ValidationError("--owner applies to a new library; an existing one (--library) keeps its owner") }
        }

        func run() throws {
            let service = try ImmichCommand.service(global, timeout: timeout.seconds)
            let definition = try ImmichCommand.definition(named: name, service)
            let outcome = try service.link(definition, library: library, owner: owner)
            for line in LinkPresentation.lines(outcome, importPath: service.importPath(of: definition)) { StandardStream.output.write(line + "\n") }
        }
    }

    struct Unlink: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the share's folder from the Immich libraries that import it.",
            discussion: "Immich's next scan of those libraries takes the assets under it offline (into the trash).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var timeout: RequestTimeout
        @Argument(help: "The mount definition.", transform: MountName.argument) var name: MountName

        func run() throws {
            let service = try ImmichCommand.service(global, timeout: timeout.seconds)
            let definition = try ImmichCommand.definition(named: name, service)
            StandardStream.error.write("extlib-net: warning: Immich's next scan of a library that loses \(service.importPath(of: definition)) takes the assets under it offline (into the trash)\n")
            let libraries = try service.unlink(definition)
            guard !libraries.isEmpty else { throw ImmichError(.notLinked(definition: name.text)) }
            for library in libraries {
                StandardStream.output.write("removed \(service.importPath(of: definition)) from library '\(Terminal.printable(library.name))'\n")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Each external library: its import paths, which share provides each, mounted and healthy, assets, offline; then the guard.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var timeout: RequestTimeout
        @Flag(help: "Print a JSON object.") var json = false

        func run() throws {
            let service = try ImmichCommand.service(global, timeout: timeout.seconds)
            let libraries = try service.libraryStatus()
            let state = try service.guardState(executable: SelfExecutable.path)
            let report = ImmichStatusReport(libraries, guard: state)
            StandardStream.output.write(json ? Rendering.json(report) + "\n" : report.text)
        }
    }

    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scan libraries in Immich, but only those whose shares are mounted and healthy.",
            discussion: """
                A library is skipped, with the reason, when one of its import paths belongs to a definition that \
                is not mounted or does not answer statfs (bounded, in a child), when such a folder is empty \
                while Immich holds assets of the library (the signature of a NAS that is away), or when a path no \
                definition provides is missing or empty. The others are scanned. The admins get one notice in \
                Immich's web UI when an outage starts and one when it ends. Exits 10 when a library was skipped.

                \(ExitStatus.helpText)
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var timeout: RequestTimeout
        @Argument(help: "Library names or ids.") var libraries: [String] = []
        @Flag(help: "Every library.") var all = false

        func validate() throws {
            guard all != !libraries.isEmpty else { throw ValidationError(all ? "give library names or --all, not both" : "give one or more library names or ids, or --all") }
        }

        func run() throws {
            let service = try ImmichCommand.service(global, timeout: timeout.seconds)
            // No extlib-net mount or unmount between a library's checks and its scan request; the lock is
            // held per library, not for the whole run.
            let outcomes = try service.scan(libraries, lockingEach: announceLockWait)
            var statuses: [ExitStatus] = []
            for outcome in outcomes {
                switch outcome {
                case .scanned(let library, let recovered):
                    StandardStream.output.write("\(Terminal.printable(library.name)): scan started\(recovered ? " (its share is back)" : "")\n")
                case .skipped(let decision):
                    statuses.append(.skipped)
                    StandardStream.output.write("\(Terminal.printable(decision.library.name)): SKIPPED, not scanned: \(decision.problems.map(\.problem.description).joined(separator: "; "))\n")
                case .failed(let library, let error):
                    statuses.append(error.exitStatus)
                    StandardStream.error.write("extlib-net: \(Terminal.printable(library.name)): \(error)\n")
                }
            }
            if outcomes.isEmpty { StandardStream.output.write("Immich has no external libraries\n") }
            // A real failure (Immich refused, went away) wins over a skip, which is the guard doing its job.
            let failures = statuses.filter { $0 != .skipped }
            if !failures.isEmpty { throw CommandFailure(ExitStatus.batch(failures, of: outcomes.count, allFailed: .someFailed)) }
            if !statuses.isEmpty { throw CommandFailure(.skipped) }
        }
    }
}

extension ImmichCommand {
    struct Recover: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rescan the libraries of shares that came back, once Immich answers (what the guard's boot unit runs).",
            discussion: """
                At boot the shares mount before Immich starts, so the rescan that brings back assets a scan took \
                offline cannot happen at mount time. This waits up to --wait for Immich to answer, then rescans \
                each library whose share is mounted and which missed a scan or holds offline assets (only when \
                the guard is on; the scan is guarded as always).
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var timeout: RequestTimeout
        @Option(help: ArgumentHelp("How long to wait for Immich to answer (90, 30s, 10min; at most 24h). (default: 10min)", valueName: "duration"),
                transform: DurationOption.recoverWait.transform)
        var wait: Duration = .seconds(600)

        func run() throws {
            let service = try ImmichCommand.service(global, timeout: timeout.seconds)
            let lines = RescanPresentation.lines(try service.recover(wait: wait))
            for line in lines { StandardStream.output.write(line + "\n") }
            if lines.isEmpty { StandardStream.output.write("nothing to rescan\n") }
        }
    }
}

struct GuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard",
        abstract: "Keep Immich from scanning a library while its share is away.",
        subcommands: [Enable.self, Disable.self, Show.self])

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Switch Immich's scheduled scan off and run the guarded scan on its schedule instead.",
            discussion: """
                Reads Immich's system config, remembers library.scan (enabled, cronExpression) in \
                /etc/extlib-net/immich-guard, and writes the config back with only library.scan.enabled \
                changed to false. Then writes extlib-net-immich-scan.service and .timer (OnCalendar= from \
                Immich's cron expression, checked with systemd-analyze calendar; or every --every) and enables \
                the timer, unless --no-reload. A cron expression systemd cannot express needs --every. \
                Refused (exit 1, nothing changed) when this binary could be replaced by someone other than \
                root (in a .build folder, not owned by root, or in a folder others may write): install it \
                first (scripts/install or the .deb).
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var timeout: RequestTimeout
        @Option(help: ArgumentHelp("Run the guarded scan every DURATION instead of on Immich's schedule (e.g. 24h; 1min to 366d).", valueName: "duration"),
                transform: DurationOption.guardEvery.transform)
        var every: Duration?
        @Flag(name: .customLong("no-reload"), help: "Only write the units: run no systemctl.") var noReload = false

        func run() throws {
            let service = try ImmichCommand.service(global, timeout: timeout.seconds)
            let executable = try SelfExecutable.forUnits()
            let report = try service.enableGuard(every: every, executable: executable, reload: !noReload)
            BootCommand.printChanges(report.units, writer: "immich guard enable")
            let remembered = report.settings.remembered
            StandardStream.output.write("guard on: Immich's own scheduled scan is off (it was \(remembered.enabled ? "on, '\(Terminal.printable(remembered.cronExpression))'" : "off")); remembered in \(service.guardPath)\n")
            switch report.settings.schedule {
            case .calendar(let calendar):
                StandardStream.output.write("the guarded scan runs at OnCalendar=\(calendar)\(report.calendarChecked ? " (checked with systemd-analyze)" : "")\n")
            case .every(let interval):
                StandardStream.output.write("the guarded scan runs every \(BootUnits.systemdDuration(interval))\n")
            case .onDemand:
                StandardStream.output.write("no timer: Immich's schedule was off; shares that come back still get their library rescanned\n")
            }
            if report.watchSwitchedOff {
                StandardStream.output.write("Immich's folder watching was on and is off now: it does not work on network shares, and a share swapped for its placeholder would look like deleted files to it; guard disable turns it back on\n")
            }
            if let failure = report.units.systemctlFailure { throw failure }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give Immich its own scan schedule back, exactly as remembered, and remove the units.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var timeout: RequestTimeout
        @Flag(name: .customLong("no-reload"), help: "Only remove the units: run no systemctl.") var noReload = false

        func run() throws {
            let service = try ImmichCommand.service(global, timeout: timeout.seconds)
            guard let report = try service.disableGuard(reload: !noReload) else {
                StandardStream.output.write("the guard is not on, nothing to do\n")
                return
            }
            BootCommand.printChanges(report.units, writer: "immich guard enable")
            if report.wasOn {
                let remembered = report.settings.remembered
                StandardStream.output.write("guard off: Immich's scheduled scan is \(remembered.enabled ? "on again, '\(Terminal.printable(remembered.cronExpression))'" : "off, as it was")\n")
            }
            if let failure = report.units.systemctlFailure { throw failure }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Whether the guard is on, what it remembered, and its units.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var timeout: RequestTimeout
        @Flag(help: "Print a JSON object.") var json = false

        func run() throws {
            let service = try ImmichCommand.service(global, timeout: timeout.seconds)
            let state = try service.guardState(executable: SelfExecutable.path)
            let report = GuardStatusReport(state)
            StandardStream.output.write(json ? Rendering.json(report) + "\n" : report.text)
        }
    }
}
