import ArgumentParser
import Formats
import Mounting
import Boot
import Immich

/// A duration option, parsed once by a throwing `transform:` so that a refusal keeps its reason (an
/// `ExpressibleByArgument` initializer can only say "invalid"); the command then holds a `Duration`.
struct DurationOption: Sendable {
    let option: String
    let range: ClosedRange<Duration>
    let examples: String
    /// Said after the refusal of a duration below the range.
    var belowHint: String?

    static let mountWait = DurationOption(option: "--wait", range: Mounter.waitRange, examples: "90, 30s or 2min")
    static let bootWait = DurationOption(option: "--wait", range: BootOptions.waitRange, examples: "90, 30s or 5min")
    static let healEvery = DurationOption(option: "--heal-every", range: BootOptions.healIntervalRange, examples: "5min or 1h",
                                          belowHint: "remounting more often only adds load")
    static let recoverWait = DurationOption(option: "--wait", range: .zero ... .seconds(86_400), examples: "90, 30s or 10min")
    static let guardEvery = DurationOption(option: "--every", range: GuardSettings.everyRange, examples: "24h or 6h")

    func parse(_ text: String) throws -> Duration {
        switch DurationText.parse(text, in: range, option: option, examples: examples) {
        case .success(let duration): return duration
        case .failure(let error):
            let below = DurationText.parse(text).map { $0 < range.lowerBound } == true
            throw ValidationError(error.description + (below ? belowHint.map { " (\($0))" } ?? "" : ""))
        }
    }

    var transform: @Sendable (String) throws -> Duration { { try parse($0) } }
}
