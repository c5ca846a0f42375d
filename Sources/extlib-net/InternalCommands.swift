import ArgumentParser
import System
import Health

/// `extlib-net __immich-view ...`: the doctor's child. Enters the snap's mount namespace and drops
/// CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH, which must never happen in the tool's own process.
struct ImmichViewChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: ImmichView.command, shouldDisplay: false)

    @Option var namespace: String?
    @Option var mountPoint: String?
    @Option var sample: String?
    @Option var limit = 20

    func run() throws {
        var request = ImmichView.Request(namespace: namespace, mountPoint: mountPoint, sample: sample)
        request.limit = limit
        let status = ImmichView.runChild(request) { StandardStream.output.write($0) }
        if status != 0 { throw ExitCode(status) }
    }
}
