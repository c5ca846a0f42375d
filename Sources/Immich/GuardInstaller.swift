import System
import Logging


import Core
import Formats
import Boot

extension ImmichService {
    // MARK: the guard

    public struct GuardReport: Sendable {
        public var settings: GuardSettings
        public var units: BootReport
        public var wasOn: Bool
        public var calendarChecked: Bool
        /// Immich's folder watching was on, and this enable switched it off too (`guard disable` gives it back).
        public var watchSwitchedOff = false
    }

    /// Switches Immich's own scheduled scan off (changing nothing else in its config), remembers how it
    /// was, and installs a timer running the guarded scan on Immich's schedule (or every `every`).
    /// Journaled (see `GuardSettings`): the record is written before Immich changes, and a failure either
    /// undoes what this run did (Immich's schedule read back to check) or leaves the record saying so, with
    /// the command that completes it in the error.
    public func enableGuard(every: Duration?, executable: String, reload: Bool) throws -> GuardReport {
        // Before Immich's settings or the guard file change: the timer would run this binary as root.
        try BootInstaller.checkExecutable(executable)
        if let every, !GuardSettings.everyRange.contains(every) { throw GuardError(.everyOutOfRange) }
        let lock = try guardLock()
        defer { withExtendedLifetime(lock) {} }
        let api = try api()
        let config = try api.systemConfig()
        let current = try LibraryScanSettings(config: config)
        let previous = try guardFile.load()
        // A record of any phase holds Immich's own settings from before the guard changed them, not the
        // "off" the guard made.
        let remembered = previous?.remembered ?? current
        var settings = GuardSettings(remembered: remembered, schedule: .onDemand, phase: .enabling)
        settings.switchedWatchOff = (previous?.switchedWatchOff ?? false) || current.watchEnabled
        var checked = false
        if let every {
            settings.schedule = .every(every)
        } else if remembered.enabled {
            let calendar = try CronSchedule.onCalendar(remembered.cronExpression)
            let (problem, ran) = installer(reload: reload).checkCalendar(calendar)
            if let problem {
                throw CronSchedule.Unconvertible(expression: remembered.cronExpression, reason: "systemd-analyze calendar '\(calendar)' refused it: \(Terminal.printable(problem))")
            }
            checked = ran
            settings.schedule = .calendar(calendar)
        }
        let units = GuardUnits.unitSet(settings, executable: executable)
        // Whatever would stop the units' installation (their text, the binary, a folder on the way, a file
        // of someone else's at a wanted path) stops this before Immich or the record changes.
        try installer(reload: reload).preflight(units)
        // The journal first: whatever fails after this, the record knows what to give back.
        try guardFile.save(settings)
        if !current.isGuarded {
            guard let off = LibraryScanSettings.switchedOff(config) else {
                throw ImmichError(.badAnswer(route: "GET /api/system-config", "no library.scan.enabled"))
            }
            do {
                try apply(off, api: api) { $0.isGuarded }
            } catch {
                throw unwindEnable(previous: previous, remembered: remembered, watch: settings.switchedWatchOff ? true : nil, api: api, reload: reload, after: error)
            }
        }
        let report: BootReport
        do {
            // Also removes a timer asked for before and not now.
            report = try installer(reload: reload).apply(units, reload: reload)
        } catch {
            // apply put back what it changed; Immich's schedule goes back too (unless the guard was on).
            throw unwindEnable(previous: previous, remembered: remembered, watch: settings.switchedWatchOff ? true : nil, api: api, reload: reload, after: error)
        }
        settings.phase = .on
        do {
            try guardFile.save(settings)
        } catch {
            throw GuardError(.unfinished(step: "Immich's scheduled scan is off and the guard's units are installed", cause: "recording that the guard is on failed: \(error)", next: "extlib-net immich guard enable"))
        }
        var done = GuardReport(settings: settings, units: report, wasOn: previous?.phase == .on, calendarChecked: checked)
        done.watchSwitchedOff = current.watchEnabled
        return done
    }

    /// After a failed enable: a guard that was on stays on as it was. Otherwise Immich gets its remembered
    /// schedule back, read back to check, and only then the record goes. The error to throw says which
    /// command completes what is left.
    private func unwindEnable(previous: GuardSettings?, remembered: LibraryScanSettings, watch: Bool?, api: any ImmichClient, reload: Bool, after error: any Error) -> any Error {
        if let previous, previous.phase == .on {
            do { try guardFile.save(previous) } catch {
                return GuardError(.unfinished(step: "immich guard enable failed", cause: "the guard's record could not be put back: \(error)", next: "extlib-net immich guard enable"))
            }
            return error
        }
        do {
            try restore(remembered, watch: watch, api: api)
            // An earlier unfinished enable or disable may have left units: they go with the record.
            if previous != nil {
                _ = try removeGuardUnits(reload: reload)
            }
        } catch let restoreError {
            logger.warning("cannot give Immich its scan schedule back", metadata: ["error": "\(restoreError)"])
            return GuardError(.unfinished(step: "immich guard enable failed: \(error)", cause: "Immich's scheduled scan could not be given back, or the guard's units removed: \(restoreError)", next: "extlib-net immich guard enable (to finish turning the guard on) or extlib-net immich guard disable (to give Immich its schedule back)"))
        }
        guardFile.remove()
        return error
    }

