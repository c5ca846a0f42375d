import System
import Mounting

extension ImmichService {
    // MARK: status

    public struct PathStatus: Sendable {
        public let path: String
        public let definition: String?
        public let mounted: Bool?
        public let health: FileSystemHealth?
        /// What stands in for the share while it is away (nil for a path no definition provides).
        public let placeholder: PlaceholderStatus?
    }

    public struct LibraryStatus: Sendable {
        public let library: ImmichLibrary
        public let paths: [PathStatus]
        public let assets: Int?
        public let offline: Int?
    }

    public func libraryStatus() throws -> [LibraryStatus] {
        let api = try api()
        let definitions = try mounts.definitions(named: [], all: true)
        let mounter = mounts.mounter
        return try api.libraries().map { library in
            let paths = library.importPaths.map { path in
                guard let definition = provider(of: path, in: definitions) else {
                    return PathStatus(path: path, definition: nil, mounted: nil, health: nil, placeholder: nil)
                }
                let mounted = mounter.state(of: definition).isMounted
                return PathStatus(path: path, definition: definition.name, mounted: mounted, health: mounted ? mounter.health(mounter.target(of: definition)) : nil,
                                  placeholder: mounts.placeholderStatus(definition))
            }
            return LibraryStatus(library: library, paths: paths, assets: try? api.statistics(library.id).total,
                                 offline: try? api.offlineAssets(in: library.id))
        }
    }
}
