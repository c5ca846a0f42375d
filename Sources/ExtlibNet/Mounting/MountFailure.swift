/// Why one mount attempt failed, and whether trying again can help.
public struct MountFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The server or network may come back: retry with backoff.
        case transient
        /// Wrong password, no such share or export, permission denied, bad option: fail at once.
        case permanent
        /// The server does not speak this protocol version: try the next one.
        case unsupportedVersion
    }

    public let kind: Kind
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }

    /// Errno values mount.cifs and mount.nfs report, by what they mean for a retry.
    static let transientErrnos: Set<Int32> = [
        11,  // EAGAIN: resource temporarily unavailable (server busy)
        16,  // EBUSY
        101, 113,  // ENETUNREACH, EHOSTUNREACH
        103, 104,  // ECONNABORTED, ECONNRESET
        110, 111, 112,  // ETIMEDOUT, ECONNREFUSED, EHOSTDOWN
        115, 116,  // EINPROGRESS, ESTALE
        5,  // EIO: the connection broke mid-negotiation
    ]
    static let versionErrnos: Set<Int32> = [
        93, 95,  // EPROTONOSUPPORT, EOPNOTSUPP
    ]

    /// Classifies a finished mount helper from its exit status and what it wrote to standard error.
    /// mount.cifs exits 32 for every failure and names the cause as `mount error(N)`; mount.nfs writes
    /// a message. Unknown failures count as permanent: retrying what we do not understand only delays
    /// the report.
    public static func classify(status: Int32, standardError: String) -> MountFailure {
        let message = standardError.split(separator: "\n").first { !$0.isEmpty }.map(String.init) ?? "exit status \(status)"
        if let errnoValue = cifsErrno(in: standardError) {
            if transientErrnos.contains(errnoValue) { return MountFailure(.transient, message) }
            if versionErrnos.contains(errnoValue) { return MountFailure(.unsupportedVersion, message) }
            return MountFailure(.permanent, message)
        }
        let lower = standardError.lowercased()
        let versionHints = ["protocol not supported", "requested nfs version or transport protocol is not supported", "operation not supported"]
        if versionHints.contains(where: lower.contains) { return MountFailure(.unsupportedVersion, message) }
        let transientHints = ["connection refused", "timed out", "no route to host", "network is unreachable", "host is down",
                              "resource temporarily unavailable", "server is not responding", "connection reset", "portmap query failed", "rpc: remote system error", "rpc: unable to receive",
                              // mount.nfs with soft,retry=0 against a server that stopped answering (measured in the VM).
                              "mount system call failed"]
        if transientHints.contains(where: lower.contains) { return MountFailure(.transient, message) }
        return MountFailure(.permanent, message)
    }

    /// `N` from mount.cifs's `mount error(N): ...`.
    static func cifsErrno(in text: String) -> Int32? {
        guard let range = text.range(of: "mount error(") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        return Int32(digits)
    }
}

/// One attempt's outcome, as the retry loop sees it.
public enum AttemptOutcome<Value: Sendable>: Sendable {
    case success(Value)
    case failure(MountFailure)
}

/// Retries transient failures with exponential backoff and full jitter until `wait` runs out; permanent
/// failures end it at once. Every failed attempt is reported (what failed, when the next try is).
public struct Retrier<Generator: RandomNumberGenerator & Sendable>: Sendable {
    public let backoff: Backoff
    public let wait: Duration
    public let clock: any RetryClock
    public var generator: Generator

    public init(backoff: Backoff = .standard, wait: Duration, clock: any RetryClock, generator: Generator) {
        self.backoff = backoff
        self.wait = wait
        self.clock = clock
        self.generator = generator
    }

    public struct Report: Sendable, Equatable {
        public let attempt: Int
        public let failure: MountFailure
        /// `nil` when no further attempt follows.
        public let nextDelay: Duration?
    }

    /// Runs `attempt` (1-based number) until success, a permanent failure, or the end of `wait`.
    public mutating func run<Value: Sendable>(
        report: (Report) -> Void, _ attempt: (Int) -> AttemptOutcome<Value>
    ) -> Result<Value, MountFailure> {
        let end = clock.now + wait
        var number = 1
        while true {
            switch attempt(number) {
            case .success(let value):
                return .success(value)
            case .failure(let failure):
                guard failure.kind == .transient else {
                    report(Report(attempt: number, failure: failure, nextDelay: nil))
                    return .failure(failure)
                }
                let delay = backoff.delay(attempt: number - 1, using: &generator)
                guard clock.now + delay < end else {
                    report(Report(attempt: number, failure: failure, nextDelay: nil))
                    return .failure(failure)
                }
                report(Report(attempt: number, failure: failure, nextDelay: delay))
                clock.sleep(for: delay)
                number += 1
            }
        }
    }
}
