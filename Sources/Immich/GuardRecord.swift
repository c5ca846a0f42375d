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
    public var schedule: ScanSchedule
    /// A record written before phases existed (0.3.0) was written once the guard was on.
    public var phase: Phase
    /// The guard switched Immich's folder watching off (it was on): `guard disable` switches it on again.
    /// False in records of 0.3.0, which never changed it (an admin may have turned it off since, as 0.3.0
    /// advised).
    public var switchedWatchOff = false

    public init(remembered: LibraryScanSettings, schedule: ScanSchedule, phase: Phase = .on) {
        self.remembered = remembered
        self.schedule = schedule
        self.phase = phase
    }

    /// The file keeps 0.3.0's keys: `onCalendar` or `everySeconds`, or neither.
    private enum CodingKeys: String, CodingKey { case remembered, onCalendar, everySeconds, phase, switchedWatchOff }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(remembered, forKey: .remembered)
        switch schedule {
        case .calendar(let calendar): try container.encode(calendar, forKey: .onCalendar)
        case .every(let interval): try container.encode(Int64(interval.seconds), forKey: .everySeconds)
        case .onDemand: break
        }
        try container.encode(phase.rawValue, forKey: .phase)
        try container.encode(switchedWatchOff, forKey: .switchedWatchOff)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        remembered = try container.decode(LibraryScanSettings.self, forKey: .remembered)
        // Both go into a unit file: checked here, so a hand edit cannot add a line or a second schedule.
        switch (try container.decodeIfPresent(String.self, forKey: .onCalendar), try container.decodeIfPresent(Int64.self, forKey: .everySeconds)) {
        case (let calendar?, nil):
            guard ScanSchedule.isSafeCalendar(calendar) else {
                throw DecodingError.dataCorruptedError(forKey: .onCalendar, in: container, debugDescription: "not a calendar expression")
            }
            schedule = .calendar(calendar)
        case (nil, let seconds?):
            guard seconds > 0, seconds <= Int64(Self.everyRange.upperBound.seconds), Self.everyRange.contains(.seconds(seconds)) else {
                throw DecodingError.dataCorruptedError(forKey: .everySeconds, in: container, debugDescription: "out of range")
            }
            schedule = .every(.seconds(seconds))
        case (nil, nil):
            schedule = .onDemand
        case (_?, _?):
            throw DecodingError.dataCorruptedError(forKey: .everySeconds, in: container, debugDescription: "two schedules")
        }
        // No phase: 0.3.0 wrote the record once the guard was on. A phase this version does not know (a
        // newer one, a hand edit): unfinished, which either command completes.
        switchedWatchOff = try container.decodeIfPresent(Bool.self, forKey: .switchedWatchOff) ?? false
        if let text = try container.decodeIfPresent(String.self, forKey: .phase) {
            phase = Phase(rawValue: text) ?? .enabling
        } else {
            phase = .on
        }
    }

    /// Whether the guard runs scans on a timer (Immich's schedule was on, or `--every` was given).
    public var hasTimer: Bool { schedule != .onDemand }

    /// What `--every` may be: the guarded scan at most once a minute, at least once in 366 days.
    public static let everyRange: ClosedRange<Duration> = .seconds(60) ... .seconds(366 * 86_400)
}

/// When the guarded scan runs: at Immich's own schedule (as `OnCalendar=`), every `--every`, or only on
/// demand (Immich's schedule was off: a share that comes back still gets its library rescanned).
public enum ScanSchedule: Sendable, Equatable {
    case calendar(String)
    case every(Duration)
    case onDemand

    /// A systemd calendar expression as `CronSchedule` writes them: printable ASCII, no line break, short.
    static func isSafeCalendar(_ text: String) -> Bool {
        (1...200).contains(text.utf8.count) && text.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }
}

/// An outage the admins were told about, per library: one notice when it starts, one when it ends.
public struct Outage: Codable, Sendable, Equatable {
    public var since: String
    public var shares: [String]
}
