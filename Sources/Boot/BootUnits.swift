import System
import Formats
/// What `boot enable` was asked for; recorded in the service file so `boot status` can regenerate it.
public struct BootOptions: Sendable, Equatable {
    /// `mount --all --wait`: how long boot waits for the NAS.
    public var wait: Duration
    /// The heal timer's interval; nil: no timer.
    public var healEvery: Duration?
    /// Absolute path of the extlib-net binary the units run.
    public var executable: String

    public static let defaultWait: Duration = .seconds(300)
    /// The shortest heal interval `boot enable` accepts.
    public static let minimumHealInterval: Duration = .seconds(60)
    /// Beyond the wait: one last mount helper run (up to 30 s) and the tool's own work.
    public static let startTimeoutMargin: Duration = .seconds(120)
    /// What `boot enable --wait` accepts (and a recorded `wait=` must be within).
    public static let waitRange: ClosedRange<Duration> = .seconds(1) ... .seconds(24 * 3600)
    /// What `boot enable --heal-every` accepts (and a recorded `heal-every=` must be within).
    public static let healIntervalRange: ClosedRange<Duration> = minimumHealInterval ... .seconds(30 * 24 * 3600)

    public init(wait: Duration = defaultWait, healEvery: Duration? = nil, executable: String) {
        self.wait = wait
        self.healEvery = healEvery
        self.executable = executable
    }
}

/// One file `boot enable` writes.
public struct BootFile: Sendable, Equatable {
    /// The absolute path on the real system (prefix it with the `SystemRoot`).
    public let path: String
    public let contents: String

    package init(path: String, contents: String) {
        self.path = path
        self.contents = contents
    }
}

/// The systemd units behind `boot enable`: pure functions from options to file paths and contents.
public enum BootUnits {
    public static let serviceName = "extlib-net.service"
    public static let healServiceName = "extlib-net-heal.service"
    public static let healTimerName = "extlib-net-heal.timer"
    public static let shutdownServiceName = "extlib-net-shutdown.service"
    /// The Immich Distribution services that must start after the mounts (microservices: older releases).
    public static let immichServices = [
        "snap.immich-distribution.immich-server.service",
        "snap.immich-distribution.immich-machine-learning.service",
        "snap.immich-distribution.immich-microservices.service",
    ]

    static let directory = SystemRoot.Known.systemdUnitDirectory
    public static let servicePath = "\(directory)/\(serviceName)"
    public static let dropInDirectory = "\(directory)/snap.immich-distribution.immich-server.service.d"
    public static let dropInPath = "\(dropInDirectory)/extlib-net.conf"
    public static let healServicePath = "\(directory)/\(healServiceName)"
    public static let healTimerPath = "\(directory)/\(healTimerName)"
    public static let shutdownServicePath = "\(directory)/\(shutdownServiceName)"
    /// Every file `boot enable` may write, in writing order; `boot disable` removes these.
    public static let allPaths = [servicePath, dropInPath, shutdownServicePath, healServicePath, healTimerPath]

    /// The first line of every file: how `boot disable` tells its own files from a user's.
    public static let header = "# Written by `extlib-net boot enable`; removed by `extlib-net boot disable`. Do not edit:"
    static let headerSecondLine = "# run `extlib-net boot enable` again with other options instead."
    static let optionsPrefix = "# extlib-net-boot: "

    /// Checks every value `options` puts into a unit file, before anything is written: the binary's path
    /// (absolute, and no line break or other control character: systemd's quoting cannot carry them, and a
    /// line break would start a line of its own, a second `ExecStart=`, say) and the durations (in range).
    public static func check(_ options: BootOptions) throws(BootError) {
        try checkExecutablePath(options.executable)
        guard BootOptions.waitRange.contains(options.wait) else {
            throw BootError(.unrepresentable(what: "the wait", value: systemdDuration(options.wait), reason: "it is outside 1s to 24h"))
        }
        if let interval = options.healEvery, !BootOptions.healIntervalRange.contains(interval) {
            throw BootError(.unrepresentable(what: "the heal interval", value: systemdDuration(interval), reason: "it is outside 1min to 720h"))
        }
    }

