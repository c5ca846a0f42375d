// Any mDNS datagram from the LAN, as the service browse reads it (PTR, SRV, TXT, A, AAAA).
@testable import Discovery
import FuzzSupport

fuzz { bytes in
    _ = try? DNSMessage.parse(bytes)
}
