import Dispatch
import Synchronization

/// Runs a call that cannot be cancelled (libsmbclient, getaddrinfo) on a queue of its own, so the
/// caller can stop waiting at a deadline even when the call never returns.
///
/// A call that misses its deadline is abandoned, not killed: the command reports it and exits.
public final class BlockingCall<Value: Sendable>: Sendable {
    private final class Slot: Sendable {
        let value = Mutex<Value?>(nil)
    }

    private let result = Slot()
    private let done = DispatchSemaphore(value: 0)

    public init(on queue: DispatchQueue, _ work: @escaping @Sendable () -> Value) {
        queue.async { [result, done] in
            let value = work()
            result.value.withLock { $0 = value }
            done.signal()
        }
    }

    /// The value, or `nil` when the call has not finished by `deadline`.
    public func wait(until deadline: Deadline) -> Value? {
        if let value = result.value.withLock({ $0 }) { return value }
        let left = deadline.remaining
        let nanos = left.components.seconds * 1_000_000_000 + left.components.attoseconds / 1_000_000_000
        guard done.wait(timeout: .now() + .nanoseconds(Int(nanos))) == .success else { return nil }
        done.signal()  // let later waits through too
        return result.value.withLock { $0 }
    }
}
