import Core
import Boot
import Mounting
/// `immich status`, as JSON and as text, from one value.
public struct ImmichStatusReport: Encodable, Sendable {
    public struct Path: Encodable, Sendable {
        public let path: String
        public let definition: String?
        public let mounted: Bool?
        public let healthy: Bool?
        public let health: String?
        public let placeholder: PlaceholderStatus?
    }

    public struct Library: Encodable, Sendable {
        public let id: String
        public let name: String
        public let importPaths: [Path]
        public let assets: Int?
        public let offline: Int?
    }

    public let libraries: [Library]
    public let guardStatus: GuardStatusReport

    enum CodingKeys: String, CodingKey { case libraries, guardStatus = "guard" }

    public init(_ libraries: [ImmichService.LibraryStatus], guard state: ImmichService.GuardState) {
        self.libraries = libraries.map { status in
            Library(id: status.library.id, name: status.library.name, importPaths: status.paths.map { path in
                Path(path: path.path, definition: path.definition, mounted: path.mounted, healthy: path.health.map(\.isHealthy), health: path.health?.description,
                     placeholder: path.placeholder)
            }, assets: status.assets, offline: status.offline)
        }
        guardStatus = GuardStatusReport(state)
    }

    public var text: String {
        var lines: [String] = []
        if libraries.isEmpty { lines.append("Immich has no external libraries; link a share with: extlib-net immich link NAME") }
        for library in libraries {
            let counts = "\(library.assets.map(String.init) ?? "?") assets, \(library.offline.map(String.init) ?? "?") offline"
            lines.append("\(Terminal.printable(library.name)) (\(library.id)): \(counts)")
            for path in library.importPaths {
                let what: String
                if let definition = path.definition {
                    let state = path.mounted == true ? (path.healthy == true ? "mounted, healthy" : "mounted, NOT healthy: \(path.health ?? "?")") : "NOT mounted"
                    let placeholder = path.placeholder.map { "; placeholder: \($0.text)" } ?? ""
                    what = "share '\(definition)', \(state)\(placeholder)"
                } else {
                    what = "no extlib-net share"
                }
                lines.append("  \(Terminal.printable(path.path)): \(what)")
            }
        }
        return (lines + [""]).joined(separator: "\n") + guardStatus.text
    }
}

/// `immich guard status`.
public struct GuardStatusReport: Encodable, Sendable {
    public struct File: Encodable, Sendable {
        public let path: String
        public let state: String
    }

    public let on: Bool
    /// "enable" or "disable" when the last one did not finish (the command that completes it), else nil.
    public let unfinished: String?
    public let remembered: LibraryScanSettings?
    public let onCalendar: String?
    public let everySeconds: Int64?
    public let immichScanEnabled: Bool?
    public let immichWatchEnabled: Bool?
    public let immichProblem: String?
    public let files: [File]
    public let outages: [String: Outage]

    public init(_ state: ImmichService.GuardState) {
        on = state.isOn
        switch state.settings?.phase {
        case .enabling?: unfinished = "enable"
        case .disabling?: unfinished = "disable"
        default: unfinished = nil
        }
        remembered = state.settings?.remembered
        switch state.settings?.schedule {
        case .calendar(let calendar)?: (onCalendar, everySeconds) = (calendar, nil)
        case .every(let interval)?: (onCalendar, everySeconds) = (nil, Int64(interval.seconds))
        case .onDemand?, nil: (onCalendar, everySeconds) = (nil, nil)
        }
        immichScanEnabled = state.immichScanEnabled
        immichWatchEnabled = state.immichWatchEnabled
        immichProblem = state.immichProblem
        files = state.files.map { File(path: $0.path, state: $0.state.rawValue) }
        outages = state.outages
    }

