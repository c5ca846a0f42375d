/// `credentials list --json`: what a credential is, without its password (the type has no field
/// that could carry it).
public struct CredentialListing: Encodable, Sendable, Equatable {
    public let name: String
    public let user: String
    public let domain: String?

    public init(_ credential: Credential) {
        name = credential.name
        user = credential.username
        domain = credential.domain
    }
}
