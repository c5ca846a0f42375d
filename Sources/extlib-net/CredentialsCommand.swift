import ArgumentParser
import Core
import System
import Formats
import Credentials

struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials",
        abstract: "Keep SMB accounts in the root-only file /etc/extlib-net/credentials.",
        discussion: """
            The file is owned by root with mode 0600 in a 0700 directory; it is written atomically and \
            refused when anyone else could read it. Its format is documented in credentials.example.

            \(ExitStatus.helpText)
            """,
        subcommands: [Add.self, List.self, Remove.self, Check.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store an SMB account under NAME.",
            discussion: "The password is prompted for without echo, or read from standard input with --password-stdin; never from an argument.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The credential's name, used by --credentials (letters, digits, '.', '_', '-').", transform: CredentialName.argument)
        var name: CredentialName

        @Option(help: ArgumentHelp("The SMB user name.", valueName: "user"))
        var user: String

        @Option(help: ArgumentHelp("The SMB domain or workgroup.", valueName: "domain"))
        var domain: String?

        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input (one line).")
        var passwordStdin = false

        @Flag(help: "Replace an existing credential of the same name.")
        var force = false

        func validate() throws {
            // Check the fields before asking for a password the user would then type in vain.
            do {
                _ = try Credential(name: name.text, username: user, password: Secret("x"), domain: domain)
                try MountText.check(user, as: .username)
                if let domain { try MountText.check(domain, as: .domain) }
            } catch {
                throw ValidationError("\(error)")
            }
        }

        func run() throws {
            let root = try global.systemRoot()
            let logger = global.makeLogger()
            let password = passwordStdin ? try PasswordInput.fromStandardInput() : try PasswordInput.prompt("Password for \(user): ")
            let credential = try Credential(name: name.text, username: user, password: password, domain: domain)
            let store = CredentialStore(root: root, logger: logger)
            try store.add(credential, replacing: force)
            StandardStream.output.write("stored '\(name)' (user \(user)) in \(store.path)\n")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List stored credentials: names, users, domains; never passwords.")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print a JSON array.")
        var json = false

        func run() throws {
            let store = CredentialStore(root: try global.systemRoot(), logger: global.makeLogger())
            let document = try store.load()
            if json {
                StandardStream.output.write(Rendering.json(document.credentials.map(CredentialListing.init)) + "\n")
                return
            }
            guard !document.credentials.isEmpty else {
                StandardStream.output.write("no credentials stored in \(store.path); add one with: extlib-net credentials add NAME --user USER\n")
                return
            }
            let rows = document.credentials.map { [$0.name, $0.username, $0.domain ?? "-"] }
            StandardStream.output.write(TextTable.render(header: ["NAME", "USER", "DOMAIN"], rows: rows, indent: "").joined(separator: "\n") + "\n")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the credential NAME.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The credential's name.", transform: CredentialName.argument)
        var name: CredentialName

        func run() throws {
            let store = CredentialStore(root: try global.systemRoot(), logger: global.makeLogger())
            try store.remove(named: name.text)
            StandardStream.output.write("removed '\(name)' from \(store.path)\n")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log in to HOST with the stored account NAME and, given HOST/SHARE, open the share.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The credential's name.", transform: CredentialName.argument)
        var name: CredentialName

        @Argument(help: ArgumentHelp("The NAS, optionally with a share: nas.local or nas.local/photos.", valueName: "host[/share]"))
        var target: String

        @Option(parsing: .unconditional, help: ArgumentHelp("Finish within this many seconds (0.1 to 120).", valueName: "seconds"))
        var timeout: Double = 5

        @Option(name: .customLong("smb-port"), parsing: .unconditional, help: ArgumentHelp("Use this SMB port instead of 445 then 139.", valueName: "n"))
        var smbPort: Int?

        @Flag(name: .customLong("smb1"), help: "Also offer SMB1 (NT1), for an old NAS that speaks nothing newer.")
        var smb1 = false

        func parsedTarget() throws -> (HostName, String?) {
            let parts = target.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            let share = parts.count > 1 ? String(parts[1]) : nil
            if let share, share.isEmpty || share.contains("/") {
                throw ValidationError("'\(target)' is not HOST or HOST/SHARE; give a share name without slashes, e.g. nas.local/photos")
            }
            do {
                return (try HostName.parse(String(parts[0])), share)
            } catch {
                throw ValidationError(error.description)
            }
        }

        func validate() throws {
            _ = try parsedTarget()
            try NetworkOptionChecks.validate(timeout: timeout, smbPort: smbPort)
        }

        func run() throws {
            let root = try global.systemRoot()
            let logger = global.makeLogger()
            let (host, share) = try parsedTarget()
            let store = CredentialStore(root: root, logger: logger)
            let credential = try store.credential(named: name.text)
            do {
                let outcome = try CredentialCheck(root: root, logger: logger).run(
                    account: credential.account, host: host, share: share, smbPort: smbPort.map { UInt16($0) }, timeout: .milliseconds(Int64(timeout * 1000)),
                    allowSMB1: smb1)
                var message = "'\(name)' works: user \(credential.username) logged in to \(host) (\(outcome.resolved.preferredAddress), port \(outcome.port)) and listed \(outcome.shareCount) disk share\(outcome.shareCount == 1 ? "" : "s")"
                if let share, case .success(let entries)? = outcome.shareResult {
                    message += "; share '\(share)' opened, \(entries) entr\(entries == 1 ? "y" : "ies") at its top"
                }
                StandardStream.output.write(message + "\n")
            } catch {
                throw CommandFailure(error.exitStatus, "'\(name)' (user \(credential.username)) on \(host): \(error)")
            }
        }
    }
}
