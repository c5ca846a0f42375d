import Dispatch
import Logging
import Synchronization

import System

/// A host that answered a WS-Discovery probe, with what its metadata said.
public struct WSDHost: Sendable, Equatable {
    public let endpoint: String
    public let addresses: [IPAddress]
    /// From `pub:Computer` ("NAS/Workgroup:WG"): the NetBIOS name, and the workgroup or domain.
    public let computerName: String?
    public let workgroup: String?
    public let domain: String?
    public let model: String?
}

/// What one WS-Discovery datagram or metadata answer says. Each parser is a pure function of the bytes
/// (fuzzing entry points) on top of the bounded XML reader.
public enum WSDMessage: Sendable, Equatable {
    public struct Match: Sendable, Equatable {
        public let endpoint: String
        public let types: [String]
        public let xaddrs: [String]
    }

    case probeMatches(relatesTo: String?, [Match])
    case resolveMatches(relatesTo: String?, [Match])
    case other(action: String)

    public enum Namespace {
        public static let soap = "http://www.w3.org/2003/05/soap-envelope"
        public static let addressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
        public static let discovery = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
        public static let devices = "http://schemas.xmlsoap.org/ws/2006/02/devprof"
        public static let pub = "http://schemas.microsoft.com/windows/pub/2005/07"
    }

    static let probeAction = Namespace.discovery + "/Probe"
    static let probeMatchesAction = Namespace.discovery + "/ProbeMatches"
    static let resolveAction = Namespace.discovery + "/Resolve"
    static let resolveMatchesAction = Namespace.discovery + "/ResolveMatches"
    static let getAction = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
    static let discoveryTo = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
    static let anonymous = Namespace.addressing + "/role/anonymous"
    /// SOAP-over-UDP datagrams are at most 32767 bytes (wsdd's limit too).
    public static let maximumDatagram = 32767

    public static func parse(_ bytes: [UInt8]) throws(WSDParseError) -> WSDMessage {
        guard bytes.count <= maximumDatagram else { throw .tooLarge }
        let root: XMLTree
        do { root = try XMLTree.parse(bytes, limits: .init(maximumBytes: maximumDatagram, maximumDepth: 16, maximumElements: 512)) }
        catch { throw .xml(error) }
        guard root.namespace == Namespace.soap, root.localName == "Envelope",
            let header = root.children.first(where: { $0.namespace == Namespace.soap && $0.localName == "Header" }),
            let body = root.children.first(where: { $0.namespace == Namespace.soap && $0.localName == "Body" })
        else { throw .notSOAP }
        guard let action = header.children.first(where: { $0.namespace == Namespace.addressing && $0.localName == "Action" })?.trimmedText else {
            throw .noAction
        }
        let relatesTo = header.children.first { $0.namespace == Namespace.addressing && $0.localName == "RelatesTo" }?.trimmedText
        switch action {
        case probeMatchesAction:
            return .probeMatches(relatesTo: relatesTo, try matches(in: body, container: "ProbeMatches", item: "ProbeMatch"))
        case resolveMatchesAction:
            return .resolveMatches(relatesTo: relatesTo, try matches(in: body, container: "ResolveMatches", item: "ResolveMatch"))
        default:
            return .other(action: String(action.prefix(200)))
        }
    }

    private static func matches(in body: XMLTree, container: String, item: String) throws(WSDParseError) -> [Match] {
        guard let list = body.children.first(where: { $0.namespace == Namespace.discovery && $0.localName == container }) else {
            throw .missing(container)
        }
        var result: [Match] = []
        for match in list.children where match.namespace == Namespace.discovery && match.localName == item {
            guard let address = match.first(Namespace.addressing, "EndpointReference")?.first(Namespace.addressing, "Address")?.trimmedText,
                !address.isEmpty, address.utf8.count <= 256
            else { throw .missing("EndpointReference/Address") }
            let types = match.children.first { $0.namespace == Namespace.discovery && $0.localName == "Types" }?.trimmedText ?? ""
            let xaddrs = match.children.first { $0.namespace == Namespace.discovery && $0.localName == "XAddrs" }?.trimmedText ?? ""
            result.append(Match(endpoint: address, types: types.split(whereSeparator: \.isWhitespace).map(String.init),
                                xaddrs: xaddrs.split(whereSeparator: \.isWhitespace).prefix(8).map(String.init)))
        }
        return result
    }

