import Logging
import Core
import System
import Formats
import Discovery
import Credentials
import Mounting
import Health
import Boot
import Immich

/// A share or export `setup` can offer.
public struct SetupCandidate: Sendable, Equatable {
    public enum Kind: String, Sendable { case smb, nfs }
    public let kind: Kind
    /// The share name or export path, as the server sent it.
    public let name: String
    /// The share's comment or the export's allowed clients, as the server sent them.
    public let detail: String
    /// The URL `extlib-net add` takes.
    public let url: String

    public init(kind: Kind, name: String, detail: String, url: String) {
        self.kind = kind
        self.name = name
        self.detail = detail
        self.url = url
    }
}

/// What discovering one host found, as far as setup needs it.
public struct SetupFindings: Sendable {
    public var candidates: [SetupCandidate]
    /// The server lists its SMB shares only to an account (guest refused).
    public var smbNeedsAccount: Bool
    /// The given account was rejected.
    public var accountRejected: Bool
    /// What `discover` prints, for when there is nothing to offer.
    public var summary: [String]
    /// What `discover` exits with.
    public var status: ExitStatus
    /// A protocol that answered but could not be listed (a hung server, a timeout): said above the list.
    public var problems: [String] = []

    public init(candidates: [SetupCandidate], smbNeedsAccount: Bool = false, accountRejected: Bool = false, summary: [String] = [], status: ExitStatus = .success) {
        self.candidates = candidates
        self.smbNeedsAccount = smbNeedsAccount
        self.accountRejected = accountRejected
        self.summary = summary
        self.status = status
    }
}

/// Whether a share opens without an account.
public enum GuestAccess: Sendable, Equatable {
    case opens
    case needsAccount
    /// Something else is wrong (no such share, no answer): what.
    case problem(String)
}

/// The services `setup` runs: the same ones the plain commands call. A protocol so the flow's logic is
/// tested with a scripted user and recorded effects; `LiveSetupSystem` is the real one.
public protocol SetupSystem {
    func discover(_ host: HostName, account: SMBAccount?) throws -> SetupFindings
    func guestAccess(to share: String, on host: HostName) -> GuestAccess
    /// `credentials check NAME HOST/SHARE` with an account not stored yet.
    func check(_ account: SMBAccount, on host: HostName, share: String) throws
    func credentials() throws -> [Credential]
    func store(_ credential: Credential) throws
    func definitions() throws -> [MountDefinition]
    /// `add`: returns the mount's folder.
    func add(_ definition: MountDefinition) throws -> String
    /// `mount NAMES`, under the mount lock; `progress` gets each failed attempt's line.
    func mount(_ definitions: [MountDefinition], progress: @escaping @Sendable (String) -> Void) throws -> [Result<MountedShare, MountError>]
    func bootEnabled() -> Bool
    /// `boot enable [--heal-every]`: what it wrote and ran.
    func enableBoot(healEvery: Duration?) throws -> [String]
    func immichAnswers() -> Bool
    func immichLoggedIn() -> Bool
    /// `immich login --from-snap`: the admin's email.
    func immichLogin() throws -> String
    /// `immich link NAME`: what happened, in lines.
    func link(_ definition: MountDefinition) throws -> [String]
    func guardOn() -> Bool
    /// `immich guard enable`: what it did, in lines.
    func enableGuard() throws -> [String]
    func doctor(_ definitions: [MountDefinition]) -> [DoctorFinding]
    func importPath(of definition: MountDefinition) -> String
}

/// The real services, under `root`.
public struct LiveSetupSystem: SetupSystem {
    public let root: SystemRoot
    public let logger: Logger
    public var discoveryTimeout: Duration = .seconds(3)
    public var checkTimeout: Duration = .seconds(5)
    public var mountWait: Duration = .seconds(15)
    public var smbPort: UInt16?
    public var immichURL: String = ImmichConnection.defaultURL
    /// This binary, for the units' ExecStart= (BootInstaller refuses one others could replace).
    public var executable: String?

