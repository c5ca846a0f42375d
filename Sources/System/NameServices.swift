#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// glibc's name services (nsswitch.conf): host names and the services database.
public enum NameServices {
    /// Looks a service up in the services database once, so glibc loads the NSS modules nsswitch.conf
    /// names for it now (Debian: `db files`, a dlopen of libnss_db), not later behind another thread's
    /// hold on the dynamic loader's lock.
    public static func loadServicesDatabase() {
        _ = getservbyname("sunrpc", "tcp")
    }

    /// The addresses `name` has through the system resolver, in its order and without repeats; nil when
    /// it does not resolve. Blocks without a deadline (`getaddrinfo` has none): callers run it on a
    /// thread of its own and stop waiting at theirs.
    public static func addresses(of name: String) -> [IPAddress]? {
        guard !name.utf8.contains(0) else { return nil }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let entry = node {
            if let sockaddr = entry.pointee.ai_addr, let address = IPAddress(UnsafePointer(sockaddr)), !addresses.contains(address) {
                addresses.append(address)
            }
            node = entry.pointee.ai_next
        }
        return addresses
    }
}
