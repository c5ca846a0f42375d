import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import System

/// Asks a running avahi-daemon through its "simple protocol" socket, a line-based text protocol
/// that needs neither D-Bus nor libavahi-client.
struct AvahiClient {
    enum Answer: Equatable {
        case resolved([IPAddress])
        case notFound
        case timedOut
        case unavailable(String)
    }

    let socketPath: String
    let logger: Logger

    func resolve(_ name: String, until deadline: Deadline) -> Answer {
        let socket: Descriptor
        do {
            socket = try Descriptor.socket(family: AF_UNIX, type: Int32(SOCK_STREAM.rawValue))
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let pathBytes = Array(socketPath.utf8)
            guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return .unavailable("socket path too long") }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket.raw, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { return .unavailable("\(socketPath): \(Errno(rawValue: errno))") }
            try socket.write(Array("RESOLVE-HOSTNAME-IPV4 \(name)\n".utf8))
        } catch {
            return .unavailable("\(socketPath): \(error)")
        }

        var reply: [UInt8] = []
        while !reply.contains(10) {
            do {
                guard try socket.wait(for: Int16(POLLIN), until: deadline) != 0 else { return .timedOut }
                let chunk = try socket.read(max: 512)
                if chunk.isEmpty { break }
                reply += chunk
                // A reply line is one address; anything longer is not avahi-daemon.
                guard reply.count <= 4096 else { return .unavailable("reply from avahi-daemon too long") }
            } catch {
                return .unavailable("\(socketPath): \(error)")
            }
        }
        return Self.parse(String(decoding: reply, as: UTF8.self))
    }

    /// `+ 2 0 nas.local 192.0.2.7` on success; `- <code> <message>` when the name is unknown.
    static func parse(_ line: String) -> Answer {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\n" })
        if fields.first == "+", fields.count >= 5, let address = IPAddress(String(fields[4])) {
            return .resolved([address])
        }
        if fields.first == "-" { return .notFound }
        return .unavailable("unexpected reply from avahi-daemon")
    }
}
