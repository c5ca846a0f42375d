// Any mDNS datagram from the LAN, as the service browse reads it (PTR, SRV, TXT, A, AAAA).
@testable import Core
@testable import System
@testable import Formats
@testable import Discovery
@testable import Credentials
@testable import Mounting
@testable import Health
@testable import Boot
@testable import Immich
@testable import Setup
import FuzzSupport

fuzz { bytes in
    _ = try? DNSMessage.parse(bytes)
}