    /// Whether `path` can be the first word of an `ExecStart=` line: absolute, and without a line break or
    /// another control character (which would end the line and start another, `ExecStartPre=...`). Every
    /// unit that runs this binary (boot's and the guard's) is checked here, through
    /// `BootInstaller.checkExecutable`.
    public static func checkExecutablePath(_ path: String) throws(BootError) {
        guard path.hasPrefix("/") else {
            throw BootError(.unrepresentable(what: "the binary's path", value: path, reason: "it is not an absolute path"))
        }
        if path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw BootError(.unrepresentable(
                what: "the binary's path", value: path,
                reason: "it contains a line break or another control character, which systemd cannot read back; install extlib-net at a plain path such as /usr/local/sbin/extlib-net"))
        }
    }

    /// The files for `options`, in writing order (the service before the drop-in that wants it).
    public static func files(for options: BootOptions) -> [BootFile] {
        var files = [
            BootFile(path: servicePath, contents: service(options)),
            BootFile(path: dropInPath, contents: dropIn()),
            BootFile(path: shutdownServicePath, contents: shutdownService(options)),
        ]
        if let interval = options.healEvery {
            files.append(BootFile(path: healServicePath, contents: healService(options)))
            files.append(BootFile(path: healTimerPath, contents: healTimer(interval)))
        }
        return files
    }

    /// boot's units for `options`; nil: none wanted (what `disable` and a status without options work from).
    public static func unitSet(_ options: BootOptions?) -> UnitSet {
        UnitSet(writer: "boot enable", header: header, allPaths: allPaths, wanted: options.map(files(for:)) ?? [],
                executable: options?.executable ?? "", enabling: options.map(unitsToEnable) ?? [], startNow: false,
                enabledUnitAt: [servicePath: serviceName, shutdownServicePath: shutdownServiceName, healTimerPath: healTimerName],
                emptyFolders: [dropInDirectory], alsoStarting: [shutdownServiceName], keptRunning: [shutdownServiceName])
    }

    /// The units `systemctl enable` is given for `options`.
    public static func unitsToEnable(_ options: BootOptions) -> [String] {
        options.healEvery == nil ? [serviceName, shutdownServiceName] : [serviceName, shutdownServiceName, healTimerName]
    }

    static func service(_ options: BootOptions) -> String {
        """
        \(header)
        \(headerSecondLine)
        \(optionsLine(options))
        [Unit]
        Description=Mount NAS shares for Immich Distribution (extlib-net)
        Wants=network-online.target
        After=network-online.target
        Before=\(immichServices.joined(separator: " "))

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=\(execArgument(options.executable)) mount --all --wait \(systemdDuration(options.wait))
        TimeoutStartSec=\(systemdDuration(options.wait + BootOptions.startTimeoutMargin))

        [Install]
        WantedBy=multi-user.target

        """
    }

    static func dropIn() -> String {
        """
        \(header)
        \(headerSecondLine)
        # Immich starts after the mounts are up (or the wait ran out). Wants, not Requires:
        # Immich still starts when a NAS is down.
        [Unit]
        Wants=\(serviceName)
        After=\(serviceName)

        """
    }

    /// Active from boot to shutdown, before any share is mounted (a reboot while the boot mount still
    /// waits for a NAS must find it active), and stopped early at shutdown (after Immich's units, a heal
    /// run and a boot mount still waiting have stopped, before the network and the mounts go): its stop unmounts every share and placeholder, lazily. systemd's own stop of a
    /// share stacked on its placeholder hangs the shutdown (measured: systemd 252 in the boot test, half an
    /// hour, poweroff.target's job timeout): the first umount takes the share, the mount unit at that
    /// path turns from a remote into a local file system, loses its order after network-online.target,
    /// and that target's stop job is never woken again.
    static func shutdownService(_ options: BootOptions) -> String {
        """
        \(header)
        \(headerSecondLine)
        [Unit]
        Description=Unmount NAS shares for Immich Distribution at shutdown (extlib-net)
        After=network-online.target remote-fs.target
        Before=\(serviceName) \(healServiceName) \(immichServices.joined(separator: " "))

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStop=\(execArgument(options.executable)) unmount --all --shutdown
        TimeoutStopSec=90

        [Install]
        WantedBy=multi-user.target

        """
    }

    static func healService(_ options: BootOptions) -> String {
        """
        \(header)
        \(headerSecondLine)
        [Unit]
        Description=Remount NAS shares for Immich Distribution that went away (extlib-net)
        After=\(serviceName) network-online.target

        [Service]
        Type=oneshot
        ExecStart=\(execArgument(options.executable)) heal --all

        """
    }

    static func healTimer(_ interval: Duration) -> String {
        """
        \(header)
        \(headerSecondLine)
        [Unit]
        Description=Remount NAS shares for Immich Distribution every \(systemdDuration(interval)) (extlib-net)

        [Timer]
        OnBootSec=\(systemdDuration(interval))
        OnUnitActiveSec=\(systemdDuration(interval))
        # systemd's default slack of 1 min would let a 1 min interval run every 2 (seen in the boot test)
        AccuracySec=1s

        [Install]
        WantedBy=timers.target

        """
    }

    static func optionsLine(_ options: BootOptions) -> String {
        optionsPrefix + "wait=\(systemdDuration(options.wait)) heal-every=\(options.healEvery.map(systemdDuration) ?? "none")"
    }

    /// The options recorded in a service file `boot enable` wrote, or nil if they cannot be read back.
    public static func recordedOptions(inService text: String) -> BootOptions? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let line = lines.first(where: { $0.hasPrefix(optionsPrefix) }) else { return nil }
        var wait: Duration?
        var healEvery: Duration??
        for field in line.dropFirst(optionsPrefix.count).split(separator: " ") {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return nil }
            switch parts[0] {
            // Out of range (a hand edit): unreadable, like any other damage; never trusted in arithmetic.
            case "wait": wait = DurationText.parse(parts[1]).flatMap { BootOptions.waitRange.contains($0) ? $0 : nil }
            case "heal-every":
                healEvery = parts[1] == "none" ? .some(nil) : DurationText.parse(parts[1]).flatMap { BootOptions.healIntervalRange.contains($0) ? .some($0) : nil }
            default: continue
            }
        }
        let execPrefix = "ExecStart="
        guard let wait, let healEvery,
              let exec = lines.first(where: { $0.hasPrefix(execPrefix) }),
              let executable = leadingExecArgument(String(exec.dropFirst(execPrefix.count)))
        else { return nil }
        return BootOptions(wait: wait, healEvery: healEvery, executable: executable)
    }

    /// A duration as systemd reads it: whole hours as `2h`, whole minutes as `5min`, else seconds or
    /// milliseconds. `DurationText` parses every one of these back.
    public static func systemdDuration(_ duration: Duration) -> String {
        DurationText.format(duration)
    }

    /// The executable as the first word of an `ExecStart=` line: plain when it holds only safe
    /// characters (`%` included, doubled anyway), else double-quoted with `\\` and `\"` escaped; `%` (specifiers) and `$` (variables)
    /// are doubled either way.
    package static func execArgument(_ path: String) -> String {
        let escaped = path.replacingAll("%", with: "%%").replacingAll("$", with: "$$")
        let safe = path.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "/._+-@:,=%".unicodeScalars.contains($0)) }
        if safe { return escaped }
        return "\"" + escaped.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
    }

    /// Reverses `execArgument` for the first word of `value`.
    static func leadingExecArgument(_ value: String) -> String? {
        var result = ""
        var iterator = value.makeIterator()
        guard let first = iterator.next() else { return nil }
        if first == "\"" {
            while let character = iterator.next() {
                if character == "\"" { break }
                if character == "\\" {
                    guard let next = iterator.next() else { return nil }
                    result.append(next)
                } else {
                    result.append(character)
                }
            }
        } else {
            result.append(first)
            while let character = iterator.next(), character != " " { result.append(character) }
        }
        return result.replacingAll("%%", with: "%").replacingAll("$$", with: "$")
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
