// A server's answer to the SMB generation probe's NEGOTIATE.
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
    _ = SMBDialectProbe.frameState(bytes)
    _ = SMBDialectProbe.generation(inResponse: bytes)
}
