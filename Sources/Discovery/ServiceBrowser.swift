import Logging

import System

/// One DNS-SD service instance a host announced over multicast DNS.
public struct ServiceAnnouncement: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case smb, nfs, deviceInfo
    }

    public let instance: String
    public let kind: Kind
    /// The SRV target ("nas.local"), when the SRV record came.
    public let host: String?
    public let port: UInt16?
    /// TXT `key=value` pairs; keys lower-cased (RFC 6763 section 6.4: keys are case-insensitive).
    public let txt: [String: String]
    public let addresses: [IPAddress]
}

/// What the browse learned so far, fed one parsed message at a time. Pure, so unit tests can drive it with
/// real captured packets; bounded, so a flood of hostile answers cannot grow it without end.
struct BrowseState {
    static let serviceTypes: [(name: String, kind: ServiceAnnouncement.Kind)] = [
        ("_smb._tcp.local", .smb), ("_nfs._tcp.local", .nfs), ("_device-info._tcp.local", .deviceInfo),
    ]
    static let maximumInstances = 128
    static let maximumAddressesPerHost = 8

    private(set) var instances: [String: ServiceAnnouncement.Kind] = [:]  // lower-cased instance name
    private(set) var instanceNames: [String: String] = [:]  // lower-cased -> as announced
    private(set) var services: [String: (target: String, port: UInt16)] = [:]
    private(set) var texts: [String: [String: String]] = [:]
    private(set) var addresses: [String: [IPAddress]] = [:]  // lower-cased host name
    /// Where each SRV came from: the address of a host that announced its own service, used when no
    /// A/AAAA record for the target arrives.
    private(set) var sources: [String: IPAddress] = [:]

    mutating func absorb(_ message: DNSMessage, from source: IPAddress?) {
        guard message.isResponse else { return }
        for record in message.records {
            let owner = record.name.lowercased()
            switch record.data {
            case .ptr(let instance):
                guard let kind = Self.serviceTypes.first(where: { $0.name == owner })?.kind,
                    instance.lowercased().hasSuffix("." + owner), instances.count < Self.maximumInstances
                else { continue }
                instances[instance.lowercased()] = kind
                instanceNames[instance.lowercased()] = instance
            case .srv(_, _, let port, let target):
                guard instances[owner] != nil, !target.isEmpty else { continue }
                services[owner] = (target, port)
                if let source, sources[target.lowercased()] == nil, sources.count < Self.maximumInstances * 2 { sources[target.lowercased()] = source }
            case .txt(let strings):
                guard instances[owner] != nil else { continue }
                texts[owner] = Self.txtPairs(strings)
            case .a(let address), .aaaa(let address):
                var known = addresses[owner] ?? []
                guard !known.contains(address), known.count < Self.maximumAddressesPerHost, addresses.count < Self.maximumInstances * 2 else { continue }
                known.append(address)
                addresses[owner] = known
            case .other:
                continue
            }
        }
    }

    /// RFC 6763 section 6: `key=value`, the first `=` splits; a key without `=` is a flag. Values that
    /// are not UTF-8 are dropped (we only show them).
    static func txtPairs(_ strings: [[UInt8]]) -> [String: String] {
        var pairs: [String: String] = [:]
        for bytes in strings.prefix(64) {
            guard let text = String(validating: bytes, as: UTF8.self) else { continue }
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = parts.first, !key.isEmpty else { continue }
            let lower = key.lowercased()
            if pairs[lower] == nil { pairs[lower] = parts.count > 1 ? String(parts[1]) : "" }  // the first one counts
        }
        return pairs
    }

    /// The next questions: the three service types always (new hosts may answer late), then SRV and TXT
    /// for instances without them, then A and AAAA for SRV targets without an address.
    func questions() -> [(name: String, type: UInt16)] {
        var list = Self.serviceTypes.map { (name: $0.name, type: DNSMessage.RecordType.ptr) }
        for (instance, _) in instances.sorted(by: { $0.key < $1.key }) {
            let name = instanceNames[instance] ?? instance
            if services[instance] == nil { list.append((name, DNSMessage.RecordType.srv)) }
            if texts[instance] == nil { list.append((name, DNSMessage.RecordType.txt)) }
        }
        for target in Set(services.values.map { $0.target.lowercased() }).sorted() where addresses[target] == nil {
            list.append((target, DNSMessage.RecordType.a))
            list.append((target, DNSMessage.RecordType.aaaa))
        }
        return Array(list.prefix(40))  // stays far below one packet's size
    }

