import Dispatch
import Logging
import Core
import System
import Formats
import Discovery
import Credentials

/// Paths of the mount helpers, from cifs-utils and nfs-common.
public enum MountHelper {
    public static let cifs = "/sbin/mount.cifs"
    public static let nfs = "/sbin/mount.nfs"
    public static let umount = "/bin/umount"
}

/// A definition that is mounted now.
public struct MountedShare: Sendable, Equatable {
    public let name: String
    /// Where it is mounted, as this process sees it (under --root).
    public let target: String
    /// The path to give Immich: the same folder as the snap sees it.
    public let immichPath: String
    public let source: String
    /// True when it was mounted already and nothing was done.
    public let wasMounted: Bool
}

public enum MountError: Error, Equatable, CustomStringConvertible {
    case occupied(target: String, source: String)
    case target(MountTargetError)
    case credentials(CredentialStoreError)
    case failed(MountFailure)
    /// The helper said yes but the mount is missing or unhealthy; anything it left at the target was
    /// detached again, so the next `mount` starts clean.
    case notVerified(String)
    /// The placeholder could not be put up.
    case placeholder(PlaceholderError)

    public var description: String {
        switch self {
        case .occupied(let target, let source):
            return "\(target) has something else mounted (\(source)); unmount it first (umount \(shellQuoted(target)))"
        case .target(let error): return error.description
        case .credentials(let error): return error.description
        case .failed(let failure): return failure.reason
        case .notVerified(let message): return message + "; check the server with extlib-net status and mount again"
        case .placeholder(let error): return error.description
        }
    }
}

extension MountError: ReportableError {
    public var exitStatus: ExitStatus {
        switch self {
        case .credentials(let error): return error.exitStatus
        case .target(let error): return error.exitStatus
        case .occupied, .failed, .notVerified: return .mountFailure
        case .placeholder(let error): return error.exitStatus
        }
    }
}

/// Mounts definitions with reachability checks, retries with backoff, and version fallback.
public struct Mounter: Sendable {
    public let root: SystemRoot
    public let logger: Logger
    public let runner: any ProcessRunner
    /// The mount calls of placeholders (see `PlaceholderMount`).
    public var mountCalls: any MountCalls = SystemMountCalls()
    public let clock: any RetryClock
    public var backoff: Backoff = .standard
    /// Bounds each TCP reachability check and each name resolution.
    public var probeTimeout: Duration = .seconds(2)
    /// Bounds one run of mount.cifs / mount.nfs.
    public var helperTimeout: Duration = .seconds(30)
    public var healthTimeout: Duration = .seconds(3)
    public var statfsProbe: any StatfsProbe = ForkedStatfs()
    /// At most this many mount helpers run at once, however many shares wait (the kernel sets up one
    /// CIFS mount at a time anyway); waiting for a slot counts against the share's wait.
    public var helperSlots = DispatchSemaphore(value: 8)
    public var mountTable = MountTable.system
    /// What `mount --wait` and `heal --wait` accept.
    public static let waitRange: ClosedRange<Duration> = .zero ... .seconds(24 * 3600)

    public init(root: SystemRoot, logger: Logger, runner: any ProcessRunner = SystemProcessRunner(), clock: any RetryClock = SystemRetryClock()) {
        self.root = root
        self.logger = logger
        self.runner = runner
        self.clock = clock
    }

    public func target(of definition: MountDefinition) -> String {
        root.path(immichPath(of: definition))
    }

    public func immichPath(of definition: MountDefinition) -> String {
        definition.effectiveSandbox.path + "/" + definition.name
    }

    /// What is at a definition's target: the one meaning of "mounted" for every command.
    public enum State: Sendable, Equatable {
        case notMounted
        /// This definition's share (same protocol and share or export path).
        case mounted(MountInfoEntry)
        /// Something else.
        case occupied(MountInfoEntry)
        /// The share's placeholder stands in for it (`PlaceholderMount`): a mount goes on top of it.
        case placeholder(MountInfoEntry)

        public var isMounted: Bool { if case .mounted = self { return true } else { return false } }
    }

