/// The one exit-status table of extlib-net: every command exits with one of these, and the same condition
/// always gives the same status. The codes 1, 2, 8, 16, 32 and 64 mean what they mean for mount(8).
/// README.md and `extlib-net --help` print this table; a test keeps them equal.
public enum ExitStatus: Int32, Sendable, CaseIterable, Codable {
    case success = 0
    case usage = 1
    case system = 2
    case hostNotFound = 3
    case unreachable = 4
    case authentication = 5
    case refused = 6
    case noneFound = 7
    case interrupted = 8
    case checkFailed = 9
    case skipped = 10
    case configuration = 16
    case mountFailure = 32
    case someFailed = 64

    public var meaning: String {
        switch self {
        case .success: return "success"
        case .usage: return "usage error: bad arguments, an unknown name, or a request the rules refuse (a mounted definition, a name that exists)"
        case .system: return "system error: a system call or systemctl failed, not run as root, or the lock stayed busy"
        case .hostNotFound: return "the host name does not resolve"
        case .unreachable: return "no server answered: the NAS, or Immich (is it running?)"
        case .authentication: return "an account or API key was rejected, is needed, or lacks admin rights"
        case .refused: return "the server answered but refused or had nothing: no such share, nothing listed, or Immich rejected the request"
        case .noneFound: return "discover on the LAN: no NAS announced itself"
        case .interrupted: return "interrupted (Ctrl-C); nothing half-made was left"
        case .checkFailed: return "a check failed (doctor, status)"
        case .skipped: return "immich scan: a library was skipped because its share is away"
        case .configuration: return "a file under /etc (mounts.toml, credentials, the Immich connection, a unit file) is malformed, unsafe or cannot be written; nothing was changed"
        case .mountFailure: return "mount failure"
        case .someFailed: return "some succeeded, others failed"
        }
    }

    /// The table as `--help` and README.md show it.
    public static var helpText: String {
        "Exit status (every command):\n" + allCases.map { "  \(String($0.rawValue).padding(2))  \($0.meaning)" }.joined(separator: "\n")
    }

    public static var markdownTable: String {
        (["| status | meaning |", "|---|---|"] + allCases.map { "| \($0.rawValue) | \($0.meaning) |" }).joined(separator: "\n")
    }

    /// The status of a batch from its failures' statuses: success when none failed, some-failed when
    /// some did, and when all failed their common status (a bad file stays 16), else `allFailed`.
    /// The one rule for an error's exit status: its own when it is a `ReportableError`, else 2 (a system
    /// error: something the tool did not expect went wrong, not the user's input).
    public static func of(_ error: any Error) -> ExitStatus {
        (error as? any ReportableError)?.exitStatus ?? .system
    }

    public static func batch(_ failures: [ExitStatus], of total: Int, allFailed: ExitStatus = .mountFailure) -> ExitStatus {
        if failures.isEmpty { return .success }
        guard failures.count == total else { return .someFailed }
        return Set(failures).count == 1 ? failures[0] : allFailed
    }
}

private extension String {
    func padding(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

/// An error the executable can report as it is: its description says what is wrong and what to do, and it
/// knows its exit status. Every library error a command may throw conforms.
public protocol ReportableError: Error, CustomStringConvertible {
    var exitStatus: ExitStatus { get }
}


