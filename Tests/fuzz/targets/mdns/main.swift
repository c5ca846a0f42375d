// An mDNS response from anyone on the LAN: the A/AAAA records for a name.
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
    _ = MulticastDNS.addresses(in: bytes, for: "nas.local")
    _ = MulticastDNS.addresses(in: bytes, for: "photonas.local")
}
