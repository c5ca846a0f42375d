import ArgumentParser
import ExtlibNet

/// `extlib-net __statfs PATH`: the child HealthChecker runs, so a statfs stuck on a dead server blocks
/// a process that can be abandoned, never the tool. Exits 0, or with statfs's errno.
struct StatfsChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: HealthChecker.statfsCommand, shouldDisplay: false)

    @Argument var path: String

    func run() throws {
        let status = HealthChecker.statfsStatus(path)
        if status != 0 { throw ExitCode(status) }
    }
}
