import Core
import System
import Mounting
import Formats
/// Finds mounts that went bad (statfs hangs, or fails with ESTALE, EIO, ENOTCONN, EHOSTDOWN,
/// ETIMEDOUT, EAGAIN), detaches them lazily and mounts them again. Healthy mounts are left alone. A
/// definition that is not mounted is mounted only when its last mount failed while its server was away
/// (`MountService.isPending`: the boot unit gave up on a late NAS, or a stale mount was detached and its
/// remount failed); otherwise it is left alone, as an unmount is on purpose.
public struct Healer: Sendable {
    public let service: MountService

    public init(service: MountService) { self.service = service }

    public enum Outcome: Sendable, Equatable {
        case healthy
        case notMounted
        /// Mounted, unhealthy, but not in a way a remount cures (for example EACCES): left alone.
        case unhealthyLeftAlone(FileSystemHealth)
        case healed(was: FileSystemHealth)
        case failed(was: FileSystemHealth, MountError)
        /// Not mounted because its last mount failed; mounted now.
        case mountedPending
        /// Not mounted because its last mount failed, and this try failed too.
        case pendingFailed(MountError)


        /// The exit status this outcome contributes; nil when nothing went wrong.
        public var failureStatus: ExitStatus? {
            switch self {
            case .failed(_, let error), .pendingFailed(let error): return error.exitStatus
            case .unhealthyLeftAlone: return .mountFailure
            case .healthy, .notMounted, .healed, .mountedPending: return nil
            }
        }
    }

    /// Checks every definition at once (each check bounded), then heals the stale ones concurrently.
    public func heal(_ definitions: [MountDefinition], wait: Duration, progress: @escaping @Sendable (String) -> Void) -> [Outcome] {
        let mounter = service.mounter
        let table = mounter.mountTable.current()
        let end = ContinuousClock.now + wait
        return concurrentMap(definitions, limit: max(1, definitions.count)) { definition in
            let target = mounter.target(of: definition)
            guard mounter.state(of: definition, in: table).isMounted else {
                guard service.isPending(definition.name) else { return .notMounted }
                mounter.logger.notice("mounting a share whose last mount failed", metadata: ["name": "\(definition.name)"])
                let result = service.mountStacked(definition, wait: max(.zero, end - .now), progress: progress)
                service.record(definition.name, result)
                switch result {
                case .success: return .mountedPending
                case .failure(let error): return .pendingFailed(error)
                }
            }
            let health = mounter.health(target)
            if health.isHealthy { return .healthy }
            guard health.isStale else { return .unhealthyLeftAlone(health) }
            progress("\(definition.name): \(health); unmounting (lazy) and mounting again")
            mounter.logger.notice("healing a stale mount", metadata: ["name": "\(definition.name)", "health": "\(health)"])
            // With a placeholder beneath, detaching the share shows it at once. With a record but nothing
            // beneath (a share mounted before its record was taken), the placeholder goes on top of the stale
            // share instead (attached in a child: the dead root may be looked up), never an empty folder.
            var covered = false
            if service.placeholders.layering(at: target) == .absent, service.hasPlaceholderRecord(definition.name) {
                if case .success = service.showPlaceholder(definition) { covered = true }
            }
            if !covered, case .failure(let error) = service.detachShare(definition) {
                let failure = MountError.failed(MountFailure(.transient, "\(health); the lazy unmount failed: \(error)"))
                service.recordError(definition.name, failure.description)
                return .failed(was: health, failure)
            }
            let result = service.mountStacked(definition, wait: max(.zero, end - .now), progress: progress)
            switch result {
            case .success:
                service.recordHeal(definition.name, was: health)
                return .healed(was: health)
            case .failure(let error):
                service.recordError(definition.name, "was stale (\(health)); the remount failed: \(error)")
                // Detached and not mounted again (the NAS is still away): the next heal tries again.
                if MountService.retryCures(error) { service.markPending(definition.name) }
                return .failed(was: health, error)
            }
        }
    }
}
