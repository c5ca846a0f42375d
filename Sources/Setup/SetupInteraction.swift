import System
/// Why a guided setup stopped before its end. Nothing is written for the step that was under way.
public enum SetupStop: Error, Equatable, Sendable {
    /// Ctrl-D (end of input), or "q" typed at a question.
    case endOfInput
    /// Ctrl-C.
    case interrupted
}

/// The user at a terminal, as `extlib-net setup` sees them. The executable implements it on the real
/// terminal; the library never reads or writes the terminal itself, so the flow runs against a script.
///
/// Every answer is untrusted bytes: the flow decodes and checks them with the plain commands' rules.
public protocol SetupInteraction: AnyObject {
    /// Shows one line (the flow passes only text it made printable).
    func say(_ line: String)
    /// Shows `prompt` and reads one line, without its line break. Throws `SetupStop` on Ctrl-D or Ctrl-C.
    func ask(_ prompt: String) throws -> [UInt8]
    /// Shows `prompt` with echo off (before the prompt shows) and reads one line; the echo is back on when it
    /// returns or throws. A problem with what was typed (empty, too long, not UTF-8) is the failure.
    func secret(_ prompt: String) throws -> Result<Secret, PasswordInput.Failure>
    /// Runs a step that talks to a server or writes files; Ctrl-C meanwhile only marks `interrupted`, and the
    /// flow stops once the (bounded) step is over.
    func working<T>(_ body: () throws -> T) throws -> T
    /// Ctrl-C was pressed.
    var interrupted: Bool { get }
}

/// A LAN host that announced itself (mDNS/DNS-SD), as the host-listing step offers it.
public struct BrowsedHost: Sendable, Equatable {
    /// The name to reach it by (nas.local), or nil when only addresses are known.
    public var name: String?
    public var addresses: [String]
    /// The services it announced (smb, nfs), for display.
    public var services: [String]

    public init(name: String?, addresses: [String], services: [String]) {
        self.name = name
        self.addresses = addresses
        self.services = services
    }
}

/// Lists the NAS hosts on the LAN for `setup` without HOST. Bounded by `timeout`.
public protocol HostBrowsing: Sendable {
    /// The plain command that lists the same hosts, shown to the user (e.g. "extlib-net discover --lan").
    var command: [String] { get }
    func browse(timeout: Duration) throws -> [BrowsedHost]
}
