import CSMBClient
import System


/// libsmbclient, loaded on first use.
///
/// Linking it would make every start of extlib-net (even `--help`) load about 110 Samba libraries,
/// some 30 ms; loading it on the SMB queue lets that overlap name resolution, port probes and the NFS
/// listing, and lets NFS-only use work where libsmbclient is not installed.
struct LibSMBClient: @unchecked Sendable {  // immutable C function pointers
    typealias NewContext = @convention(c) () -> UnsafeMutablePointer<SMBCCTX>?
    typealias InitContext = @convention(c) (UnsafeMutablePointer<SMBCCTX>?) -> UnsafeMutablePointer<SMBCCTX>?
    typealias FreeContext = @convention(c) (UnsafeMutablePointer<SMBCCTX>?, Int32) -> Int32
    typealias SetInt = @convention(c) (UnsafeMutablePointer<SMBCCTX>?, Int32) -> Void
    typealias SetPort = @convention(c) (UnsafeMutablePointer<SMBCCTX>?, UInt16) -> Void
    typealias SetPointer = @convention(c) (UnsafeMutablePointer<SMBCCTX>?, UnsafeMutableRawPointer?) -> Void
    typealias GetPointer = @convention(c) (UnsafeMutablePointer<SMBCCTX>?) -> UnsafeMutableRawPointer?
    typealias SetAuth = @convention(c) (UnsafeMutablePointer<SMBCCTX>?, smbc_get_auth_data_with_context_fn?) -> Void
    typealias GetOpendir = @convention(c) (UnsafeMutablePointer<SMBCCTX>?) -> smbc_opendir_fn?
    typealias GetReaddir = @convention(c) (UnsafeMutablePointer<SMBCCTX>?) -> smbc_readdir_fn?
    typealias GetClosedir = @convention(c) (UnsafeMutablePointer<SMBCCTX>?) -> smbc_closedir_fn?
    typealias SetProtocols = @convention(c) (UnsafeMutablePointer<SMBCCTX>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> smbc_bool

    let newContext: NewContext
    let initContext: InitContext
    let freeContext: FreeContext
    let setDebug: SetInt
    let setOptionUserData: SetPointer
    let getOptionUserData: GetPointer
    let setFunctionAuthDataWithContext: SetAuth
    let setOptionUseKerberos: SetInt
    let setOptionFallbackAfterKerberos: SetInt
    let setOptionUseCCache: SetInt
    let setOptionNoAutoAnonymousLogin: SetInt
    let setPort: SetPort
    let setTimeout: SetInt
    let getFunctionOpendir: GetOpendir
    let getFunctionReaddir: GetReaddir
    let getFunctionClosedir: GetClosedir
    let setOptionProtocols: SetProtocols

    /// The Debian 12 soname of libsmbclient0.
    static let soname = "libsmbclient.so.0"

    /// Loaded once, on first use; the library stays loaded for the life of the process.
    static let shared: Result<LibSMBClient, LoadError> = load()

    struct LoadError: Error, Equatable, CustomStringConvertible {
        let detail: String
        var description: String {
            "libsmbclient could not be loaded (\(detail)); install it with: apt install libsmbclient"
        }
    }

    private static func load() -> Result<LibSMBClient, LoadError> {
        let library: SharedLibrary
        switch SharedLibrary.load(soname) {
        case .success(let loaded): library = loaded
        case .failure(let failure): return .failure(LoadError(detail: failure.reason))
        }
        func symbol<T>(_ name: String, as type: T.Type) throws(LoadError) -> T {
            guard let function = library.function(name, as: type) else { throw LoadError(detail: "\(soname) has no \(name)") }
            return function
        }
        do {
            return .success(LibSMBClient(
                newContext: try symbol("smbc_new_context", as: NewContext.self),
                initContext: try symbol("smbc_init_context", as: InitContext.self),
                freeContext: try symbol("smbc_free_context", as: FreeContext.self),
                setDebug: try symbol("smbc_setDebug", as: SetInt.self),
                setOptionUserData: try symbol("smbc_setOptionUserData", as: SetPointer.self),
                getOptionUserData: try symbol("smbc_getOptionUserData", as: GetPointer.self),
                setFunctionAuthDataWithContext: try symbol("smbc_setFunctionAuthDataWithContext", as: SetAuth.self),
                setOptionUseKerberos: try symbol("smbc_setOptionUseKerberos", as: SetInt.self),
                setOptionFallbackAfterKerberos: try symbol("smbc_setOptionFallbackAfterKerberos", as: SetInt.self),
                setOptionUseCCache: try symbol("smbc_setOptionUseCCache", as: SetInt.self),
                setOptionNoAutoAnonymousLogin: try symbol("smbc_setOptionNoAutoAnonymousLogin", as: SetInt.self),
                setPort: try symbol("smbc_setPort", as: SetPort.self),
                setTimeout: try symbol("smbc_setTimeout", as: SetInt.self),
                getFunctionOpendir: try symbol("smbc_getFunctionOpendir", as: GetOpendir.self),
                getFunctionReaddir: try symbol("smbc_getFunctionReaddir", as: GetReaddir.self),
                getFunctionClosedir: try symbol("smbc_getFunctionClosedir", as: GetClosedir.self),
                setOptionProtocols: try symbol("smbc_setOptionProtocols", as: SetProtocols.self)))
        } catch {
            return .failure(error)
        }
    }
}