    public init(root: SystemRoot, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    var service: MountService { MountService(mounter: Mounter(root: root, logger: logger)) }
    var immich: ImmichService { ImmichService(mounts: service, logger: logger) }

    public func discover(_ host: HostName, account: SMBAccount?) throws -> SetupFindings {
        let options = DiscoveryOptions(host: host, timeout: discoveryTimeout, smbPort: smbPort, account: account)
        let report = try Discovery(root: root, logger: logger).run(options)
        let shown = report.host.contains(":") ? "[\(report.host)]" : report.host
        let port = report.smb.port.flatMap { $0 == 445 ? nil : ":\($0)" } ?? ""
        var candidates: [SetupCandidate] = []
        for share in report.smb.shares where share.type == .disk && DiscoveryPresentation.unmountable(share) == nil {
            candidates.append(SetupCandidate(kind: .smb, name: share.name, detail: share.comment, url: "smb://\(shown)\(port)/\(URLComponent.encode(share.name))"))
        }
        for export in report.nfs.exports where DiscoveryPresentation.unmountable(export) == nil {
            let clients = export.clients.isEmpty ? "(everyone)" : export.clients.joined(separator: ", ")
            candidates.append(SetupCandidate(kind: .nfs, name: export.path, detail: clients, url: "nfs://\(shown)\(URLComponent.encode(export.path, keepingSlashes: true))"))
        }
        var rejected = false
        if case .authenticationFailed? = report.smb.error { rejected = true }
        let summary = DiscoveryPresentation.text(report).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var findings = SetupFindings(candidates: candidates, smbNeedsAccount: report.smb.error == .authenticationRequired, accountRejected: rejected,
                                     summary: summary, status: report.exitStatus)
        if let error = report.smb.error, error != .authenticationRequired, !rejected { findings.problems.append("SMB shares could not be listed: \(error)") }
        if let error = report.nfs.error, !report.nfs.isV4Only { findings.problems.append("NFS exports could not be listed: \(error)") }
        if report.nfs.isV4Only { findings.problems.append("NFS answers, but only NFSv4 (no export list): add an export by its path, extlib-net add NAME nfs://HOST/PATH") }
        return findings
    }

    public func guestAccess(to share: String, on host: HostName) -> GuestAccess {
        let deadline = Deadline.after(checkTimeout)
        let resolved: ResolvedHost
        do {
            resolved = try HostResolver(root: root, logger: logger).resolve(host, until: deadline)
        } catch {
            return .problem(error.description)
        }
        let address = resolved.preferredAddress
        let ports = smbPort.map { [$0] } ?? DiscoveryOptions.standardSMBPorts
        let states = TCPProbe.probe(ports.map { Endpoint(address, $0) }, until: deadline.capped(after: deadline.remaining / 2))
        guard let port = zip(ports, states).first(where: { $0.1 == .open })?.0 else { return .problem("no SMB server answers on \(address)") }
        let call = BlockingCall(on: SMBShareLister.queue) {
            SMBShareLister.open(share: share, address: address, port: port, account: nil, timeout: deadline.remaining)
        }
        switch call.wait(until: deadline) {
        case .success?: return .opens
        case .failure(.accessDenied)?: return .needsAccount
        case .failure(let error)?: return .problem(error.description)
        case nil: return .problem(ShareOpenError.timedOut.description)
        }
    }

    public func check(_ account: SMBAccount, on host: HostName, share: String) throws {
        _ = try CredentialCheck(root: root, logger: logger).run(account: account, host: host, share: share, smbPort: smbPort, timeout: checkTimeout)
    }

    public func credentials() throws -> [Credential] { try CredentialStore(root: root, logger: logger).load().credentials }

    public func store(_ credential: Credential) throws { try CredentialStore(root: root, logger: logger).add(credential, replacing: false) }

    public func definitions() throws -> [MountDefinition] { try service.store.load().definitions }

    public func add(_ definition: MountDefinition) throws -> String { try service.add(definition) }

    public func mount(_ definitions: [MountDefinition], progress: @escaping @Sendable (String) -> Void) throws -> [Result<MountedShare, MountError>] {
        let service = self.service
        let lock = try service.lock(waiting: { holder in
            progress("waiting for \(holder.map { "process \($0)" } ?? "another extlib-net") to finish (it holds the mount lock)")
        })
        defer { withExtendedLifetime(lock) {} }
        return service.mount(definitions, wait: mountWait) { event in
            if case .attemptFailed(_, let line) = event { progress(line) }
        }
    }

    public func bootEnabled() -> Bool { (try? BootInstaller(root: root, logger: logger).status().enabled) ?? false }

    public func enableBoot(healEvery: Duration?) throws -> [String] {
        let executable = try executable ?? SelfExecutable.forUnits()
        let report = try BootInstaller(root: root, logger: logger).enable(BootOptions(healEvery: healEvery, executable: executable), reload: true)
        var lines = Self.lines(report)
        if let failure = report.systemctlFailure { throw UnitsNotEnabled(failure: failure) }
        lines.append("at boot, shares are mounted before Immich starts")
        return lines
    }

    static func lines(_ report: BootReport) -> [String] {
        let lines = BootReportPresentation.lines(report, writer: "boot enable")
        return lines.done + lines.warnings
    }

    public func immichAnswers() -> Bool {
        guard let url = try? ImmichURL.parse(immichURL) else { return false }
        // The ping needs no key. The usual request deadline: a busy or emulated machine takes seconds to answer
        // the first request (2 s was too short in the VM suite), while a closed port is refused at once.
        let api = ImmichAPI(connection: ImmichConnection(url: url, apiKey: Secret("")), logger: logger)
        return (try? api.ping()) != nil
    }

    public func immichLoggedIn() -> Bool { ((try? immich.connections.load()) ?? nil) != nil }

    public func immichLogin() throws -> String {
        let service = immich
        let key = try SnapAPIKey.read(runner: service.runner)
        return try service.login(url: try ImmichURL.parse(immichURL), key: key).email
    }

    public func link(_ definition: MountDefinition) throws -> [String] {
        let service = immich
        let outcome = try service.link(definition, library: nil, owner: nil)
        return LinkPresentation.lines(outcome, importPath: service.importPath(of: definition))
    }

    public func guardOn() -> Bool { immich.guardIsOn }

    public func enableGuard() throws -> [String] {
        let executable = try executable ?? SelfExecutable.forUnits()
        let report = try immich.enableGuard(every: nil, executable: executable, reload: true)
        var lines = Self.lines(report.units)
        if let failure = report.units.systemctlFailure { throw failure }
        lines.append("guard on: Immich's own scheduled scan is off; the guarded scan runs on its schedule instead")
        return lines
    }

    public func doctor(_ definitions: [MountDefinition]) -> [DoctorFinding] {
        immich.allDoctorFindings(definitions)
    }

    public func importPath(of definition: MountDefinition) -> String { service.mounter.immichPath(of: definition) }
}
