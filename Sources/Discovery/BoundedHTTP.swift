import System

/// A minimal HTTP/1.1 client for one POST to an address literal on the LAN (the WS-Discovery metadata
/// `Get`): one connection, `Connection: close`, a deadline on every wait and a cap on the answer.
///
/// Not the project's async-http-client: discovery is synchronous and thread-based, and this one request
/// needs neither TLS, redirects nor name resolution; a raw socket keeps it inside the one deadline
/// without starting an event loop.
enum BoundedHTTP {
    static let maximumResponse = 256 * 1024

    struct Target: Sendable, Equatable {
        let address: IPAddress
        let port: UInt16
        let path: String
        /// As written in the URL, for the Host header.
        let authority: String
    }

    /// `http://192.0.2.7:5357/uuid` or `http://[fe80::1%eth0]:3702/x`; only literal addresses, so no name is
    /// ever resolved on a sender's word. `nil` for anything else (https, names, junk).
    static func target(_ url: String) -> Target? {
        guard url.utf8.count <= 2048, url.lowercased().hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(7)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let path = rest.dropFirst(authority.count)
        var host = Substring(authority)
        var port: UInt16 = 80
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            var literal = host[host.index(after: host.startIndex)..<close]
            if let zone = literal.firstIndex(of: "%") { literal = literal[..<zone] }
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = UInt16(after.dropFirst()), value > 0 else { return nil }
                port = value
            }
            host = literal
            guard let address = IPAddress(String(host)), !address.isIPv4 else { return nil }
            return Target(address: address, port: port, path: path.isEmpty ? "/" : String(path), authority: String(authority))
        }
        if let colon = host.firstIndex(of: ":") {
            guard let value = UInt16(host[host.index(after: colon)...]), value > 0 else { return nil }
            port = value
            host = host[..<colon]
        }
        guard let address = IPAddress(String(host)), address.isIPv4 else { return nil }
        return Target(address: address, port: port, path: path.isEmpty ? "/" : String(path), authority: String(authority))
    }

    struct Response: Sendable, Equatable {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]

        static func == (lhs: Response, rhs: Response) -> Bool {
            lhs.status == rhs.status && lhs.body == rhs.body && lhs.headers.elementsEqual(rhs.headers, by: { $0 == $1 })
        }
    }

    static func post(_ body: [UInt8], to target: Target, contentType: String, until deadline: Deadline) throws(HTTPError) -> Response {
        let head = "POST \(target.path) HTTP/1.1\r\nHost: \(target.authority)\r\nContent-Type: \(contentType)\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\nUser-Agent: extlib-net\r\n\r\n"
        let socket = try io { () throws(StreamSocket.Failure) in try StreamSocket.connect(to: Endpoint(target.address, target.port), until: deadline) }
        try io { () throws(StreamSocket.Failure) in try socket.send(Array(head.utf8) + body, until: deadline) }
        var received: [UInt8] = []
        while true {
            // Done as soon as a complete answer is in, even when the server keeps the connection open.
            if case .success(let response) = Result(catching: { () throws(HTTPError) in try parse(received, complete: false) }) {
                return response
            }
            let chunk = try io { () throws(StreamSocket.Failure) in try socket.receive(max: 16 * 1024, until: deadline) }
            if chunk.isEmpty { return try parse(received, complete: true) }
            received += chunk
            guard received.count <= maximumResponse else { throw .tooLarge }
        }
    }

    private static func io<T>(_ call: () throws(StreamSocket.Failure) -> T) throws(HTTPError) -> T {
        do {
            return try call()
        } catch {
            switch error {
            case .timedOut: throw .timedOut
            case .failed(let errno): throw .connectFailed("\(errno)")
            }
        }
    }

    /// Parses an HTTP/1.1 response: status line, headers, and a body framed by Content-Length, chunked
    /// encoding, or (when `complete`, the peer having closed) the end of the bytes. Throws `.incomplete`
    /// when more bytes are needed. A pure function of the bytes (a fuzzing entry point).
    static func parse(_ bytes: [UInt8], complete: Bool) throws(HTTPError) -> Response {
        guard bytes.count <= maximumResponse else { throw .tooLarge }
        guard let headEnd = find([13, 10, 13, 10], in: bytes[...]) else {
            if complete || bytes.count > 16 * 1024 { throw .malformed("no end of headers") }
            throw .incomplete
        }
        guard let head = String(validating: bytes[..<headEnd], as: UTF8.self) else { throw .malformed("headers are not UTF-8") }
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard lines.count <= 100 else { throw .malformed("too many headers") }
        let statusParts = lines[0].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), statusParts[1].count == 3,
            let status = Int(statusParts[1]), (100...599).contains(status)
        else { throw .malformed("bad status line") }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("header without a colon") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers.append((name, String(value.reversed().drop { $0 == " " || $0 == "\t" }.reversed())))
        }
        let rest = bytes[(headEnd + 4)...]
        let body: [UInt8]
        if let encoding = headers.first(where: { $0.0 == "transfer-encoding" })?.1, encoding.lowercased().contains("chunked") {
            body = try dechunk(rest, complete: complete)
        } else if let lengthText = headers.first(where: { $0.0 == "content-length" })?.1 {
            guard let length = Int(lengthText), length >= 0, length <= maximumResponse else { throw .malformed("bad Content-Length") }
            guard rest.count >= length else {
                if complete { throw .malformed("body shorter than Content-Length") }
                throw .incomplete
            }
            body = Array(rest.prefix(length))
        } else {
            guard complete else { throw .incomplete }
            body = Array(rest)
        }
        return Response(status: status, headers: headers, body: body)
    }

    private static func dechunk(_ bytes: ArraySlice<UInt8>, complete: Bool) throws(HTTPError) -> [UInt8] {
        var body: [UInt8] = []
        var index = bytes.startIndex
        while true {
            guard let lineEnd = find([13, 10], in: bytes[index...]) else {
                if complete { throw .malformed("truncated chunk") }
                throw .incomplete
            }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).prefix { $0 != ";" }
            guard sizeText.count <= 8, let size = Int(sizeText.trimmingCharacters(in: " "), radix: 16), size >= 0 else {
                throw .malformed("bad chunk size")
            }
            let dataStart = lineEnd + 2
            if size == 0 { return body }
            guard bytes.endIndex - dataStart >= size + 2 else {
                if complete { throw .malformed("truncated chunk") }
                throw .incomplete
            }
            body += bytes[dataStart..<dataStart + size]
            guard body.count <= maximumResponse else { throw .tooLarge }
            guard bytes[dataStart + size] == 13, bytes[dataStart + size + 1] == 10 else { throw .malformed("chunk not followed by CRLF") }
            index = dataStart + size + 2
        }
    }

    private static func find(_ pattern: [UInt8], in bytes: ArraySlice<UInt8>) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        var index = bytes.startIndex
        while index + pattern.count <= bytes.endIndex {
            if bytes[index] == pattern[0], bytes[index..<index + pattern.count].elementsEqual(pattern) { return index }
            index += 1
        }
        return nil
    }
}

enum HTTPError: Error, Equatable, CustomStringConvertible {
    case connectFailed(String)
    case timedOut
    case tooLarge
    case incomplete
    case malformed(String)

    var description: String {
        switch self {
        case .connectFailed(let why): return "connection failed: \(why)"
        case .timedOut: return "no answer in time"
        case .tooLarge: return "answer larger than \(BoundedHTTP.maximumResponse) bytes"
        case .incomplete: return "answer incomplete"
        case .malformed(let why): return "malformed HTTP answer: \(why)"
        }
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        let start = drop { set.contains($0) }
        return Substring(String(start.reversed().drop { set.contains($0) }.reversed()))
    }
}
