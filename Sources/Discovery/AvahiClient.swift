import Logging
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
        var reply: [UInt8] = []
        do {
            let socket = try StreamSocket.connect(unixSocket: socketPath, until: deadline)
            try socket.send(Array("RESOLVE-HOSTNAME-IPV4 \(name)\n".utf8), until: deadline)
            while !reply.contains(10) {
                let chunk = try socket.receive(max: 512, until: deadline)
                if chunk.isEmpty { break }
                reply += chunk
                // A reply line is one address; anything longer is not avahi-daemon.
                guard reply.count <= 4096 else { return .unavailable("reply from avahi-daemon too long") }
            }
        } catch {
            switch error {
            case .timedOut: return .timedOut
            case .failed(let errno): return .unavailable("\(socketPath): \(errno)")
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