    public var text: String {
        var lines: [String] = []
        if let unfinished, let remembered {
            lines.append("guard: the last 'immich guard \(unfinished)' did not finish; Immich's own scan was \(remembered.enabled ? "on ('\(Terminal.printable(remembered.cronExpression))')" : "off") before. "
                + "Run extlib-net immich guard \(unfinished) to finish\(unfinished == "enable" ? " (or guard disable to give Immich its schedule back)" : "")")
        } else if let remembered {
            var line = "guard: on; Immich's own scan was \(remembered.enabled ? "on ('\(Terminal.printable(remembered.cronExpression))')" : "off") before"
            if let onCalendar { line += "; guarded scan at OnCalendar=\(onCalendar)" } else if let everySeconds { line += "; guarded scan every \(BootUnits.systemdDuration(.seconds(everySeconds)))" }
            lines.append(line)
        } else {
            lines.append("guard: off (turn it on with: extlib-net immich guard enable)")
        }
        if let immichScanEnabled {
            lines.append("Immich's scheduled scan: \(immichScanEnabled ? "on" : "off")\(on && immichScanEnabled ? " -- WARNING: it would scan libraries whose share is away; run extlib-net immich guard enable again" : "")")
        }
        if immichWatchEnabled == true { lines.append("Immich's folder watching: on (it does not work on network shares; turn it off)") }
        if let immichProblem { lines.append("Immich: \(immichProblem)") }
        for file in files { lines.append("  \(file.path): \(file.state)") }
        for (id, outage) in outages.sorted(by: { $0.key < $1.key }) {
            lines.append("outage: library \(id) since \(outage.since) (shares: \(outage.shares.joined(separator: ", ")))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The one rendering of a rescan after shares came back, for `mount`, `heal` and `immich recover`.
public enum RescanPresentation {
    public static func lines(_ rescan: ImmichService.Rescan) -> [String] {
        switch rescan {
        case .nothingToDo:
            return []
        case .scanned(let outcomes):
            return outcomes.map { outcome in
                switch outcome {
                case .scanned(let library, _): return "immich: '\(Terminal.printable(library.name))' rescanned: its assets come back"
                case .skipped(let decision):
                    return "immich: '\(Terminal.printable(decision.library.name))' not rescanned yet: " + decision.problems.map(\.problem.description).joined(separator: "; ")
                case .failed(let library, let error): return "immich: rescanning '\(Terminal.printable(library.name))' failed: \(error)"
                }
            }
        case .immichAway(let shares):
            return ["immich: Immich is not answering, so the libraries of \(shares.joined(separator: ", ")) are not rescanned yet; run extlib-net immich recover once it runs (at boot, \(GuardUnits.recoverName) does)"]
        case .failed(let shares, let reason):
            return ["immich: could not rescan the libraries of \(shares.joined(separator: ", ")): \(reason)"]
        }
    }
}

/// What `immich link` did, in lines: for the command and for setup alike.
public enum LinkPresentation {
    public static func lines(_ outcome: ImmichService.LinkOutcome, importPath path: String) -> [String] {
        let name = Terminal.printable(outcome.library.name)
        var lines: [String]
        if outcome.created {
            lines = ["created external library '\(name)' (\(Terminal.printable(outcome.library.id))) with import path \(path)"]
        } else if outcome.changed {
            lines = ["added import path \(path) to library '\(name)'"]
        } else {
            lines = ["library '\(name)' has import path \(path) already; nothing changed"]
        }
        if let verdict = outcome.verdict {
            let message = verdict.message.map { ": \(Terminal.printable($0))" } ?? ""
            lines.append("Immich checks the path: \(verdict.isValid ? "valid" : "NOT valid")\(message)")
        }
        switch outcome.placeholder {
        case .recorded(let files, _, let placed):
            lines.append("placeholder recorded: \(files) file\(files == 1 ? "" : "s") as Immich knows them")
            switch placed {
            case .refreshed, .restacked: lines.append("the placeholder is ready beneath the share: it stands in the moment the share goes away")
            case .notMounted: break
            case .failed(let why): lines.append("the placeholder is not ready beneath the share: \(Terminal.printable(why)); the next guarded scan tries again")
            }
        case .skipped(let why): lines.append("no placeholder recorded yet: \(Terminal.printable(why))")
        }
        return lines
    }
}

/// Heal's lines for the placeholder records it took again.
public enum RecordRefreshPresentation {
    public static func lines(_ refreshes: [ImmichService.RecordRefresh]) -> [String] {
        refreshes.map { refresh in
            let start = "\(refresh.name): its placeholder's record was out of date (\(refresh.reason))"
            switch refresh.outcome {
            case .recorded(let files, _, let placed):
                let ready: String
                switch placed {
                case .refreshed, .restacked: ready = "; the placeholder beneath the share is up to date"
                case .notMounted: ready = ""
                case .failed(let why): ready = "; the placeholder beneath the share is not: \(Terminal.printable(why))"
                }
                return "\(start); recorded again: \(files) file\(files == 1 ? "" : "s")\(ready)"
            case .skipped(let why): return "\(start); not recorded again: \(Terminal.printable(why))"
            }
        }
    }
}
