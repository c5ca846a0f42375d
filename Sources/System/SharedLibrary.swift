#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A shared library loaded at run time (`dlopen`, never closed: its functions stay in use until the
/// process ends), whose functions are looked up by name. For libraries a package may lack
/// (libsmbclient), so that only what needs them fails, with a message naming the package.
public struct SharedLibrary: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer
    public let soname: String

    /// `dlopen(soname, RTLD_NOW | RTLD_LOCAL)`, or the loader's reason.
    public static func load(_ soname: String) -> Result<SharedLibrary, LoadFailure> {
        guard let handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(LoadFailure(soname: soname, reason: dlerror().map { String(cString: $0) } ?? soname))
        }
        return .success(SharedLibrary(handle: handle, soname: soname))
    }

    /// The function `name`, as the C function type `T`; nil when the library has none of that name.
    public func function<T>(_ name: String, as type: T.Type) -> T? {
        guard let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: type)
    }

    public struct LoadFailure: Error, Equatable, Sendable {
        public let soname: String
        public let reason: String
    }
}
