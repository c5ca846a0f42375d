// The options header boot enable writes into extlib-net.service, read back by boot status / disable.
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
    _ = BootUnits.recordedOptions(inService: String(decoding: bytes, as: UTF8.self))
}
