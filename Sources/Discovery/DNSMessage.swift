import System
/// A DNS message as multicast DNS responders send it (RFC 1035 section 4, RFC 6762), parsed strictly:
/// anything that does not fit the packet, a name that loops or is too long, or a name that is not UTF-8
/// is an error, never a crash. `DNSMessage.parse` is a pure function of the bytes (a fuzzing entry point).
public struct DNSMessage: Sendable, Equatable {
    public struct Question: Sendable, Equatable {
        public let name: String
        public let type: UInt16
    }

    public enum RecordData: Sendable, Equatable {
        case a(IPAddress)
        case aaaa(IPAddress)
        case ptr(String)
        case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
        /// TXT strings, each one `key=value` or a bare key in DNS-SD (RFC 6763 section 6).
        case txt([[UInt8]])
        case other(type: UInt16)
    }

    public struct Record: Sendable, Equatable {
        public let name: String
        public let type: UInt16
        public let ttl: UInt32
        public let data: RecordData
    }

    public let id: UInt16
    public let isResponse: Bool
    public let questions: [Question]
    /// Answers, authority and additional records in packet order: mDNS responders put what a browser
    /// needs (SRV, TXT, A) in any of them.
    public let records: [Record]

    public enum RecordType {
        public static let a: UInt16 = 1
        public static let ptr: UInt16 = 12
        public static let txt: UInt16 = 16
        public static let aaaa: UInt16 = 28
        public static let srv: UInt16 = 33
    }

    /// mDNS packets fit one datagram; RFC 6762 section 17 allows up to 9000 bytes.
    public static let maximumSize = 9000

    public static func parse(_ packet: [UInt8]) throws(DNSParseError) -> DNSMessage {
        guard packet.count <= maximumSize else { throw .tooLarge(packet.count) }
        var reader = DNSReader(packet: packet)
        guard let header = reader.header() else { throw .truncated }
        let id = UInt16(packet[0]) << 8 | UInt16(packet[1])
        // Each question takes at least 5 bytes and each record 11: counts beyond that cannot be true,
        // so a hostile count fails here instead of driving a long loop.
        let records = header.answers + header.authorities + header.additionals
        guard header.questions * 5 + records * 11 <= packet.count - 12 else { throw .countsExceedPacket }
        var questions: [Question] = []
        for _ in 0..<header.questions {
            let name = try reader.strictName()
            guard let type = reader.u16(), reader.u16() != nil else { throw .truncated }
            questions.append(Question(name: name, type: type))
        }
        var parsed: [Record] = []
        for _ in 0..<records {
            let name = try reader.strictName()
            guard let type = reader.u16(), reader.u16() != nil, let ttlHigh = reader.u16(), let ttlLow = reader.u16(),
                let length = reader.u16()
            else { throw .truncated }
            let start = reader.offset
            guard reader.skip(Int(length)) else { throw .truncated }
            let end = reader.offset
            let data = try recordData(type: type, packet: packet, start: start, end: end)
            parsed.append(Record(name: name, type: type, ttl: UInt32(ttlHigh) << 16 | UInt32(ttlLow), data: data))
        }
        return DNSMessage(id: id, isResponse: header.flags & 0x8000 != 0, questions: questions, records: parsed)
    }

    private static func recordData(type: UInt16, packet: [UInt8], start: Int, end: Int) throws(DNSParseError) -> RecordData {
        let length = end - start
        switch type {
        case RecordType.a:
            guard length == 4 else { throw .badRecord(type) }
            let raw = UInt32(packet[start]) << 24 | UInt32(packet[start + 1]) << 16 | UInt32(packet[start + 2]) << 8 | UInt32(packet[start + 3])
            return .a(.v4(raw.bigEndian))
        case RecordType.aaaa:
            guard length == 16 else { throw .badRecord(type) }
            return .aaaa(.v6(Array(packet[start..<end])))
        case RecordType.ptr:
            var reader = DNSReader(packet: packet, offset: start)
            let name = try reader.strictName()
            guard reader.offset == end else { throw .badRecord(type) }
            return .ptr(name)
        case RecordType.srv:
            var reader = DNSReader(packet: packet, offset: start)
            guard let priority = reader.u16(), let weight = reader.u16(), let port = reader.u16() else { throw .badRecord(type) }
            let target = try reader.strictName()
            guard reader.offset == end else { throw .badRecord(type) }
            return .srv(priority: priority, weight: weight, port: port, target: target)
        case RecordType.txt:
            var strings: [[UInt8]] = []
            var position = start
            while position < end {
                let count = Int(packet[position])
                guard position + 1 + count <= end else { throw .badRecord(type) }
                if count > 0 { strings.append(Array(packet[position + 1..<position + 1 + count])) }
                position += 1 + count
            }
            return .txt(strings)
        default:
            return .other(type: type)
        }
    }

