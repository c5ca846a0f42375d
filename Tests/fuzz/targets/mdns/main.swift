// An mDNS response from anyone on the LAN: the A/AAAA records for a name.
@testable import Discovery
import FuzzSupport

fuzz { bytes in
    _ = MulticastDNS.addresses(in: bytes, for: "nas.local")
    _ = MulticastDNS.addresses(in: bytes, for: "photonas.local")
}
