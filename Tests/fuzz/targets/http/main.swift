// An HTTP response from a host that answered WS-Discovery (its metadata), and avahi-daemon's socket lines.
@testable import Discovery
import FuzzSupport

fuzz { bytes in
    _ = try? BoundedHTTP.parse(bytes, complete: true)
    _ = try? BoundedHTTP.parse(bytes, complete: false)
    _ = AvahiClient.parse(String(decoding: bytes, as: UTF8.self))
}
