import CNFS
import Logging

import System

public struct NFSExport: Sendable, Hashable {
    public let path: String
    /// Hosts, networks or netgroups allowed to mount it, as the server reports them; empty means everyone.
    public let clients: [String]

    public init(path: String, clients: [String]) {
        self.path = path
        self.clients = clients
    }
}

public enum NFSListingError: Error, Equatable, CustomStringConvertible {
    /// The portmapper answers but no MOUNT service is registered: typical of NFSv4-only servers.
    case noMountService
    /// Neither libnfs.so.14 nor libnfs.so.13 could be loaded: only NFS listing is affected.
    case libraryUnavailable(String)
    case timedOut(step: String)
    case failed(step: String, message: String)

    public var description: String {
        switch self {
        case .noMountService: return "the portmapper has no MOUNT service registered"
        case .libraryUnavailable(let message): return message
        case .timedOut(let step): return "no answer while \(step)"
        case .failed(let step, let message): return "\(step) failed: \(message)"
        }
    }
}

/// Lists exports through libnfs's MOUNT protocol (portmapper GETPORT, then MOUNT3 EXPORT), driving
/// libnfs's async API from our own poll loop: its blocking calls have no deadline.
public enum NFSExportLister {
    /// IPPROTO_TCP, the protocol number the portmapper is asked about (RFC 1833).
    static let tcpProtocolNumber: Int32 = 6

    public static func list(address: IPAddress, portmapperPort: UInt16 = 111, until deadline: Deadline, logger: Logger) -> Result<[NFSExport], NFSListingError> {
        let server = address.description
        let nfs: LibNFS
        switch LibNFS.shared {
        case .success(let loaded): nfs = loaded
        case .failure(let error): return .failure(.libraryUnavailable(error.description))
        }
        do {
            let portmapper = try RPCConnection(nfs, server: server, port: Int32(portmapperPort), until: deadline, step: "connecting to the portmapper")
            let getPort: RPCStart = { rpc, callback, box in
                nfs.portmapGetPortAsync(rpc, Int32(EXTLIB_NFS_MOUNT_PROGRAM), Int32(EXTLIB_NFS_MOUNT_V3), tcpProtocolNumber, callback, box)
            }
            let mountPort: UInt32 = try portmapper.call(step: "asking the portmapper for the MOUNT service", until: deadline, start: getPort) { data in
                data?.load(as: UInt32.self) ?? 0
            }
            guard mountPort != 0, mountPort <= UInt32(UInt16.max) else { return .failure(.noMountService) }
            logger.debug("MOUNT service found", metadata: ["port": "\(mountPort)"])

            let mountd = try RPCConnection(nfs, server: server, port: Int32(mountPort), until: deadline, step: "connecting to the MOUNT service")
            let listExports: RPCStart = { rpc, callback, box in nfs.mountExportAsync(rpc, callback, box) }
            let listed: [NFSExport] = try mountd.call(step: "listing exports", until: deadline, start: listExports) { data in
                copyExports(data?.load(as: UnsafeMutablePointer<extlib_nfs_exportnode>?.self) ?? nil)
            }
            return .success(listed)
        } catch {
            return .failure(error)
        }
    }

    /// Copies the list out of libnfs's memory, which it frees after the callback returns.
    private static func copyExports(_ first: UnsafeMutablePointer<extlib_nfs_exportnode>?) -> [NFSExport] {
        var result: [NFSExport] = []
        var node = first
        while let export = node {
            var clients: [String] = []
            var group = export.pointee.ex_groups
            while let entry = group {
                if let name = entry.pointee.gr_name { clients.append(String(cString: name)) }
                group = entry.pointee.gr_next
            }
            let path = export.pointee.ex_dir.map { String(cString: $0) } ?? ""
            result.append(NFSExport(path: path, clients: clients))
            node = export.pointee.ex_next
        }
        return result
    }
}

/// Queues one libnfs async call: the context, the C callback, and the callback's private data.
private typealias RPCStart = (OpaquePointer, extlib_nfs_rpc_cb, UnsafeMutableRawPointer) -> Int32

