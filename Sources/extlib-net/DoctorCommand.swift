import ArgumentParser
import Core
import System
import Formats
import Credentials
import Mounting
import Health
import Immich

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that Immich can really read the mounted shares, and say how to fix what is wrong.",
        discussion: """
            Checks: the Immich Distribution snap is installed and its services are known; each mount is under \
            the sandbox and not in Immich's media folder (upload/); it is mounted and answers statfs; it is \
            visible inside the snap's mount namespace (/run/snapd/ns/immich-distribution.mnt, entered by a \
            child process); a sample of files can be read the way Immich reads them (a child without \
            CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH); under /root/snap files appear owned by root (snapd's \
            AppArmor rules there are owner-qualified). Without the snap, the other checks still run. With a \
            stored Immich connection (extlib-net immich login): the API answers the key, every definition is \
            linked to a library, the scan guard is on and folder watching is off.

            Exits 0 when every check passed (warnings and notes may be printed), 9 when at least one failed.

            \(ExitStatus.helpText)
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Mount names to check (default: all).", transform: MountName.argument)
    var names: [MountName] = []

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: ArgumentHelp("The snap's mount namespace file (default: /run/snapd/ns/immich-distribution.mnt under --root).", valueName: "file"))
    var namespace: String?

    func validate() throws {
    }

    func run() throws {
        let service = try makeService(global)
        let definitions = try service.definitions(named: names, all: names.isEmpty)
        let findings = ImmichService(mounts: service, logger: service.mounter.logger).allDoctorFindings(definitions, namespace: namespace)
        if json {
            StandardStream.output.write(Rendering.json(DoctorReport(findings)) + "\n")
        } else {
            for line in findings.flatMap(DoctorPresentation.lines) { StandardStream.output.write(line + "\n") }
        }
        if findings.contains(where: { $0.verdict == .fail }) { throw CommandFailure(.checkFailed) }
    }
}