    public func state(of definition: MountDefinition, in table: [MountInfoEntry]? = nil) -> State {
        guard let entry = MountTable.entry(at: target(of: definition), in: table ?? mountTable.current()) else { return .notMounted }
        if PlaceholderMount.isPlaceholder(entry) { return .placeholder(entry) }
        return Self.matches(entry, definition) ? .mounted(entry) : .occupied(entry)
    }

    /// Mounts `definition`, retrying transient failures until `wait` runs out. `progress` receives one
    /// line per failed attempt.
    public func mount(_ definition: MountDefinition, wait: Duration, progress: @escaping (String) -> Void = { _ in }) -> Result<MountedShare, MountError> {
        let target = target(of: definition)
        let overPlaceholder: Bool
        switch state(of: definition) {
        case .occupied(let entry): return .failure(.occupied(target: target, source: entry.source))
        case .mounted(let entry):
            return .success(MountedShare(name: definition.name, target: target, immichPath: immichPath(of: definition), source: entry.source, wasMounted: true))
        case .notMounted: overPlaceholder = false
        case .placeholder: overPlaceholder = true
        }
        let folder: MountTarget.Identity
        do {
            // Over a placeholder the folder holds its files: the share goes on top of them.
            _ = try MountTarget.prepare(name: definition.name, base: definition.effectiveSandbox, root: root, mustBeEmpty: !overPlaceholder)
            folder = try MountTarget.identity(name: definition.name, base: definition.effectiveSandbox, root: root)
        } catch {
            return .failure(.target(error))
        }
        var account: SMBAccount?
        if let name = definition.credentials {
            do {
                account = try CredentialStore(root: root, logger: logger).credential(named: name).account
            } catch {
                return .failure(.credentials(error))
            }
        }

        var retrier = Retrier(backoff: backoff, wait: wait, clock: clock, generator: SystemRandomNumberGenerator())
        let outcome = retrier.run(report: { report in
            let next = report.nextDelay.map { "next try in \(formatSeconds($0.seconds))" } ?? "giving up"
            let line = "\(definition.name): attempt \(report.attempt) failed: \(report.failure.reason); \(next)"
            self.logger.info("\(line)")
            progress(line)
        }) { _, left in self.attempt(definition, target: target, account: account, folder: folder, left: left) }

        switch outcome {
        case .failure(let failure):
            return .failure(.failed(failure))
        case .success(let source):
            guard state(of: definition).isMounted else {
                let detached = detachLeftover(target)
                return .failure(.notVerified("the mount helper succeeded but \(source) is not what /proc/self/mountinfo shows at \(target)\(detached)"))
            }
            let health = health(target)
            guard health.isHealthy else {
                return .failure(.notVerified("\(target) was mounted but is unhealthy (\(health))\(detachLeftover(target))"))
            }
            return .success(MountedShare(name: definition.name, target: target, immichPath: immichPath(of: definition), source: source, wasMounted: false))
        }
    }

    /// Detaches whatever a helper left at `target` that failed verification, so the next `mount` does not
    /// find "something else mounted". Lazy, and bounded: the server may be what is broken.
    func detachLeftover(_ target: String) -> String {
        // Our placeholder is not a leftover: it stands in for the share until the share is there.
        guard let top = mountTable.entry(at: target), !PlaceholderMount.isPlaceholder(top) else { return "" }
        let result = try? runner.run(MountHelper.umount, ["--lazy", "--no-canonicalize", "--", target], secret: nil, until: .after(.seconds(3)))
        if mountTable.entry(at: target).map(PlaceholderMount.isPlaceholder) ?? true { return "; it was unmounted again" }
        return "; unmounting it again failed too (umount exited \(result?.status ?? 127)): run umount --lazy \(shellQuoted(target))"
    }

