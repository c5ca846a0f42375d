#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One network interface that can send multicast: its index (for IPv6) and its addresses.
package struct MulticastInterface: Sendable, Equatable {
    package let name: String
    package let index: UInt32
    package var ipv4: [IPAddress]
    package var ipv6: [IPAddress]

    package init(name: String, index: UInt32, ipv4: [IPAddress], ipv6: [IPAddress]) {
        self.name = name
        self.index = index
        self.ipv4 = ipv4
        self.ipv6 = ipv6
    }

    /// Interfaces that are up, not loopback and multicast-capable, with their addresses; also every
    /// address of this machine (loopback included), so the LAN browse can leave this machine out.
    package static func current() -> (interfaces: [MulticastInterface], ownAddresses: Set<IPAddress>) {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return ([], []) }
        defer { freeifaddrs(first) }
        var interfaces: [MulticastInterface] = []
        var own: Set<IPAddress> = []
        var node: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = node {
            defer { node = entry.pointee.ifa_next }
            guard let raw = entry.pointee.ifa_addr, let address = IPAddress(UnsafePointer(raw)) else { continue }
            own.insert(address)
            let flags = Int32(bitPattern: entry.pointee.ifa_flags)
            guard flags & Int32(IFF_UP) != 0, flags & Int32(IFF_MULTICAST) != 0, flags & Int32(IFF_LOOPBACK) == 0 else { continue }
            let name = String(cString: entry.pointee.ifa_name)
            let index = if_nametoindex(entry.pointee.ifa_name)
            if !interfaces.contains(where: { $0.name == name }) {
                interfaces.append(MulticastInterface(name: name, index: index, ipv4: [], ipv6: []))
            }
            let slot = interfaces.firstIndex { $0.name == name }!
            if address.isIPv4 { interfaces[slot].ipv4.append(address) } else { interfaces[slot].ipv6.append(address) }
        }
        return (interfaces, own)
    }
}

/// A UDP socket on an ephemeral port that sends to a multicast group on every interface and reads
/// unicast and multicast answers with their source address. Answers to an ephemeral port are what
/// RFC 6762 section 6.7 (legacy unicast) and WS-Discovery both give, so no port needs binding and a
/// running avahi-daemon or wsdd on this machine is not disturbed.
package final class MulticastSocket {
    /// IPv4 or IPv6.
    package enum Family: Sendable { case v4, v6 }

    let socket: Descriptor
    let family: Int32
    package let group: IPAddress
    package let port: UInt16
    package let interfaces: [MulticastInterface]

    /// No multicast-capable interface was given: packets go out once, where the routing table sends them.
    let usesDefaultRoute: Bool

    /// Nil when the socket cannot be made, or when no interface of `interfaces` has an address of the
    /// family (unless `orDefaultRoute`: mDNS name lookups then still try the route to the group).
    package init?(family ip: Family, group: IPAddress, port: UInt16, interfaces: [MulticastInterface], orDefaultRoute: Bool = false) {
        let family = ip == .v4 ? AF_INET : AF_INET6
        guard let socket = try? Descriptor.socket(family: family, type: Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)) else {
            return nil
        }
        self.socket = socket
        self.family = family
        self.group = group
        self.port = port
        self.interfaces = interfaces.filter { family == AF_INET ? !$0.ipv4.isEmpty : !$0.ipv6.isEmpty }
        if family == AF_INET {
            // RFC 6762 section 11: mDNS goes out with TTL 255; WS-Discovery asks for 1, which 255 includes on a LAN.
            try? socket.setOption(level: Int32(IPPROTO_IP), name: IP_MULTICAST_TTL, UInt8(255))
        } else {
            try? socket.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, Int32(1))
            try? socket.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_MULTICAST_HOPS, Int32(255))
        }
        usesDefaultRoute = self.interfaces.isEmpty
        if usesDefaultRoute, !orDefaultRoute { return nil }
    }

    /// Sends `packet` to the group once per interface; errors (an interface that went away) are skipped.
    package func sendToGroup(_ packet: [UInt8]) {
        if usesDefaultRoute {
            sendToGroupAddress(packet)
            return
        }
        for interface in interfaces {
            if family == AF_INET {
                // From every address: on a link carrying two subnets, a responder answers the one of its own.
                for case .v4(let raw) in interface.ipv4 {
                    try? socket.setOption(level: Int32(IPPROTO_IP), name: IP_MULTICAST_IF, in_addr(s_addr: raw))
                    sendToGroupAddress(packet)
                }
            } else if family == AF_INET6 {
                try? socket.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_MULTICAST_IF, interface.index)
                var sin6 = sockaddr_in6()
                sin6.sin6_family = sa_family_t(AF_INET6)
                sin6.sin6_port = port.bigEndian
                sin6.sin6_scope_id = interface.index
                if case .v6(let bytes) = group { withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) } }
                _ = withUnsafePointer(to: &sin6) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                        packet.withUnsafeBytes { sendto(socket.raw, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
                    }
                }
            }
        }
    }

    private func sendToGroupAddress(_ packet: [UInt8]) {
        _ = group.withSocketAddress(port: port) { address, length in
            packet.withUnsafeBytes { sendto(socket.raw, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
        }
    }

    /// Every datagram waiting now (at most `limit`, each cut at `maximumSize`), with its source address.
    package func receiveWaiting(maximumSize: Int, limit: Int = 64) -> [(bytes: [UInt8], source: IPAddress?)] {
        var result: [(bytes: [UInt8], source: IPAddress?)] = []
        var buffer = [UInt8](repeating: 0, count: maximumSize)
        while result.count < limit {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket.raw, bytes.baseAddress, bytes.count, 0, $0, &length) }
                }
            }
            if count < 0 { break }  // EAGAIN: nothing more now
            let source = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { IPAddress($0) } }
            result.append((Array(buffer.prefix(count)), source))
        }
        return result
    }
}

/// Waits until one of `sockets` is readable or `deadline` passes; returns the readable ones.
package func waitReadable(_ sockets: [MulticastSocket], until deadline: Deadline) -> [MulticastSocket] {
    guard !sockets.isEmpty else {
        let millis = deadline.remainingMilliseconds()
        if millis > 0 { _ = poll(nil, 0, Int32(millis)) }
        return []
    }
    var pfds = sockets.map { pollfd(fd: $0.socket.raw, events: Int16(POLLIN), revents: 0) }
    let ready = poll(&pfds, nfds_t(pfds.count), Int32(deadline.remainingMilliseconds()))
    guard ready > 0 else { return [] }
    return zip(sockets, pfds).filter { $0.1.revents != 0 }.map(\.0)
}
