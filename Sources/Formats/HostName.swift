import Core
import System
/// What the user typed as HOST, checked before any network traffic.
public enum HostName: Sendable, Hashable, CustomStringConvertible {
    case address(IPAddress)
    case name(String)

    public var description: String {
        switch self {
        case .address(let address): return address.description
        case .name(let name): return name
        }
    }

    /// Names in the `.local` domain belong to multicast DNS (RFC 6762), not to unicast DNS.
    public var isMulticastDNSName: Bool {
        guard case .name(let name) = self else { return false }
        let lower = name.lowercased()
        return lower.hasSuffix(".local") || lower.hasSuffix(".local.")
    }

    public static func parse(_ input: String) throws(HostNameError) -> HostName {
        guard !input.isEmpty else { throw .empty }
        if let scheme = input.range(of: "://") {
            let rest = input[scheme.upperBound...]
            let host = rest.prefix { $0 != "/" && $0 != ":" && $0 != "@" }
            throw .url(input, host: host.isEmpty ? nil : String(host))
        }
        if input.hasPrefix("//") || input.hasPrefix("\\\\") {
            let host = input.dropFirst(2).prefix { $0 != "/" && $0 != "\\" }
            throw .url(input, host: host.isEmpty ? nil : String(host))
        }
        if input.contains("/") || input.contains("\\") { throw .path(input) }
        if let address = IPAddress(input) { return .address(address) }
        if input.unicodeScalars.contains(where: { $0.properties.isWhitespace }) { throw .whitespace(input) }
        if input.contains(":") {
            let host = String(input.prefix { $0 != ":" })
            throw .hostWithPort(input, host: host)
        }
        guard input.utf8.count <= 253 else { throw .tooLong(input.utf8.count) }
        let allowed = input.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "." || $0 == "_") }
        guard allowed else { throw .invalidCharacters(input) }
        let labels = input.hasSuffix(".") ? input.dropLast().split(separator: ".", omittingEmptySubsequences: false) : input.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 }) else { throw .invalidLabel(input) }
        return .name(input)
    }
}

public enum HostNameError: Error, Equatable, CustomStringConvertible {
    case empty
    case url(String, host: String?)
    case path(String)
    case whitespace(String)
    case hostWithPort(String, host: String)
    case tooLong(Int)
    case invalidCharacters(String)
    case invalidLabel(String)

    public var description: String {
        switch self {
        case .empty:
            return "the host is empty; give the NAS's name or address, for example: extlib-net discover nas.local"
        case .url(let input, let host):
            let example = host.map { "extlib-net discover \(shellQuoted($0))" } ?? "extlib-net discover nas.local"
            return "'\(input)' is a URL; discover takes only the host, for example: \(example)"
        case .path(let input):
            return "'\(input)' looks like a path; discover takes the NAS's name or address, for example: extlib-net discover nas.local"
        case .whitespace(let input):
            return "'\(input)' contains whitespace; a host name has none"
        case .hostWithPort(let input, let host):
            return "'\(input)' has a port; give the host alone (\(shellQuoted(host))) and the SMB port with --smb-port"
        case .tooLong(let count):
            return "the host name is \(count) bytes long; DNS allows at most 253"
        case .invalidCharacters(let input):
            return "'\(input)' is not a valid host name: use letters, digits, '-' and '.' (the ASCII/punycode form of international names)"
        case .invalidLabel(let input):
            return "'\(input)' is not a valid host name: each dot-separated part must be 1 to 63 characters"
        }
    }
}

extension HostNameError: ReportableError {
    public var exitStatus: ExitStatus { .usage }
}