/// One libnfs `rpc_context`, owned and destroyed here.
private final class RPCConnection {
    private let nfs: LibNFS
    private let rpc: OpaquePointer
    /// Every call's completion box. libnfs may still invoke a callback (with "cancelled") while the
    /// context is destroyed, so the boxes are released only after that.
    private var pendingBoxes: [Unmanaged<AnyPendingCall>] = []

    init(_ nfs: LibNFS, server: String, port: Int32, until deadline: Deadline, step: String) throws(NFSListingError) {
        guard let rpc = nfs.initContext() else { throw .failed(step: step, message: "libnfs could not create a context") }
        self.nfs = nfs
        self.rpc = rpc
        let connect: RPCStart = { rpc, callback, box in nfs.connectAsync(rpc, server, port, callback, box) }
        let _: Void = try call(step: step, until: deadline, start: connect) { _ in () }
    }

    deinit {
        nfs.destroyContext(rpc)
        pendingBoxes.forEach { $0.release() }
    }

    /// Starts one async call and services the context until its callback ran or the deadline passed.
    func call<T>(
        step: String, until deadline: Deadline,
        start: RPCStart,
        consume: @escaping (UnsafeMutableRawPointer?) -> T
    ) throws(NFSListingError) -> T {
        let pending = PendingCall(consume: consume)
        let box = Unmanaged<AnyPendingCall>.passRetained(pending)
        pendingBoxes.append(box)
        guard start(rpc, PendingCallTrampoline.callback, box.toOpaque()) == 0 else {
            throw .failed(step: step, message: errorText())
        }
        while !pending.isFinished {
            guard !deadline.hasPassed else { throw .timedOut(step: step) }
            // Wake at least every 100 ms: libnfs checks its own timers inside rpc_service.
            let revents: Int16
            do {
                revents = try Descriptor.wait(borrowed: nfs.getFD(rpc), for: Int16(truncatingIfNeeded: nfs.whichEvents(rpc)), until: deadline, cap: 100)
            } catch {
                throw .failed(step: step, message: "poll: \(error)")
            }
            if nfs.service(rpc, Int32(revents)) < 0, !pending.isFinished {
                throw .failed(step: step, message: errorText())
            }
        }
        switch pending.outcome {
        case .success(let value): return value
        case .failure(let failure): throw .failed(step: step, message: failure.message)
        case .none: throw .timedOut(step: step)
        }
    }

    private func errorText() -> String {
        nfs.getError(rpc).map { String(cString: $0) } ?? "unknown libnfs error"
    }
}

/// Type-erased completion shared by every call, so one C function pointer serves all of them.
private class AnyPendingCall {
    var isFinished = false
    func finish(status: Int32, data: UnsafeMutableRawPointer?) {}
}

private final class PendingCall<T>: AnyPendingCall {
    let consume: (UnsafeMutableRawPointer?) -> T
    var outcome: Result<T, FailureText>?

    struct FailureText: Error { let message: String }

    init(consume: @escaping (UnsafeMutableRawPointer?) -> T) { self.consume = consume }

    override func finish(status: Int32, data: UnsafeMutableRawPointer?) {
        isFinished = true
        if status == Int32(EXTLIB_NFS_RPC_STATUS_SUCCESS) {
            outcome = .success(consume(data))
        } else if status == Int32(EXTLIB_NFS_RPC_STATUS_ERROR), let data {
            outcome = .failure(FailureText(message: String(cString: data.assumingMemoryBound(to: CChar.self))))
        } else {
            outcome = .failure(FailureText(message: status == Int32(EXTLIB_NFS_RPC_STATUS_TIMEOUT) ? "timed out" : "cancelled"))
        }
    }
}

private enum PendingCallTrampoline {
    static let callback: extlib_nfs_rpc_cb = { _, status, data, privateData in
        Unmanaged<AnyPendingCall>.fromOpaque(privateData!).takeUnretainedValue().finish(status: status, data: data)
    }
}
