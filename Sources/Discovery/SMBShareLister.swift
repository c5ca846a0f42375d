import CSMBClient
import Dispatch
import Logging
import SystemPackage

import System
import Formats

public enum SMBShareType: String, Sendable, Hashable {
    case disk, ipc, printer, other
}

public struct SMBShare: Sendable, Hashable {
    public let name: String
    public let type: SMBShareType
    public let comment: String

    public init(name: String, type: SMBShareType, comment: String) {
        self.name = name
        self.type = type
        self.comment = comment
    }

    /// Administrative and hidden shares (`C$`, `backup$`) end in `$`.
    public var isHidden: Bool { name.hasSuffix("$") }

    /// What a user would mount as a photo library: visible disk shares.
    public var isOrdinaryDisk: Bool { type == .disk && !isHidden }
}

/// An SMB account. The password stays a `Secret` until libsmbclient's callback copies it out.
public struct SMBAccount: Sendable {
    public let user: String
    public let domain: String?
    public let password: Secret

    public init(user: String, domain: String?, password: Secret) {
        self.user = user
        self.domain = domain
        self.password = password
    }
}

public enum SMBListingError: Error, Equatable, CustomStringConvertible {
    /// Guest access was refused: the server wants an account.
    case authenticationRequired
    /// The given account was refused.
    case authenticationFailed(user: String)
    case refused
    case timedOut
    case libraryUnavailable(String)
    /// The server speaks only SMB1, which is not offered without `--smb1`.
    case smb1Only
    case failed(Errno)

    public var description: String {
        switch self {
        case .libraryUnavailable(let message): return message
        case .authenticationRequired: return "authentication required"
        case .authenticationFailed(let user): return "the server rejected user '\(user)': wrong user name or password"
        case .refused: return "connection refused"
        case .timedOut: return "no answer"
        case .smb1Only: return "the server speaks only SMB1 (NT1), an old and insecure protocol: list its shares with --smb1, mount them with --smb-version 1.0"
        case .failed(let errno): return "listing failed: \(errno)"
        }
    }
}

/// Lists a server's shares through libsmbclient.
///
/// libsmbclient is not thread-safe on Debian 12 (it exports no `smbc_thread_posix`), so every call
/// into it runs on `queue`, one at a time.
public enum SMBShareLister {
    public static let queue = DispatchQueue(label: "extlib-net.libsmbclient")

    /// Starts loading libsmbclient on its queue, so the load overlaps other work.
    public static func preload() {
        queue.async { _ = LibSMBClient.shared }
    }

    /// Blocking; call it on `queue`. `timeout` bounds each libsmbclient operation; the caller's
    /// deadline bounds the whole.
    /// `allowSMB1`: also offer SMB1 (NT1). Off by default: SMB1 is insecure, and a server that speaks
    /// only SMB1 is then reported as such (see SMBDialectProbe) instead of listed.
    public static func list(address: IPAddress, port: UInt16, account: SMBAccount?, timeout: Duration, allowSMB1: Bool = false,
                            logger: Logger) -> Result<[SMBShare], SMBListingError> {
        dispatchPrecondition(condition: .onQueue(queue))
        let library: LibSMBClient
        switch LibSMBClient.shared {
        case .success(let loaded): library = loaded
        case .failure(let error): return .failure(.libraryUnavailable(error.description))
        }
        let context: SMBClientContext
        do {
            context = try SMBClientContext(library, account: account, port: port, timeout: timeout, allowSMB1: allowSMB1)
        } catch {
            return .failure(.failed(error))
        }
        return context.listShares(url: "smb://\(address.urlHost)/").mapError { errno in
            logger.debug("libsmbclient listing failed", metadata: ["errno": "\(errno)", "account": "\(account == nil ? "guest" : "given")"])
            switch errno {
            case .permissionDenied, .notPermitted:
                return account.map { .authenticationFailed(user: $0.user) } ?? .authenticationRequired
            case .connectionRefused: return .refused
            case .timedOut: return .timedOut
            default: return .failed(errno)
            }
        }
    }
}

extension SMBShareLister {
    /// An SMB1-only server drops an SMB2+ client after NEGOTIATE, which libsmbclient reports as a
    /// broken connection: ask the server which generation it speaks before calling it a failure.
    /// Any thread (it does not use libsmbclient).
    public static func explain(_ error: SMBListingError, _ endpoint: Endpoint, allowSMB1: Bool, until deadline: Deadline, logger: Logger) -> SMBListingError {
        guard case .failed = error, !allowSMB1 else { return error }
        return SMBDialectProbe.generation(of: endpoint, until: deadline, logger: logger) == .smb1Only ? .smb1Only : error
    }

    /// Opens `share` with `account` and counts its top-level entries: proves the account can read it.
    /// Blocking; call it on `queue`.
    public static func open(share: String, address: IPAddress, port: UInt16, account: SMBAccount?, timeout: Duration,
                            allowSMB1: Bool = false) -> Result<Int, ShareOpenError> {
        dispatchPrecondition(condition: .onQueue(queue))
        let library: LibSMBClient
        switch LibSMBClient.shared {
        case .success(let loaded): library = loaded
        case .failure(let error): return .failure(.libraryUnavailable(error.description))
        }
        let context: SMBClientContext
        do {
            context = try SMBClientContext(library, account: account, port: port, timeout: timeout, allowSMB1: allowSMB1)
        } catch {
            return .failure(.failed(error))
        }
        let url = "smb://\(address.urlHost)/\(URLComponent.encode(share))"
        return context.listShares(url: url).map { entries in entries.filter { $0.name != "." && $0.name != ".." }.count }.mapError { errno in
            switch errno {
            case .noSuchFileOrDirectory, .operationNotSupportedByDevice, .noSuchAddressOrDevice: return .noSuchShare
            case .permissionDenied, .notPermitted: return .accessDenied
            case .timedOut: return .timedOut
            default: return .failed(errno)
            }
        }
    }
}

