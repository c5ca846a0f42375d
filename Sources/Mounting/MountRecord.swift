/// What extlib-net keeps about one definition between commands, in /run/extlib-net/NAME.json (forgotten
/// at reboot, like the mounts). Typed, so that a heal is never read as an error.
public struct MountRecord: Codable, Sendable, Equatable {
    /// When something happened (local time, as `Timestamp.now`), and what.
    public struct Event: Codable, Sendable, Equatable {
        public var at: String
        public var detail: String

        public init(at: String, detail: String) {
            self.at = at
            self.detail = detail
        }
    }

    /// The last failure of a mount, a heal's remount or its detach.
    public var lastError: Event?
    /// The last time heal found the mount stale and mounted it again; `detail` is what the stale mount answered.
    public var lastHeal: Event?
    /// The last mount failed for a reason a retry can cure, and the share was not unmounted on purpose
    /// since: `heal` tries it again.
    public var pending: Bool
    /// When the share's placeholder was put up in its place; `detail` is how many files it holds.
    public var placeholderShown: Event?
    /// The last time the placeholder could not be put up or brought up to date, and why; kept when the
    /// share itself mounts (the library is then unprotected should it go away), cleared when it works.
    public var placeholderProblem: Event?

    public init(lastError: Event? = nil, lastHeal: Event? = nil, pending: Bool = false, placeholderShown: Event? = nil, placeholderProblem: Event? = nil) {
        self.lastError = lastError
        self.lastHeal = lastHeal
        self.pending = pending
        self.placeholderShown = placeholderShown
        self.placeholderProblem = placeholderProblem
    }

    public var isEmpty: Bool { lastError == nil && lastHeal == nil && !pending && placeholderShown == nil && placeholderProblem == nil }
}
