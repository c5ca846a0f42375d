import CLinux
import Core

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Done once, first thing in `main`, for every command: passwords and API keys pass through many of them
/// (credentials add, discover --user, mount, setup, immich), so none may leave them in a core dump, and
/// none may leave the terminal without echo when it is stopped at a prompt.
public enum ProcessHardening {
    /// Not dumpable (`PR_SET_DUMPABLE` 0: no core even through a piped core_pattern such as apport, which
    /// `RLIMIT_CORE` alone does not stop), core size 0 as well, and SIGINT, SIGTERM and SIGHUP put back a
    /// terminal a password prompt changed before they end the process: Ctrl-C exits 8 (interrupted), as
    /// setup does; SIGTERM and SIGHUP end it by that signal, as before. The handler is C (CLinux), so it
    /// runs nothing of Swift's runtime.
    public static func apply() {
        _ = extlib_net_set_not_dumpable()
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &none)
        extlib_net_install_signal_handlers(ExitStatus.interrupted.rawValue)
    }

    /// For a signal handler of its own (setup's): the terminal back as the prompt found it, if a prompt
    /// changed it. Async-signal-safe.
    public static func restoreTerminal() {
        extlib_net_restore_terminal()
    }
}
