#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// A connected, non-blocking stream socket (TCP, or a local Unix socket) whose every wait has a
/// deadline: connecting, sending and receiving never block past it, whatever the peer does.
package final class StreamSocket {
    package enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case timedOut
        case failed(Errno)

        package var description: String {
            switch self {
            case .timedOut: "timed out"
            case .failed(let errno): "\(errno)"
            }
        }
    }

    private let descriptor: Descriptor

    private init(_ descriptor: Descriptor) { self.descriptor = descriptor }

    /// A TCP connection to `endpoint`.
    package static func connect(to endpoint: Endpoint, until deadline: Deadline) throws(Failure) -> StreamSocket {
        let socket = try open(family: endpoint.address.isIPv4 ? AF_INET : AF_INET6)
        let result = endpoint.address.withSocketAddress(port: endpoint.port) { Glibc.connect(socket.raw, $0, $1) }
        try socket.finishConnect(result, until: deadline)
        return StreamSocket(socket)
    }

    /// A connection to the Unix socket at `path` (a server on this machine, such as avahi-daemon).
    package static func connect(unixSocket path: String, until deadline: Deadline) throws(Failure) -> StreamSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.contains(0), bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .failed(.fileNameTooLong)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let socket = try open(family: AF_UNIX)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket.raw, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try socket.finishConnect(result, until: deadline)
        return StreamSocket(socket)
    }

    /// Sends all of `bytes`, waiting for room as the peer reads.
    package func send(_ bytes: [UInt8], until deadline: Deadline) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            try waitFor(Int16(POLLOUT), until: deadline)
            let sent = bytes.withUnsafeBytes { buffer in
                retryingInterrupted { Glibc.send(descriptor.raw, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            if sent < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { continue }
                throw .failed(Errno(rawValue: errno))
            }
            offset += sent
        }
    }

    /// The next bytes the peer sent (at most `max`); empty when the peer closed the connection.
    package func receive(max: Int, until deadline: Deadline) throws(Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            try waitFor(Int16(POLLIN), until: deadline)
            let count = buffer.withUnsafeMutableBytes { bytes in retryingInterrupted { Glibc.recv(descriptor.raw, bytes.baseAddress, max, 0) } }
            if count >= 0 { return Array(buffer.prefix(count)) }
            if errno == EAGAIN || errno == EWOULDBLOCK { continue }
            throw .failed(Errno(rawValue: errno))
        }
    }

    private func waitFor(_ events: Int16, until deadline: Deadline) throws(Failure) {
        let seen: Int16
        do {
            seen = try descriptor.wait(for: events, until: deadline)
        } catch {
            throw .failed(error)
        }
        guard seen != 0 else { throw .timedOut }
    }

    private static func open(family: Int32) throws(Failure) -> Descriptor {
        do {
            return try Descriptor.socket(family: family, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
        } catch {
            throw .failed(error)
        }
    }
}

extension Descriptor {
    /// Completes a non-blocking `connect` that returned `result`: waits until `deadline` for it to finish.
    fileprivate func finishConnect(_ result: Int32, until deadline: Deadline) throws(StreamSocket.Failure) {
        guard result != 0 else { return }
        // EAGAIN (a Unix socket whose listener's backlog is full) fails at once: the caller has another way
        // (HostResolver asks multicast DNS itself when avahi-daemon does not answer).
        guard errno == EINPROGRESS else { throw .failed(Errno(rawValue: errno)) }
        let events: Int16
        do {
            events = try wait(for: Int16(POLLOUT), until: deadline)
        } catch {
            throw .failed(error)
        }
        guard events != 0 else { throw .timedOut }
        let pending = pendingError()
        guard pending == 0 else { throw .failed(Errno(rawValue: pending)) }
    }
}
