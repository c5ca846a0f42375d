import Logging

import System
import Formats
import Mounting
import Health
import Boot

/// Everything `extlib-net immich` does: the connection, linking definitions to external libraries, and the
/// guard that keeps Immich from scanning a library whose share is away.
public struct ImmichService: Sendable {
    public let mounts: MountService
    public let logger: Logger
    public var timeout: Duration = .seconds(10)
    public var runner: any ProcessRunner = SystemProcessRunner()
    /// This executable, for its hidden child commands (tests point it at the built binary).
    public var childExecutable: String = SelfExecutable.path
    /// The snap's mount namespace: where Immich scans. When it is there, a share must be mounted in it
    /// too (a host mount that did not reach the snap looks like an empty folder to Immich).
    public var snapNamespace: String?
    /// Told who holds the mount lock when a placeholder's refresh waits for it (the command says so).
    public var lockWaiting: @Sendable (LockHolder?) -> Void = { _ in }
    /// Makes the client for a connection: Immich's HTTP API, or a test's fake.
    public var makeClient: @Sendable (ImmichConnection, Duration, Logger) -> any ImmichClient = { connection, timeout, logger in
        ImmichAPI(connection: connection, timeout: timeout, logger: logger)
    }

    public init(mounts: MountService, logger: Logger) {
        self.mounts = mounts
        self.logger = logger
        snapNamespace = mounts.mounter.root.path(Doctor.snapNamespace)
    }

    var root: SystemRoot { mounts.mounter.root }
    public var connections: ImmichConnectionStore { ImmichConnectionStore(root: root) }
    var guardFile: PrivateJSONFile<GuardSettings> {
        PrivateJSONFile(path: root.path(SystemRoot.Known.immichGuardFile), below: root.prefix,
                        repair: "it holds Immich's own scan settings: put them back in Immich by hand (Administration > External Libraries), then delete the file and run extlib-net immich guard enable again")
    }
    var outageFile: PrivateJSONFile<[String: Outage]> {
        PrivateJSONFile(path: root.path(SystemRoot.Known.stateDirectory + "/immich-outages"), below: root.prefix,
                        repair: "delete it (the admins may then be told of a current outage again)")
    }
    public var guardPath: String { guardFile.path }
    /// The guard is on: its record is there, readable, and says the last enable finished. While an enable
    /// or disable is unfinished, scans do not switch Immich's schedule off again and no rescan runs.
    package var guardIsOn: Bool {
        guard let settings = try? guardFile.load() else { return false }
        return settings.phase == .on
    }

    /// Serializes whatever changes Immich's scan settings for the guard: `guard enable`, `guard disable`
    /// and a scan switching Immich's schedule off again, which would otherwise undo a disable that ran
    /// between its read and its write.
    public var guardLockPath: String { root.path(SystemRoot.Known.runDirectory + "/extlib-net-guard.lock") }

    func guardLock(timeout: Duration = FileLock.defaultTimeout) throws -> FileLock {
        try SecureFile.ensureDirectory(root.path(SystemRoot.Known.runDirectory), below: root.prefix)
        return try FileLock(path: guardLockPath, timeout: timeout)
    }

    public func api() throws -> any ImmichClient {
        makeClient(try connections.required(), timeout, logger)
    }

    // MARK: login

    /// Checks the key (its user must be an admin) and only then stores it with the URL.
    public func login(url: ImmichURL, key: Secret) throws -> ImmichUser {
        let connection = ImmichConnection(url: url, apiKey: key)
        let me = try makeClient(connection, timeout, logger).me()
        guard me.isAdmin == true else { throw ImmichError(.notAdmin(me.email)) }
        try connections.save(connection)
        return me
    }

    public func logout() throws -> Bool { try connections.remove() }

    func installer(reload: Bool) -> BootInstaller {
        BootInstaller(root: root, logger: logger, runner: runner)
    }
}
