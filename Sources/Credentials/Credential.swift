import Formats
import Core
import System
import Discovery
/// One SMB account in the credential store, under a name mounts refer to.
public struct Credential: Sendable, Equatable {
    public let name: String
    public let username: String
    public let password: Secret
    public let domain: String?

    /// Validates every field, so nothing that could break the file or a mount option string gets in.
    public init(name: String, username: String, password: Secret, domain: String?) throws(CredentialFieldError) {
        try Self.check(name: name)
        try Self.check(username: username)
        try Self.check(password: password)
        if let domain { try Self.check(domain: domain) }
        self.name = name
        self.username = username
        self.password = password
        self.domain = domain
    }

    public var account: SMBAccount { SMBAccount(user: username, domain: domain, password: password) }

    /// mount.cifs's limits: username and domain 256 bytes, password 512 bytes once commas are doubled
    /// (its escaping for the kernel's option string).
    public static let maximumUsernameBytes = 256
    public static let maximumDomainBytes = 256
    public static let maximumPasswordBytes = 512

    static func check(name: String) throws(CredentialFieldError) {
        guard NameRule.isValid(name) else { throw .invalidName(name) }
    }

    /// mount.cifs's rules for a user name; also used for `discover --user` and mount options.
    public static func check(username: String) throws(CredentialFieldError) {
        try checkCommon(username, field: .username)
        try checkNoEdgeBlanks(username, field: .username)
        guard !username.contains(",") else { throw .comma(.username) }
        guard username.utf8.count <= maximumUsernameBytes else { throw .tooLong(.username, limit: maximumUsernameBytes) }
    }

    public static func check(domain: String) throws(CredentialFieldError) {
        try checkCommon(domain, field: .domain)
        try checkNoEdgeBlanks(domain, field: .domain)
        guard !domain.contains(",") else { throw .comma(.domain) }
        guard domain.utf8.count <= maximumDomainBytes else { throw .tooLong(.domain, limit: maximumDomainBytes) }
    }

    static func check(password: Secret) throws(CredentialFieldError) {
        let value = password.reveal()
        try checkCommon(value, field: .password)
        let escapedLength = value.utf8.count + value.utf8.filter { $0 == UInt8(ascii: ",") }.count
        guard escapedLength <= maximumPasswordBytes else { throw .tooLong(.password, limit: maximumPasswordBytes) }
    }

    /// The file trims blanks around usernames and domains, so they cannot start or end with one.
    private static func checkNoEdgeBlanks(_ value: String, field: CredentialFieldError.Field) throws(CredentialFieldError) {
        let blanks: Set<Unicode.Scalar> = [" ", "\t"]
        if let first = value.unicodeScalars.first, let last = value.unicodeScalars.last, blanks.contains(first) || blanks.contains(last) {
            throw .edgeBlank(field)
        }
    }

    private static func checkCommon(_ value: String, field: CredentialFieldError.Field) throws(CredentialFieldError) {
        guard !value.isEmpty else { throw .empty(field) }
        guard !value.utf8.contains(where: { $0 == 0 || $0 == 10 || $0 == 13 }) else { throw .controlCharacter(field) }
    }
}

/// What is wrong with one field. Never carries the password itself.
public enum CredentialFieldError: Error, Equatable, CustomStringConvertible {
    public enum Field: String, Sendable { case username, password, domain }

    case invalidName(String)
    case empty(Field)
    case controlCharacter(Field)
    case comma(Field)
    case edgeBlank(Field)
    case tooLong(Field, limit: Int)

    public var description: String {
        switch self {
        case .invalidName(let name):
            return NameError(.credential, name).description
        case .empty(let field):
            return "the \(field.rawValue) is empty"
        case .controlCharacter(let field):
            return "the \(field.rawValue) contains a line break, carriage return or NUL, which the file format cannot hold"
        case .comma(let field):
            return "the \(field.rawValue) contains ',', which mount.cifs passes on unescaped: it would smuggle extra mount options"
        case .edgeBlank(let field):
            return "the \(field.rawValue) starts or ends with a space or tab"
        case .tooLong(let field, let limit):
            return field == .password
                ? "the password is too long: mount.cifs allows \(limit) bytes, counting each ',' twice"
                : "the \(field.rawValue) is longer than \(limit) bytes, mount.cifs's limit"
        }
    }
}

extension CredentialFieldError: ReportableError {
    public var exitStatus: ExitStatus { .usage }
}
