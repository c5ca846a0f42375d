import Logging
import Core
import System

/// `/etc/extlib-net/mounts.toml` under the system root.
public struct MountStore: Sendable {
    public let root: SystemRoot
    public let logger: Logger

    public init(root: SystemRoot, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    public var path: String { root.path(SystemRoot.Known.mountsFile) }

    public func load() throws(MountStoreError) -> MountsFile {
        let bytes: [UInt8]?
        do {
            bytes = try SecureFile.readConfiguration(path)
        } catch {
            throw .unsafe(error)
        }
        guard let bytes else { return MountsFile() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformed(path: path, MountsFileError(line: nil, problem: "is not valid UTF-8"))
        }
        do {
            return try MountsFile.parse(text)
        } catch {
            throw .malformed(path: path, error)
        }
    }

    public func definition(named name: String) throws(MountStoreError) -> MountDefinition {
        guard let definition = try load().definition(named: name) else { throw .notFound(name: name, path: path) }
        return definition
    }

    public func add(_ definition: MountDefinition) throws(MountStoreError) {
        try modify { file throws(MountStoreError) in
            guard file.definition(named: definition.name) == nil else { throw .exists(name: definition.name) }
            do throws(MountsFileError) {
                try file.append(definition)
            } catch {
                throw .malformed(path: path, error)
            }
        }
        logger.info("added mount definition", metadata: ["name": "\(definition.name)", "url": "\(definition.url)"])
    }

    public func remove(named name: String) throws(MountStoreError) {
        try modify { file throws(MountStoreError) in
            guard file.definition(named: name) != nil else { throw .notFound(name: name, path: path) }
            do throws(MountsFileError) {
                try file.remove(named: name)
            } catch {
                throw .malformed(path: path, error)
            }
        }
        logger.info("removed mount definition", metadata: ["name": "\(name)"])
    }

    /// Read, change, write back atomically under the directory lock; a malformed file is never rewritten.
    private func modify(_ change: (inout MountsFile) throws(MountStoreError) -> Void) throws(MountStoreError) {
        let lock: FileLock
        do {
            lock = try SecureFile.lockForEditing(path, below: root.prefix)
        } catch {
            throw .unsafe(error)
        }
        defer { withExtendedLifetime(lock) {} }
        var file = try load()
        try change(&file)
        do {
            try SecureFile.writePrivate(Array(file.rendered().utf8), to: path, below: root.prefix)
        } catch {
            throw .unsafe(error)
        }
    }
}

public enum MountStoreError: Error, Equatable, CustomStringConvertible {
    case unsafe(SecureFileError)
    case malformed(path: String, MountsFileError)
    case exists(name: String)
    case notFound(name: String, path: String)
    case mounted(name: String, target: String)

    public var description: String {
        switch self {
        case .unsafe(let error): return error.description
        case .malformed(let path, let error): return "\(path), \(error); fix it by hand, nothing was changed"
        case .exists(let name): return "a mount named '\(name)' exists already; remove it first with: extlib-net remove \(name)"
        case .notFound(let name, let path): return "no mount named '\(name)' in \(path); list them with: extlib-net list"
        case .mounted(let name, let target): return "'\(name)' is mounted at \(target); unmount it first with: extlib-net unmount \(name)"
        }
    }
}

extension MountStoreError: ReportableError {
    public var exitStatus: ExitStatus {
        switch self {
        case .unsafe(let error): return error.exitStatus
        case .malformed: return .configuration
        case .exists, .notFound, .mounted: return .usage
        }
    }
}
