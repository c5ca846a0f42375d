import Core

/// The one rule for a name extlib-net puts in a path, a unit, an option string or a file's key:
/// 1 to 64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.
public enum NameRule {
    public static let maximumLength = 64

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...maximumLength).contains(bytes.count), isAlphanumeric(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte)
    }
}

/// A name that is not one, and what it was to be.
public struct NameError: Error, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case mount, credential }
    public let kind: Kind
    public let text: String

    public init(_ kind: Kind, _ text: String) {
        self.kind = kind
        self.text = text
    }

    public var description: String {
        "'\(Terminal.printable(String(text.prefix(80))))' is not a valid \(kind.rawValue) name: use 1 to \(NameRule.maximumLength) letters, digits, '.', '_' or '-', starting with a letter or digit"
    }
}

/// What a checked name names; its kind says so in the refusal.
public protocol NameKind: Sendable {
    static var kind: NameError.Kind { get }
}

public enum MountNameKind: NameKind { public static let kind = NameError.Kind.mount }
public enum CredentialNameKind: NameKind { public static let kind = NameError.Kind.credential }

/// A name checked once against `NameRule`, typed by what it names so a credential's name cannot be
/// passed where a mount's is meant.
public struct CheckedName<Kind: NameKind>: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let text: String

    public init(_ text: String) throws(NameError) {
        guard NameRule.isValid(text) else { throw NameError(Kind.kind, text) }
        self.text = text
    }

    public var description: String { text }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.text < rhs.text }
}

/// A mount definition's name: also its folder under the sandbox and its key in mounts.toml.
public typealias MountName = CheckedName<MountNameKind>
/// A credential's name: its section in the credentials file.
public typealias CredentialName = CheckedName<CredentialNameKind>
