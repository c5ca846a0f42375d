import Dispatch
import Logging

import Core
import System
import Formats

/// How a host's addresses were found.
public enum ResolutionMethod: String, Sendable {
    case literal = "address literal"
    case avahi = "avahi-daemon"
    case multicastDNS = "multicast DNS query"
    case system = "system resolver"
}

public struct ResolvedHost: Sendable {
    public let host: HostName
    public let addresses: [IPAddress]
    public let method: ResolutionMethod

    /// The address to probe: IPv4 first, since NAS shares are mostly reached over IPv4.
    public var preferredAddress: IPAddress { addresses.first(where: \.isIPv4) ?? addresses[0] }
}

public enum ResolutionError: Error, Equatable, CustomStringConvertible {
    case notFound(String, ResolutionMethod)
    case timedOut(String, ResolutionMethod, seconds: Double)

    public var description: String {
        switch self {
        case .notFound(let name, let method):
            return "'\(name)' does not resolve (\(method.rawValue)); check the spelling, or give the NAS's IP address"
        case .timedOut(let name, let method, let seconds):
            return "'\(name)' did not resolve within \(formatSeconds(seconds)) (\(method.rawValue)); give the NAS's IP address, or a longer --timeout"
        }
    }
}

/// Turns a host name into addresses, within a deadline.
///
/// `.local` names go to avahi-daemon when it runs (through its socket under the system root), else
/// to our own one-shot multicast DNS query, so they resolve even without nss-mdns. Other names go
/// to the system resolver on a thread of its own, because `getaddrinfo` has no timeout.
public struct HostResolver: Sendable {
    public let root: SystemRoot
    public let logger: Logger

    public init(root: SystemRoot, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    public func resolve(_ host: HostName, until deadline: Deadline) throws(ResolutionError) -> ResolvedHost {
        let started = ContinuousClock.now
        switch host {
        case .address(let address):
            return ResolvedHost(host: host, addresses: [address], method: .literal)
        case .name(let name) where host.isMulticastDNSName:
            let avahi = AvahiClient(socketPath: root.path(SystemRoot.Known.avahiSocket), logger: logger)
            switch avahi.resolve(name, until: deadline) {
            case .resolved(let addresses):
                logger.debug("resolved through avahi-daemon", metadata: ["host": "\(name)", "addresses": "\(addresses)"])
                return ResolvedHost(host: host, addresses: addresses, method: .avahi)
            case .notFound:
                throw .notFound(name, .avahi)
            case .timedOut:
                throw .timedOut(name, .avahi, seconds: (ContinuousClock.now - started).seconds)
            case .unavailable(let why):
                logger.debug("avahi-daemon not usable, sending our own multicast DNS query", metadata: ["reason": "\(why)"])
            }
            let addresses = MulticastDNS.resolve(name, until: deadline, logger: logger)
            guard !addresses.isEmpty else {
                throw .timedOut(name, .multicastDNS, seconds: (ContinuousClock.now - started).seconds)
            }
            logger.debug("resolved through multicast DNS", metadata: ["host": "\(name)", "addresses": "\(addresses)"])
            return ResolvedHost(host: host, addresses: addresses, method: .multicastDNS)
        case .name(let name):
            // A queue (and so a thread) per lookup: on one shared serial queue a name whose DNS server
            // never answers stalled every later lookup (`mount --all` of shares on several NASes).
            let call = BlockingCall(on: DispatchQueue(label: "extlib-net.getaddrinfo")) { NameServices.addresses(of: name) }
            guard let outcome = call.wait(until: deadline) else {
                throw .timedOut(name, .system, seconds: (ContinuousClock.now - started).seconds)
            }
            guard let addresses = outcome, !addresses.isEmpty else { throw .notFound(name, .system) }
            return ResolvedHost(host: host, addresses: addresses, method: .system)
        }
    }
}
extension ResolutionError: ReportableError {
    public var exitStatus: ExitStatus { .hostNotFound }
}
