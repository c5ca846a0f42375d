#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Time as the retry loop sees it, so unit tests run without sleeping.
public protocol RetryClock: Sendable {
    var now: ContinuousClock.Instant { get }
    func sleep(for duration: Duration)
}

public struct SystemRetryClock: RetryClock {
    public init() {}
    public var now: ContinuousClock.Instant { .now }
    public func sleep(for duration: Duration) {
        var remaining = Deadline.after(duration)
        while !remaining.hasPassed {
            let left = remaining.remaining
            var request = timespec(tv_sec: Int(left.components.seconds), tv_nsec: Int(left.components.attoseconds / 1_000_000_000))
            _ = nanosleep(&request, nil)
            remaining = Deadline(remaining.instant)
        }
    }
}
