import Core
/// Why talking to Immich failed. Never carries the API key.
public struct ImmichError: ReportableError, Equatable {
    public enum Code: Equatable, Sendable {
        case notLoggedIn
        case badURL(String)
        case badKey
        case malformedFile(path: String, line: Int?)
        case snapMissing
        case snapFailed(String)
        /// Nothing listens at the URL.
        case notRunning(url: String)
        case timedOut(url: String, seconds: Double)
        case transport(url: String, String)
        /// 401: the key is wrong or was deleted.
        case unauthorized
        /// 403, or a key whose user is not an admin.
        case notAdmin(String?)
        /// Immich answered 4xx/5xx with this message.
        case rejected(status: Int, message: String, route: String)
        /// IMMICH_CONFIG_FILE is in use: the system config is read-only.
        case configReadOnly
        /// An answer extlib-net cannot use (bad JSON, missing fields, too large).
        case badAnswer(route: String, String)
        case noSuchLibrary(String)
        case ambiguousLibrary(String)
        case noSuchUser(String)
        case notLinked(definition: String)
    }

    public let code: Code

    public init(_ code: Code) { self.code = code }

    /// The URL of a not-running error (for matching), else "".
    var url: String { if case .notRunning(let url) = code { return url } else { return "" } }
    var isTimeout: Bool { if case .timedOut = code { return true } else { return false } }
    /// 502, 503 or 504: a proxy in front of Immich (the snap's HAProxy) with no server behind it yet.
    var isProxyUnavailable: Bool {
        if case .rejected(let status, _, _) = code { return [502, 503, 504].contains(status) }
        return false
    }

    public var exitStatus: ExitStatus {
        switch code {
        case .badURL, .badKey, .noSuchLibrary, .ambiguousLibrary, .noSuchUser, .notLinked: return .usage
        case .notLoggedIn: return .authentication
        case .malformedFile: return .configuration
        case .snapMissing, .snapFailed: return .system
        case .notRunning, .timedOut, .transport: return .unreachable
        case .unauthorized, .notAdmin: return .authentication
        case .rejected, .configReadOnly, .badAnswer: return .refused
        }
    }

    public var description: String {
        switch code {
        case .notLoggedIn:
            return "extlib-net has no Immich connection yet; log in with: extlib-net immich login --from-snap (or --api-key-stdin)"
        case .badURL(let text):
            return "'\(Terminal.printable(text))' is not an Immich URL such as http://127.0.0.1:3001 (scheme, host and port only)"
        case .badKey:
            return "that is not an Immich API key (16 to 512 letters, digits, '-', '_', '+', '/', '='); create one in Immich under Account Settings > API Keys"
        case .malformedFile(let path, let line):
            return "\(path)\(line.map { ", line \($0)" } ?? "") is not what extlib-net immich login writes; log in again to rewrite it (extlib-net immich login)"
        case .snapMissing:
            return "the snap command is not installed, so the snap's admin key cannot be read; give a key with --api-key-stdin instead"
        case .snapFailed(let why):
            return "\(why); is the Immich Distribution snap installed (snap list immich-distribution)? Or give a key with --api-key-stdin"
        case .notRunning(let url):
            return "Immich is not running at \(url) (connection refused); start it with: snap start immich-distribution"
        case .timedOut(let url, let seconds):
            return "Immich at \(url) did not answer within \(formatSeconds(seconds)); is it starting up or hung? (snap services immich-distribution)"
        case .transport(let url, let what):
            return "cannot talk to Immich at \(url): \(Terminal.printable(what)); check the URL given to extlib-net immich login"
        case .unauthorized:
            return "Immich rejected the API key (401); log in again with a valid admin key: extlib-net immich login --from-snap"
        case .notAdmin(let email):
            return "the API key belongs to \(email.map { "'\(Terminal.printable($0))'" } ?? "a user") who is not an Immich admin (403); libraries and the system config need an admin's key"
        case .rejected(let status, let message, let route):
            return "Immich refused \(route) (\(status)): \(Terminal.printable(message))"
        case .configReadOnly:
            return "Immich runs with IMMICH_CONFIG_FILE, so its settings cannot be changed through the API; set library.scan.enabled to false in that file yourself"
        case .badAnswer(let route, let what):
            return "Immich's answer to \(route) cannot be used (\(what)); is the URL really Immich's?"
        case .noSuchLibrary(let name):
            return "Immich has no external library '\(Terminal.printable(name))'; see them with: extlib-net immich status"
        case .ambiguousLibrary(let name):
            return "several Immich libraries are named '\(Terminal.printable(name))'; give its id instead (extlib-net immich status shows them)"
        case .noSuchUser(let email):
            return "Immich has no user with the email '\(Terminal.printable(email))'"
        case .notLinked(let definition):
            return "no Immich library has the import path of '\(definition)'; link it with: extlib-net immich link \(definition)"
        }
    }
}
