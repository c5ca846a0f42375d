import ArgumentParser
import Core
import System
import Formats
import Credentials
import Mounting

struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Define a share to mount under the Immich Distribution sandbox.",
        discussion: """
            URL is smb://HOST[:PORT]/SHARE[/SUBDIR] or nfs://HOST[:PORT]/EXPORT/PATH, as `extlib-net discover` \
            prints it. SMB shares go to /root/snap/immich-distribution/common/NAME (files appear owned by root, \
            which snapd's owner-qualified AppArmor rules there require); NFS exports to \
            /var/snap/immich-distribution/common/NAME (server-side owners stay readable). --sandbox overrides.

            \(ExitStatus.helpText)
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The mount's name: its folder in the sandbox (letters, digits, '.', '_', '-').", transform: MountName.argument)
    var name: MountName

    @Argument(help: ArgumentHelp("smb://HOST/SHARE[/SUBDIR] or nfs://HOST/EXPORT/PATH", valueName: "url"))
    var url: String

    @Option(help: ArgumentHelp("A stored SMB account (extlib-net credentials); guest when absent.", valueName: "name"), transform: CredentialName.argument)
    var credentials: CredentialName?

    @Flag(help: "Mount read-write (default: read-only).")
    var rw = false

    @Flag(help: "Let programs on the share run (default: noexec; nosuid,nodev always).")
    var exec = false

    @Option(name: .customLong("smb-version"), help: ArgumentHelp("3.1.1, 3.0, 2.1, 2.0 or 1.0 (default: negotiate 3.1.1 down to 2.0).", valueName: "version"),
            transform: oneOf(SMBDialect.self, option: "--smb-version"))
    var smbVersion: SMBDialect?

    @Option(name: .customLong("nfs-version"), help: ArgumentHelp("4.2, 4.1, 4 or 3 (default: try 4.2 down to 3).", valueName: "version"),
            transform: oneOf(NFSVersion.self, option: "--nfs-version"))
    var nfsVersion: NFSVersion?

    @Option(parsing: .unconditional, help: ArgumentHelp("SMB: owner of the files (default 0).", valueName: "uid"))
    var uid: UInt32?

    @Option(parsing: .unconditional, help: ArgumentHelp("SMB: group of the files (default 0).", valueName: "gid"))
    var gid: UInt32?

    @Option(name: .customLong("file-mode"), help: ArgumentHelp("SMB: octal mode of files, e.g. 0644.", valueName: "mode"))
    var fileMode: String?

    @Option(name: .customLong("dir-mode"), help: ArgumentHelp("SMB: octal mode of directories, e.g. 0755.", valueName: "mode"))
    var dirMode: String?

    @Option(help: ArgumentHelp("Expert extras for mount.cifs / mount.nfs, comma-separated key[=value].", valueName: "options"))
    var options: String?

    @Option(help: ArgumentHelp("root (/root/snap/...) or var (/var/snap/...).", valueName: "base"))
    var sandbox: String?

    func definition() throws -> MountDefinition {
        let parsedURL: MountURL
        do {
            parsedURL = try MountURL.parse(url)
        } catch {
            throw ValidationError(error.description)
        }
        var definition = MountDefinition(name: name.text, url: parsedURL)
        definition.credentials = credentials?.text
        definition.readWrite = rw
        definition.exec = exec
        definition.smbVersion = smbVersion
        definition.nfsVersion = nfsVersion
        definition.uid = uid
        definition.gid = gid
        for (flag, text, keyPath) in [("--file-mode", fileMode, \MountDefinition.fileMode), ("--dir-mode", dirMode, \MountDefinition.directoryMode)] {
            guard let text else { continue }
            guard let mode = CIFSOptions.parseMode(text) else { throw ValidationError("\(flag) must be an octal mode such as 0644, not '\(text)'") }
            definition[keyPath: keyPath] = mode
        }
        if let options, !options.isEmpty { definition.options = options.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        if let sandbox {
            guard let base = SandboxBase(rawValue: sandbox) else { throw ValidationError("--sandbox must be root or var, not '\(sandbox)'") }
            definition.sandbox = base
        }
        do {
            try definition.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return definition
    }

    func validate() throws { _ = try definition() }

    func run() throws {
        let service = try makeService(global)
        let definition = try definition()
        let target = try service.add(definition)
        StandardStream.output.write("added '\(name)': \(definition.url) -> \(target)\nmount it with: extlib-net mount \(name)\n")
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List mount definitions and whether each is mounted.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print a JSON array.")
    var json = false

    func run() throws {
        let service = try makeService(global)
        let store = service.store
        let definitions = try service.definitions(named: [], all: true)
        let table = service.mounter.mountTable.current()
        let rows = definitions.map { definition in
            (definition, service.mounter.target(of: definition), service.mounter.state(of: definition, in: table).isMounted)
        }
        if json {
            let listings = rows.map { definition, target, mounted in
                MountListing(definition, target: target, mounted: mounted, placeholder: service.placeholderStatus(definition, in: table))
            }
            StandardStream.output.write(Rendering.json(listings) + "\n")
            return
        }
        guard !rows.isEmpty else {
            StandardStream.output.write("no mounts defined in \(store.path); add one with: extlib-net add NAME URL\n")
            return
        }
        let lines = TextTable.render(
            header: ["NAME", "URL", "TARGET", "MODE", "MOUNTED"],
            rows: rows.map { [$0.0.name, $0.0.url.description, $0.1, $0.0.readWrite ? "rw" : "ro", $0.2 ? "yes" : "no"] }, indent: "")
        StandardStream.output.write(lines.joined(separator: "\n") + "\n")
    }
}

struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove a mount definition (refused while it is mounted).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The mount's name.", transform: MountName.argument)
    var name: MountName

    func run() throws {
        let service = try makeService(global)
        let definition = try service.remove(named: name.text)
        let target = service.mounter.target(of: definition)
        StandardStream.output.write("removed '\(name)'; \(target) was left as it is\n")
    }
}

/// A transform for an option whose values are an enum's raw values: the value, or the list to choose from.
func oneOf<Value: CaseIterable & RawRepresentable & Sendable>(_: Value.Type, option: String) -> @Sendable (String) throws -> Value where Value.RawValue == String {
    { text in
        guard let value = Value(rawValue: text) else {
            throw ValidationError("\(option) must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}
