import ArgumentParser
import Core
import System
import Formats
import Boot

/// Which rows of the one table boot uses, then the table.
let bootExitStatusHelp = """
    Exits 16 when a unit file cannot be read, written or removed, or a file extlib-net did not write is in \
    the way; 2 when systemctl is missing or failed (the unit files were written or removed all the same); \
    1 when enable runs from a binary someone other than root could replace (in a .build folder, not owned \
    by root, or in a folder others may write): install it first (scripts/install or the .deb), nothing is \
    written.

    \(ExitStatus.helpText)
    """

struct BootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Mount the shares at boot, before Immich starts (systemd units).",
        discussion: """
            enable writes /etc/systemd/system/extlib-net.service (runs extlib-net mount --all --wait \
            DURATION once network-online.target is reached, before the Immich Distribution services) and \
            a drop-in for snap.immich-distribution.immich-server.service that wants it and orders Immich \
            after it. Wants, not Requires: Immich still starts when a NAS is down. Hosts without systemd: \
            contrib/extlib-net-boot, from cron @reboot or rc.local.

            \(bootExitStatusHelp)
            """,
        subcommands: [Enable.self, Disable.self, Show.self]
    )

    static func installer(_ global: GlobalOptions) throws -> BootInstaller {
        BootInstaller(root: try global.systemRoot(), logger: global.makeLogger())
    }

    static func printChanges(_ report: BootReport, writer: String = "boot enable") {
        let lines = BootReportPresentation.lines(report, writer: writer)
        for line in lines.done { StandardStream.output.write(line + "\n") }
        for line in lines.warnings { StandardStream.error.write("extlib-net: warning: \(line)\n") }
    }

    /// After the files were handled: systemctl's failure, where to go from here, and the exit status.
    static func finish(_ report: BootReport) throws {
        if let failure = report.systemctlFailure { throw failure }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the systemd units that mount the shares at boot, and enable them.",
            discussion: """
                Writes (under --root) /etc/systemd/system/extlib-net.service and \
                /etc/systemd/system/snap.immich-distribution.immich-server.service.d/extlib-net.conf, \
                /etc/systemd/system/extlib-net-shutdown.service (at shutdown, once Immich has stopped, it \
                unmounts every share and placeholder: systemd alone hangs on a share stacked on its \
                placeholder), and with --heal-every extlib-net-heal.service and extlib-net-heal.timer, all \
                mode 0644 and atomically; files no longer asked for are removed. Running it again with the \
                same options changes nothing. Then runs systemctl daemon-reload and systemctl enable (with \
                --root other than /, or where systemd does not run: systemctl --root=ROOT enable, no daemon-reload), and starts \
                extlib-net-shutdown.service (it does nothing until it is stopped). No share is mounted now: \
                run extlib-net mount --all, or reboot.

                \(bootExitStatusHelp)
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("At boot, keep retrying for this long (90, 30s, 5min). (default: 5min)", valueName: "duration"),
                transform: DurationOption.bootWait.transform)
        var wait: Duration = .seconds(300)

        @Option(name: .customLong("heal-every"), help: ArgumentHelp(
            "Also remount shares that went away, every DURATION (at least 1min), with a systemd timer running extlib-net heal --all.",
            valueName: "duration"), transform: DurationOption.healEvery.transform)
        var healEvery: Duration?

        @Flag(name: .customLong("no-reload"), help: "Only write the files: run no systemctl (no daemon-reload, no enable).")
        var noReload = false

        func run() throws {
            let installer = try BootCommand.installer(global)
            let executable = try SelfExecutable.forUnits()
            let options = BootOptions(wait: wait, healEvery: healEvery, executable: executable)
            let report = try installer.enable(options, reload: !noReload)
            BootCommand.printChanges(report)
            if report.changedNothing {
                StandardStream.output.write("already enabled, nothing changed\n")
            } else if let previous = report.previous, previous != options {
                StandardStream.output.write("changed: \(Self.differences(previous, options).joined(separator: "; "))\n")
            }
            if report.systemctlFailure != nil {
                StandardStream.error.write("""
                    extlib-net: the unit files are in place but not enabled. Fix systemctl and run boot enable again; \
                    on a host without systemd, run contrib/extlib-net-boot from cron @reboot or rc.local instead.\n
                    """)
                try BootCommand.finish(report)
            }
            let unitSummary = BootUnits.unitsToEnable(options).joined(separator: " and ")
            if noReload {
                StandardStream.output.write("files only (--no-reload): run systemctl daemon-reload && systemctl enable \(BootUnits.unitsToEnable(options).joined(separator: " "))\n")
            } else {
                StandardStream.output.write("enabled \(unitSummary): at boot, shares are mounted (waiting up to \(BootUnits.systemdDuration(options.wait))) before Immich starts\n")
            }
            var hint = "nothing was started now: run extlib-net mount --all to mount now, or reboot"
            if options.healEvery != nil { hint += "; start the heal timer now with: systemctl start \(BootUnits.healTimerName)" }
            StandardStream.output.write(hint + "\n")
        }

        static func differences(_ old: BootOptions, _ new: BootOptions) -> [String] {
            var lines: [String] = []
            if old.wait != new.wait { lines.append("wait \(BootUnits.systemdDuration(old.wait)) -> \(BootUnits.systemdDuration(new.wait))") }
            switch (old.healEvery, new.healEvery) {
            case (nil, let interval?): lines.append("heal timer added (every \(BootUnits.systemdDuration(interval)))")
            case (_?, nil): lines.append("heal timer removed")
            case (let a?, let b?) where a != b: lines.append("heal every \(BootUnits.systemdDuration(a)) -> \(BootUnits.systemdDuration(b))")
            default: break
            }
            if old.executable != new.executable { lines.append("binary \(old.executable) -> \(new.executable)") }
            return lines
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the systemd units boot enable wrote.",
            discussion: """
                Removes only files that begin with boot enable's header comment (a file of the same name \
                without it is left alone, with a warning), and the drop-in folder if it is then empty. \
                Unless --no-reload: systemctl disable first, daemon-reload after (with --root other than /: \
                or where systemd does not run: systemctl --root=ROOT disable, no daemon-reload). Mounted shares stay mounted.

                \(bootExitStatusHelp)
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(name: .customLong("no-reload"), help: "Only remove the files: run no systemctl.")
        var noReload = false

        func run() throws {
            let installer = try BootCommand.installer(global)
            let report = try installer.disable(reload: !noReload)
            BootCommand.printChanges(report)
            if report.changedNothing { StandardStream.output.write("not enabled, nothing to do\n") }
            try BootCommand.finish(report)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Per unit file: present, missing, or modified; and what systemd says.",
            discussion: """
                A file is modified when it differs from what boot enable would write for the options \
                recorded in extlib-net.service. systemctl is-enabled and is-active are asked (bounded) \
                when systemctl exists and --root is /.

                \(bootExitStatusHelp)
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print a JSON object.")
        var json = false

        func run() throws {
            let installer = try BootCommand.installer(global)
            let state = try installer.status()
            if json {
                StandardStream.output.write(Rendering.json(state) + "\n")
                return
            }
            if let options = state.options {
                var line = "enabled: waits up to \(BootUnits.systemdDuration(options.wait)) at boot, runs \(options.executable)"
                line += options.healEvery.map { "; heals every \(BootUnits.systemdDuration($0))" } ?? "; no heal timer"
                StandardStream.output.write(line + "\n")
            } else {
                StandardStream.output.write("not enabled (enable with: extlib-net boot enable)\n")
            }
            let rows = state.files.map { [$0.path, $0.state.rawValue] }
            StandardStream.output.write(TextTable.render(header: ["FILE", "STATE"], rows: rows, indent: "").joined(separator: "\n") + "\n")
            if let isEnabled = state.isEnabled { StandardStream.output.write("systemctl is-enabled \(BootUnits.serviceName): \(isEnabled)\n") }
            if let isActive = state.isActive { StandardStream.output.write("systemctl is-active \(BootUnits.serviceName): \(isActive)\n") }
        }
    }
}
