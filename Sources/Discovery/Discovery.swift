import Dispatch
import Logging

import System
import Formats

public struct DiscoveryOptions: Sendable {
    public var host: HostName
    public var timeout: Duration
    /// Only this SMB port, instead of 445 then 139.
    public var smbPort: UInt16?
    public var account: SMBAccount?
    /// Also `$` shares, IPC and printers.
    public var includeAll: Bool
    /// Also offer SMB1 (`--smb1`): only for an old NAS that speaks nothing else.
    public var allowSMB1: Bool

    public init(host: HostName, timeout: Duration = .seconds(3), smbPort: UInt16? = nil, account: SMBAccount? = nil, includeAll: Bool = false,
                allowSMB1: Bool = false) {
        self.host = host
        self.timeout = timeout
        self.smbPort = smbPort
        self.account = account
        self.includeAll = includeAll
        self.allowSMB1 = allowSMB1
    }

    public static let standardSMBPorts: [UInt16] = [445, 139]
    public static let nfsPort: UInt16 = 2049
    public static let portmapperPort: UInt16 = 111
}

public struct SMBFindings: Sendable {
    /// Each SMB port tried, in order of preference.
    public var probes: [(port: UInt16, state: PortState)] = []
    public var shares: [SMBShare] = []
    public var error: SMBListingError?
    /// The user whose listing this is; `nil` for guest.
    public var listedAs: String?
    /// Set when the server was asked (a failed listing, or one made with `--smb1`).
    public var generation: SMBGeneration?

    /// The first open port, the one listed through.
    public var port: UInt16? { probes.first { $0.state == .open }?.port }
    public var reachable: Bool { port != nil }
}

public struct NFSFindings: Sendable {
    public var nfsPort: PortState = .noAnswer
    public var portmapper: PortState = .noAnswer
    public var exports: [NFSExport] = []
    public var error: NFSListingError?

    public var reachable: Bool { nfsPort == .open || portmapper == .open }
    /// NFS answers but export listing cannot work: give the export path directly.
    public var isV4Only: Bool {
        nfsPort == .open && (portmapper != .open || error == .noMountService)
    }
}

public struct DiscoveryReport: Sendable {
    public let host: String
    public let resolved: ResolvedHost
    public var smb = SMBFindings()
    public var nfs = NFSFindings()
    public let options: DiscoveryOptions

    public var address: IPAddress { resolved.preferredAddress }
}

/// Probes one host for SMB and NFS and lists what it offers, all within `options.timeout`.
public struct Discovery: Sendable {
    public let root: SystemRoot
    public let logger: Logger

    /// Each protocol's listing is started in parallel and waited for until the deadline.
    private static let nfsQueue = DispatchQueue(label: "extlib-net.libnfs")
    static let grace: Duration = .milliseconds(100)