    /// A query with several questions (RFC 6762 section 5.3: one packet may ask many). The unicast-response
    /// bit is set on every question: we send from an ephemeral port, so answers come back to it.
    public static func query(id: UInt16, questions: [(name: String, type: UInt16)]) -> [UInt8] {
        var packet: [UInt8] = []
        func append16(_ value: UInt16) { packet += [UInt8(value >> 8), UInt8(value & 0xFF)] }
        append16(id)
        append16(0)
        append16(UInt16(questions.count))
        append16(0)
        append16(0)
        append16(0)
        for question in questions {
            packet += encodeName(question.name)
            append16(question.type)
            append16(MulticastDNS.classIN | MulticastDNS.unicastResponseBit)
        }
        return packet
    }

    /// Labels split at dots. Instance names ("My NAS._smb._tcp.local") may hold spaces; a dot inside an
    /// instance label is not expected from the names we ask for (they come from PTR answers and are
    /// re-encoded from the labels we parsed, see `DNSReader.strictName`).
    static func encodeName(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for label in splitLabels(name) {
            let raw = Array(label.utf8.prefix(63))
            bytes.append(UInt8(raw.count))
            bytes += raw
        }
        bytes.append(0)
        return bytes
    }

    /// Splits at unescaped dots; `\.` stands for a dot inside a label (as `strictName` writes it).
    static func splitLabels(_ name: String) -> [String] {
        var labels: [String] = []
        var current = ""
        var escaped = false
        for character in name {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "." {
                if !current.isEmpty { labels.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { labels.append(current) }
        return labels
    }
}

public enum DNSParseError: Error, Equatable, CustomStringConvertible {
    case tooLarge(Int)
    case truncated
    case countsExceedPacket
    case badName
    case nameLoop
    case nameTooLong
    case invalidUTF8
    case badRecord(UInt16)

    public var description: String {
        switch self {
        case .tooLarge(let size): return "DNS message of \(size) bytes is larger than any mDNS packet"
        case .truncated: return "DNS message is truncated"
        case .countsExceedPacket: return "DNS message claims more records than it can hold"
        case .badName: return "DNS name is malformed"
        case .nameLoop: return "DNS name compression loops"
        case .nameTooLong: return "DNS name is longer than 255 bytes"
        case .invalidUTF8: return "DNS name is not UTF-8"
        case .badRecord(let type): return "DNS record of type \(type) does not fit its length"
        }
    }
}

extension DNSReader {
    /// Like `name()`, but every fault is an error: compression pointers must point backwards (so no chain
    /// can loop), the name is at most 255 bytes on the wire, and labels are UTF-8. A dot or backslash
    /// inside a label is escaped with a backslash so labels survive a round trip through a string.
    mutating func strictName() throws(DNSParseError) -> String {
        var labels: [String] = []
        var position = offset
        var jumped = false
        var wireLength = 0
        var lowestTarget = position
        while true {
            guard position < packet.count else { throw .truncated }
            let length = Int(packet[position])
            if length == 0 {
                if !jumped { offset = position + 1 }
                return labels.joined(separator: ".")
            }
            switch length & 0xC0 {
            case 0xC0:
                guard position + 1 < packet.count else { throw .truncated }
                let target = (length & 0x3F) << 8 | Int(packet[position + 1])
                // Strictly backwards from every place visited so far: each jump makes progress toward 0.
                guard target < lowestTarget else { throw .nameLoop }
                if !jumped { offset = position + 2 }
                lowestTarget = target
                position = target
                jumped = true
            case 0x00:
                guard position + 1 + length <= packet.count else { throw .truncated }
                wireLength += 1 + length
                guard wireLength < 256 else { throw .nameTooLong }
                guard let label = String(validating: packet[position + 1..<position + 1 + length], as: UTF8.self) else { throw .invalidUTF8 }
                labels.append(label.replacingBackslashAndDot())
                position += 1 + length
            default:
                throw .badName  // 0x40/0x80: extended label types, never used by mDNS
            }
        }
    }
}

private extension String {
    func replacingBackslashAndDot() -> String {
        guard contains(where: { $0 == "." || $0 == "\\" }) else { return self }
        var out = ""
        for character in self {
            if character == "." || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
