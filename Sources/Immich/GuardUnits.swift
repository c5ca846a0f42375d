import System
import Boot

/// The units of the guarded scan: a timer on Immich's schedule and the service it starts.
public enum GuardUnits {
    public static let serviceName = "extlib-net-immich-scan.service"
    public static let timerName = "extlib-net-immich-scan.timer"
    public static let recoverName = "extlib-net-immich-recover.service"
    public static let servicePath = "\(SystemRoot.Known.systemdUnitDirectory)/\(serviceName)"
    public static let timerPath = "\(SystemRoot.Known.systemdUnitDirectory)/\(timerName)"
    public static let recoverPath = "\(SystemRoot.Known.systemdUnitDirectory)/\(recoverName)"
    public static let allPaths = [servicePath, timerPath, recoverPath]
    /// The scan service's TimeoutStartSec: a run's placeholder walks start only in its first part
    /// (`ImmichService.recordingBudget`), so systemd never stops one half-way.
    public static let scanTimeout: Duration = .seconds(15 * 60)

    /// What `systemctl enable` is given.
    public static func unitsToEnable(_ settings: GuardSettings) -> [String] {
        settings.hasTimer ? [timerName, recoverName] : [recoverName]
    }
    /// The guard's units for `settings`; nil: none wanted (what `guard disable` works from).
    public static func unitSet(_ settings: GuardSettings?, executable: String) -> UnitSet {
        UnitSet(writer: "immich guard enable", header: header, allPaths: allPaths, wanted: settings.map { files($0, executable: executable) } ?? [],
                executable: executable, enabling: settings.map(unitsToEnable) ?? [], startNow: true,
                enabledUnitAt: [timerPath: timerName, recoverPath: recoverName])
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
            TimeoutStartSec=\(Int(scanTimeout.seconds / 60))min

            """
        let schedule: String
        switch settings.schedule {
        case .calendar(let calendar):
            schedule = "OnCalendar=\(calendar)\nPersistent=true"
        case .every(let interval):
            let every = BootUnits.systemdDuration(interval)
            schedule = "OnBootSec=\(every)\nOnUnitActiveSec=\(every)"
        case .onDemand:
            schedule = ""
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
