import Logging

import System

/// A one-shot multicast DNS query (RFC 6762 section 5.1) for a `.local` name's IPv4 address, sent on
/// every multicast-capable interface from an ephemeral port; responders answer by unicast.
public enum MulticastDNS {
    static let group: IPAddress = .v4(UInt32(0xE00000FB).bigEndian)  // 224.0.0.251
    static let port: UInt16 = 5353
    static let typeA: UInt16 = 1
    static let classIN: UInt16 = 1
    /// The top bit of the question class asks for a unicast response.
    static let unicastResponseBit: UInt16 = 0x8000
    static let retransmitInterval: Duration = .milliseconds(500)

    public static func resolve(_ name: String, until deadline: Deadline, logger: Logger) -> [IPAddress] {
        let queryName = name.hasSuffix(".") ? String(name.dropLast()) : name
        let id = UInt16.random(in: 1...UInt16.max)
        let packet = query(for: queryName, id: id)
        let interfaces = MulticastInterface.current().interfaces
        // With no multicast-capable interface, the query still goes where the routing table sends it.
        guard let socket = MulticastSocket(family: .v4, group: group, port: port, interfaces: interfaces, orDefaultRoute: true) else { return [] }
        logger.debug("multicast DNS query", metadata: ["name": "\(queryName)", "interfaces": "\(socket.interfaces.map(\.name))"])

        var nextSend = ContinuousClock.now
        while !deadline.hasPassed {
            if ContinuousClock.now >= nextSend {
                socket.sendToGroup(packet)
                nextSend = .now + retransmitInterval
            }
            guard !waitReadable([socket], until: Swift.min(deadline, Deadline(nextSend))).isEmpty else { continue }
            for reply in socket.receiveWaiting(maximumSize: 9000) {
                let addresses = addresses(in: reply.bytes, for: queryName)
                if !addresses.isEmpty { return addresses }
            }
        }
        return []
    }

    static func query(for name: String, id: UInt16) -> [UInt8] {
        var packet: [UInt8] = []
        func append16(_ value: UInt16) { packet += [UInt8(value >> 8), UInt8(value & 0xFF)] }
        append16(id)
        append16(0)  // flags: standard query
        append16(1)  // one question
        append16(0)
        append16(0)
        append16(0)
        for label in name.split(separator: ".") {
            let bytes = Array(label.utf8.prefix(63))
            packet.append(UInt8(bytes.count))
            packet += bytes
        }
        packet.append(0)
        append16(typeA)
        append16(classIN | unicastResponseBit)
        return packet
    }

    /// A records for `name` anywhere in a response (answers and additional records).
    static func addresses(in packet: [UInt8], for name: String) -> [IPAddress] {
        var reader = DNSReader(packet: packet)
        guard let header = reader.header(), header.flags & 0x8000 != 0 else { return [] }  // responses only
        for _ in 0..<header.questions {
            guard reader.name() != nil, reader.skip(4) else { return [] }
        }
        var result: [IPAddress] = []
        for _ in 0..<(header.answers + header.authorities + header.additionals) {
            guard let owner = reader.name(), let type = reader.u16(), reader.u16() != nil, reader.skip(4), let length = reader.u16(),
                let data = reader.bytes(Int(length))
            else { break }
            if type == typeA, length == 4, owner.lowercased() == name.lowercased() {
                let octets = Array(data)
                let raw = UInt32(octets[0]) << 24 | UInt32(octets[1]) << 16 | UInt32(octets[2]) << 8 | UInt32(octets[3])
                let address = IPAddress.v4(raw.bigEndian)
                if !result.contains(address) { result.append(address) }
            }
        }
        return result
    }
}

/// Bounds-checked reading of a DNS message, including compressed names.
struct DNSReader {
    let packet: [UInt8]
    var offset = 0

    struct Header {
        let flags: UInt16
        let questions: Int
        let answers: Int
        let authorities: Int
        let additionals: Int
    }

    mutating func header() -> Header? {
        guard let _ = u16(), let flags = u16(), let qd = u16(), let an = u16(), let ns = u16(), let ar = u16() else { return nil }
        return Header(flags: flags, questions: Int(qd), answers: Int(an), authorities: Int(ns), additionals: Int(ar))
    }

    mutating func u16() -> UInt16? {
        guard offset + 2 <= packet.count else { return nil }
        defer { offset += 2 }
        return UInt16(packet[offset]) << 8 | UInt16(packet[offset + 1])
    }

    mutating func skip(_ count: Int) -> Bool {
        guard offset + count <= packet.count else { return false }
        offset += count
        return true
    }

    mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard offset + count <= packet.count else { return nil }
        defer { offset += count }
        return packet[offset..<offset + count]
    }

    /// Reads a name at the current offset, following compression pointers (bounded, so a looping
    /// pointer chain in a hostile packet ends).
    mutating func name() -> String? {
        var labels: [String] = []
        var position = offset
        var jumped = false
        var hops = 0
        while true {
            guard position < packet.count else { return nil }
            let length = Int(packet[position])
            if length == 0 {
                if !jumped { offset = position + 1 }
                return labels.joined(separator: ".")
            }
            if length & 0xC0 == 0xC0 {
                guard position + 1 < packet.count, hops < 32 else { return nil }
                if !jumped { offset = position + 2 }
                position = (length & 0x3F) << 8 | Int(packet[position + 1])
                jumped = true
                hops += 1
                continue
            }
            guard position + 1 + length <= packet.count else { return nil }
            labels.append(String(decoding: packet[position + 1..<position + 1 + length], as: UTF8.self))
            position += 1 + length
        }
    }
}
