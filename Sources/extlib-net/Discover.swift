import ArgumentParser
import Core
import System
import Formats
import Discovery
import Credentials

struct Discover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the NASes on the local network, or the SMB shares and NFS exports of one.",
        discussion: """
            Without HOST: listens for the NASes on the local network that announce themselves, never \
            scanning. It browses multicast DNS for _smb._tcp, _nfs._tcp (whose TXT path= names an export) \
            and _device-info._tcp (model=), and sends a WS-Discovery probe (answered by Windows-style \
            hosts running wsdd or wsdd2, whose metadata names the computer and its workgroup). It prints \
            one line per host, then the `extlib-net discover NAME` line to list each one's shares. \
            This machine itself and hosts that announce no SMB or NFS service are left out. Finishes \
            within --timeout; exits 0 when a NAS was found, 7 when none announced itself. \
            --user, --credentials, --domain, --password-stdin, --all, --smb-port and --smb1 need HOST.

            With HOST: resolves HOST (.local names through avahi-daemon or a multicast DNS query of our own), \
            probes SMB (445, then 139) and NFS (2049, portmapper 111) in parallel, lists SMB shares \
            (guest first, then the given account) and NFS exports with their allowed clients, and \
            prints the `extlib-net add` line for each. The whole command finishes within --timeout, \
            also when the NAS accepts connections but never answers.

            Exits 0 when shares or exports were found (or an NFSv4-only server answered), 3 when HOST does \
            not resolve, 4 when nothing answered, 5 when an account is needed or was rejected, 6 when the \
            server answered but nothing could be listed.

            \(ExitStatus.helpText)
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The NAS: a name (nas.local, nas.example.lan) or an IP address. Without it: find the NASes on the local network.", valueName: "host"))
    var host: String?

    // Unconditional, so "--timeout -1" reaches validate() and gets its real message.
    @Option(parsing: .unconditional, help: ArgumentHelp("Finish within this many seconds (0.1 to 120).", valueName: "seconds"))
    var timeout: Double = 3

    @Flag(help: "Also list hidden ($) shares, IPC and printers.")
    var all = false

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @Option(name: .customLong("smb-port"), parsing: .unconditional, help: ArgumentHelp("Probe only this SMB port instead of 445 then 139.", valueName: "n"))
    var smbPort: Int?

    @Flag(name: .customLong("smb1"), help: "Also offer SMB1 (NT1), an old and insecure protocol: only for a NAS that speaks nothing newer.")
    var smb1 = false

    @Option(help: ArgumentHelp("List SMB shares as this user when guest access is refused; the password is prompted for without echo.", valueName: "name"))
    var user: String?

    @Option(help: ArgumentHelp("List SMB shares with the stored account NAME (see extlib-net credentials).", valueName: "name"), transform: CredentialName.argument)
    var credentials: CredentialName?

    @Option(help: ArgumentHelp("The SMB domain or workgroup of --user.", valueName: "domain"))
    var domain: String?

    @Flag(name: .customLong("password-stdin"), help: "Read the password of --user from standard input instead of a prompt.")
    var passwordStdin = false

    func validate() throws {
        guard let host else {
            try NetworkOptionChecks.validate(timeout: timeout, smbPort: nil)
            let needHost = [
                ("--user", user != nil), ("--credentials", credentials != nil), ("--domain", domain != nil),
                ("--password-stdin", passwordStdin), ("--all", all), ("--smb-port", smbPort != nil), ("--smb1", smb1),
            ].filter(\.1).map(\.0)
            if !needHost.isEmpty {
                throw ValidationError(
                    "\(needHost.joined(separator: ", ")) \(needHost.count == 1 ? "needs" : "need") a HOST: \(needHost.count == 1 ? "it applies" : "they apply") "
                        + "to listing one NAS's shares. Find the NASes with plain `extlib-net discover`, then run "
                        + "`extlib-net discover HOST` with \(needHost.count == 1 ? "it" : "them")")
            }
            return
        }
        do {
            _ = try HostName.parse(host)
        } catch {
            throw ValidationError(error.description)
        }
        try NetworkOptionChecks.validate(timeout: timeout, smbPort: smbPort)
        if user != nil, credentials != nil { throw ValidationError("give either --user or --credentials, not both") }
        do throws(CredentialFieldError) {
            if let user { try Credential.check(username: user) }
            if let domain { try Credential.check(domain: domain) }
        } catch {
            throw ValidationError(error.description)
        }
        if user == nil {
            if passwordStdin { throw ValidationError("--password-stdin needs --user NAME") }
            if domain != nil { throw ValidationError("--domain needs --user NAME") }
        }
    }

    private var accountHint: DiscoveryPresentation.AccountHint {
        if let credentials { return .stored(credentials.text) }
        if let user { return .user(user) }
        return .none
    }

    func run() throws {
        let root = try global.systemRoot()
        let logger = global.makeLogger()
        guard let host else {
            let hosts = LANDiscovery(root: root, logger: logger).browse(timeout: .milliseconds(Int64(timeout * 1000)))
            if json {
                StandardStream.output.write(Rendering.json(LANDiscoveryReport(hosts: hosts)) + "\n")
            } else {
                StandardStream.output.write(LANDiscoveryPresentation.text(hosts, seconds: timeout))
            }
            if hosts.isEmpty { throw CommandFailure(.noneFound) }
            return
        }
        var account: SMBAccount?
        if let user {
            let password = passwordStdin ? try PasswordInput.fromStandardInput() : try PasswordInput.prompt("Password for \(user): ")
            account = SMBAccount(user: user, domain: domain, password: password)
        } else if let credentials {
            account = try CredentialStore(root: root, logger: logger).credential(named: credentials.text).account
        }
        let options = DiscoveryOptions(
            host: try HostName.parse(host), timeout: .milliseconds(Int64(timeout * 1000)),
            smbPort: smbPort.map { UInt16($0) }, account: account, includeAll: all, allowSMB1: smb1)

        let report: DiscoveryReport
        do {
            report = try Discovery(root: root, logger: logger).run(options)
        } catch {
            if json { StandardStream.output.write(Rendering.json(UnresolvedDiscovery(host: host, error: error)) + "\n") }
            throw error
        }
        if json {
            StandardStream.output.write(Rendering.json(report) + "\n")
        } else {
            StandardStream.output.write(DiscoveryPresentation.text(report, account: accountHint))
        }
        if report.exitStatus != .success { throw CommandFailure(report.exitStatus) }
    }
}

/// The checks `discover` and `credentials check` share for their network options.
enum NetworkOptionChecks {
    static let timeoutRange = 0.1...120.0

    static func validate(timeout: Double, smbPort: Int?) throws {
        guard timeout.isFinite, timeoutRange.contains(timeout) else {
            throw ValidationError("--timeout must be between 0.1 and 120 seconds, not \(timeout)")
        }
        if let smbPort, !(1...65535).contains(smbPort) {
            throw ValidationError("--smb-port must be between 1 and 65535, not \(smbPort)")
        }
    }
}
