
import Core
import System
import Mounting
import Health

extension ImmichService {
    // MARK: the scan decision

    /// Why one import path keeps its library from being scanned.
    public enum PathProblem: Sendable, Equatable, CustomStringConvertible {
        case notMounted(definition: String)
        /// The share is away and its placeholder stands in: the library is frozen as Immich last saw it.
        case placeholder(definition: String)
        case occupied(definition: String, source: String)
        case unhealthy(definition: String, FileSystemHealth)
        /// Mounted and answering, but empty while Immich holds assets: the signature of a NAS that is away.
        case emptyWhileHoldingAssets(path: String, assets: Int)
        case missing(path: String)
        case empty(path: String)
        case uncheckable(path: String)
        /// Mounted on the host, but not in the snap's mount namespace, where Immich scans.
        case notVisibleInSnap(definition: String, String)
        /// A library without import paths: a scan could only take everything offline.
        case noImportPaths

        public var description: String {
            switch self {
            case .notMounted(let name): return "share '\(name)' is not mounted (extlib-net mount \(name))"
            case .placeholder(let name):
                return "share '\(name)' is away; its placeholder stands in, so the library is frozen as Immich last saw it, not lost (extlib-net heal mounts the share when the NAS answers)"
            case .occupied(let name, let source): return "something else is mounted where share '\(name)' belongs (\(Terminal.printable(source)))"
            case .unhealthy(let name, let health): return "share '\(name)' is mounted but not answering: \(health)"
            case .emptyWhileHoldingAssets(let path, let assets):
                let count = assets < 0 ? "an unknown number of" : "\(assets)"
                return "\(Terminal.printable(path)) is empty while Immich holds \(count) asset\(assets == 1 ? "" : "s") of this library"
            case .missing(let path): return "\(Terminal.printable(path)) does not exist"
            case .empty(let path): return "\(Terminal.printable(path)) is empty"
            case .uncheckable(let path): return "\(Terminal.printable(path)) could not be read (in time)"
            case .noImportPaths: return "the library has no import paths"
            case .notVisibleInSnap(let name, let why): return "share '\(name)' is mounted, but not inside the snap where Immich scans (\(why)); see extlib-net doctor \(name)"
            }
        }

        /// The share it belongs to, for the notice.
        var share: String? {
            switch self {
            case .notMounted(let name), .placeholder(let name), .occupied(let name, _), .unhealthy(let name, _), .notVisibleInSnap(let name, _): return name
            default: return nil
            }
        }
    }

    public struct Decision: Sendable {
        public let library: ImmichLibrary
        public let problems: [(path: String, problem: PathProblem)]
        public var scan: Bool { problems.isEmpty }
    }

    /// Whether `library` may be scanned now. Every definition whose folder is an import path, lies below
    /// one or holds one must be mounted (the same share), answer statfs (in a child, bounded), and its
    /// folder must not be empty while Immich holds assets of the library; an import path no definition
    /// provides must exist and hold something. Nothing here touches a possibly dead mount in this
    /// process: folders are read in children.
    public func decide(_ library: ImmichLibrary, definitions: [MountDefinition], assets: () -> Int) -> Decision {
        let mounter = mounts.mounter
        var problems: [(String, PathProblem)] = []
        lazy var held = assets()
        guard !library.importPaths.isEmpty else {
            return Decision(library: library, problems: [("-", .noImportPaths)])
        }
        for path in library.importPaths {
            let normal = Self.normalized(path)
            let local = normal.hasPrefix("/") ? root.path(normal) : normal
            // The share holding this path, and every share inside it (an import path of the whole sandbox
            // folder holds them all).
            var involved = definitions.filter { definition in
                let folder = importPath(of: definition)
                return normal == folder || normal.hasPrefix(folder + "/") || folder.hasPrefix(normal == "/" ? "/" : normal + "/")
            }
            involved.sort { $0.name < $1.name }
            var healthy = true
            for definition in involved {
                switch mounter.state(of: definition) {
                case .notMounted: problems.append((path, .notMounted(definition: definition.name))); healthy = false; continue
                case .placeholder: problems.append((path, .placeholder(definition: definition.name))); healthy = false; continue
                case .occupied(let entry): problems.append((path, .occupied(definition: definition.name, source: entry.source))); healthy = false; continue
                case .mounted: break
                }
                let target = mounter.target(of: definition)
                let health = mounter.health(target)
                guard health.isHealthy else { problems.append((path, .unhealthy(definition: definition.name, health))); healthy = false; continue }
                if let namespace = snapNamespace, FileSystem.isReachable(namespace) {
                    switch ImmichView(runner: mounter.runner).look(ImmichView.Request(namespace: namespace, mountPoint: target)) {
                    case .success(let report) where report.showsShare: break
                    case .success(let report) where report.showsPlaceholder:
                        problems.append((path, .notVisibleInSnap(definition: definition.name, "it shows the share's placeholder there, not the share"))); healthy = false; continue
                    case .success: problems.append((path, .notVisibleInSnap(definition: definition.name, "not in its mount table"))); healthy = false; continue
                    case .failure(let failure): problems.append((path, .notVisibleInSnap(definition: definition.name, failure.description))); healthy = false; continue
                    }
                }
                switch mounter.statfsProbe.contents(target, timeout: mounter.healthTimeout) {
                case .nonEmpty: break
                case .empty: if held != 0 { problems.append((path, .emptyWhileHoldingAssets(path: importPath(of: definition), assets: held))); healthy = false }
                case .failed, .unknown: problems.append((path, .uncheckable(path: importPath(of: definition)))); healthy = false
                }
            }
            guard healthy else { continue }
            let isShareItself = involved.contains { normal == importPath(of: $0) }
            if isShareItself { continue }
            // A folder of its own, or a subfolder of a share: it must be there and hold something.
            switch mounter.statfsProbe.contents(local, timeout: mounter.healthTimeout) {
            case .nonEmpty: break
            case .empty: problems.append((path, involved.isEmpty ? .empty(path: path) : .emptyWhileHoldingAssets(path: path, assets: held)))
            case .failed(.noSuchFileOrDirectory), .failed(.notDirectory): problems.append((path, .missing(path: path)))
            case .failed, .unknown: problems.append((path, .uncheckable(path: path)))
            }
        }
        return Decision(library: library, problems: problems)
    }

    /// `//` and `/./` collapsed, no trailing slash: the spelling Immich keeps may differ from ours.
    static func normalized(_ path: String) -> String {
        guard path.hasPrefix("/") else { return path }
        let parts = path.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }
}