    /// One attempt: resolve, check the port, run the helper for each protocol version until one is spoken.
    /// With `folder`, the target is checked to still be that folder right before every helper run: the
    /// retries can go on for minutes, and whatever can write in the sandbox could swap it for a link.
    /// `left`: the time left of the wait; a probe or a helper run never takes much longer, so `--wait`
    /// bounds the whole command (a helper always gets a few seconds, or it could never succeed).
    func attempt(_ definition: MountDefinition, target: String, account: SMBAccount?, folder: MountTarget.Identity? = nil,
                 left: Duration = .seconds(3600)) -> AttemptOutcome<String> {
        let probeTimeout = min(self.probeTimeout, max(left, .milliseconds(500)))
        let helperTimeout = min(self.helperTimeout, max(left, .seconds(5)))
        // Checked again here, whatever built the definition: nothing unsafe reaches a helper's arguments.
        do {
            try definition.validate()
            if let account {
                var options = CIFSOptions()
                options.username = account.user
                options.domain = account.domain
                _ = try options.optionString()
            }
        } catch {
            return .failure(MountFailure(.permanent, "\(error)"))
        }
        let host: HostName
        do {
            host = try HostName.parse(definition.url.host)
        } catch {
            return .failure(MountFailure(.permanent, error.description))
        }
        let resolved: ResolvedHost
        do {
            resolved = try HostResolver(root: root, logger: logger).resolve(host, until: .after(probeTimeout))
        } catch {
            return .failure(MountFailure(.unreachable, error.description))
        }
        let address = resolved.preferredAddress
        let port = Self.port(of: definition)
        switch TCPProbe.probe([Endpoint(address, port)], until: .after(probeTimeout))[0] {
        case .open: break
        case .closed: return .failure(MountFailure(.unreachable, "connection refused by \(Endpoint(address, port))"))
        case .noAnswer: return .failure(MountFailure(.unreachable, "no answer from \(Endpoint(address, port)) within \(formatSeconds(probeTimeout.seconds))"))
        }

        let plans = Self.plans(for: definition, address: address, target: target, account: account)
        var unsupported: [String] = []
        var notFoundOverNFSv4: MountFailure?
        for plan in plans {
            // Every NFSv4 minor version sees the same pseudo file system: once one says the path is
            // missing, only v3 is left to try.
            if notFoundOverNFSv4 != nil, plan.isNFSv4 { continue }
            if let folder {
                do {
                    try MountTarget.verify(folder, name: definition.name, base: definition.effectiveSandbox, root: root)
                } catch {
                    return .failure(MountFailure(.permanent, error.description))
                }
            }
            let deadline = Deadline.after(helperTimeout)
            guard helperSlots.wait(timeout: .now() + .nanoseconds(Int(helperTimeout.nanoseconds))) == .success else {
                return .failure(MountFailure(.transient, "no free slot for a mount helper within \(formatSeconds(helperTimeout.seconds)) (many shares at once)"))
            }
            let run = Result { () throws(SpawnError) in try runner.run(plan.helper, plan.arguments, secret: account?.password, until: deadline) }
            helperSlots.signal()
            let result: ProcessResult
            switch run {
            case .success(let finished): result = finished
            case .failure(let error):
                let package = plan.helper == MountHelper.cifs ? "cifs-utils" : "nfs-common"
                return .failure(MountFailure(.permanent, "\(error); install it with: apt install \(package)"))
            }
            if result.status == 0 { return .success(plan.source) }
            if result.timedOut {
                return .failure(MountFailure(.transient, "\(plan.helper) did not finish within \(formatSeconds(helperTimeout.seconds))"))
            }
            var failure = MountFailure.classify(status: result.status, standardError: result.messages)
            if plan.helper == MountHelper.cifs, failure.kind == .transient, plan.version != .smb(.v1_0),
                MountFailure.saysHostDown(result.messages),
                smb1Only(Endpoint(address, port), left: probeTimeout) {
                failure = MountFailure(.permanent, "\(address) speaks only SMB1 (NT1), which is not tried unless asked for: "
                    + "add the share again with --smb-version 1.0 (extlib-net remove \(definition.name), then extlib-net add ... --smb-version 1.0), "
                    + "or set smb-version = \"1.0\" in its mounts.toml entry. SMB1 is old and insecure: update the NAS if you can")
            }
            logger.info("mount helper failed", metadata: ["name": "\(definition.name)", "version": "\(plan.version)", "error": "\(failure.reason)"])
            // An NFSv4 server may root its pseudo file system elsewhere (Linux `fsid=0`), so the export path
            // discover lists (from the NFSv3 MOUNT protocol) can be missing over v4 and still mount over v3.
            if plan.isNFSv4, failure.reason.lowercased().contains("no such file or directory"), plan != plans.last {
                notFoundOverNFSv4 = failure
                continue
            }
            guard failure.kind == .unsupportedVersion else { return .failure(failure) }
            unsupported.append(plan.version.description)
        }
        if let notFoundOverNFSv4 { return .failure(notFoundOverNFSv4) }
        return .failure(MountFailure(.permanent, "the server speaks none of the protocol versions tried (\(unsupported.joined(separator: ", ")))"))
    }

