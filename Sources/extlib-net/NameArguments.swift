import Formats

/// Names on the command line, checked once by a throwing `transform:` so that the refusal says why
/// (the parser quotes the text, escaped by `exitForParser`).
extension MountName {
    static let argument: @Sendable (String) throws -> MountName = { try MountName($0) }
}

extension CredentialName {
    static let argument: @Sendable (String) throws -> CredentialName = { try CredentialName($0) }
}
