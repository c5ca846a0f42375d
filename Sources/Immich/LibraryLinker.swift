import Mounting

extension ImmichService {
    // MARK: link

    /// The import path of a definition as the snap sees it: never under `--root`.
    public func importPath(of definition: MountDefinition) -> String { mounts.mounter.immichPath(of: definition) }

    /// The definition whose folder is `path` or holds it.
    public func provider(of path: String, in definitions: [MountDefinition]) -> MountDefinition? {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        return definitions.first { trimmed == importPath(of: $0) || trimmed.hasPrefix(importPath(of: $0) + "/") }
    }

    public struct LinkOutcome: Sendable {
        public let library: ImmichLibrary
        public let created: Bool
        /// False when the library had the path already: nothing changed.
        public let changed: Bool
        public let verdict: ImportPathVerdict?
        /// What the placeholder's record came to (a share not mounted yet has none).
        public let placeholder: PlaceholderRecording
    }

    /// Makes sure an external library has the definition's import path: `library` (name or id) gets it
    /// added; without it, a library named after the definition is found or created (owned by `owner`, an
    /// email, or the key's user). Immich's own validation of the path is returned.
    public func link(_ definition: MountDefinition, library wanted: String?, owner: String?) throws -> LinkOutcome {
        let api = try api()
        let path = importPath(of: definition)
        // The folder Immich is pointed at exists from now on (an empty folder is a valid import path;
        // the guard's scan never runs on it while the share is away).
        if mounts.mounter.state(of: definition) == .notMounted {
            _ = try? MountTarget.prepare(name: definition.name, base: definition.effectiveSandbox, root: root)
        }
        let libraries = try api.libraries()
        var target: ImmichLibrary
        var created = false
        var changed = false
        if let wanted {
            target = try find(wanted, in: libraries)
        } else if let existing = libraries.first(where: { $0.importPaths.contains(path) }) {
            target = existing
        } else if let named = libraries.first(where: { $0.name == definition.name }) {
            target = named
        } else {
            let ownerID: String
            if let owner {
                guard let user = try api.adminUsers().first(where: { $0.email.lowercased() == owner.lowercased() }) else { throw ImmichError(.noSuchUser(owner)) }
                ownerID = user.id
            } else {
                ownerID = try api.me().id
            }
            target = try api.createLibrary(ownerId: ownerID, name: definition.name, importPaths: [path])
            created = true
            changed = true
        }
        if !target.importPaths.contains(path) {
            // Add to a copy of the paths Immich has: nothing else of the library changes.
            target = try api.setImportPaths(target, target.importPaths + [path])
            changed = true
        }
        let verdict = try api.validate(target, importPaths: [path]).first { $0.importPath == path }
        let placeholder = recordPlaceholder(definition, api: api)
        return LinkOutcome(library: target, created: created, changed: changed, verdict: verdict, placeholder: placeholder)
    }

    /// Removes the definition's path from every library that has it; returns those libraries (as they
    /// were). Immich takes their assets under it offline on its next scan.
    public func unlink(_ definition: MountDefinition) throws -> [ImmichLibrary] {
        let api = try api()
        let path = importPath(of: definition)
        let linked = try api.libraries().filter { $0.importPaths.contains(path) }
        for library in linked { _ = try api.setImportPaths(library, library.importPaths.filter { $0 != path }) }
        // No library imports the share now: its placeholder record (private paths) has no use.
        PlaceholderRecords(root: root).remove(definition.name)
        return linked
    }

    func find(_ wanted: String, in libraries: [ImmichLibrary]) throws(ImmichError) -> ImmichLibrary {
        if let byID = libraries.first(where: { $0.id.lowercased() == wanted.lowercased() }) { return byID }
        let named = libraries.filter { $0.name == wanted }
        guard let first = named.first else { throw ImmichError(.noSuchLibrary(wanted)) }
        guard named.count == 1 else { throw ImmichError(.ambiguousLibrary(wanted)) }
        return first
    }
}
