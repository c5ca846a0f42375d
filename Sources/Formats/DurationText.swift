import Core
/// Durations as people type them: `90`, `90s`, `2min`, `2m`, `1h`, `1m30s`.
public enum DurationText {
    /// The longest duration anything accepts; larger values are refused before any arithmetic on them,
    /// so no input (`1e300`, `99999999999999999999`, `9.3e15`) can overflow a conversion.
    public static let maximum: Duration = .seconds(366 * 24 * 3600)

    /// `nil` when `text` is not a duration, or is longer than `maximum`.
    public static func parse(_ text: String) -> Duration? {
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        let limit = maximum.seconds
        if let seconds = Double(text) {
            guard seconds.isFinite, seconds >= 0, seconds <= limit else { return nil }
            return .milliseconds(Int64(seconds * 1000))
        }
        var total: Double = 0
        var rest = Substring(text)
        while !rest.isEmpty {
            let number = rest.prefix { ("0"..."9").contains($0) || $0 == "." }
            guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ms": total += value / 1000
            case "s", "sec": total += value
            case "m", "min": total += value * 60
            case "h": total += value * 3600
            default: return nil
            }
            guard total.isFinite, total <= limit else { return nil }
        }
        return .milliseconds(Int64(total * 1000))
    }

    /// `text` as a duration within `range`, or why not (for a usage error naming `option`).
    public static func parse(_ text: String, in range: ClosedRange<Duration>, option: String, examples: String) -> Result<Duration, DurationTextError> {
        guard let duration = parse(text) else { return .failure(DurationTextError(option: option, text: text, range: range, examples: examples, isDuration: false)) }
        guard range.contains(duration) else { return .failure(DurationTextError(option: option, text: text, range: range, examples: examples, isDuration: true)) }
        return .success(duration)
    }

    /// A duration for messages: whole hours, minutes or seconds where it is one.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = Int64(min(duration.seconds, maximum.seconds) * 1000 + 0.5)
        if milliseconds % 1000 != 0 { return "\(milliseconds)ms" }
        let seconds = milliseconds / 1000
        if seconds > 0, seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds > 0, seconds % 60 == 0 { return "\(seconds / 60)min" }
        return "\(seconds)s"
    }
}

/// A duration option that is not a duration, or out of its range: a usage error.
public struct DurationTextError: Error, Equatable, CustomStringConvertible {
    public let option: String
    public let text: String
    public let range: ClosedRange<Duration>
    public let examples: String
    /// It was a duration, only out of range.
    public let isDuration: Bool

    public var description: String {
        let bounds = "from \(DurationText.format(range.lowerBound)) to \(DurationText.format(range.upperBound))"
        let shown = Terminal.printable(String(text.prefix(80)))
        if isDuration { return "\(option) must be \(bounds), not '\(shown)'" }
        return "\(option) must be a duration such as \(examples) (\(bounds)), not '\(shown)'"
    }
}
