#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Calls `call` again while it fails with EINTR (a signal arrived), and returns its first other result:
/// the one place that rule is written for the raw calls swift-system does not wrap (poll, waitpid, flock,
/// recv/send, a terminal read). `call` follows the C convention: negative (-1) with `errno` set on failure.
/// A call with a timeout computes it inside `call`, so a retry waits only for what is left. Not for a
/// forked child before exec, which must not run Swift code that might allocate.
@inline(__always)
package func retryingInterrupted<Result: BinaryInteger>(_ call: () -> Result) -> Result {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}
