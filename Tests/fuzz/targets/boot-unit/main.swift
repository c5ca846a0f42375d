// The options header boot enable writes into extlib-net.service, read back by boot status / disable.
@testable import Boot
import FuzzSupport

fuzz { bytes in
    _ = BootUnits.recordedOptions(inService: String(decoding: bytes, as: UTF8.self))
}
