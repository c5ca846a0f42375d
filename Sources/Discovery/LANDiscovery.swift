import Logging


#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import System
import Formats
import Core

/// A NAS that announced itself on the local network, merged from every announcement of it.
public struct DiscoveredHost: Sendable, Equatable, Encodable {
    public enum Service: String, Sendable, Codable, Comparable {
        case smb, nfs
        public static func < (lhs: Service, rhs: Service) -> Bool { lhs.rawValue > rhs.rawValue }  // smb first
    }

    public enum FoundBy: String, Sendable, Codable, Comparable {
        case mdns, wsd
        public static func < (lhs: FoundBy, rhs: FoundBy) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The mDNS host name ("nas.local") when it announced one, else the NetBIOS name from WS-Discovery.
    public var name: String
    public var addresses: [IPAddress]
    public var services: [Service]
    public var foundBy: [FoundBy]
    /// `_device-info` TXT `model=`, else the WS-Discovery model name.
    public var model: String?
    /// NFS export paths from `_nfs._tcp` TXT `path=`.
    public var exports: [String]
    /// The workgroup or domain from WS-Discovery's `pub:Computer`.
    public var workgroup: String?

    /// What to give `extlib-net discover` next: the `.local` name (extlib-net resolves those over mDNS),
    /// else an address, since a bare NetBIOS name usually does not resolve.
    public var nextCommandTarget: String {
        if HostName.isLocalName(name), (try? HostName.parse(name)) != nil { return name }
        return (addresses.first(where: \.isIPv4) ?? addresses.first)?.description ?? name
    }

    enum CodingKeys: String, CodingKey {
        case name, addresses, services, foundBy, model, exports
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(addresses.map(\.description), forKey: .addresses)
        try container.encode(services, forKey: .services)
        try container.encode(foundBy, forKey: .foundBy)
        try container.encode(model, forKey: .model)  // null rather than absent: a stable shape
        try container.encode(exports, forKey: .exports)
    }
}

/// `--json` of `discover` without HOST.
public struct LANDiscoveryReport: Sendable, Encodable {
    public let hosts: [DiscoveredHost]
    public init(hosts: [DiscoveredHost]) { self.hosts = hosts }
}

/// Finds NASes on the local network by listening to what they announce (never by scanning): a multicast
/// DNS browse for `_smb._tcp`, `_nfs._tcp` and `_device-info._tcp`, and a WS-Discovery probe for
/// Windows-style hosts (wsdd, wsdd2), both at once and both within one deadline.
///
///     let hosts = LANDiscovery(root: root, logger: logger).browse(timeout: .seconds(3))
///
/// Never prints. Hosts are merged by shared addresses; this machine's own addresses and hosts that
/// announced neither SMB nor NFS are left out.
public struct LANDiscovery: Sendable {
    public let root: SystemRoot
    public let logger: Logger

