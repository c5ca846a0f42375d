#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// The calling thread's `errno`, for C libraries that report failures through it (libsmbclient).
package enum LastErrno {
    package static func clear() { errno = 0 }

    /// What the failed call left in `errno`, or `fallback` when it left nothing.
    package static func read(or fallback: Errno) -> Errno {
        errno == 0 ? fallback : Errno(rawValue: errno)
    }
}