    /// What a metadata `GetResponse` says about the host.
    public struct Metadata: Sendable, Equatable {
        public let computer: String?
        public let friendlyName: String?
        public let model: String?
    }

    public static func parseMetadata(_ bytes: [UInt8]) throws(WSDParseError) -> Metadata {
        let root: XMLTree
        do { root = try XMLTree.parse(bytes) } catch { throw .xml(error) }
        guard root.namespace == Namespace.soap, root.localName == "Envelope",
            let body = root.children.first(where: { $0.namespace == Namespace.soap && $0.localName == "Body" })
        else { throw .notSOAP }
        let computer = body.first(Namespace.pub, "Computer")?.trimmedText
        let friendly = body.first(Namespace.devices, "FriendlyName")?.trimmedText
        let model = body.first(Namespace.devices, "ModelName")?.trimmedText
        func bounded(_ text: String?) -> String? {
            guard let text, !text.isEmpty, text.utf8.count <= 256, !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return nil }
            return text
        }
        // wsdd2 fills fields it does not know with these.
        let placeholders: Set<String> = ["unknown", "(null)"]
        return Metadata(computer: bounded(computer), friendlyName: bounded(friendly),
                        model: bounded(model).flatMap { placeholders.contains($0.lowercased()) ? nil : $0 })
    }

    /// `NAME/Workgroup:WG` or `NAME/Domain:D` (anything else: the whole text is the name).
    public static func splitComputer(_ text: String) -> (name: String, workgroup: String?, domain: String?) {
        guard let slash = text.firstIndex(of: "/") else { return (text, nil, nil) }
        let name = String(text[..<slash])
        let rest = text[text.index(after: slash)...]
        if rest.hasPrefix("Workgroup:") { return (name, String(rest.dropFirst(10)), nil) }
        if rest.hasPrefix("Domain:") { return (name, nil, String(rest.dropFirst(7))) }
        return (name, nil, nil)
    }

    static func envelope(to: String, action: String, messageID: String, extraHeader: String = "", body: String) -> [UInt8] {
        let text = """
            <?xml version="1.0" encoding="utf-8"?>\
            <soap:Envelope xmlns:soap="\(Namespace.soap)" xmlns:wsa="\(Namespace.addressing)" \
            xmlns:wsd="\(Namespace.discovery)" xmlns:wsdp="\(Namespace.devices)">\
            <soap:Header><wsa:To>\(to)</wsa:To><wsa:Action>\(action)</wsa:Action>\
            <wsa:MessageID>\(messageID)</wsa:MessageID>\(extraHeader)</soap:Header>\
            <soap:Body>\(body)</soap:Body></soap:Envelope>
            """
        return Array(text.utf8)
    }

    static func probe(messageID: String) -> [UInt8] {
        envelope(to: discoveryTo, action: probeAction, messageID: messageID, body: "<wsd:Probe><wsd:Types>wsdp:Device</wsd:Types></wsd:Probe>")
    }

    static func resolve(endpoint: String, messageID: String) -> [UInt8] {
        envelope(to: discoveryTo, action: resolveAction, messageID: messageID,
                 body: "<wsd:Resolve><wsa:EndpointReference><wsa:Address>\(xmlEscaped(endpoint))</wsa:Address></wsa:EndpointReference></wsd:Resolve>")
    }

    static func get(endpoint: String, messageID: String, from: String) -> [UInt8] {
        envelope(to: xmlEscaped(endpoint), action: getAction, messageID: messageID,
                 extraHeader: "<wsa:ReplyTo><wsa:Address>\(anonymous)</wsa:Address></wsa:ReplyTo><wsa:From><wsa:Address>\(from)</wsa:Address></wsa:From>",
                 body: "")
    }

    static func xmlEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    static func newUUID() -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return "urn:uuid:" + parts.joined(separator: "-")
    }
}

