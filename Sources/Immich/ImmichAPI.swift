import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import System
import Formats
import Discovery

// MARK: what Immich sends (only the fields extlib-net uses; unknown fields are ignored)

public struct ImmichUser: Codable, Sendable, Equatable {
    public let id: String
    public let email: String
    public let name: String?
    public let isAdmin: Bool?
}

public struct ImmichLibrary: Codable, Sendable, Equatable {
    public let id: String
    public let ownerId: String
    public let name: String
    public let importPaths: [String]
    public let exclusionPatterns: [String]?
}

public struct ImportPathVerdict: Codable, Sendable, Equatable {
    public let importPath: String
    public let isValid: Bool
    public let message: String?
}

public struct LibraryStatistics: Codable, Sendable, Equatable {
    public let photos: Int
    public let videos: Int
    public let total: Int
}

/// The library scan settings inside Immich's system config.
public struct LibraryScanSettings: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var cronExpression: String
    public var watchEnabled: Bool

    public init(enabled: Bool, cronExpression: String, watchEnabled: Bool) {
        self.enabled = enabled
        self.cronExpression = cronExpression
        self.watchEnabled = watchEnabled
    }

    /// `config` with only `library.scan.enabled` false, and `library.watch.enabled` false where the config
    /// has it: what the guard puts to Immich. Folder watching goes too: a share swapped for its placeholder
    /// (or back) looks like deleted files to the watcher, and Immich removes those assets. Nil when the
    /// config has no `library.scan.enabled`.
    static func switchedOff(_ config: JSON) -> JSON? {
        guard let off = config.replacing(["library", "scan", "enabled"], with: .bool(false)) else { return nil }
        return off.replacing(["library", "watch", "enabled"], with: .bool(false)) ?? off
    }

    /// What the guard needs of Immich: its scheduled scan off, and its folder watching off.
    var isGuarded: Bool { !enabled && !watchEnabled }

    init(config: JSON) throws(ImmichError) {
        guard case .bool(let enabled)? = config["library"]?["scan"]?["enabled"],
            case .string(let cron)? = config["library"]?["scan"]?["cronExpression"]
        else { throw ImmichError(.badAnswer(route: "GET /api/system-config", "no library.scan settings")) }
        var watch = false
        if case .bool(let value)? = config["library"]?["watch"]?["enabled"] { watch = value }
        self.init(enabled: enabled, cronExpression: cron, watchEnabled: watch)
    }
}

// MARK: the client

/// Immich's HTTP API through async-http-client. Every request has a deadline; the key goes only into the
/// `x-api-key` header and is never logged (the HTTP client gets no logger).
public final class ImmichAPI: @unchecked Sendable {
    public let connection: ImmichConnection
    public let timeout: Duration
    let logger: Logger
    private let client: HTTPClient
    /// Bounds every answer: a hostile or broken server cannot make us buffer without end.
    static let maximumAnswer = 8 << 20

