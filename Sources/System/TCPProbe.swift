#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a TCP connect to one port said.
public enum PortState: String, Sendable, Hashable {
    case open
    /// Refused: the host answered, nobody listens there.
    case closed
    /// No answer before the deadline, or the host is unreachable.
    case noAnswer = "no answer"
}

public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let port: UInt16

    public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String { "\(address.urlHost):\(port)" }
}

/// Bounded TCP reachability checks: every endpoint is tried at once, in one `poll`.
public enum TCPProbe {
    public static func probe(_ endpoints: [Endpoint], until deadline: Deadline) -> [PortState] {
        var states = [PortState](repeating: .noAnswer, count: endpoints.count)
        var pending: [(index: Int, socket: Descriptor)] = []

        for (index, endpoint) in endpoints.enumerated() {
            let family = endpoint.address.isIPv4 ? AF_INET : AF_INET6
            guard let socket = try? Descriptor.socket(family: family, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)) else {
                continue
            }
            let result = endpoint.address.withSocketAddress(port: endpoint.port) { connect(socket.raw, $0, $1) }
            if result == 0 {
                states[index] = .open
            } else if errno == EINPROGRESS {
                pending.append((index, socket))
            } else {
                states[index] = classify(errno)
            }
        }

        while !pending.isEmpty, !deadline.hasPassed {
            var pfds = pending.map { pollfd(fd: $0.socket.raw, events: Int16(POLLOUT), revents: 0) }
            let ready = retryingInterrupted { poll(&pfds, nfds_t(pfds.count), Int32(deadline.remainingMilliseconds())) }
            if ready < 0 { break }
            var stillPending: [(index: Int, socket: Descriptor)] = []
            for (slot, entry) in pending.enumerated() {
                if pfds[slot].revents == 0 {
                    stillPending.append(entry)
                } else {
                    states[entry.index] = classify(entry.socket.pendingError())
                }
            }
            pending = stillPending
        }
        return states
    }

    static func classify(_ error: Int32) -> PortState {
        switch error {
        case 0: return .open
        case ECONNREFUSED: return .closed
        default: return .noAnswer  // EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, ...
        }
    }
}