public enum ShareOpenError: Error, Equatable, CustomStringConvertible {
    case noSuchShare
    case accessDenied
    case timedOut
    case failed(Errno)
    /// libsmbclient could not be loaded (the message names the package).
    case libraryUnavailable(String)

    public var description: String {
        switch self {
        case .libraryUnavailable(let why): return why
        case .noSuchShare: return "no such share"
        case .accessDenied: return "access denied"
        case .timedOut: return "no answer"
        case .failed(let errno): return "opening failed: \(errno)"
        }
    }
}

/// What the auth callback hands libsmbclient. Guest is an empty user and password.
private final class SMBCredentials {
    let user: String
    let domain: String
    let password: Secret

    init(_ account: SMBAccount?) {
        user = account?.user ?? ""
        domain = account?.domain ?? ""
        password = account?.password ?? Secret("")
    }
}

/// Owns one `SMBCCTX` and frees it.
private final class SMBClientContext {
    private let library: LibSMBClient
    private let context: UnsafeMutablePointer<SMBCCTX>
    private let credentials: Unmanaged<SMBCredentials>

    /// Throws what libsmbclient left in errno. When the context was made but its initialisation failed,
    /// `deinit` frees it (a class's deinit runs when its init throws after every property is set).
    init(_ library: LibSMBClient, account: SMBAccount?, port: UInt16, timeout: Duration, allowSMB1: Bool) throws(Errno) {
        self.library = library
        LastErrno.clear()
        guard let context = library.newContext() else { throw LastErrno.read(or: .noMemory) }
        self.context = context
        credentials = Unmanaged.passRetained(SMBCredentials(account))
        // Level 0: libsmbclient's own debug output could carry user names or worse.
        library.setDebug(context, 0)
        library.setOptionUserData(context, credentials.toOpaque())
        library.setFunctionAuthDataWithContext(context, smbAuthCallback)
        library.setOptionUseKerberos(context, 0)
        library.setOptionFallbackAfterKerberos(context, 1)
        library.setOptionUseCCache(context, 0)
        // With an account, a refused password must surface, not fall back to an anonymous session.
        library.setOptionNoAutoAnonymousLogin(context, account == nil ? 0 : 1)
        library.setPort(context, port)
        // Process-wide in libsmbclient (it sets loadparm's command-line values), so set it every time.
        // SMB 3.1.1 stays the maximum; encryption is negotiated when the server requires it.
        _ = library.setOptionProtocols(context, allowSMB1 ? "NT1" : "SMB2_02", "SMB3_11")
        library.setTimeout(context, Int32(clamping: max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)))
        LastErrno.clear()
        guard library.initContext(context) != nil else { throw LastErrno.read(or: .ioError) }
    }

    deinit {
        _ = library.freeContext(context, 1)
        credentials.release()
    }

    func listShares(url: String) -> Result<[SMBShare], Errno> {
        guard let opendir = library.getFunctionOpendir(context), let readdir = library.getFunctionReaddir(context),
            let closedir = library.getFunctionClosedir(context)
        else { return .failure(.notSupported) }
        LastErrno.clear()
        guard let directory = opendir(context, url) else { return .failure(LastErrno.read(or: .ioError)) }
        defer { _ = closedir(context, directory) }
        var shares: [SMBShare] = []
        while let entry = readdir(context, directory) {
            let name = String(cString: extlib_smbc_dirent_name(entry))
            let comment = entry.pointee.comment.map { String(cString: $0) } ?? ""
            let type: SMBShareType
            switch entry.pointee.smbc_type {
            case UInt32(SMBC_FILE_SHARE): type = .disk
            case UInt32(SMBC_PRINTER_SHARE): type = .printer
            case UInt32(SMBC_IPC_SHARE): type = .ipc
            default: type = .other
            }
            shares.append(SMBShare(name: name, type: type, comment: comment))
        }
        return .success(shares)
    }
}

/// Copies our credentials into libsmbclient's buffers; never logs them.
private let smbAuthCallback: smbc_get_auth_data_with_context_fn = { context, _, _, workgroup, workgroupLength, user, userLength, password, passwordLength in
    guard let context, case .success(let library) = LibSMBClient.shared, let raw = library.getOptionUserData(context) else { return }
    let credentials = Unmanaged<SMBCredentials>.fromOpaque(raw).takeUnretainedValue()
    credentials.user.withCString { copyCString($0, into: user, capacity: userLength) }
    if !credentials.domain.isEmpty { credentials.domain.withCString { copyCString($0, into: workgroup, capacity: workgroupLength) } }
    credentials.password.withCString { copyCString($0, into: password, capacity: passwordLength) }
}

/// Copies the C string `source` into a buffer of `capacity` bytes, cut to fit and always NUL-terminated.
private func copyCString(_ source: UnsafePointer<CChar>, into buffer: UnsafeMutablePointer<CChar>?, capacity: Int32) {
    guard let buffer, capacity > 0 else { return }
    var index = 0
    while index < Int(capacity) - 1, source[index] != 0 {
        buffer[index] = source[index]
        index += 1
    }
    buffer[index] = 0
}
