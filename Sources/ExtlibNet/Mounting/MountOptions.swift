/// SMB dialects `--smb-version` accepts; 1.0 only when asked for explicitly.
public enum SMBDialect: String, Sendable, CaseIterable {
    case v3_1_1 = "3.1.1", v3_0 = "3.0", v2_1 = "2.1", v2_0 = "2.0", v1_0 = "1.0"

    /// What "negotiate" tries, newest first; never 1.0.
    public static let fallbackOrder: [SMBDialect] = [.v3_1_1, .v3_0, .v2_1, .v2_0]
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

    public init() {}

    /// Keys the tool sets itself, or that would carry credentials: refused in `--options`.
    public static let reservedKeys: Set<String> = [
        "user", "username", "pass", "password", "password2", "credentials", "cred", "dom", "domain", "workgroup",
        "guest", "ro", "rw", "vers", "port", "uid", "gid", "file_mode", "dir_mode", "forceuid", "forcegid",
    ]

    /// Splits and checks `--options` (comma-separated `key` or `key=value`).
    public static func parseExtras(_ text: String) throws(MountOptionError) -> [String] {
        try KeyValueOptions.parse(text, reserved: reservedKeys)
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
            options.append("username=\(username)")
            if let domain { options.append("domain=\(domain)") }
        } else {
            options.append("guest")
        }
        if let dialect { options.append("vers=\(dialect.rawValue)") }
        if let port { options.append("port=\(port)") }
        options += ["uid=\(uid)", "gid=\(gid)", "forceuid", "forcegid"]
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

    static func checkedMode(_ mode: UInt16) throws(MountOptionError) -> UInt16 {
        guard mode <= 0o7777 else { throw .badMode(mode) }
        return mode
    }
}

public enum MountOptionError: Error, Equatable, CustomStringConvertible {
    case emptyOption
    case badOption(String)
    case reservedOption(String)
    case badAccount(String)
    case badMode(UInt16)

    public var description: String {
        switch self {
        case .emptyOption: return "--options has an empty entry (two commas in a row, or a comma at an end)"
        case .badOption(let item): return "--options entry '\(item)' is not key or key=value (letters, digits, '_', '-'; no spaces or control characters)"
        case .reservedOption(let key): return "--options may not set '\(key)': use the dedicated flag (credentials go through --credentials)"
        case .badAccount(let problem): return problem
        case .badMode(let mode): return "mode \(String(mode, radix: 8)) is not an octal permission of at most 7777"
        }
    }
}

extension MountOptionError: ReportableError {
    public var exitStatus: ExitStatus { .usage }
}
