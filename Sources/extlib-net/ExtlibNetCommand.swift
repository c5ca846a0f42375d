import ArgumentParser
import Logging

import Core
import System
import Discovery

struct ExtlibNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extlib-net",
        abstract: "Mount NAS shares as Immich Distribution external libraries.",
        discussion: """
            Finds the SMB shares and NFS exports of a NAS, keeps SMB accounts in a root-only file, and \
            mounts shares under /root/snap/immich-distribution/common or \
            /var/snap/immich-distribution/common, where the Immich snap can read them.

            \(ExitStatus.helpText)
            """,
        version: ExtlibNetVersion.current,
        subcommands: [SetupCommand.self, Discover.self, CredentialsCommand.self, Add.self, List.self, Remove.self, Mount.self, Unmount.self, Status.self, Heal.self,
                      BootCommand.self, DoctorCommand.self, ImmichCommand.self, ImmichViewChild.self, TreeSnapshotChild.self, AttachReadOnlyChild.self]
    )

    /// Runs the command line. The one place where an error becomes its message and exit status
    /// (ExitStatus): library errors say what is wrong and what to do, usage errors exit 1 as in mount(8).
    static func runAndExit() -> Never {
        // Every command: no core dumps, and a signal puts the terminal back before it ends the process.
        ProcessHardening.apply()
        // swift-log allows this once per process; commands only set the level.
        LoggingSystem.bootstrap { EscapingLogHandler.standardError(label: $0) }
        let arguments = globalOptionsAfterSubcommand(Array(CommandLine.arguments.dropFirst()))
        if listsShares(arguments) { Discovery.prepare() }
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exitForParser(error)
        }
        do {
            try command.run()
            finish(ExitStatus.success.rawValue)
        } catch let error as any ReportableError {
            let message = error.description
            if !message.isEmpty { StandardStream.error.write("extlib-net: \(message)\n") }
            finish(error.exitStatus.rawValue)
        } catch {
            // argument-parser's own (help asked for by a command's default run, a ValidationError thrown in
            // run, ExitCode): as the parser would. Anything else is not one of ours: the same fallback as
            // everywhere (ExitStatus.of), with its text escaped.
            if error is ValidationError || error is ExitCode || error is CleanExit || exitCode(for: error) != .failure {
                exitForParser(error)
            }
            StandardStream.error.write("extlib-net: \(Terminal.printable(String(describing: error)))\n")
            finish(ExitStatus.of(error).rawValue)
        }
    }

    /// argument-parser's own exits (help, version, completion scripts, a refused argument): printed as it
    /// would, with our usage status for a refusal.
    static func exitForParser(_ error: any Error) -> Never {
        let code = exitCode(for: error)
        if code == .validationFailure {
            // The parser quotes the refused argument as typed: escaped like any other text from outside.
            let lines = fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false)
            StandardStream.error.write(lines.map { Terminal.printable(String($0)) }.joined(separator: "\n") + "\n")
            finish(ExitStatus.usage.rawValue)
        }
        // --help, --version, completion scripts and argument-parser's other exits: printed as it
        // would (success to standard output), but ended with finish, not exit(3), which would wait
        // for the loader's lock behind the early libsmbclient load of `discover --help`.
        let message = fullMessage(for: error)
        if !message.isEmpty { (code == .success ? StandardStream.output : StandardStream.error).write(message + "\n") }
        finish(code.rawValue)
    }
}

/// Commands that list shares through libsmbclient: they start loading it before the parser runs
/// (benchmarks/discover: the load began 20 ms after exec when `Discovery.run` started it).
func listsShares(_ arguments: [String]) -> Bool {
    switch arguments.first {
    case "discover", "setup": true
    case "credentials": arguments.dropFirst().first == "check"
    default: false
    }
}

/// See `finishProcess`: no exit(3) clean-up, which can wait on the loader's lock.
func finish(_ status: Int32) -> Never { finishProcess(status) }

/// `extlib-net --root DIR mount x` (like `systemctl --root DIR ...`) means `extlib-net mount --root DIR x`:
/// global options typed before the subcommand move behind it, where the parser expects them.
func globalOptionsAfterSubcommand(_ arguments: [String]) -> [String] {
    var leading: [String] = []
    var rest = arguments[...]
    while let first = rest.first {
        if first == "--root", rest.count >= 2 {
            leading += rest.prefix(2)
            rest = rest.dropFirst(2)
        } else if first.hasPrefix("--root=") || first == "--verbose" || first == "--debug" {
            leading.append(first)
            rest = rest.dropFirst()
        } else {
            break
        }
    }
    guard !leading.isEmpty, let subcommand = rest.first else { return arguments }
    var path = [subcommand]
    rest = rest.dropFirst()
    let verbs = [
        "credentials": ["add", "list", "remove", "check"], "boot": ["enable", "disable", "status"],
        "immich": ["login", "logout", "link", "unlink", "status", "guard", "scan", "recover"], "guard": ["enable", "disable", "status"],
    ]
    while let known = verbs[path.last!], let verb = rest.first, known.contains(verb) {
        path.append(verb)
        rest = rest.dropFirst()
    }
    return path + leading + Array(rest)
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Prefix every system path with DIR, like systemctl --root (default: $\(SystemRoot.environmentVariable) or /).",
            valueName: "DIR"))
    var root: String?

    @Flag(name: .long, help: "Log what the tool does, on standard error.")
    var verbose = false

    @Flag(name: .long, help: "Log debugging details, on standard error (never passwords).")
    var debug = false

    func validate() throws {
        do {
            _ = try systemRoot()
        } catch {
            throw ValidationError(error.description)
        }
    }

    func systemRoot() throws(SystemRootError) -> SystemRoot {
        let path = root ?? SystemRoot.fromEnvironment
        guard let path else { return .real }
        return try SystemRoot(path)
    }

    /// Only the executable configures logging (once, in runAndExit); the library just takes a `Logger`.
    func makeLogger() -> Logger {
        var logger = Logger(label: "extlib-net")
        logger.logLevel = debug ? .debug : verbose ? .info : .warning
        return logger
    }
}