    /// PUTs `config` and settles a lost answer (a proxy's 502, a timeout after Immich applied it) by reading
    /// Immich's config again: applied when `isApplied` holds for what Immich has now. After a timeout Immich
    /// may still be applying the PUT, so it is read up to three times, a second apart, before the change
    /// counts as not made.
    func apply(_ config: JSON, api: any ImmichClient, isApplied: (LibraryScanSettings) -> Bool) throws {
        do {
            try api.putSystemConfig(config)
        } catch {
            if case .configReadOnly = error.code { throw error }
            let reads = error.isTimeout ? 3 : 1
            for read in 0..<reads {
                if read > 0 { Pause.microseconds(1_000_000) }
                if let now = try? LibraryScanSettings(config: api.systemConfig()), isApplied(now) {
                    logger.notice("the answer to PUT /api/system-config was lost, but Immich has the change", metadata: ["error": "\(error)"])
                    return
                }
            }
            throw error
        }
    }

    /// Gives Immich its own `remembered` schedule back (nothing else in its config changes) and reads it
    /// back: throws unless Immich has it.
    /// `watch`: folder watching as it was, when the guard switched it off; nil leaves it as it is.
    func restore(_ remembered: LibraryScanSettings, watch: Bool?, api: any ImmichClient) throws {
        let config = try api.systemConfig()
        guard var restored = config.replacing(["library", "scan", "enabled"], with: .bool(remembered.enabled))?
            .replacing(["library", "scan", "cronExpression"], with: .string(remembered.cronExpression))
        else { throw ImmichError(.badAnswer(route: "GET /api/system-config", "no library.scan settings")) }
        // Folder watching as it was, where the guard switched it off and Immich's config has it.
        let watch = config["library"]?["watch"]?["enabled"] != nil ? watch : nil
        if let watch, let watched = restored.replacing(["library", "watch", "enabled"], with: .bool(watch)) { restored = watched }
        let matches = { (now: LibraryScanSettings) in
            now.enabled == remembered.enabled && now.cronExpression == remembered.cronExpression && (watch == nil || now.watchEnabled == watch)
        }
        if restored != config { try apply(restored, api: api, isApplied: matches) }
        let now = try LibraryScanSettings(config: api.systemConfig())
        guard matches(now) else { throw GuardError(.notRestored(wanted: remembered, found: now)) }
    }

    /// Restores exactly the remembered scan settings (read back to check), then removes the units, then the
    /// record. A failure leaves the record (phase `disabling`): running this again completes it.
    public func disableGuard(reload: Bool) throws -> GuardReport? {
        let lock = try guardLock()
        defer { withExtendedLifetime(lock) {} }
        guard var settings = try guardFile.load() else {
            let units = try removeGuardUnits(reload: reload)
            return units.changedNothing ? nil : GuardReport(settings: GuardSettings(remembered: LibraryScanSettings(enabled: true, cronExpression: "", watchEnabled: false), schedule: .onDemand), units: units, wasOn: false, calendarChecked: false)
        }
        let api = try api()
        if settings.phase != .disabling {
            settings.phase = .disabling
            try guardFile.save(settings)
        }
        do {
            try restore(settings.remembered, watch: settings.switchedWatchOff ? true : nil, api: api)
        } catch let error as ImmichError where error.code == .configReadOnly {
            let remembered = settings.remembered
            throw GuardError(.unfinished(step: "immich guard disable did not finish", cause: "Immich runs with IMMICH_CONFIG_FILE, so its settings cannot be changed through the API",
                                         next: "set library.scan.enabled to \(remembered.enabled) and library.scan.cronExpression to '\(Terminal.printable(remembered.cronExpression))' in that file, restart Immich, then extlib-net immich guard disable again"))
        } catch {
            throw GuardError(.unfinished(step: "immich guard disable did not finish", cause: "Immich's scheduled scan could not be given back: \(error)", next: "extlib-net immich guard disable again once Immich answers"))
        }
        let units = try removeGuardUnits(reload: reload)
        guardFile.remove()
        return GuardReport(settings: settings, units: units, wasOn: true, calendarChecked: false)
    }

    /// Every unit the guard may have written (timer, scan and recover), disabled and removed.
    private func removeGuardUnits(reload: Bool) throws -> BootReport {
        try installer(reload: reload).remove(GuardUnits.unitSet(nil, executable: ""), reload: reload)
    }

    public struct GuardState: Sendable {
        public let settings: GuardSettings?
        /// Immich's `library.scan.enabled` now; nil when Immich could not be asked.
        public let immichScanEnabled: Bool?
        public let immichWatchEnabled: Bool?
        public let immichProblem: String?
        public let files: [BootFileState]
        public let outages: [String: Outage]

        public var isOn: Bool { settings?.phase == .on }
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
        // Every path the guard may write that holds something, or that its settings want.
        let files = try settings.map { try installer(reload: false).inspect(GuardUnits.unitSet($0, executable: executable)).filter { $0.state != .unused } } ?? []
        return GuardState(settings: settings, immichScanEnabled: enabled, immichWatchEnabled: watch, immichProblem: problem,
                          files: files, outages: (try? outageFile.load()) ?? [:])
    }
}

extension CronSchedule.Unconvertible: ReportableError {
    public var exitStatus: ExitStatus { .usage }
}
