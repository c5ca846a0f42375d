import Core
import System
import Formats
/// What `extlib-net add NAME URL` mounts: `smb://HOST[:PORT]/SHARE[/SUBDIR]` or
/// `nfs://HOST[:PORT]/EXPORT/PATH` (`nfs://HOST/` for an NFSv4 server's pseudo-root), percent-encoded as
/// `discover` prints them.
public enum MountURL: Sendable, Equatable, CustomStringConvertible {
    case smb(host: String, port: UInt16?, share: String, subdirectory: String?)
    case nfs(host: String, port: UInt16?, path: String)

    public var host: String {
        switch self {
        case .smb(let host, _, _, _), .nfs(let host, _, _): return host
        }
    }

    public static func parse(_ text: String) throws(MountURLError) -> MountURL {
        let scheme: String
        if text.lowercased().hasPrefix("smb://") {
            scheme = "smb"
        } else if text.lowercased().hasPrefix("nfs://") {
            scheme = "nfs"
        } else {
            throw .unsupportedScheme(text)
        }
        // Scalars, not Characters: "/" followed by a combining mark is one Character, which would hide
        // the slash from the split and let it into a share or folder name.
        let rest = text.unicodeScalars.dropFirst(6)
        guard let slash = rest.firstIndex(of: "/") else { throw .missingPath(text) }
        let authority = String(Substring(rest[..<slash]))
        guard !authority.unicodeScalars.contains("@") else { throw .credentialsInURL }
        let (host, port) = try splitHostPort(authority, url: text)
        let rawPath = rest[slash...]
        guard !rawPath.contains("?"), !rawPath.contains("#") else { throw .queryOrFragment(text) }
        var components: [String] = []
        for raw in rawPath.split(separator: "/") {
            guard let decoded = URLComponent.decode(String(Substring(raw))) else { throw .badEncoding(text) }
            guard !decoded.isEmpty, decoded != ".", decoded != "..", !decoded.unicodeScalars.contains("/"),
                !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else { throw .badComponent(text) }
            components.append(decoded)
        }
        switch scheme {
        case "smb":
            guard let share = components.first else { throw .missingPath(text) }
            guard !share.contains("\\"), share.utf8.count <= 80 else { throw .badComponent(text) }
            let subdirectory = components.count > 1 ? components.dropFirst().joined(separator: "/") : nil
            return .smb(host: host, port: port, share: share, subdirectory: subdirectory)
        default:
            // nfs://HOST/ is the NFSv4 pseudo-root, mounted as HOST:/.
            return .nfs(host: host, port: port, path: "/" + components.joined(separator: "/"))
        }
    }

    private static func splitHostPort(_ authority: String, url: String) throws(MountURLError) -> (String, UInt16?) {
        var host = authority
        var port: UInt16?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .badHost(url) }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = UInt16(after.dropFirst()), value > 0 else { throw .badPort(url) }
                port = value
            }
            guard IPAddress(host) != nil else { throw .badHost(url) }
            return (host, port)
        }
        if let colon = authority.lastIndex(of: ":") {
            guard let value = UInt16(authority[authority.index(after: colon)...]), value > 0 else { throw .badPort(url) }
            port = value
            host = String(authority[..<colon])
        }
        guard !host.isEmpty else { throw .badHost(url) }
        do {
            _ = try HostName.parse(host)
        } catch {
            throw .badHost(url)
        }
        return (host, port)
    }

    public var description: String {
        func authority(_ host: String, _ port: UInt16?) -> String {
            let shown = host.contains(":") ? "[\(host)]" : host
            return port.map { "\(shown):\($0)" } ?? shown
        }
        switch self {
        case .smb(let host, let port, let share, let subdirectory):
            let tail = subdirectory.map { "/" + URLComponent.encode($0, keepingSlashes: true) } ?? ""
            return "smb://\(authority(host, port))/\(URLComponent.encode(share))\(tail)"
        case .nfs(let host, let port, let path):
            return "nfs://\(authority(host, port))\(URLComponent.encode(path, keepingSlashes: true))"
        }
    }
}

public enum MountURLError: Error, Equatable, CustomStringConvertible {
    case unsupportedScheme(String)
    case missingPath(String)
    case credentialsInURL
    case badHost(String)
    case badPort(String)
    case badEncoding(String)
    case badComponent(String)
    case queryOrFragment(String)

    public var description: String {
        switch self {
        case .unsupportedScheme(let url):
            return "'\(url)' is not an smb:// or nfs:// URL; for example smb://nas.local/photos or nfs://nas.local/volume1/photos"
        case .missingPath(let url):
            return "'\(url)' names no share or export; for example smb://nas.local/photos or nfs://nas.local/volume1/photos"
        case .credentialsInURL:
            // Never echo the URL: it may hold a password.
            return "the URL contains a user name or password; store the account with extlib-net credentials add and use --credentials"
        case .badHost(let url):
            return "'\(url)' has no valid host name or address"
        case .badPort(let url):
            return "'\(url)' has an invalid port; use a number from 1 to 65535"
        case .badEncoding(let url):
            return "'\(url)' has a bad %-escape; write a space as %20, for example"
        case .badComponent(let url):
            return "'\(url)' has an empty, '.', '..' or control-character path part, or a share name that is too long"
        case .queryOrFragment(let url):
            return "'\(url)' has '?' or '#'; encode them as %3F and %23 if they are part of a name"
        }
    }
}

extension MountURLError: ReportableError {
    public var exitStatus: ExitStatus { .usage }
}

extension MountText {
    /// Checks every part of `url` that reaches the mount helper.
    public static func check(_ url: MountURL) throws(MountOptionError) {
        switch url {
        case .smb(let host, _, let share, let subdirectory):
            try check(host, as: .host)
            try check(share, as: .share)
            if let subdirectory { try check(subdirectory, as: .subfolder) }
            let unc = "//\(host)/\(share)" + (subdirectory.map { "/" + $0 } ?? "")
            if unc.utf8.count > maximumUNCBytes {
                throw .unsafeText(.subfolder, subdirectory ?? share, "the whole //HOST/SHARE/FOLDER is longer than \(maximumUNCBytes) bytes, mount.cifs's limit")
            }
        case .nfs(let host, _, let path):
            try check(host, as: .host)
            try check(path, as: .exportPath)
        }
    }
}