    public init(root: SystemRoot, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    public func run(_ options: DiscoveryOptions) throws(ResolutionError) -> DiscoveryReport {
        let deadline = Deadline.after(options.timeout)
        Self.prepare()
        let resolved = try HostResolver(root: root, logger: logger).resolve(options.host, until: deadline)
        var report = DiscoveryReport(host: options.host.description, resolved: resolved, options: options)
        let address = resolved.preferredAddress
        logger.debug("probing", metadata: ["address": "\(address)", "resolution": "\(resolved.method.rawValue)"])

        // A filtered port never answers; give the probes half of what is left so the listings still
        // have time after them.
        let smbPorts = options.smbPort.map { [$0] } ?? DiscoveryOptions.standardSMBPorts
        let endpoints = smbPorts.map { Endpoint(address, $0) } + [Endpoint(address, DiscoveryOptions.nfsPort), Endpoint(address, DiscoveryOptions.portmapperPort)]
        let states = TCPProbe.probe(endpoints, until: deadline.capped(after: deadline.remaining / 2))
        report.smb.probes = Array(zip(smbPorts, states))
        report.nfs.nfsPort = states[smbPorts.count]
        report.nfs.portmapper = states[smbPorts.count + 1]
        logger.debug("port probes", metadata: ["results": "\(zip(endpoints, states).map { "\($0)=\($1.rawValue)" })"])

        let smbCall = report.smb.port.map { port in startSMBListing(address: address, port: port, options: options, deadline: deadline) }
        let nfsCall = report.nfs.portmapper == .open ? startNFSListing(address: address, deadline: deadline) : nil

        // The listers stop at the deadline themselves and then say which step hung; a moment of grace
        // lets that specific answer arrive before we fall back to a generic "no answer".
        let collection = Deadline(deadline.instant + Self.grace)
        if let smbCall {
            if let outcome = smbCall.wait(until: collection) {
                report.smb.listedAs = outcome.listedAs
                report.smb.shares = outcome.shares.filter { options.includeAll || $0.isOrdinaryDisk }
                report.smb.error = outcome.error
                report.smb.generation = outcome.generation
            } else {
                report.smb.error = .timedOut
            }
        }
        if let nfsCall {
            switch nfsCall.wait(until: collection) {
            case .success(let exports)?: report.nfs.exports = exports
            case .failure(let error)?: report.nfs.error = error
            case nil: report.nfs.error = .timedOut(step: "listing exports")
            }
        }
        return report
    }

    /// Gets the listings ready, once per process: the services database, the NFS thread, then the
    /// libsmbclient load (some 40 ms of loading 110 libraries, on its own queue). The executable calls
    /// this first thing for the commands that list, so the load overlaps parsing and the port probes
    /// instead of starting after them; `run` calls it too.
    public static func prepare() { _ = prepared }

    private static let prepared: Void = {
        loadServicesDatabase()
        startNFSThread()
        SMBShareLister.preload()
    }()

    /// libnfs looks a port up in the services database, and glibc then loads the NSS modules that
    /// nsswitch.conf names for it (Debian: `db files`, so it tries to dlopen libnss_db). Doing that
    /// first, here, takes half a millisecond; on the NFS thread it waited behind the dynamic loader's
    /// lock, which the libsmbclient dlopen on the SMB queue holds for 30 ms and more.
    static func loadServicesDatabase() {
        NameServices.loadServicesDatabase()
    }

    /// Creating a thread waits for the dynamic loader's lock too (its TLS), so the NFS queue gets its
    /// thread before the libsmbclient dlopen starts: measured under strace, the NFS listing otherwise
    /// started only once the dlopen had finished.
    static func startNFSThread() {
        let started = DispatchSemaphore(value: 0)
        nfsQueue.async { started.signal() }
        started.wait()
    }

    private struct SMBOutcome: Sendable {
        var shares: [SMBShare] = []
        var error: SMBListingError?
        var listedAs: String?
        var generation: SMBGeneration?
    }

    private func startSMBListing(address: IPAddress, port: UInt16, options: DiscoveryOptions, deadline: Deadline) -> BlockingCall<SMBOutcome> {
        let logger = self.logger
        return BlockingCall(on: SMBShareLister.queue) {
            var outcome = Self.listSMB(address: address, port: port, options: options, deadline: deadline, logger: logger)
            // With --smb1 the add lines need --smb-version 1.0 when SMB1 is all it speaks.
            if options.allowSMB1, outcome.error == nil,
                let generation = SMBDialectProbe.generation(of: Endpoint(address, port), until: deadline, logger: logger) {
                outcome.generation = generation
            }
            return outcome
        }
    }

    /// Guest first, then the account: to list when guest is refused, and to check it when guest
    /// worked (a wrong password must not go unnoticed until mount time).
    private static func listSMB(address: IPAddress, port: UInt16, options: DiscoveryOptions, deadline: Deadline, logger: Logger) -> SMBOutcome {
        var outcome = SMBOutcome()
        switch SMBShareLister.list(address: address, port: port, account: nil, timeout: deadline.remaining, allowSMB1: options.allowSMB1, logger: logger) {
        case .success(let shares): outcome.shares = shares
        case .failure(let error):
            outcome.error = SMBShareLister.explain(error, Endpoint(address, port), allowSMB1: options.allowSMB1, until: deadline, logger: logger)
            if outcome.error == .smb1Only { outcome.generation = .smb1Only }
            guard error == .authenticationRequired else { return outcome }
        }
        guard let account = options.account else { return outcome }
        guard !deadline.hasPassed else {
            outcome.error = .timedOut
            return outcome
        }
        switch SMBShareLister.list(address: address, port: port, account: account, timeout: deadline.remaining, allowSMB1: options.allowSMB1, logger: logger) {
        case .success(let shares):
            outcome = SMBOutcome(shares: shares, error: nil, listedAs: account.user)
        case .failure(let error):
            outcome.error = SMBShareLister.explain(error, Endpoint(address, port), allowSMB1: options.allowSMB1, until: deadline, logger: logger)
        }
        return outcome
    }

    private func startNFSListing(address: IPAddress, deadline: Deadline) -> BlockingCall<Result<[NFSExport], NFSListingError>> {
        let logger = self.logger
        return BlockingCall(on: Self.nfsQueue) {
            NFSExportLister.list(address: address, until: deadline, logger: logger)
        }
    }
}