    /// SRV targets that have no address yet.
    var unresolvedTargets: [String] {
        Set(services.values.map { $0.target.lowercased() }).filter { addresses[$0] == nil }.sorted()
    }

    mutating func addAddresses(_ found: [IPAddress], for target: String) {
        addresses[target.lowercased()] = Array(found.prefix(Self.maximumAddressesPerHost))
    }

    var announcements: [ServiceAnnouncement] {
        instances.sorted(by: { $0.key < $1.key }).map { instance, kind in
            let service = services[instance]
            let target = service?.target.lowercased()
            var found = target.flatMap { addresses[$0] } ?? []
            if found.isEmpty, let target, let source = sources[target] { found = [source] }
            return ServiceAnnouncement(
                instance: instanceNames[instance] ?? instance, kind: kind, host: service?.target, port: service?.port,
                txt: texts[instance] ?? [:], addresses: found)
        }
    }
}

/// Browses `_smb._tcp`, `_nfs._tcp` and `_device-info._tcp` with our own multicast DNS queries over IPv4
/// and IPv6 (RFC 6762 section 5.1 one-shot queries from an ephemeral port), until a deadline.
///
/// avahi-daemon's simple-protocol socket cannot browse services (it offers RESOLVE-HOSTNAME*,
/// RESOLVE-ADDRESS and BROWSE-DNS-SERVERS* only), so the queries are always our own; when avahi-daemon
/// runs, SRV targets that no A/AAAA answer covered are resolved through it at the end.
struct MulticastDNSBrowser {
    static let groupV4: IPAddress = MulticastDNS.group
    static let groupV6 = IPAddress("ff02::fb")!
    /// Query again at these offsets from the start, then every second: answers lost on a busy LAN come
    /// back, and late hosts are still heard.
    static let schedule: [Duration] = [.zero, .milliseconds(250), .milliseconds(750)]
    static let repeatInterval: Duration = .seconds(1)

    let interfaces: [MulticastInterface]
    let avahi: AvahiClient?
    let logger: Logger

    func browse(until deadline: Deadline) -> [ServiceAnnouncement] {
        let sockets = [
            MulticastSocket(family: .v4, group: Self.groupV4, port: MulticastDNS.port, interfaces: interfaces),
            MulticastSocket(family: .v6, group: Self.groupV6, port: MulticastDNS.port, interfaces: interfaces),
        ].compactMap { $0 }
        var state = BrowseState()
        let start = ContinuousClock.now
        // Leave time to ask avahi-daemon for addresses the answers did not carry.
        let listenUntil = avahi == nil ? deadline : Deadline(deadline.instant - (deadline.instant - start) / 5)
        var sends = 0
        var nextSend = start
        let id = UInt16.random(in: 1...UInt16.max)
        logger.debug("mDNS browse", metadata: ["interfaces": "\(interfaces.map(\.name))", "sockets": "\(sockets.count)"])
        while !listenUntil.hasPassed {
            if ContinuousClock.now >= nextSend {
                let packet = DNSMessage.query(id: id, questions: state.questions())
                for socket in sockets { socket.sendToGroup(packet) }
                sends += 1
                nextSend = sends < Self.schedule.count ? start + Self.schedule[sends] : .now + Self.repeatInterval
            }
            for socket in waitReadable(sockets, until: Swift.min(listenUntil, Deadline(nextSend))) {
                for datagram in socket.receiveWaiting(maximumSize: DNSMessage.maximumSize) {
                    switch Result(catching: { () throws(DNSParseError) in try DNSMessage.parse(datagram.bytes) }) {
                    case .success(let message): state.absorb(message, from: datagram.source)
                    case .failure(let error):
                        logger.debug("mDNS answer ignored", metadata: ["from": "\(datagram.source.map(\.description) ?? "?")", "error": "\(error)"])
                    }
                }
            }
        }
        if let avahi {
            for target in state.unresolvedTargets where !deadline.hasPassed {
                if case .resolved(let found) = avahi.resolve(target, until: deadline) { state.addAddresses(found, for: target) }
            }
        }
        return state.announcements
    }
}