public enum WSDParseError: Error, Equatable, CustomStringConvertible {
    case tooLarge
    case xml(XMLParseError)
    case notSOAP
    case noAction
    case missing(String)

    public var description: String {
        switch self {
        case .tooLarge: return "WS-Discovery message is too large"
        case .xml(let error): return error.description
        case .notSOAP: return "not a SOAP 1.2 envelope with header and body"
        case .noAction: return "SOAP header without wsa:Action"
        case .missing(let what): return "WS-Discovery message lacks \(what)"
        }
    }
}

/// Probes for `wsdp:Device` over IPv4 and IPv6 multicast, resolves endpoints whose ProbeMatch had no
/// XAddrs, and fetches each host's metadata at the XAddrs URL it gave, all until one deadline.
struct WSDiscoveryBrowser {
    static let groupV4 = IPAddress("239.255.255.250")!
    static let groupV6 = IPAddress("ff02::c")!
    static let port: UInt16 = 3702
    /// SOAP-over-UDP repeats multicast messages; these are our send times from the start.
    static let schedule: [Duration] = [.zero, .milliseconds(300), .milliseconds(900)]
    static let maximumEndpoints = 64

    let interfaces: [MulticastInterface]
    let logger: Logger

    private struct Endpoint {
        var addresses: [IPAddress] = []
        var xaddrs: [String] = []
        var resolveSent = 0
        var lastResolve: ContinuousClock.Instant?
        var fetch: BlockingCall<Result<WSDMessage.Metadata, WSDFetchError>>?
    }

