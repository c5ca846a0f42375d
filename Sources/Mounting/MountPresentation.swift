/// `status --json`: one object per definition. `health` says why a mount is unhealthy; both health
/// keys are null when it is not mounted.
extension MountService.Status: Encodable {
    private enum CodingKeys: String, CodingKey { case name, target, mounted, healthy, health, serverReachable, lastError, lastHeal, pending, placeholder }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(definition.name, forKey: .name)
        try container.encode(target, forKey: .target)
        try container.encode(mounted, forKey: .mounted)
        try container.encode(healthy, forKey: .healthy)
        try container.encode(health?.description, forKey: .health)
        try container.encode(serverReachable, forKey: .serverReachable)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(record.lastHeal, forKey: .lastHeal)
        try container.encode(record.pending, forKey: .pending)
        try container.encode(placeholder, forKey: .placeholder)
    }
}

/// `list --json`: a definition, where it mounts, and whether something is mounted there.
public struct MountListing: Encodable, Sendable {
    public let definition: MountDefinition
    public let target: String
    public let mounted: Bool
    public let placeholder: PlaceholderStatus

    public init(_ definition: MountDefinition, target: String, mounted: Bool, placeholder: PlaceholderStatus) {
        self.definition = definition
        self.target = target
        self.mounted = mounted
        self.placeholder = placeholder
    }

    private enum CodingKeys: String, CodingKey { case name, url, target, rw, credentials, mounted, placeholder }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(definition.name, forKey: .name)
        try container.encode(definition.url.description, forKey: .url)
        try container.encode(target, forKey: .target)
        try container.encode(definition.readWrite, forKey: .rw)
        try container.encode(definition.credentials, forKey: .credentials)
        try container.encode(mounted, forKey: .mounted)
        try container.encode(placeholder, forKey: .placeholder)
    }
}
