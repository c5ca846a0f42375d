import CNFS
import System

/// libnfs, loaded on first use: libnfs.so.14 (libnfs 5: Debian 13, Ubuntu 24.04), else libnfs.so.13
/// (libnfs 4: Debian 12, Ubuntu 22.04). The calls used have the same prototypes in both (CNFS/shim.h),
/// so one package installs on every release; without either, only NFS export listing fails.
struct LibNFS: @unchecked Sendable {  // immutable C function pointers
    let initContext: extlib_nfs_init_context_fn
    let destroyContext: extlib_nfs_destroy_context_fn
    let getFD: extlib_nfs_get_fd_fn
    let whichEvents: extlib_nfs_which_events_fn
    let service: extlib_nfs_service_fn
    let getError: extlib_nfs_get_error_fn
    let connectAsync: extlib_nfs_connect_async_fn
    let portmapGetPortAsync: extlib_nfs_pmap2_getport_async_fn
    let mountExportAsync: extlib_nfs_mount3_export_async_fn
    /// The soname that was loaded.
    let soname: String

    /// Tried in this order. libnfs 6 and 7 (sonames 16, 17) renamed the raw async calls and are not used.
    static let sonames = ["libnfs.so.14", "libnfs.so.13"]

    /// Loaded once, on first use; the library stays loaded for the life of the process.
    static let shared: Result<LibNFS, LoadError> = load(sonames)

    struct LoadError: Error, Equatable, CustomStringConvertible {
        let detail: String
        var description: String {
            "libnfs could not be loaded (\(detail)); install it with: apt install libnfs14 (Debian 13, Ubuntu 24.04) or apt install libnfs13 (Debian 12, Ubuntu 22.04)"
        }
    }

    static func load(_ sonames: [String]) -> Result<LibNFS, LoadError> {
        var reasons: [String] = []
        for soname in sonames {
            switch SharedLibrary.load(soname) {
            case .success(let library): return bind(library)
            case .failure(let failure): reasons.append(failure.reason)
            }
        }
        return .failure(LoadError(detail: reasons.joined(separator: "; ")))
    }

    private static func bind(_ library: SharedLibrary) -> Result<LibNFS, LoadError> {
        func symbol<T>(_ name: String, as type: T.Type) throws(LoadError) -> T {
            guard let function = library.function(name, as: type) else { throw LoadError(detail: "\(library.soname) has no \(name)") }
            return function
        }
        do {
            return .success(LibNFS(
                initContext: try symbol("rpc_init_context", as: extlib_nfs_init_context_fn.self),
                destroyContext: try symbol("rpc_destroy_context", as: extlib_nfs_destroy_context_fn.self),
                getFD: try symbol("rpc_get_fd", as: extlib_nfs_get_fd_fn.self),
                whichEvents: try symbol("rpc_which_events", as: extlib_nfs_which_events_fn.self),
                service: try symbol("rpc_service", as: extlib_nfs_service_fn.self),
                getError: try symbol("rpc_get_error", as: extlib_nfs_get_error_fn.self),
                connectAsync: try symbol("rpc_connect_async", as: extlib_nfs_connect_async_fn.self),
                portmapGetPortAsync: try symbol("rpc_pmap2_getport_async", as: extlib_nfs_pmap2_getport_async_fn.self),
                mountExportAsync: try symbol("rpc_mount3_export_async", as: extlib_nfs_mount3_export_async_fn.self),
                soname: library.soname))
        } catch {
            return .failure(error)
        }
    }
}
