import ArgumentParser
import ExtlibNet
import Logging

#if canImport(Glibc)
import Glibc
#endif

struct ExtlibNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extlib-net",
        abstract: "Mount NAS shares as Immich Distribution external libraries.",
        discussion: """
            Finds the SMB shares and NFS exports of a NAS, keeps SMB accounts in a root-only file, and \
            mounts shares under /root/snap/immich-distribution/common or \
            /var/snap/immich-distribution/common, where the Immich snap can read them.

            Usage errors exit with status 1.
            """,
        subcommands: [Discover.self, CredentialsCommand.self, Add.self, List.self, Remove.self, Mount.self, Unmount.self, Status.self]
    )

    /// Runs the command line, mapping usage errors to exit status 1 as mount(8) does.
    static func mainWithMountExitCodes() -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            Glibc.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                StandardStream.error.write(fullMessage(for: error) + "\n")
                Glibc.exit(DiscoveryStatus.usage.rawValue)
            }
            self.exit(withError: error)
        }
    }
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
        _ = try systemRoot()
    }

    func systemRoot() throws -> SystemRoot {
        let path = root ?? getenv(SystemRoot.environmentVariable).map { String(cString: $0) }
        guard let path else { return .real }
        do {
            return try SystemRoot(path)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Only the executable configures logging; the library just takes a `Logger`.
    func makeLogger() -> Logger {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "extlib-net")
        logger.logLevel = debug ? .debug : verbose ? .info : .warning
        return logger
    }
}
