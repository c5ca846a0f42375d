import System
/// Where Immich listens and the admin API key, kept in a root-only file like the SMB passwords.
public struct ImmichConnection: Sendable, Equatable {
    public let url: ImmichURL
    public let apiKey: Secret

    public init(url: ImmichURL, apiKey: Secret) {
        self.url = url
        self.apiKey = apiKey
    }

    /// The snap's Immich (IMMICH_SERVER_URL in the snap).
    public static let defaultURL = "http://127.0.0.1:3001"
    static let header = "# Written by `extlib-net immich login`; removed by `extlib-net immich logout`. Holds an admin API key: keep it 0600."

    /// An API key as Immich makes them (base64url-ish text). Anything else is refused before it can reach
    /// a header: no spaces, control characters or non-ASCII.
    public static func checkKey(_ key: String) throws(ImmichError) {
        guard (16...512).contains(key.utf8.count),
            key.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2B || $0 == 0x2F || $0 == 0x3D })
        else { throw ImmichError(.badKey) }
    }

    func rendered() -> String {
        "\(Self.header)\nurl=\(url)\napi-key=\(apiKey.reveal())\n"
    }

    static func parse(_ text: String, path: String) throws(ImmichError) -> ImmichConnection {
        var url: String?
        var key: String?
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else { throw ImmichError(.malformedFile(path: path, line: index + 1)) }
            let value = String(line[line.index(after: equals)...])
            switch line[..<equals] {
            case "url": url = value
            case "api-key": key = value
            default: throw ImmichError(.malformedFile(path: path, line: index + 1))
            }
        }
        guard let url, let key else { throw ImmichError(.malformedFile(path: path, line: nil)) }
        let parsed: ImmichURL
        do { parsed = try ImmichURL.parse(url) } catch { throw ImmichError(.malformedFile(path: path, line: nil)) }
        do { try checkKey(key) } catch { throw ImmichError(.malformedFile(path: path, line: nil)) }
        return ImmichConnection(url: parsed, apiKey: Secret(key))
    }
}

/// `http://HOST:PORT` (or https) without a path: Immich's API lives under `/api`.
public struct ImmichURL: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: UInt16

    public var description: String { "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    public static func parse(_ text: String) throws(ImmichError) -> ImmichURL {
        var rest = Substring(text)
        let scheme: String
        if rest.hasPrefix("http://") { scheme = "http"; rest = rest.dropFirst(7) } else if rest.hasPrefix("https://") { scheme = "https"; rest = rest.dropFirst(8) } else {
            throw ImmichError(.badURL(text))
        }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.hasSuffix("/api") { rest = rest.dropLast(4) }
        guard !rest.contains("/"), !rest.contains("@"), !rest.contains("?"), !rest.contains("#") else { throw ImmichError(.badURL(text)) }
        var host = rest
        var port: UInt16 = scheme == "https" ? 443 : 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw ImmichError(.badURL(text)) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = UInt16(after.dropFirst()), number > 0 else { throw ImmichError(.badURL(text)) }
                port = number
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let number = UInt16(rest[rest.index(after: colon)...]), number > 0 else { throw ImmichError(.badURL(text)) }
            port = number
        }
        guard !host.isEmpty, host.utf8.count <= 253,
            host.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x2E || $0 == 0x3A })
        else { throw ImmichError(.badURL(text)) }
        return ImmichURL(scheme: scheme, host: String(host), port: port)
    }
}

/// The connection file, `/etc/extlib-net/immich`: 0600, written atomically, read without following links.
public struct ImmichConnectionStore: Sendable {
    public let root: SystemRoot
    public var path: String { root.path(SystemRoot.Known.immichFile) }

    public init(root: SystemRoot) { self.root = root }

    /// nil when nobody logged in.
    public func load() throws -> ImmichConnection? {
        guard let bytes = try SecureFile.readPrivate(path) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ImmichError(.malformedFile(path: path, line: nil)) }
        return try ImmichConnection.parse(text, path: path)
    }

    public func required() throws -> ImmichConnection {
        guard let connection = try load() else { throw ImmichError(.notLoggedIn) }
        return connection
    }

    public func save(_ connection: ImmichConnection) throws(SecureFileError) {
        try SecureFile.ensurePrivateDirectory(root.path(SystemRoot.Known.configDirectory), below: root.prefix)
        try SecureFile.writePrivate(Array(connection.rendered().utf8), to: path, below: root.prefix)
    }

    /// True when there was a file to remove.
    public func remove() throws(SecureFileError) -> Bool {
        try SecureFile.remove(path, below: root.prefix)
    }
}

/// The admin key the Immich Distribution snap keeps for its own scripts (`snap get immich-distribution
/// admin-api-key`). The key reaches us on the child's output, never on a command line.
public enum SnapAPIKey {
    public static let snapCandidates = ["/usr/bin/snap", "/snap/bin/snap"]

    public static func read(runner: any ProcessRunner, snap: String? = snapCandidates.first(where: FileSystem.isExecutable)) throws(ImmichError) -> Secret {
        guard let snap else { throw ImmichError(.snapMissing) }
        let result: ProcessResult
        do { result = try runner.run(snap, ["get", "immich-distribution", "admin-api-key"], secret: nil, until: .after(.seconds(15))) } catch {
            throw ImmichError(.snapFailed(error.description))
        }
        if result.timedOut { throw ImmichError(.snapFailed("snap get did not answer within 15 s")) }
        // The key is the one line on standard output, and must look like one.
        let lines = result.standardOutput.split(separator: "\n").map { String(String($0).trimmingBlanks) }.filter { !$0.isEmpty }
        guard result.status == 0, let key = lines.last else {
            throw ImmichError(.snapFailed("snap get immich-distribution admin-api-key exited \(result.status)"))
        }
        do { try ImmichConnection.checkKey(key) } catch { throw ImmichError(.snapFailed("snap get immich-distribution admin-api-key printed no API key (is the snap's manager done setting up?)")) }
        return Secret(key)
    }
}

import SystemPackage