    public init(root: SystemRoot, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    public func browse(timeout: Duration) -> [DiscoveredHost] {
        // The command as a whole must end within `timeout`: leave it a moment to print and exit.
        let deadline = Deadline.after(timeout - Swift.min(.milliseconds(50), timeout / 20))
        let (interfaces, own) = MulticastInterface.current()
        logger.debug("LAN browse", metadata: ["interfaces": "\(interfaces.map(\.name))"])
        let avahiPath = root.path(SystemRoot.Known.avahiSocket)
        let avahi = FileSystem.isReachable(avahiPath) ? AvahiClient(socketPath: avahiPath, logger: logger) : nil
        let logger = self.logger
        let wsd = BlockingCall<[WSDHost]>(on: .global()) { WSDiscoveryBrowser(interfaces: interfaces, logger: logger).browse(until: deadline) }
        let announcements = MulticastDNSBrowser(interfaces: interfaces, avahi: avahi, logger: logger).browse(until: deadline)
        let wsdHosts = wsd.wait(until: deadline) ?? []
        return Self.merge(announcements: announcements, wsd: wsdHosts, ownAddresses: own)
    }

    /// Merges per host. Pure, so unit tests check it on captured data.
    static func merge(announcements: [ServiceAnnouncement], wsd: [WSDHost], ownAddresses: Set<IPAddress>) -> [DiscoveredHost] {
        var hosts: [DiscoveredHost] = []
        // Device-info models by SRV target and by instance label (device-info often has no SRV).
        var models: [String: String] = [:]
        for announcement in announcements where announcement.kind == .deviceInfo {
            guard let model = announcement.txt["model"], !model.isEmpty, model.utf8.count <= 128 else { continue }
            if let host = announcement.host?.lowercased() { models[host] = model }
            models["instance:" + instanceLabel(announcement.instance).lowercased()] = model
        }
        func add(_ host: DiscoveredHost) {
            if let index = hosts.firstIndex(where: { existing in
                !Set(existing.addresses).isDisjoint(with: host.addresses) || (existing.name.lowercased() == host.name.lowercased() && HostName.isLocalName(host.name))
            }) {
                var merged = hosts[index]
                for address in host.addresses where !merged.addresses.contains(address) { merged.addresses.append(address) }
                merged.services = Array(Set(merged.services + host.services)).sorted()
                merged.foundBy = Array(Set(merged.foundBy + host.foundBy)).sorted()
                merged.exports = Array(Set(merged.exports + host.exports)).sorted()
                if merged.model == nil { merged.model = host.model }
                if merged.workgroup == nil { merged.workgroup = host.workgroup }
                // An mDNS name is one extlib-net can resolve; keep it over a NetBIOS name.
                if !HostName.isLocalName(merged.name), HostName.isLocalName(host.name) { merged.name = host.name }
                hosts[index] = merged
            } else {
                hosts.append(host)
            }
        }
        for announcement in announcements where announcement.kind != .deviceInfo {
            guard let target = announcement.host, !announcement.addresses.isEmpty else { continue }
            let name = target.hasSuffix(".") ? String(target.dropLast()) : target
            let service: DiscoveredHost.Service = announcement.kind == .smb ? .smb : .nfs
            var exports: [String] = []
            if service == .nfs, let path = announcement.txt["path"], path.hasPrefix("/"), path.utf8.count <= 1024,
                !path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            {
                exports = [path]
            }
            let model = models[name.lowercased()] ?? models["instance:" + instanceLabel(announcement.instance).lowercased()]
            add(DiscoveredHost(name: name, addresses: announcement.addresses, services: [service], foundBy: [.mdns],
                               model: model, exports: exports, workgroup: nil))
        }
        for host in wsd where !host.addresses.isEmpty {
            add(DiscoveredHost(name: host.computerName ?? host.addresses[0].description, addresses: host.addresses, services: [.smb],
                               foundBy: [.wsd], model: host.model, exports: [], workgroup: host.workgroup ?? host.domain))
        }
        return hosts
            .filter { $0.addresses.allSatisfy { !ownAddresses.contains($0) } && !$0.services.isEmpty }
            .sorted { $0.name.lowercased() < $1.name.lowercased() }
    }

    /// "My NAS" from "My NAS._smb._tcp.local" (escaped dots stay part of the label).
    static func instanceLabel(_ instance: String) -> String {
        DNSMessage.splitLabels(instance).first ?? instance
    }
}

extension HostName {
    static func isLocalName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix(".local") || lower.hasSuffix(".local.")
    }
}

/// The human output of `discover` without HOST.
public enum LANDiscoveryPresentation {
    public static func text(_ hosts: [DiscoveredHost], seconds: Double) -> String {
        guard !hosts.isEmpty else {
            return "No NAS announced itself within \(formatSeconds(seconds)) (mDNS and WS-Discovery). If yours is on, "
                + "try a longer --timeout, or give its name or address: extlib-net discover HOST\n"
        }
        var out = ""
        for host in hosts {
            var parts = [host.services.map(\.rawValue).joined(separator: "+")]
            if let model = host.model { parts.append("model \(Terminal.printable(model))") }
            if !host.exports.isEmpty { parts.append("exports " + host.exports.map { Terminal.printable($0) }.joined(separator: ", ")) }
            if let workgroup = host.workgroup { parts.append("workgroup \(Terminal.printable(workgroup))") }
            parts.append("via " + host.foundBy.map { $0 == .mdns ? "mDNS" : "WS-Discovery" }.joined(separator: "+"))
            out += "\(Terminal.printable(host.name))  \(host.addresses.map(\.description).joined(separator: ", "))  \(parts.joined(separator: "; "))\n"
        }
        out += "\nNext, list the shares of one:\n"
        for host in hosts {
            out += "  extlib-net discover \(shellQuoted(host.nextCommandTarget))\n"
        }
        return out
    }

}
