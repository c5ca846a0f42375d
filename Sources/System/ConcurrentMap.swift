import Dispatch
import Synchronization

/// `body` over `items` on at most `limit` threads at once; results in the order of `items`.
package func concurrentMap<Item: Sendable, Output: Sendable>(_ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) -> Output) -> [Output] {
    let results = Mutex<[Output?]>(Array(repeating: nil, count: items.count))
    let slots = DispatchSemaphore(value: max(1, limit))
    let group = DispatchGroup()
    for (index, item) in items.enumerated() {
        slots.wait()
        group.enter()
        Thread.detach {
            let output = body(item)
            results.withLock { $0[index] = output }
            slots.signal()
            group.leave()
        }
    }
    group.wait()
    return results.withLock { $0.map { $0! } }
}

/// A thread of its own for blocking work (mount helpers, retries that sleep, statfs children): a
/// serial queue of its own gets an overcommit thread, where the width-limited global queue would let
/// a few blocked tasks starve the rest.
package enum Thread {
    package static func detach(_ body: @escaping @Sendable () -> Void) {
        DispatchQueue(label: "extlib-net.worker").async(execute: body)
    }
}
