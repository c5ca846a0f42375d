import Core

/// A command's outcome that is not success, when its messages were already written (a batch where some
/// shares failed, a doctor that found a failure). An empty `message` prints nothing. Only commands throw
/// it: it lives in the executable, so a library cannot name a command's outcome.
struct CommandFailure: ReportableError, Equatable {
    let exitStatus: ExitStatus
    let message: String

    init(_ exitStatus: ExitStatus, _ message: String = "") {
        self.exitStatus = exitStatus
        self.message = message
    }

    var description: String { message }
}
