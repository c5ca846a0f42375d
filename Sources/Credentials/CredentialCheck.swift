import Logging
import Core
import System
import Formats
import Discovery

/// Logs in with a stored account through libsmbclient and, if a share is named, opens it.
public struct CredentialCheck: Sendable {
    public struct Outcome: Sendable {
        public let resolved: ResolvedHost
        public let port: UInt16
        public let shareCount: Int
        public let share: String?
        public let shareResult: Result<Int, ShareOpenError>?
    }

    public enum Failure: ReportableError, Equatable {
        case resolution(ResolutionError)
        case unreachable(IPAddress, ports: [UInt16])
        case listing(SMBListingError)
        case share(String, ShareOpenError)

        public var description: String {
            switch self {
            case .resolution(let error): return error.description
            case .unreachable(let address, let ports):
                return "no SMB server answers on \(address) (port\(ports.count > 1 ? "s" : "") \(ports.map(String.init).joined(separator: ", ")))"
            case .listing(.timedOut): return "the server accepted the connection but did not answer in time (is it hung?)"
            case .listing(let error): return error.description
            case .share(let share, let error): return "the account works, but share '\(share)' cannot be opened: \(error)"
            }
        }

        public var exitStatus: ExitStatus {
            switch self {
            case .resolution(let error): return error.exitStatus
            case .unreachable, .listing(.timedOut): return .unreachable
            case .listing(.authenticationFailed), .listing(.authenticationRequired): return .authentication
            case .listing, .share: return .refused
            }
        }
    }

    public let root: SystemRoot
    public let logger: Logger

    public init(root: SystemRoot, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    public func run(account: SMBAccount, host: HostName, share: String?, smbPort: UInt16?, timeout: Duration, allowSMB1: Bool = false) throws(Failure) -> Outcome {
        let deadline = Deadline.after(timeout)
        let resolved: ResolvedHost
        do {
            resolved = try HostResolver(root: root, logger: logger).resolve(host, until: deadline)
        } catch {
            throw .resolution(error)
        }
        let address = resolved.preferredAddress
        let ports = smbPort.map { [$0] } ?? DiscoveryOptions.standardSMBPorts
        let states = TCPProbe.probe(ports.map { Endpoint(address, $0) }, until: deadline.capped(after: deadline.remaining / 2))
        guard let port = zip(ports, states).first(where: { $0.1 == .open })?.0 else { throw .unreachable(address, ports: ports) }

        let logger = self.logger
        let call = BlockingCall(on: SMBShareLister.queue) { () -> (Result<[SMBShare], SMBListingError>, Result<Int, ShareOpenError>?) in
            let listing = SMBShareLister.list(address: address, port: port, account: account, timeout: deadline.remaining, allowSMB1: allowSMB1, logger: logger)
                .mapError { SMBShareLister.explain($0, Endpoint(address, port), allowSMB1: allowSMB1, until: deadline, logger: logger) }
            guard case .success = listing, let share, !deadline.hasPassed else { return (listing, nil) }
            return (listing, SMBShareLister.open(share: share, address: address, port: port, account: account, timeout: deadline.remaining, allowSMB1: allowSMB1))
        }
        guard let (listing, opened) = call.wait(until: deadline) else { throw .listing(.timedOut) }
        let shares: [SMBShare]
        switch listing {
        case .success(let listed): shares = listed
        case .failure(let error): throw .listing(error)
        }
        if let share {
            switch opened {
            case .failure(let error)?: throw .share(share, error)
            case nil: throw .share(share, .timedOut)
            case .success: break
            }
        }
        return Outcome(resolved: resolved, port: port, shareCount: shares.filter(\.isOrdinaryDisk).count, share: share, shareResult: opened)
    }
}
