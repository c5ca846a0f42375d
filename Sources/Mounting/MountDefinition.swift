import Core
import Formats
import Credentials
/// NFS versions `--nfs-version` accepts.
public enum NFSVersion: String, Sendable, CaseIterable {
    case v4_2 = "4.2", v4_1 = "4.1", v4 = "4", v3 = "3"

    /// What "negotiate" tries, newest first.
    public static let fallbackOrder: [NFSVersion] = [.v4_2, .v4_1, .v4, .v3]
}

/// One entry of mounts.toml: what to mount, and how.
public struct MountDefinition: Sendable, Equatable {
    public var name: String
    public var url: MountURL
    /// A credential name from the credentials file; guest when `nil` (SMB only).
    public var credentials: String?
    public var readWrite = false
    public var smbVersion: SMBDialect?
    public var nfsVersion: NFSVersion?
    public var uid: UInt32?
    public var gid: UInt32?
    public var fileMode: UInt16?
    public var directoryMode: UInt16?
    public var options: [String] = []
    public var sandbox: SandboxBase?
    /// Mount without `noexec` (`add --exec`); `nosuid,nodev` always stay.
    public var exec = false

    public init(name: String, url: MountURL) {
        self.name = name
        self.url = url
    }

    public var isSMB: Bool { if case .smb = url { true } else { false } }

    /// SMB under /root/snap (files appear root-owned there); NFS under /var/snap, where AppArmor's rules
    /// are not owner-qualified and server-side owners stay readable.
    public var effectiveSandbox: SandboxBase { sandbox ?? (isSMB ? .root : .var) }

    /// Checks everything a hand edit or a flag could get wrong.
    public func validate() throws(MountDefinitionError) {
        guard NameRule.isValid(name) else { throw .invalidName(name) }
        do {
            try MountText.check(url)
        } catch {
            throw .options(error)
        }
        if isSMB {
            if nfsVersion != nil { throw .wrongProtocol("nfs-version", "an smb:// URL") }
            if let credentials, !NameRule.isValid(credentials) { throw .invalidCredentialName(credentials) }
            do {
                _ = try CIFSOptions.parseExtras(options.joined(separator: ","))
                for mode in [fileMode, directoryMode].compactMap({ $0 }) { _ = try CIFSOptions.checkedMode(mode) }
            } catch {
                throw .options(error)
            }
        } else {
            for (key, present) in [("credentials", credentials != nil), ("smb-version", smbVersion != nil), ("uid", uid != nil),
                                   ("gid", gid != nil), ("file-mode", fileMode != nil), ("dir-mode", directoryMode != nil)] where present {
                throw .wrongProtocol(key, "an nfs:// URL")
            }
            do {
                _ = try NFSOptions.parseExtras(options.joined(separator: ","))
            } catch {
                throw .options(error)
            }
        }
        if effectiveSandbox == .var, name == MountTarget.immichMedia { throw .immichMedia }
    }
}

public enum MountDefinitionError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case invalidCredentialName(String)
    case wrongProtocol(String, String)
    case options(MountOptionError)
    case immichMedia

    public var description: String {
        switch self {
        case .invalidName(let name):
            return NameError(.mount, name).description
        case .invalidCredentialName(let name):
            return NameError(.credential, name).description
        case .wrongProtocol(let key, let what):
            return "\(key) does not apply to \(what)"
        case .options(let error):
            return error.description
        case .immichMedia:
            return "'upload' is Immich's own media folder under /var/snap/immich-distribution/common; choose another name"
        }
    }
}

/// Checks `--options` for NFS mounts, like `CIFSOptions.parseExtras`.
public enum NFSOptions {
    public static let reservedKeys: Set<String> = ["ro", "rw", "vers", "nfsvers", "port", "addr", "clientaddr"]

    /// Keys that would undo the tool's own settings or the safety flags, with why.
    public static let unsafeKeys: [String: String] = MountFlagRules.unsafeKeys.merging([
        "mountaddr": MountFlagRules.server, "mounthost": MountFlagRules.server, "mountport": "the tool checks the server's port itself; put the NFS port in the URL",
    ]) { first, _ in first }

    public static func parseExtras(_ text: String) throws(MountOptionError) -> [String] {
        try KeyValueOptions.parse(text, reserved: reservedKeys, unsafe: unsafeKeys)
    }
}

/// The mount flags every share gets, and the `--options` keys that would undo them (or what the tool
/// decides itself) for both protocols.
enum MountFlagRules {
    /// Always `nosuid,nodev` (a photo library needs neither setuid programs nor device files); `noexec`
    /// unless the definition asks for `exec`.
    static func flags(exec: Bool) -> [String] { exec ? ["nosuid", "nodev"] : ["nosuid", "nodev", "noexec"] }

    static let server = "the tool resolves, checks and names the server itself; put the server in the URL"
    static let alwaysSet = "the tool always sets it"

    static let unsafeKeys: [String: String] = [
        "suid": "shares are always mounted nosuid: a photo library needs no setuid programs",
        "dev": "shares are always mounted nodev: a photo library needs no device files",
        "exec": "shares are mounted noexec; to let programs on this share run, add the definition with --exec",
        "nosuid": alwaysSet, "nodev": alwaysSet, "noexec": "the tool sets it (unless the definition was added with --exec)",
        "defaults": "it stands for rw,suid,dev,exec,...",
        "remount": "it changes what the mount call does", "bind": "it changes what the mount call does",
        "rbind": "it changes what the mount call does", "move": "it changes what the mount call does",
        "source": server, "addr": server,
    ]
}

/// The `key` / `key=value` list both protocols accept in `--options`.
enum KeyValueOptions {
    static func parse(_ text: String, reserved: Set<String>, unsafe: [String: String]) throws(MountOptionError) -> [String] {
        guard !text.isEmpty else { return [] }
        var result: [String] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !item.isEmpty else { throw .emptyOption }
            let key = String(item.prefix { $0 != "=" })
            guard !key.isEmpty, key.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") })
            else { throw .badOption(item) }
            guard !reserved.contains(key.lowercased()) else { throw .reservedOption(key) }
            if let reason = unsafe[key.lowercased()] { throw .unsafeOption(key, reason) }
            guard !item.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == " " }) else { throw .badOption(item) }
            result.append(item)
        }
        return result
    }
}

extension MountDefinitionError: ReportableError {
    public var exitStatus: ExitStatus { .usage }
}
