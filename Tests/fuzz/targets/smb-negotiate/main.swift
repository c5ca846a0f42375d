// A server's answer to the SMB generation probe's NEGOTIATE.
@testable import Discovery
import FuzzSupport

fuzz { bytes in
    _ = SMBDialectProbe.frameState(bytes)
    _ = SMBDialectProbe.generation(inResponse: bytes)
}
