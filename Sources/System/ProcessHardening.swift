import CLinux
import Core
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Done once, first thing in `main`, for every command: passwords and API keys pass through many of them
/// (credentials add, discover --user, mount, setup, immich), so none may leave them in a core dump, and
/// none may leave the terminal without echo when it is stopped at a prompt.
public enum ProcessHardening {
    /// The terminal's settings when the process started, put back by every signal that ends it.
    nonisolated(unsafe) private static var startTerminal = termios()
    private static let haveStartTerminal = Atomic<Bool>(false)

    /// Not dumpable (`PR_SET_DUMPABLE` 0: no core even through a piped core_pattern such as apport, which
    /// `RLIMIT_CORE` alone does not stop), core size 0 as well, and SIGINT, SIGTERM and SIGHUP restore the
    /// terminal before they end the process: Ctrl-C exits 8 (interrupted), as setup does; SIGTERM and
    /// SIGHUP end it by that signal, as before.
    public static func apply() {
        _ = extlib_net_set_not_dumpable()
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &none)
        if isatty(0) == 1, tcgetattr(0, &startTerminal) == 0 { haveStartTerminal.store(true, ordering: .releasing) }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            ProcessHardening.restoreTerminal()
            if signal == SIGINT { _exit(ExitStatus.interrupted.rawValue) }
            Glibc.signal(signal, SIG_DFL)
            raise(signal)
        }
        sigemptyset(&action.sa_mask)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaction(signal, &action, nil) }
    }

    /// The terminal as it was when the process started (echo on). Async-signal-safe: only tcsetattr.
    public static func restoreTerminal() {
        guard haveStartTerminal.load(ordering: .acquiring) else { return }
        _ = tcsetattr(0, TCSANOW, &startTerminal)
    }

    /// Whether `apply` made the process not dumpable (for doctor and the tests).
    public static var isDumpable: Bool { extlib_net_is_dumpable() != 0 }
}
