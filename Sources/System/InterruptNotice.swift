import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Setup's Ctrl-C: the first SIGINT only marks a flag (the flow stops at the next question or after the
/// bounded step under way) and, unless a question is being asked, prints a note; a second one puts the
/// terminal back and ends the process by SIGINT. The signal may land on any thread, so questions wait for
/// input in slices and look at `wasInterrupted`.
public enum InterruptNotice {
    private static let flag = Atomic<Bool>(false)
    private static let asking = Atomic<Bool>(false)
    private static let note: [UInt8] = Array("\n^C: stopping once this step is over (it is bounded); Ctrl-C again quits at once\n".utf8)

    public static var wasInterrupted: Bool { flag.load(ordering: .relaxed) }

    /// Installs the handler (replacing ProcessHardening's for SIGINT).
    public static func install() {
        _ = note.count
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            if InterruptNotice.flag.exchange(true, ordering: .relaxed) {
                ProcessHardening.restoreTerminal()
                signal(SIGINT, SIG_DFL)
                raise(SIGINT)
                return
            }
            if !InterruptNotice.asking.load(ordering: .relaxed) {
                InterruptNotice.note.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
            }
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = Int32(SA_RESTART)
        sigaction(SIGINT, &action, nil)
    }

    /// While `body` asks a question the note is not printed: the question's own interruption says it.
    public static func asking<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        asking.store(true, ordering: .relaxed)
        defer { asking.store(false, ordering: .relaxed) }
        return try body()
    }
}

/// Whether standard input and output are both a terminal.
public enum TerminalCheck {
    public static var isInteractive: Bool { isatty(0) == 1 && isatty(1) == 1 }
}

/// Ends the process once everything is written, without exit(3)'s clean-up: that takes the dynamic
/// loader's lock (to run library destructors), which a libsmbclient dlopen still under way on its queue
/// holds until it has loaded some 110 libraries. Measured in the VM: the answer printed at the
/// deadline, and the process then waited 8 s for the loader. Nothing of ours needs an atexit handler.
public func finishProcess(_ status: Int32) -> Never {
    fflush(nil)
    _exit(status)
}