    /// mount.cifs says "Host is down" both when the network is gone and when an SMB1-only server hangs
    /// up after NEGOTIATE; only the second fails the same way on every retry.
    func smb1Only(_ endpoint: Endpoint, left: Duration) -> Bool {
        SMBDialectProbe.generation(of: endpoint, until: .after(left), logger: logger) == .smb1Only
    }

    /// One helper invocation for one protocol version.
    struct Plan: Equatable {
        let helper: String
        let arguments: [String]
        let source: String
        let version: ProtocolVersion

        var isNFSv4: Bool {
            if case .nfs(let version) = version { return version != .v3 }
            return false
        }
    }

    static func port(of definition: MountDefinition) -> UInt16 {
        switch definition.url {
        case .smb(_, let port, _, _): return port ?? 445
        case .nfs(_, let port, _): return port ?? 2049
        }
    }

    static func plans(for definition: MountDefinition, address: IPAddress, target: String, account: SMBAccount?) -> [Plan] {
        switch definition.url {
        case .smb(let host, let port, let share, let subdirectory):
            // The UNC keeps the host's name (what mountinfo shows); ip= gives the kernel the address we
            // resolved, so .local names work without nss-mdns.
            let unc = "//\(host.contains(":") ? address.description : host)/\(share)" + (subdirectory.map { "/" + $0 } ?? "")
            let versions = definition.smbVersion.map { [$0] } ?? SMBDialect.fallbackOrder
            return versions.compactMap { version in
                var options = CIFSOptions()
                options.readOnly = !definition.readWrite
                options.dialect = version
                options.port = port
                options.uid = definition.uid ?? 0
                options.gid = definition.gid ?? 0
                options.fileMode = definition.fileMode
                options.directoryMode = definition.directoryMode
                options.username = account?.user
                options.domain = account?.domain
                options.extras = definition.options
                options.exec = definition.exec
                guard let string = try? options.optionString() else { return nil }
                return Plan(helper: MountHelper.cifs, arguments: [unc, target, "-o", "\(string),ip=\(address)"], source: unc, version: .smb(version))
            }
        case .nfs(_, let port, let path):
            let source = "\(address.isIPv4 ? address.description : "[\(address)]"):\(path)"
            let versions = definition.nfsVersion.map { [$0] } ?? NFSVersion.fallbackOrder
            return versions.map { version in
                var options = [definition.readWrite ? "rw" : "ro", "vers=\(version.rawValue)"]
                if let port { options.append("port=\(port)") }
                options += MountFlagRules.flags(exec: definition.exec)
                options += definition.options
                return Plan(helper: MountHelper.nfs, arguments: [source, target, "-o", options.joined(separator: ",")], source: source, version: .nfs(version))
            }
        }
    }

    /// Whether what is mounted at the target is this definition (same protocol and share or export
    /// path; the host may appear as a name or an address).
    package static func matches(_ entry: MountInfoEntry, _ definition: MountDefinition) -> Bool {
        switch definition.url {
        case .smb(_, _, let share, let subdirectory):
            guard entry.fileSystemType == "cifs" || entry.fileSystemType == "smb3" else { return false }
            let wanted = "/" + share + (subdirectory.map { "/" + $0 } ?? "")
            let afterHost = entry.source.dropFirst(2).drop { $0 != "/" }
            return afterHost.lowercased() == wanted.lowercased()
        case .nfs(_, _, let path):
            guard entry.fileSystemType.hasPrefix("nfs") else { return false }
            guard let colon = entry.source.lastIndex(of: ":") else { return false }
            let mounted = String(entry.source[entry.source.index(after: colon)...])
            return mounted == path || (mounted.hasSuffix("/") && String(mounted.dropLast()) == path)
        }
    }

    /// statfs of the mount point in a child process (see ForkedStatfs), bounded by `healthTimeout`.
    public func health(_ path: String) -> FileSystemHealth {
        statfsProbe.statfs(path, timeout: healthTimeout)
    }
}