    public init(connection: ImmichConnection, timeout: Duration = .seconds(10), logger: Logger) {
        self.connection = connection
        self.timeout = timeout
        self.logger = logger
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(Int64(timeout.seconds.rounded(.up)))))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client.syncShutdown() }

    // MARK: routes

    public func ping() throws(ImmichError) {
        struct Pong: Decodable { let res: String }
        let _: Pong = try call(.GET, "/api/server/ping")
    }

    public func me() throws(ImmichError) -> ImmichUser { try call(.GET, "/api/users/me") }

    public func adminUsers() throws(ImmichError) -> [ImmichUser] {
        let users: [ImmichUser] = try call(.GET, "/api/admin/users")
        for user in users { try Self.checkID(user.id, route: "GET /api/admin/users") }
        return users
    }

    public func libraries() throws(ImmichError) -> [ImmichLibrary] {
        let libraries: [ImmichLibrary] = try call(.GET, "/api/libraries")
        for library in libraries { try Self.checkID(library.id, route: "GET /api/libraries") }
        return libraries
    }

    public func createLibrary(ownerId: String, name: String, importPaths: [String]) throws(ImmichError) -> ImmichLibrary {
        struct Body: Encodable { let ownerId: String; let name: String; let importPaths: [String] }
        let library: ImmichLibrary = try call(.POST, "/api/libraries", body: Body(ownerId: ownerId, name: name, importPaths: importPaths))
        try Self.checkID(library.id, route: "POST /api/libraries")
        return library
    }

    public func setImportPaths(_ library: ImmichLibrary, _ importPaths: [String]) throws(ImmichError) -> ImmichLibrary {
        struct Body: Encodable { let importPaths: [String] }
        let updated: ImmichLibrary = try call(.PUT, try Self.libraryPath(library.id), body: Body(importPaths: importPaths))
        try Self.checkID(updated.id, route: "PUT /api/libraries")
        return updated
    }

    public func validate(_ library: ImmichLibrary, importPaths: [String]) throws(ImmichError) -> [ImportPathVerdict] {
        struct Body: Encodable { let importPaths: [String] }
        struct Answer: Decodable { let importPaths: [ImportPathVerdict] }
        let answer: Answer = try call(.POST, try Self.libraryPath(library.id, "/validate"), body: Body(importPaths: importPaths))
        return answer.importPaths
    }

    public func scan(_ libraryID: String) throws(ImmichError) {
        try callWithoutAnswer(.POST, try Self.libraryPath(libraryID, "/scan"))
    }

    public func statistics(_ libraryID: String) throws(ImmichError) -> LibraryStatistics {
        try call(.GET, try Self.libraryPath(libraryID, "/statistics"))
    }

    /// How many of the library's assets Immich holds offline (trashed by a scan that could not see them),
    /// counted up to `limit`. Immich's search sees only the key's user's assets.
    public func offlineAssets(in libraryID: String, limit: Int) throws(ImmichError) -> Int {
        struct Body: Encodable { let libraryId: String; let isOffline = true; let withDeleted = true; let page: Int; let size = 1000 }
        struct Page: Decodable { let count: Int; let nextPage: String? }
        struct Answer: Decodable { let assets: Page }
        try Self.checkID(libraryID, route: "POST /api/search/metadata")
        var total = 0
        var page = 1
        // A page holds at most `size` assets; a server claiming more, or paging without end, is cut short.
        for _ in 0..<(limit / 1000 + 1) {
            let answer: Answer = try call(.POST, "/api/search/metadata", body: Body(libraryId: libraryID, page: page))
            let count = min(max(0, answer.assets.count), 1000)
            total += count
            guard total < limit, count == 1000, let next = answer.assets.nextPage, let number = Int(next), number == page + 1 else { break }
            page = number
        }
        return min(total, limit)
    }

    /// The original paths of the library's assets the key's user can see (its own and partners'),
    /// trashed ones included; at most `limit`, whatever the server claims.
    public func assetPaths(in libraryID: String, limit: Int) throws(ImmichError) -> [String] {
        struct Body: Encodable { let libraryId: String; let withDeleted = true; let page: Int; let size = 1000 }
        struct Item: Decodable { let originalPath: String }
        struct Page: Decodable { let items: [Item]; let nextPage: String? }
        struct Answer: Decodable { let assets: Page }
        try Self.checkID(libraryID, route: "POST /api/search/metadata")
        var paths: [String] = []
        var page = 1
        for _ in 0..<(limit / 1000 + 1) {
            let answer: Answer = try call(.POST, "/api/search/metadata", body: Body(libraryId: libraryID, page: page))
            paths += answer.assets.items.prefix(1000).map(\.originalPath)
            guard paths.count < limit, answer.assets.items.count == 1000, let next = answer.assets.nextPage, let number = Int(next), number == page + 1 else { break }
            page = number
        }
        return Array(paths.prefix(limit))
    }

    public func systemConfig() throws(ImmichError) -> JSON { try call(.GET, "/api/system-config") }

    public func putSystemConfig(_ config: JSON) throws(ImmichError) {
        do {
            let _: JSON = try call(.PUT, "/api/system-config", body: config)
        } catch {
            if case .rejected(_, let message, _) = error.code, message.contains("IMMICH_CONFIG_FILE") { throw ImmichError(.configReadOnly) }
            throw error
        }
    }

    public func notify(_ userID: String, title: String, description: String, level: NoticeLevel) throws(ImmichError) {
        struct Body: Encodable { let userId: String; let title: String; let description: String; let level: String; let type = "SystemMessage" }
        let _: JSON = try call(.POST, "/api/admin/notifications", body: Body(userId: userID, title: title, description: description, level: level.rawValue))
    }

    // MARK: transport

    /// `/api/libraries/{id}` and below, only for an id that is a UUID.
    static func libraryPath(_ id: String, _ rest: String = "") throws(ImmichError) -> String {
        try checkID(id, route: "/api/libraries")
        return "/api/libraries/\(id)" + rest
    }

    /// Ids go into URL paths: anything but a UUID from the server is refused, never sent back.
    static func checkID(_ id: String, route: String) throws(ImmichError) {
        let bytes = Array(id.utf8)
        let ok = bytes.count == 36 && bytes.enumerated().allSatisfy { index, byte in
            [8, 13, 18, 23].contains(index) ? byte == 0x2D : (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
        }
        guard ok else { throw ImmichError(.badAnswer(route: route, "an id that is not a UUID")) }
    }

    private func call<Answer: Decodable>(_ method: HTTPMethod, _ path: String) throws(ImmichError) -> Answer {
        try decode(send(method, path, body: nil), route: "\(method) \(path)")
    }

    private func call<Answer: Decodable, Body: Encodable>(_ method: HTTPMethod, _ path: String, body: Body) throws(ImmichError) -> Answer {
        let data: Data
        do { data = try JSONEncoder().encode(body) } catch { throw ImmichError(.badAnswer(route: "\(method) \(path)", "cannot encode the request")) }
        return try decode(send(method, path, body: Array(data)), route: "\(method) \(path)")
    }

    private func callWithoutAnswer(_ method: HTTPMethod, _ path: String) throws(ImmichError) {
        _ = try send(method, path, body: nil)
    }

    private func decode<Answer: Decodable>(_ bytes: [UInt8], route: String) throws(ImmichError) -> Answer {
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(bytes))
        } catch {
            throw ImmichError(.badAnswer(route: route, "not the JSON Immich sends"))
        }
    }

    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8]?) throws(ImmichError) -> [UInt8] {
        let url = connection.url.description
        let route = "\(method) \(path)"
        try checkListening()
        let request: HTTPClient.Request
        do {
            var headers = HTTPHeaders()
            headers.add(name: "x-api-key", value: connection.apiKey.reveal())
            headers.add(name: "Accept", value: "application/json")
            if body != nil { headers.add(name: "Content-Type", value: "application/json") }
            request = try HTTPClient.Request(url: url + path, method: method, headers: headers, body: body.map { .bytes($0) })
        } catch {
            throw ImmichError(.badURL(url))
        }
        logger.debug("immich request", metadata: ["route": "\(route)"])
        let accumulator = ResponseAccumulator(request: request, maxBodySize: Self.maximumAnswer)
        let response: HTTPClient.Response
        do {
            response = try client.execute(request: request, delegate: accumulator, deadline: .now() + .nanoseconds(timeout.nanoseconds)).wait()
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw ImmichError(.timedOut(url: url, seconds: timeout.seconds))
        } catch is ResponseAccumulator.ResponseTooBigError {
            throw ImmichError(.badAnswer(route: route, "more than \(Self.maximumAnswer >> 20) MiB"))
        } catch {
            let text = "\(error)"
            if text.contains("refused") || text.contains("errno: 111") { throw ImmichError(.notRunning(url: url)) }
            throw ImmichError(.transport(url: url, String(text.prefix(200))))
        }
        let bytes = response.body.map { Array($0.readableBytesView) } ?? []
        logger.debug("immich answer", metadata: ["route": "\(route)", "status": "\(response.status.code)"])
        switch response.status.code {
        case 200..<300: return bytes
        case 401: throw ImmichError(.unauthorized)
        case 403: throw ImmichError(.notAdmin(nil))
        default:
            throw ImmichError(.rejected(status: Int(response.status.code), message: Self.message(in: bytes), route: route))
        }
    }

    /// Immich's error bodies: `{"message": "..." or [...], "error": ..., "statusCode": N}`.
    static func message(in bytes: [UInt8]) -> String {
        struct Body: Decodable { let message: JSON? }
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(bytes)) else { return "no message" }
        switch body.message {
        case .string(let text)?: return text
        case .array(let items)?: return items.compactMap { if case .string(let text) = $0 { return text } else { return nil } }.joined(separator: "; ")
        default: return "no message"
        }
    }

    /// A refused connection is Immich not running: say so at once, rather than letting the HTTP client
    /// retry it until the deadline.
    private func checkListening() throws(ImmichError) {
        let url = connection.url
        let addresses: [IPAddress]
        if let address = IPAddress(url.host) {
            addresses = [address]
        } else {
            guard let host = try? HostName.parse(url.host),
                let resolved = try? HostResolver(root: .real, logger: logger).resolve(host, until: .after(.seconds(3)))
            else { throw ImmichError(.transport(url: url.description, "the host name does not resolve")) }
            addresses = [resolved.preferredAddress]
        }
        let state = TCPProbe.probe([Endpoint(addresses[0], url.port)], until: .after(.seconds(3)))[0]
        switch state {
        case .open: return
        case .closed: throw ImmichError(.notRunning(url: url.description))
        case .noAnswer: throw ImmichError(.timedOut(url: url.description, seconds: 3))
        }
    }
}
