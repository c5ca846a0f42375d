import Core
import System
import Formats
import Mounting

extension ImmichService {
    /// What recording a share's placeholder came to.
    public enum PlaceholderRecording: Sendable, Equatable {
        /// `placed`: what the new record changed at the mount folder.
        case recorded(files: Int, source: PlaceholderRecord.Source, placed: MountService.PlaceholderRefresh)
        /// Not recorded now; an earlier record, if any, stays. Why.
        case skipped(String)
    }

    /// How long the walk of one share may take (a 100k-file share over NFS takes seconds).
    static let listingTimeout: Duration = .seconds(120)

    /// How far into a guarded scan run a placeholder's walk may still start: the scan unit's
    /// TimeoutStartSec (`GuardUnits.scanTimeout`) less one walk (`listingTimeout`) and three minutes for
    /// Immich's listing and the refresh after it.
    static let recordingBudget: Duration = GuardUnits.scanTimeout - listingTimeout - .seconds(180)

    /// Records what a placeholder of `definition` holds: the share must be mounted and healthy, and its
    /// walk (in a child, under a deadline) complete and still of the same mount afterwards. Its files are
    /// kept when they are assets of a library that imports the share: every such library, since the record
    /// is the share's. A library owned by another user (whose assets the key cannot list) keeps the whole
    /// walk (`walkBeforeScan`). A listing Immich gives while it is importing (fewer paths than its own count)
    /// is not used. Never throws: the scan or link it follows succeeded whatever happens here.
    public func recordPlaceholder(_ definition: MountDefinition, api: any ImmichClient) -> PlaceholderRecording {
        let mounter = mounts.mounter
        guard mounter.state(of: definition).isMounted else { return .skipped("the share is not mounted") }
        let target = mounter.target(of: definition)
        let health = mounter.health(target)
        guard health.isHealthy else { return .skipped("the share is not healthy (\(health))") }
        let me: ImmichUser
        let libraries: [ImmichLibrary]
        do {
            me = try api.me()
            let definitions = [definition]
            libraries = try api.libraries().filter { library in library.importPaths.contains { provider(of: $0, in: definitions) != nil } }
        } catch {
            return .skipped("Immich did not answer: \(error)")
        }
        guard !libraries.isEmpty else { return .skipped("no Immich library imports the share") }

        let records = PlaceholderRecords(root: root)
        do { try records.ensureFolder() } catch { return .skipped("\(error)") }
        let scratch = root.path(PlaceholderRecords.directory) + "/.\(definition.name).\(UInt64.random(in: 0 ... .max)).listing"
        let snapshot: TreeSnapshot
        switch TreeSnapshot.take(target, scratch: scratch, below: root.prefix, limit: PlaceholderRecord.maximumEntries,
                                 timeout: Self.listingTimeout, runner: runner, executable: childExecutable) {
        case .success(let taken): snapshot = taken
        case .failure(let failure): return .skipped(failure.description)
        }
        guard !snapshot.truncated else { return .skipped("the share holds more than \(PlaceholderRecord.maximumEntries) files, too many for a placeholder") }
        guard snapshot.isComplete else {
            return .skipped("the share could not be read whole (\(snapshot.unlistable.count) folders, \(snapshot.unreadable) entries unreadable)")
        }
        guard mounter.state(of: definition).isMounted else { return .skipped("the share went away during its walk") }

        var assets: Set<[UInt8]>? = Set()
        var totals: [String: Int] = [:]
        let prefix = Array((importPath(of: definition) + "/").utf8)
        for library in libraries {
            let total = try? api.statistics(library.id).total
            totals[library.id] = total
            guard library.ownerId == me.id else {
                assets = nil
                continue
            }
            guard assets != nil else { continue }
            do {
                let paths = try api.assetPaths(in: library.id, limit: PlaceholderRecord.maximumEntries + 1)
                guard paths.count <= PlaceholderRecord.maximumEntries else { return .skipped("the library holds more than \(PlaceholderRecord.maximumEntries) assets") }
                if let total, total != paths.count {
                    return .skipped("Immich listed \(paths.count) of \(total) assets of library '\(Terminal.printable(library.name))' (it may be importing); the next guarded scan records it")
                }
                for path in paths where path.utf8.starts(with: prefix) { assets?.insert(Array(path.utf8.dropFirst(prefix.count))) }
            } catch {
                return .skipped("Immich did not list the library's assets: \(error)")
            }
        }
        let record = PlaceholderRecord(definition: definition.name, libraryIDs: libraries.map(\.id), takenAt: Timestamp.utcNow(),
                                       source: assets == nil ? .walkBeforeScan : .immichAssets, entries: PlaceholderRecord.entries(of: snapshot, keeping: assets),
                                       libraryTotals: totals)
        do { try records.save(record) } catch { return .skipped("\(error)") }
        logger.info("recorded a placeholder", metadata: ["name": "\(definition.name)", "files": "\(record.entries.count)", "source": "\(record.source.rawValue)"])
        let placed = mounts.refreshPlaceholder(definition, waiting: lockWaiting)
        logger.info("placeholder put to use", metadata: ["name": "\(definition.name)", "outcome": "\(placed)"])
        return .recorded(files: record.entries.count, source: record.source, placed: placed)
    }
}
