// WS-Discovery datagrams and metadata documents from the LAN: the XML reader under them, too.
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
    _ = try? XMLTree.parse(bytes)
    _ = try? WSDMessage.parse(bytes)
    _ = try? WSDMessage.parseMetadata(bytes)
}
