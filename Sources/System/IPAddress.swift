#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An IPv4 or IPv6 address, parsed and printed with the C library's own `inet_pton`/`inet_ntop`.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(UInt32)  // network byte order, as in `in_addr.s_addr`
    case v6([UInt8])  // 16 bytes

    /// Parses a literal (`192.0.2.1`, `::1`, `[::1]`); `nil` when `text` is not an address.
    public init?(_ text: String) {
        var literal = text
        if literal.hasPrefix("["), literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        // inet_pton reads a C string: a NUL would end it early, and "::1\0anything" would pass as ::1.
        guard !literal.utf8.contains(0) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            self = .v4(v4.s_addr)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, literal, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: v6) { Array($0) })
            return
        }
        return nil
    }

    /// From a `sockaddr` filled by the kernel or `getaddrinfo`.
    package init?(_ address: UnsafePointer<sockaddr>) {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let sin = UnsafeRawPointer(address).load(as: sockaddr_in.self)
            self = .v4(sin.sin_addr.s_addr)
        case AF_INET6:
            let sin6 = UnsafeRawPointer(address).load(as: sockaddr_in6.self)
            self = .v6(withUnsafeBytes(of: sin6.sin6_addr) { Array($0) })
        default:
            return nil
        }
    }

    public var isIPv4: Bool { if case .v4 = self { true } else { false } }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch self {
        case .v4(let raw):
            var addr = in_addr(s_addr: raw)
            _ = inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
        case .v6(let bytes):
            var addr = in6_addr()
            withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: bytes) }
            _ = inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count))
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The form used inside URLs: IPv6 in brackets.
    public var urlHost: String { isIPv4 ? description : "[\(description)]" }

    /// Calls `body` with a `sockaddr` for this address and `port`.
    package func withSocketAddress<R>(port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch self {
        case .v4(let raw):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr = in_addr(s_addr: raw)
            return withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6(let bytes):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }
}
