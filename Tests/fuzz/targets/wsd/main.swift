// WS-Discovery datagrams and metadata documents from the LAN: the XML reader under them, too.
@testable import Discovery
import FuzzSupport

fuzz { bytes in
    _ = try? XMLTree.parse(bytes)
    _ = try? WSDMessage.parse(bytes)
    _ = try? WSDMessage.parseMetadata(bytes)
}
