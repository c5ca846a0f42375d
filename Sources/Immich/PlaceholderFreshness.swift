import Core
import System
import Formats
import Mounting

extension ImmichService {
    /// Why a share's record is taken again outside a guarded scan: a library's asset count changed since
    /// the record (the Scan button imported files, say).
    public struct RecordOutdated: Sendable, Equatable, CustomStringConvertible {
        public let library: String
        public let was: Int
        public let now: Int

        public var description: String { "library '\(Terminal.printable(library))' held \(was) assets at the record, \(now) now" }
    }

    /// A record taken again by `refreshOutdatedRecords`.
    public struct RecordRefresh: Sendable, Equatable {
        public let name: String
        public let reason: RecordOutdated
        public let outcome: PlaceholderRecording
    }

    /// Heal's follow-up, for the shares that are mounted after it: a record Immich has moved away from is
    /// taken again, so an asset imported since the last guarded scan (the Scan button, Immich's own
    /// schedule when the guard is off) is in the placeholder before its share can go away. Cheap when
    /// nothing changed: one listing of the libraries and one count each, no walk. Only records built from
    /// Immich's asset list are taken again here; a walk kept for another owner's library must come right
    /// before a guarded scan, and libraries linked or unlinked since are `immich link`'s and the guarded
    /// scan's to record. Without a login, or with Immich away, nothing is done. Never throws.
    public func refreshOutdatedRecords(_ definitions: [MountDefinition]) -> [RecordRefresh] {
        let records = PlaceholderRecords(root: root)
        let candidates = definitions.filter { records.exists($0.name) && mounts.mounter.state(of: $0).isMounted }
        guard !candidates.isEmpty, let connection = try? connections.load() else { return [] }
        let api = makeClient(connection, timeout, logger)
        let libraries: [ImmichLibrary]
        do {
            libraries = try api.libraries()
        } catch {
            logger.debug("placeholder records not checked: Immich did not answer", metadata: ["error": "\(error)"])
            return []
        }
        var refreshed: [RecordRefresh] = []
        for definition in candidates {
            guard let record = try? records.summary(definition.name), record.source == .immichAssets, let totals = record.libraryTotals else { continue }
            let importing = libraries.filter { library in library.importPaths.contains { provider(of: $0, in: [definition]) != nil } }
            guard Set(importing.map(\.id)) == Set(record.libraryIDs) else { continue }
            let outdated = importing.lazy.compactMap { library -> RecordOutdated? in
                guard let was = totals[library.id], let now = try? api.statistics(library.id).total, now != was else { return nil }
                return RecordOutdated(library: library.name, was: was, now: now)
            }.first
            guard let reason = outdated else { continue }
            logger.info("placeholder record outdated", metadata: ["name": "\(definition.name)", "reason": "\(reason)"])
            refreshed.append(RecordRefresh(name: definition.name, reason: reason, outcome: recordPlaceholder(definition, api: api)))
        }
        return refreshed
    }
}