    /// Returns by `deadline`: the caller waits for this on another thread until the same deadline.
    func browse(until outerDeadline: Deadline) -> [WSDHost] {
        let start = ContinuousClock.now
        let deadline = Deadline(outerDeadline.instant - Swift.min(.milliseconds(100), (outerDeadline.instant - start) / 10))
        let sockets = [
            MulticastSocket(family: .v4, group: Self.groupV4, port: Self.port, interfaces: interfaces),
            MulticastSocket(family: .v6, group: Self.groupV6, port: Self.port, interfaces: interfaces),
        ].compactMap { $0 }
        let ourID = WSDMessage.newUUID()
        var probesSent = 0
        var probeIDs: Set<String> = []
        var endpoints: [String: Endpoint] = [:]
        var order: [String] = []
        // Stop listening shortly before the deadline, so fetches that are under way can still finish.
        let listenUntil = Deadline(deadline.instant - (deadline.instant - start) / 10)

        while !listenUntil.hasPassed {
            if probesSent < Self.schedule.count, ContinuousClock.now >= start + Self.schedule[probesSent] {
                let id = WSDMessage.newUUID()
                probeIDs.insert(id)
                for socket in sockets { socket.sendToGroup(WSDMessage.probe(messageID: id)) }
                probesSent += 1
            }
            // Resolve endpoints without XAddrs, twice at most.
            for key in order where endpoints[key]!.xaddrs.isEmpty && endpoints[key]!.resolveSent < 2
                && endpoints[key]!.lastResolve.map({ ContinuousClock.now - $0 >= .milliseconds(400) }) ?? true
            {
                let message = WSDMessage.resolve(endpoint: key, messageID: WSDMessage.newUUID())
                for socket in sockets { socket.sendToGroup(message) }
                endpoints[key]!.resolveSent += 1
                endpoints[key]!.lastResolve = .now
            }
            let nextProbe = probesSent < Self.schedule.count ? Deadline(start + Self.schedule[probesSent]) : listenUntil
            for socket in waitReadable(sockets, until: Swift.min(listenUntil, Swift.min(nextProbe, .after(.milliseconds(300))))) {
                for datagram in socket.receiveWaiting(maximumSize: WSDMessage.maximumDatagram + 1) {
                    let parsed = Result { () throws(WSDParseError) in try WSDMessage.parse(datagram.bytes) }
                    guard case .success(let message) = parsed else {
                        if case .failure(let error) = parsed {
                            logger.debug("WS-Discovery answer ignored", metadata: ["from": "\(datagram.source.map(\.description) ?? "?")", "error": "\(error)"])
                        }
                        continue
                    }
                    let matches: [WSDMessage.Match]
                    switch message {
                    case .probeMatches(_, let list), .resolveMatches(_, let list): matches = list
                    case .other: continue
                    }
                    for match in matches {
                        if endpoints[match.endpoint] == nil {
                            guard endpoints.count < Self.maximumEndpoints else { continue }
                            endpoints[match.endpoint] = Endpoint()
                            order.append(match.endpoint)
                        }
                        if let source = datagram.source, !endpoints[match.endpoint]!.addresses.contains(source), endpoints[match.endpoint]!.addresses.count < 8 {
                            endpoints[match.endpoint]!.addresses.append(source)
                        }
                        // Only URLs that point back at the sender: an answer may not send us to some other host.
                        let usable = match.xaddrs.filter { url in BoundedHTTP.target(url).map { target in datagram.source == target.address } ?? false }
                        if endpoints[match.endpoint]!.xaddrs.isEmpty, !usable.isEmpty {
                            // IPv4 first: an IPv6 link-local URL needs the interface, which the URL lacks.
                            endpoints[match.endpoint]!.xaddrs = usable.filter { BoundedHTTP.target($0)?.address.isIPv4 == true }
                                + usable.filter { BoundedHTTP.target($0)?.address.isIPv4 != true }
                        }
                    }
                }
            }
            // Start the metadata fetch of every endpoint whose XAddrs are known, each on its own thread so a
            // host that never answers HTTP holds up nobody.
            for key in order where endpoints[key]!.fetch == nil && !endpoints[key]!.xaddrs.isEmpty {
                let urls = endpoints[key]!.xaddrs
                let logger = self.logger
                endpoints[key]!.fetch = BlockingCall(on: .global()) {
                    Self.fetchMetadata(endpoint: key, urls: urls, from: ourID, until: deadline, logger: logger)
                }
            }
        }

        return order.compactMap { key in
            let endpoint = endpoints[key]!
            guard let fetch = endpoint.fetch, case .success(let metadata)? = fetch.wait(until: deadline) else {
                logger.debug("WS-Discovery endpoint without metadata", metadata: ["endpoint": "\(key)"])
                return nil
            }
            // A Windows-style host: pub:Computer names it. A printer or a media device has none and is no NAS.
            guard let computer = metadata.computer else { return nil }
            let (name, workgroup, domain) = WSDMessage.splitComputer(computer)
            return WSDHost(endpoint: key, addresses: endpoint.addresses, computerName: name.isEmpty ? nil : name,
                           workgroup: workgroup, domain: domain, model: metadata.model)
        }
    }

    static func fetchMetadata(endpoint: String, urls: [String], from: String, until deadline: Deadline, logger: Logger) -> Result<WSDMessage.Metadata, WSDFetchError> {
        var last = WSDFetchError.noUsableURL
        for url in urls {
            guard let target = BoundedHTTP.target(url) else { continue }
            let body = WSDMessage.get(endpoint: endpoint, messageID: WSDMessage.newUUID(), from: from)
            let response: BoundedHTTP.Response
            switch Result(catching: { () throws(HTTPError) in try BoundedHTTP.post(body, to: target, contentType: "application/soap+xml", until: deadline) }) {
            case .success(let value): response = value
            case .failure(let error):
                logger.debug("WS-Discovery metadata fetch failed", metadata: ["url": "\(url)", "error": "\(error)"])
                last = .http(error)
                continue
            }
            guard response.status == 200 else {
                last = .status(response.status)
                continue
            }
            switch Result(catching: { () throws(WSDParseError) in try WSDMessage.parseMetadata(response.body) }) {
            case .success(let metadata): return .success(metadata)
            case .failure(let error): last = .parse(error)
            }
        }
        return .failure(last)
    }
}

enum WSDFetchError: Error, Equatable {
    case noUsableURL
    case http(HTTPError)
    case status(Int)
    case parse(WSDParseError)
}
