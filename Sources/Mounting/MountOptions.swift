import Formats
import Credentials
/// SMB dialects `--smb-version` accepts; 1.0 only when asked for explicitly.
public enum SMBDialect: String, Sendable, CaseIterable {
    case v3_1_1 = "3.1.1", v3_0 = "3.0", v2_1 = "2.1", v2_0 = "2.0", v1_0 = "1.0"

    /// What "negotiate" tries, newest first; never 1.0.
    public static let fallbackOrder: [SMBDialect] = [.v3_1_1, .v3_0, .v2_1, .v2_0]
}

/// One protocol version a mount is tried with: compared as a value, shown as "SMB 3.1.1" or "NFS 4.2".
public enum ProtocolVersion: Sendable, Equatable, CustomStringConvertible {
    case smb(SMBDialect)
    case nfs(NFSVersion)

    public var description: String {
        switch self {
        case .smb(let dialect): "SMB \(dialect.rawValue)"
        case .nfs(let version): "NFS \(version.rawValue)"
        }
    }
}

/// The `-o` string for mount.cifs. Every user-supplied piece is checked so that nothing can add an
/// option the user did not name: mount.cifs and the kernel split the string at every comma.
public struct CIFSOptions: Sendable, Equatable {
    public var readOnly = true
    public var dialect: SMBDialect?
    public var port: UInt16?
    /// Files appear owned by root by default: snapd's AppArmor rules under /root/snap are owner-qualified.
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var fileMode: UInt16?
    public var directoryMode: UInt16?
    /// `nil` means guest. The password never goes here: it reaches mount.cifs through PASSWD_FD.
    public var username: String?
    public var domain: String?
    public var extras: [String] = []
    /// Programs on the share may run (no `noexec`); `nosuid,nodev` stay.
    public var exec = false

    public init() {}

    /// Keys the tool sets itself, or that would carry credentials: refused in `--options`.
    public static let reservedKeys: Set<String> = [
        "user", "username", "pass", "password", "password2", "credentials", "cred", "dom", "domain", "workgroup",
        "guest", "ro", "rw", "vers", "port", "uid", "gid", "file_mode", "dir_mode", "forceuid", "forcegid",
    ]

    /// Keys that would undo the tool's own settings or the safety flags, with why; refused in `--options`.
    public static let unsafeKeys: [String: String] = MountFlagRules.unsafeKeys.merging([
        "noforceuid": "it would undo the tool's own forceuid (files owned by --uid); set the owner with --uid",
        "noforcegid": "it would undo the tool's own forcegid (files owned by --gid); set the group with --gid",
        "fmask": "it sets the file mode; use --file-mode", "dmask": "it sets the directory mode; use --dir-mode",
        "ip": MountFlagRules.server, "unc": MountFlagRules.server, "target": MountFlagRules.server, "path": MountFlagRules.server,
        "prefixpath": "it would change the folder mounted; put the folder in the URL (smb://HOST/SHARE/FOLDER)",
    ]) { first, _ in first }

    /// mount.cifs matches its own keys by their start (`strncmp(token, "rw", 2)` in cifs-utils'
    /// parse_opt_token; not every version was checked, so the rule holds for all), so
    /// `rwpidforward` reads as `rw` and `devices` as `dev`: an extra whose key starts with one of these is
    /// refused too (`user_xattr` is the one exception it makes itself).
    static let mountCIFSPrefixes = [
        "user", "pass", "ip", "unc", "target", "path", "dom", "workg", "cred", "uid", "gid", "fmask", "file_mode", "dmask",
        "dir_mode", "dirm", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "guest", "ro", "rw", "remount",
    ]

    /// Splits and checks `--options` (comma-separated `key` or `key=value`).
    public static func parseExtras(_ text: String) throws(MountOptionError) -> [String] {
        let extras = try KeyValueOptions.parse(text, reserved: reservedKeys, unsafe: unsafeKeys)
        for item in extras {
            let key = String(item.prefix { $0 != "=" }).lowercased()
            guard key != "user_xattr", let prefix = mountCIFSPrefixes.first(where: { key.hasPrefix($0) }) else { continue }
            throw .unsafeOption(String(item.prefix { $0 != "=" }), "mount.cifs matches keys by their start and would read it as '\(prefix)'")
        }
        return extras
    }

    public func optionString() throws(MountOptionError) -> String {
        var options = [readOnly ? "ro" : "rw"]
        if let username {
            do throws(CredentialFieldError) {
                try Credential.check(username: username)
                if let domain { try Credential.check(domain: domain) }
            } catch {
                throw .badAccount(error.description)
            }
            try MountText.check(username, as: .username)
            if let domain { try MountText.check(domain, as: .domain) }
            options.append("username=\(username)")
            if let domain { options.append("domain=\(domain)") }
        } else {
            options.append("guest")
        }
        if let dialect { options.append("vers=\(dialect.rawValue)") }
        if let port { options.append("port=\(port)") }
        // nosharesock: a connection of its own. Otherwise the kernel hands a new mount the session of any
        // mount of the same server, a stale one heal just detached lazily included, and after a dead link
        // mount.cifs then waits on that session's reconnect (over 15 s in the soak) instead of connecting.
        options += ["uid=\(uid)", "gid=\(gid)", "forceuid", "forcegid", "nosharesock"] + MountFlagRules.flags(exec: exec)
        if let fileMode { options.append("file_mode=0\(String(try Self.checkedMode(fileMode), radix: 8))") }
        if let directoryMode { options.append("dir_mode=0\(String(try Self.checkedMode(directoryMode), radix: 8))") }
        options += try Self.parseExtras(extras.joined(separator: ","))
        return options.joined(separator: ",")
    }

    /// An octal permission as typed (`0644`, `755`); `nil` unless it is at most 7777.
    public static func parseMode(_ text: String) -> UInt16? {
        guard let mode = UInt16(text, radix: 8), mode <= 0o7777 else { return nil }
        return mode
    }

    /// At most 0777: setuid, setgid and sticky bits are refused (a photo library needs none of them).
    static func checkedMode(_ mode: UInt16) throws(MountOptionError) -> UInt16 {
        guard mode <= 0o7777 else { throw .badMode(mode) }
        guard mode <= 0o777 else { throw .specialModeBits(mode) }
        return mode
    }
}

