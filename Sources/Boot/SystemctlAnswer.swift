/// What `systemctl is-enabled` or `is-active` said about a unit: one of its state words (`enabled`,
/// `static`, `active`, `failed`, …), or why there is none. A value, so that an error is never read as a state.
public enum SystemctlAnswer: Sendable, Equatable, CustomStringConvertible {
    case state(String)
    case unknown(reason: String)

    /// A state word as systemd writes them: lowercase letters and '-', at most 32 bytes. Anything else is
    /// not taken as a state.
    public init?(_ word: String) {
        guard (1...32).contains(word.utf8.count), word.utf8.allSatisfy({ (0x61...0x7A).contains($0) || $0 == 0x2D }) else { return nil }
        self = .state(word)
    }

    public var state: String? {
        if case .state(let word) = self { return word }
        return nil
    }

    public var description: String {
        switch self {
        case .state(let word): word
        case .unknown(let reason): "unknown (\(reason))"
        }
    }
}
