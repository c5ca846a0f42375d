import Core

/// Why `immich guard enable|disable` did not finish, and what completes it.
public struct GuardError: ReportableError, Equatable {
    public enum Code: Equatable, Sendable {
        /// The guarded scan's interval is outside 1 minute to 366 days.
        case everyOutOfRange
        /// A step after the record was written failed: the step, why, and the command that completes it.
        case unfinished(step: String, cause: String, next: String)
        /// Immich was given its schedule back but reads back something else.
        case notRestored(wanted: LibraryScanSettings, found: LibraryScanSettings)
    }

    public let code: Code

    public init(_ code: Code) { self.code = code }

    public var exitStatus: ExitStatus {
        switch code {
        case .everyOutOfRange: return .usage
        case .unfinished: return .system
        case .notRestored: return .refused
        }
    }

    public var description: String {
        switch code {
        case .everyOutOfRange:
            return "the guarded scan's interval must be between 1 minute and 366 days"
        case .unfinished(let step, let cause, let next):
            return "\(step), and then: \(cause). The guard's record (/etc/extlib-net/immich-guard) keeps Immich's own schedule; to finish, run \(next)"
        case .notRestored(let wanted, let found):
            func shown(_ settings: LibraryScanSettings) -> String {
                settings.enabled ? "on, '\(Terminal.printable(settings.cronExpression))'" : "off"
            }
            return "Immich was given its scheduled scan back (\(shown(wanted))), but reads back \(shown(found)); something else changes Immich's settings (IMMICH_CONFIG_FILE, another admin)"
        }
    }
}
