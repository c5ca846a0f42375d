import Synchronization
@testable import Formats
@testable import Immich

/// Immich's API in memory, for the decisions above it: libraries with asset counts, a system config,
/// and what was asked of it (scans, config writes, notices). The HTTP side is tested against the stand-in.
final class FakeImmich: ImmichClient {
    struct State {
        var libraries: [ImmichLibrary] = []
        var assets: [String: Int] = [:]
        /// Each library's assets' original paths.
        var paths: [String: [String]] = [:]
        var config: JSON = .object([("library", .object([("scan", .object([("enabled", .bool(true)), ("cronExpression", .string("0 3 * * *"))])),
                                                          ("watch", .object([("enabled", .bool(false))]))]))])
        var admins = [ImmichUser(id: "00000000-0000-0000-0000-00000000000a", email: "admin@example.com", name: "Admin", isAdmin: true)]
        var scanned: [String] = []
        var notices: [String] = []
        var puts = 0
    }

    let state = Mutex(State())

    func ping() throws(ImmichError) {}
    func me() throws(ImmichError) -> ImmichUser { state.withLock { $0.admins[0] } }
    func adminUsers() throws(ImmichError) -> [ImmichUser] { state.withLock { $0.admins } }
    func libraries() throws(ImmichError) -> [ImmichLibrary] { state.withLock { $0.libraries } }

    func createLibrary(ownerId: String, name: String, importPaths: [String]) throws(ImmichError) -> ImmichLibrary {
        state.withLock { state in
            let library = ImmichLibrary(id: "00000000-0000-0000-0000-\(String(format: "%012d", state.libraries.count + 1))", ownerId: ownerId,
                                        name: name, importPaths: importPaths, exclusionPatterns: [])
            state.libraries.append(library)
            return library
        }
    }

    func setImportPaths(_ library: ImmichLibrary, _ importPaths: [String]) throws(ImmichError) -> ImmichLibrary {
        state.withLock { state in
            let changed = ImmichLibrary(id: library.id, ownerId: library.ownerId, name: library.name, importPaths: importPaths, exclusionPatterns: library.exclusionPatterns)
            state.libraries = state.libraries.map { $0.id == library.id ? changed : $0 }
            return changed
        }
    }

    func validate(_ library: ImmichLibrary, importPaths: [String]) throws(ImmichError) -> [ImportPathVerdict] {
        importPaths.map { ImportPathVerdict(importPath: $0, isValid: true, message: nil) }
    }

    func scan(_ libraryID: String) throws(ImmichError) { state.withLock { $0.scanned.append(libraryID) } }
    func statistics(_ libraryID: String) throws(ImmichError) -> LibraryStatistics {
        let total = state.withLock { $0.assets[libraryID] ?? 0 }
        return LibraryStatistics(photos: total, videos: 0, total: total)
    }
    func offlineAssets(in libraryID: String, limit: Int) throws(ImmichError) -> Int { 0 }
    func assetPaths(in libraryID: String, limit: Int) throws(ImmichError) -> [String] {
        state.withLock { Array(($0.paths[libraryID] ?? []).prefix(limit)) }
    }
    func systemConfig() throws(ImmichError) -> JSON { state.withLock { $0.config } }
    func putSystemConfig(_ config: JSON) throws(ImmichError) { state.withLock { $0.config = config; $0.puts += 1 } }
    func notify(_ userID: String, title: String, description: String, level: NoticeLevel) throws(ImmichError) {
        state.withLock { $0.notices.append(title) }
    }
}
