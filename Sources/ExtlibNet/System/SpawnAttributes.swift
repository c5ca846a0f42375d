#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Owns one `posix_spawnattr_t` that gives a child a clean signal state.
///
/// Threads of a dispatch pool block most signals, and a spawned child inherits its spawner's mask:
/// a mount helper started from a worker thread would then ignore SIGTERM (from systemd stopping the
/// unit, or a user's kill). Every child we start gets no blocked signals and default handlers.
public final class SpawnAttributes {
    private var attributes = posix_spawnattr_t()

    /// `newProcessGroup`: the child leads a process group of its own, so the whole group (with any
    /// grandchildren holding our pipes) can be killed at once.
    public init(newProcessGroup: Bool = false) {
        posix_spawnattr_init(&attributes)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        // SIGKILL and SIGSTOP have no disposition to reset, and some libcs refuse them here.
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
    }

    deinit { posix_spawnattr_destroy(&attributes) }

    /// Calls `body` with the attributes, for `posix_spawn`.
    public func withUnsafePointer<Result>(_ body: (UnsafePointer<posix_spawnattr_t>) throws -> Result) rethrows -> Result {
        try Swift.withUnsafePointer(to: &attributes, body)
    }
}
