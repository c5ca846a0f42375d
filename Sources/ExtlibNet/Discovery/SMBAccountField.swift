/// Checks on SMB user and domain names that travel into mount options later.
public enum SMBAccountField {
    /// mount.cifs's limit for username and domain.
    public static let maximumBytes = 256

    /// A message saying what is wrong with `value`, or `nil` when it is fine.
    public static func problem(_ value: String, field: String) -> String? {
        if value.isEmpty { return "\(field) is empty" }
        if value.utf8.count > maximumBytes { return "\(field) is longer than \(maximumBytes) bytes" }
        if value.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }) { return "\(field) contains a line break or NUL" }
        // mount.cifs appends these unescaped to the kernel's option string.
        if value.contains(",") { return "\(field) contains ',', which would smuggle extra mount options" }
        return nil
    }
}
