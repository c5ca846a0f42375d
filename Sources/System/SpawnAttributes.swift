import CLinux
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Spawns children with a clean signal state (it owns the `posix_spawnattr_t` for that).
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

    /// `posix_spawn` with these attributes: argv is `executable` then `arguments`; `environment`
    /// ("NAME=value" each) is the child's whole environment. The child keeps descriptors 0 up to
    /// `closingFrom` - 1 and closes the rest: a descriptor another thread opened without
    /// close-on-exec (a script being written, say) never leaks into it.
    public func spawn(_ executable: String, _ arguments: [String], environment: [String], closingFrom: Int32 = 3,
                      actions: inout posix_spawn_file_actions_t) -> Result<pid_t, Errno> {
        extlib_net_spawn_close_from(&actions, closingFrom)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        return code == 0 ? .success(pid) : .failure(Errno(rawValue: code))
    }
}
