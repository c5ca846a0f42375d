#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

import System

/// What `immich guard enable` remembers: Immich's own scan settings before it switched them off, the
/// schedule the guarded scan runs on instead, and how far enable or disable got. Immich's
/// `PUT /api/system-config` replaces the whole config with no version check, so switching the guard
/// cannot be atomic; this record is its journal. It is written before Immich is changed and removed only
/// once Immich's own settings are back (read back to check), so a run that stops anywhere leaves a
/// state that `guard enable` or `guard disable` completes.
public struct GuardSettings: Codable, Sendable, Equatable {
    /// How far the last `guard enable` or `guard disable` got.
    public enum Phase: String, Codable, Sendable {
        /// Remembered; Immich's schedule may be off already, the units may not be there yet.
        case enabling
        /// On: Immich's schedule is off and the guard's units are installed.
        case on
        /// Immich's schedule is being given back; the units may still be there.
        case disabling
    }

    public var remembered: LibraryScanSettings
    /// `OnCalendar=` of the guarded scan, from Immich's cron expression; nil with `every`.
    public var onCalendar: String?
    /// `--every`, in seconds; nil with `onCalendar`.
    public var everySeconds: Int64?
    /// A record written before phases existed (0.3.0) was written once the guard was on.
    public var phase: Phase

    public init(remembered: LibraryScanSettings, onCalendar: String?, everySeconds: Int64?, phase: Phase = .on) {
        self.remembered = remembered
        self.onCalendar = onCalendar
        self.everySeconds = everySeconds
        self.phase = phase
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        remembered = try container.decode(LibraryScanSettings.self, forKey: .remembered)
        onCalendar = try container.decodeIfPresent(String.self, forKey: .onCalendar)
        everySeconds = try container.decodeIfPresent(Int64.self, forKey: .everySeconds)
        // No phase: 0.3.0 wrote the record once the guard was on. A phase this version does not know (a
        // newer one, a hand edit): unfinished, which either command completes.
        if let text = try container.decodeIfPresent(String.self, forKey: .phase) {
            phase = Phase(rawValue: text) ?? .enabling
        } else {
            phase = .on
        }
    }

    /// Whether the guard runs scans on a timer (Immich's schedule was on, or `--every` was given).
    public var hasTimer: Bool { onCalendar != nil || everySeconds != nil }

    /// What `--every` may be: the guarded scan at most once a minute, at least once in 366 days.
    public static let everyRange: ClosedRange<Duration> = .seconds(60) ... .seconds(366 * 86_400)
}

/// An outage the admins were told about, per library: one notice when it starts, one when it ends.
public struct Outage: Codable, Sendable, Equatable {
    public var since: String
    public var shares: [String]
}
