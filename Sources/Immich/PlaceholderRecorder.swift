import System
import Formats
import Mounting

extension ImmichService {
    /// What recording a share's placeholder came to.
    public enum PlaceholderRecording: Sendable, Equatable {
        case recorded(files: Int, source: PlaceholderRecord.Source)
        /// Not recorded now; an earlier record, if any, stays. Why.
        case skipped(String)
    }

    /// How long the walk of one share may take (a 100k-file share over NFS takes seconds).
    static let listingTimeout: Duration = .seconds(120)

    /// Records what a placeholder of `definition` holds for `library`: the share must be mounted and
    /// healthy; its files are walked in a child under a deadline, and kept when they are assets of the
    /// library (for a library owned by another user, whose assets the key cannot list: all of them, see
    /// `PlaceholderRecord.Source.walkBeforeScan`). Never throws: the scan or link it follows succeeded
    /// whatever happens here.
    public func recordPlaceholder(_ definition: MountDefinition, library: ImmichLibrary, api: any ImmichClient) -> PlaceholderRecording {
        let mounter = mounts.mounter
        guard mounter.state(of: definition).isMounted else { return .skipped("the share is not mounted") }
        let target = mounter.target(of: definition)
        let health = mounter.health(target)
        guard health.isHealthy else { return .skipped("the share is not healthy (\(health))") }
        let records = PlaceholderRecords(root: root)
        let folder = root.path(PlaceholderRecords.directory)
        let scratch = folder + "/.\(definition.name).listing"
        do { try records.ensureFolder() } catch { return .skipped("\(error)") }
        let snapshot: TreeSnapshot
        switch TreeSnapshot.take(target, scratch: scratch, below: root.prefix, limit: PlaceholderRecord.maximumEntries,
                                 timeout: Self.listingTimeout, runner: runner, executable: childExecutable) {
        case .success(let taken): snapshot = taken
        case .failure(let failure): return .skipped(failure.description)
        }
        guard !snapshot.truncated else { return .skipped("the share holds more than \(PlaceholderRecord.maximumEntries) files, too many for a placeholder") }
        let own = (try? api.me().id) == library.ownerId
        var assets: Set<String>?
        if own {
            let prefix = importPath(of: definition) + "/"
            do {
                let paths = try api.assetPaths(in: library.id, limit: PlaceholderRecord.maximumEntries)
                assets = Set(paths.compactMap { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : nil })
            } catch {
                return .skipped("Immich did not list the library's assets: \(error)")
            }
        }
        let record = PlaceholderRecord(definition: definition.name, libraryID: library.id, takenAt: Timestamp.utcNow(),
                                       source: own ? .immichAssets : .walkBeforeScan, entries: PlaceholderRecord.entries(of: snapshot, keeping: assets))
        do { try records.save(record) } catch { return .skipped("\(error)") }
        logger.info("recorded a placeholder", metadata: ["name": "\(definition.name)", "files": "\(record.entries.count)", "source": "\(record.source.rawValue)"])
        return .recorded(files: record.entries.count, source: record.source)
    }
}
