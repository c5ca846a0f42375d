import System
/// Exponential backoff with full jitter: the delay before retry `n` (0-based) is uniformly random in
/// `0 ... min(cap, base * 2^n)`. Full jitter spreads retries of many machines after a NAS outage.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public static let standard = Backoff(base: .seconds(1), cap: .seconds(30))

    public init(base: Duration, cap: Duration) {
        precondition(base > .zero && cap >= base, "backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
    }

    /// The upper bound of the delay before retry `attempt`.
    public func ceiling(attempt: Int) -> Duration {
        var ceiling = base
        for _ in 0..<max(0, attempt) {
            ceiling = ceiling * 2
            if ceiling >= cap { return cap }
        }
        return min(ceiling, cap)
    }

    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(attempt: attempt)
        let nanoseconds = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
    }
}

