import ArgumentParser
import Synchronization

import Core
import System
import Formats
import Immich
import Setup

struct SetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Set up a NAS share for Immich, guided, on a terminal.",
        discussion: """
            Discovers HOST (without HOST: lists the NASes on the LAN, as discover does, to pick one) and offers its shares and exports, numbered; pick one or more. A share that needs \
            an account gets its user name and password asked (no echo), checked on the share, and stored as a \
            credential. Then each gets a mount definition (the suggested name can be changed), is mounted, and \
            setup offers boot enable with the heal timer and, when Immich answers on this machine, immich login \
            --from-snap, immich link and the scan guard. It ends with doctor's verdict and the import path to \
            give Immich. Every step first shows the plain command that does the same.

            Every answer is checked as the plain command checks it, and asked again with the reason. q or \
            Ctrl-D quits, Ctrl-C interrupts (exit 8); nothing is written for the step under way, and what \
            earlier steps wrote stays (listed). A mount that fails keeps its definition: setup says why and \
            how to retry (extlib-net mount NAME). Without a terminal on standard input and output, setup \
            refuses (exit 1) and names the plain commands. Exits 0 when everything worked, otherwise the \
            status of the first step that failed (9 when only doctor found a failure).

            \(ExitStatus.helpText)
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The NAS: a name (nas.local) or an IP address. Without it: pick one of the NASes on the LAN.", valueName: "host"))
    var host: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Each discovery and account check must finish within this many seconds (0.1 to 120; default 10).", valueName: "seconds"))
    var timeout: Double = 10

    @Option(name: .customLong("smb-port"), parsing: .unconditional, help: ArgumentHelp("Use this SMB port instead of 445 then 139.", valueName: "n"))
    var smbPort: Int?

    @OptionGroup var wait: RetryWait

    @Option(name: .customLong("immich-url"), help: ArgumentHelp("Where Immich answers (default \(ImmichConnection.defaultURL)).", valueName: "url"))
    var immichURL: String = ImmichConnection.defaultURL

    func validate() throws {
        if let host {
            do { _ = try HostName.parse(host) } catch { throw ValidationError(error.description) }
        }
        try NetworkOptionChecks.validate(timeout: timeout, smbPort: smbPort)
        do { _ = try ImmichURL.parse(immichURL) } catch { throw ValidationError("--immich-url: \(error.description)") }
    }

    func run() throws {
        guard TerminalCheck.isInteractive else {
            throw CommandFailure(.usage, """
                setup asks questions, so it needs a terminal on standard input and output; without one, use the \
                plain commands: \(SetupFlow.plainCommands.joined(separator: ", "))
                """)
        }
        var system = LiveSetupSystem(root: try global.systemRoot(), logger: global.makeLogger())
        system.discoveryTimeout = .milliseconds(Int64(timeout * 1000))
        system.checkTimeout = .milliseconds(Int64(timeout * 1000))
        system.smbPort = smbPort.map { UInt16($0) }
        system.mountWait = wait.duration
        system.immichURL = immichURL

        var configuration = SetupFlow.Configuration(host: try host.map { try HostName.parse($0) })
        configuration.globalArguments = global.root.map { ["--root", $0] } ?? []
        configuration.smbPort = system.smbPort
        configuration.browseTimeout = .milliseconds(Int64(timeout * 1000))
        if immichURL != ImmichConnection.defaultURL { configuration.immichArguments = ["--url", immichURL] }

        let browser = LANHostBrowser(root: system.root, logger: system.logger)

        let terminal = TerminalInteraction()
        terminal.catchInterrupts()
        let outcome = SetupFlow(configuration, interaction: terminal, system: system, browser: browser).run()
        if outcome.status != .success { throw CommandFailure(outcome.status, outcome.message) }
    }
}

/// `SetupInteraction` on the real terminal: questions on standard output, answers from standard input.
final class TerminalInteraction: SetupInteraction {
    /// Longer answers are cut here; the flow refuses them as too long.
    static let readLimit = 4097

    var interrupted: Bool { InterruptNotice.wasInterrupted }

    /// See `InterruptNotice`: the first Ctrl-C stops at the next question, the second at once.
    func catchInterrupts() { InterruptNotice.install() }

    func say(_ line: String) { StandardStream.output.write(line + "\n") }

    func ask(_ prompt: String) throws -> [UInt8] {
        StandardStream.output.write(prompt)
        switch InterruptNotice.asking({ LineInput.read(limit: Self.readLimit, stopWhen: { InterruptNotice.wasInterrupted }) }) {
        case .line(let bytes): return bytes
        case .interrupted:
            StandardStream.output.write("\n")
            throw SetupStop.interrupted
        case .endOfInput:
            StandardStream.output.write("\n")
            throw SetupStop.endOfInput
        }
    }

    func secret(_ prompt: String) throws -> Result<Secret, PasswordInput.Failure> {
        let result = InterruptNotice.asking {
            Result { () throws(PasswordInput.Failure) in try PasswordInput.prompt(prompt, stopOnSignal: { InterruptNotice.wasInterrupted }) }
        }
        switch result {
        case .failure(.interrupted): throw SetupStop.interrupted
        case .failure(.endOfInput): throw SetupStop.endOfInput
        default: return result
        }
    }

    func working<T>(_ body: () throws -> T) throws -> T { try body() }
}
