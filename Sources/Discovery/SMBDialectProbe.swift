import Logging
import SystemPackage

import System

/// Which SMB generation a server speaks, asked with one multi-protocol NEGOTIATE.
public enum SMBGeneration: String, Sendable, Equatable {
    /// Answered in SMB2: it speaks SMB 2.0 or later.
    case smb2OrLater = "smb2+"
    /// Chose "NT LM 0.12" from our list although SMB 2 was offered: it speaks only SMB1.
    case smb1Only = "smb1"
}

/// Tells an SMB1-only server from one whose SMB2+ negotiation failed for another reason.
///
/// libsmbclient and mount.cifs offer only SMB 2 and later, and an SMB1-only server then just drops
/// the connection: "Host is down", which looks like a network failure. One legacy NEGOTIATE that
/// offers both generations (as Windows clients send it) makes the server say which one it picks. Only
/// the NEGOTIATE is sent: no session, no account.
public enum SMBDialectProbe {
    public enum ProbeError: Error, Equatable, CustomStringConvertible {
        case connect(Errno)
        case timedOut
        /// The connection was closed without an answer (a server refusing both).
        case closed
        /// An answer that is neither an SMB1 nor an SMB2 NEGOTIATE response.
        case malformed(String)

        public var description: String {
            switch self {
            case .connect(let errno): return "connect failed: \(errno)"
            case .timedOut: return "no answer to SMB NEGOTIATE"
            case .closed: return "the server closed the connection at SMB NEGOTIATE"
            case .malformed(let what): return "not an SMB NEGOTIATE answer: \(what)"
            }
        }
    }

    /// The dialects offered, in this order: index 0 chosen means SMB1.
    static let dialects = ["NT LM 0.12", "SMB 2.002", "SMB 2.???"]

    /// What `endpoint` speaks, or nil when that cannot be told (port 139, no answer). The one entry
    /// point for discover, credentials check and mount, which all ask it after a failure.
    public static func generation(of endpoint: Endpoint, until deadline: Deadline, logger: Logger) -> SMBGeneration? {
        guard endpoint.port != 139, !deadline.hasPassed else { return nil }
        let answer = probe(endpoint, until: deadline)
        logger.debug("SMB generation probe", metadata: ["endpoint": "\(endpoint)", "answer": "\(answer)"])
        return try? answer.get()
    }

    /// Over direct TCP (445 or any port but 139, which needs a NetBIOS session first).
    public static func probe(_ endpoint: Endpoint, until deadline: Deadline) -> Result<SMBGeneration, ProbeError> {
        // A NEGOTIATE response is a few hundred bytes; read the 4-byte frame header and at most 64 KiB.
        var received: [UInt8] = []
        do {
            let socket = try StreamSocket.connect(to: endpoint, until: deadline)
            try socket.send(negotiateRequest(), until: deadline)
            while true {
                if case .complete = frameState(received) { break }
                if case .invalid(let why) = frameState(received) { return .failure(.malformed(why)) }
                let chunk = try socket.receive(max: 65_536, until: deadline)
                if chunk.isEmpty { return .failure(.closed) }
                received += chunk
            }
        } catch {
            switch error {
            case .timedOut: return .failure(.timedOut)
            case .failed(let errno): return .failure(errno == .connectionReset ? .closed : .connect(errno))
            }
        }
        return generation(inResponse: received)
    }

    /// A NetBIOS session message holding an SMB1 NEGOTIATE with `dialects`.
    static func negotiateRequest() -> [UInt8] {
        var smb: [UInt8] = [0xFF, 0x53, 0x4D, 0x42, 0x72]  // \xFFSMB, SMB_COM_NEGOTIATE
        smb += [0, 0, 0, 0]  // status
        smb += [0x18]  // flags: canonical paths, case-insensitive
        smb += [0x01, 0xC8]  // flags2 (LE 0xC801): long names, NT status, Unicode
        smb += [UInt8](repeating: 0, count: 12)  // PID high, security features, reserved
        smb += [0, 0, 0xFF, 0xFE, 0, 0, 0, 0]  // TID, PID low, UID, MID
        var bytes: [UInt8] = []
        for dialect in dialects { bytes += [0x02] + Array(dialect.utf8) + [0] }
        smb += [0]  // word count
        smb += [UInt8(bytes.count & 0xFF), UInt8(bytes.count >> 8)] + bytes
        return [0, UInt8((smb.count >> 16) & 0xFF), UInt8((smb.count >> 8) & 0xFF), UInt8(smb.count & 0xFF)] + smb
    }

    enum FrameState: Equatable {
        case incomplete
        case complete
        case invalid(String)
    }

    /// Whether `bytes` holds one whole NetBIOS session message.
    static func frameState(_ bytes: [UInt8]) -> FrameState {
        guard bytes.count >= 4 else { return .incomplete }
        guard bytes[0] == 0 else { return .invalid("NetBIOS message type \(bytes[0])") }
        let length = Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length <= 65_536 else { return .invalid("\(length)-byte message") }
        return bytes.count >= 4 + length ? .complete : .incomplete
    }

    /// Reads the generation from a whole NetBIOS message (frame header included).
    static func generation(inResponse bytes: [UInt8]) -> Result<SMBGeneration, ProbeError> {
        guard frameState(bytes) == .complete else { return .failure(.malformed("truncated message")) }
        let message = bytes.dropFirst(4)
        guard message.count >= 4 else { return .failure(.malformed("\(message.count)-byte message")) }
        let magic = Array(message.prefix(4))
        if magic == [0xFE, 0x53, 0x4D, 0x42] { return .success(.smb2OrLater) }
        guard magic == [0xFF, 0x53, 0x4D, 0x42] else { return .failure(.malformed("protocol id \(magic)")) }
        // SMB1 header is 32 bytes; then word count, then the chosen dialect's index (LE).
        let start = message.startIndex
        guard message.count >= 35, message[start + 4] == 0x72 else { return .failure(.malformed("not a NEGOTIATE response")) }
        let status = message[(start + 5)..<(start + 9)]
        guard status.allSatisfy({ $0 == 0 }) else { return .failure(.malformed("NEGOTIATE refused")) }
        let index = Int(message[start + 33]) | Int(message[start + 34]) << 8
        switch index {
        case 0: return .success(.smb1Only)
        case 1..<dialects.count: return .success(.smb2OrLater)
        default: return .failure(.malformed("no dialect chosen"))
        }
    }
}
