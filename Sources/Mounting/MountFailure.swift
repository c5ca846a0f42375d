import System

/// Why one mount attempt failed, and whether trying again can help.
public struct MountFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The server or network may come back: retry with backoff.
        case transient
        /// The server is not there at all (name unresolved, port closed or silent): probe it again
        /// soon and cheaply, so the mount follows within a second or two of the NAS answering.
        case unreachable
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

    /// Whether mount.cifs's standard error reports EHOSTDOWN, as it does both for a dead network and
    /// for an SMB1-only server that hung up after NEGOTIATE ("Server abruptly closed the connection").
    public static func saysHostDown(_ standardError: String) -> Bool {
        let lower = standardError.lowercased()
        return cifsErrno(in: standardError) == 112 || lower.contains("host is down") || lower.contains("server abruptly closed the connection")
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

    /// How often an unreachable server is probed again (no helper runs while it does not answer).
    public var probeInterval: Duration = .seconds(1)
    /// Repeats of the same unreachable reason are reported at most this often.
    public var quietInterval: Duration = .seconds(30)

    /// Runs `attempt` (1-based number, and the time left) until success, a permanent failure, or the end
    /// of `wait`. A transient failure waits a random backoff delay, clamped to the time left; an
    /// unreachable server is probed again every `probeInterval`, and only the first of a run of the same
    /// reason (and then one every `quietInterval`) is reported.
    public mutating func run<Value: Sendable>(
        report: (Report) -> Void, _ attempt: (Int, Duration) -> AttemptOutcome<Value>
    ) -> Result<Value, MountFailure> {
        let end = clock.now + wait
        var number = 1
        var backoffStep = 0
        var lastReported: (reason: String, at: ContinuousClock.Instant)?
        while true {
            switch attempt(number, max(.zero, end - clock.now)) {
            case .success(let value):
                return .success(value)
            case .failure(let failure):
                let left = end - clock.now
                guard failure.kind != .permanent, failure.kind != .unsupportedVersion, left > .zero else {
                    report(Report(attempt: number, failure: failure, nextDelay: nil))
                    return .failure(failure)
                }
                let delay: Duration
                if failure.kind == .unreachable {
                    delay = min(probeInterval, left)
                    let repeated = lastReported.map { $0.reason == failure.reason && clock.now - $0.at < quietInterval } ?? false
                    if !repeated {
                        report(Report(attempt: number, failure: failure, nextDelay: delay))
                        lastReported = (failure.reason, clock.now)
                    }
                } else {
                    delay = min(backoff.delay(attempt: backoffStep, using: &generator), left)
                    backoffStep += 1
                    report(Report(attempt: number, failure: failure, nextDelay: delay))
                    lastReported = nil
                }
                clock.sleep(for: delay)
                number += 1
            }
        }
    }
}
