import Logging
import System
import Discovery

/// setup's host list, from the LAN discovery that `extlib-net discover` without HOST runs.
public struct LANHostBrowser: HostBrowsing {
    public let root: SystemRoot
    public let logger: Logger

    public init(root: SystemRoot, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    public var command: [String] { ["discover"] }

    /// A host known only by its NetBIOS name gets no name here: extlib-net could not resolve it, so the
    /// flow goes on with its address, as `discover` suggests.
    public func browse(timeout: Duration) -> [BrowsedHost] {
        LANDiscovery(root: root, logger: logger).browse(timeout: timeout).map { host in
            BrowsedHost(name: host.nextCommandTarget == host.name ? host.name : nil, addresses: host.addresses.map(\.description),
                        services: host.services.map(\.rawValue))
        }
    }
}
