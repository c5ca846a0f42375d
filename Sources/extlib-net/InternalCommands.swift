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

/// `extlib-net __tree-snapshot ...`: lists a share's files with their exact modification times for a
/// placeholder, in a child the caller can abandon when the server hangs.
struct TreeSnapshotChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: TreeSnapshot.command, shouldDisplay: false)

    @Option var folder: String
    @Option var output: String
    @Option var below: String = ""
    @Option var limit: Int

    func run() throws {
        let status = TreeSnapshot.runChild(folder: folder, output: output, below: below, limit: limit)
        if status != 0 { throw ExitCode(status) }
    }
}

/// `KernelMount.attachReadOnlyBindInChild`'s child: attaches a placeholder, exits with the errno.
struct AttachReadOnlyChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: KernelMount.attachCommand, shouldDisplay: false)

    @Option var source: String
    @Option var target: String
    /// The trusted root: no link is followed below it ("" is "/").
    @Option var below: String = ""

    func run() throws {
        let status = KernelMount.runAttachChild(source: source, target: target, below: below)
        if status != 0 { throw ExitCode(status) }
    }
}
