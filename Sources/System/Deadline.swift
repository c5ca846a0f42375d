/// A point in monotonic time after which a network wait must give up.
///
/// Every call that waits on the network takes one, so a hung NAS can never hang the tool.
public struct Deadline: Sendable, Comparable {
    public let instant: ContinuousClock.Instant

    public init(_ instant: ContinuousClock.Instant) { self.instant = instant }

    public static func after(_ duration: Duration) -> Deadline {
        Deadline(.now + duration)
    }

    public var hasPassed: Bool { ContinuousClock.now >= instant }

    /// Time left, never negative.
    public var remaining: Duration {
        let left = instant - .now
        return left > .zero ? left : .zero
    }

    /// Time left in whole milliseconds rounded up (so a poll never spins at 0 ms before the end),
    /// capped at `cap`.
    public func remainingMilliseconds(cap: Int = Int(Int32.max)) -> Int {
        let left = remaining
        let (seconds, attoseconds) = left.components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(min(Int64(cap), millis))
    }

    /// The earlier of this deadline and one `duration` from now.
    public func capped(after duration: Duration) -> Deadline {
        Swift.min(self, .after(duration))
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.instant < rhs.instant }
}

extension Duration {
    /// Seconds as a floating-point number, for messages and JSON.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    /// Whole nanoseconds, saturating instead of trapping on durations no clock can wait for.
    public var nanoseconds: Int64 {
        let (s, atto) = components
        let (product, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? .min : .max }
        let (sum, overflow2) = product.addingReportingOverflow(atto / 1_000_000_000)
        return overflow2 ? (s < 0 ? .min : .max) : sum
    }
}
