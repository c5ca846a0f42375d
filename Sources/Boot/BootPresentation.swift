/// `boot status --json`.
extension BootState: Encodable {
    private enum CodingKeys: String, CodingKey { case enabled, options, files, isEnabled, isActive }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(options, forKey: .options)
        try container.encode(files, forKey: .files)
        try container.encode(isEnabled, forKey: .isEnabled)
        try container.encode(isActive, forKey: .isActive)
    }
}

extension BootOptions: Encodable {
    private enum CodingKeys: String, CodingKey { case wait, healEvery, executable }

    /// Durations as the units write them (`90s`, `5min`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(BootUnits.systemdDuration(wait), forKey: .wait)
        try container.encode(healEvery.map(BootUnits.systemdDuration), forKey: .healEvery)
        try container.encode(executable, forKey: .executable)
    }
}

extension BootFileState: Encodable {
    private enum CodingKeys: String, CodingKey { case path, state }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(state.rawValue, forKey: .state)
    }
}
