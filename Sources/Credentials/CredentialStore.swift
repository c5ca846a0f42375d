import Logging
import Core
import System

/// The root-only credentials file, `/etc/extlib-net/credentials` under the system root.
public struct CredentialStore: Sendable {
    public let root: SystemRoot
    public let logger: Logger

    public init(root: SystemRoot, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    public var directory: String { root.path(SystemRoot.Known.configDirectory) }
    public var path: String { root.path(SystemRoot.Known.credentialsFile) }

    /// The file's contents; an empty document when it does not exist yet.
    public func load() throws(CredentialStoreError) -> CredentialsDocument {
        let bytes: [UInt8]?
        do {
            bytes = try SecureFile.readPrivate(path)
        } catch {
            throw .unsafe(error)
        }
        guard let bytes else { return CredentialsDocument() }
        do {
            return try CredentialsDocument.parse(bytes)
        } catch {
            throw .malformed(path: path, error)
        }
    }

    public func credential(named name: String) throws(CredentialStoreError) -> Credential {
        guard let credential = try load().credential(named: name) else { throw .notFound(name: name, path: path) }
        return credential
    }

    /// Adds `credential`; replaces one of the same name only when `replacing`.
    public func add(_ credential: Credential, replacing: Bool) throws(CredentialStoreError) {
        try modify { document throws(CredentialStoreError) in
            if document.credential(named: credential.name) != nil, !replacing { throw .exists(name: credential.name) }
            document.upsert(credential)
        }
        logger.info("stored credential", metadata: ["name": "\(credential.name)", "user": "\(credential.username)", "file": "\(path)"])
    }

    public func remove(named name: String) throws(CredentialStoreError) {
        try modify { document throws(CredentialStoreError) in
            guard document.remove(named: name) else { throw .notFound(name: name, path: path) }
        }
        logger.info("removed credential", metadata: ["name": "\(name)", "file": "\(path)"])
    }

    /// Read, change and write back under an exclusive lock on the directory, so concurrent writers
    /// take turns and none loses another's change. A malformed file is never rewritten.
    private func modify(_ change: (inout CredentialsDocument) throws(CredentialStoreError) -> Void) throws(CredentialStoreError) {
        let lock: FileLock
        do {
            lock = try SecureFile.lockForEditing(path, below: root.prefix)
        } catch {
            throw .unsafe(error)
        }
        defer { withExtendedLifetime(lock) {} }
        var document = try load()
        try change(&document)
        do {
            try SecureFile.writePrivate(document.rendered(), to: path, below: root.prefix)
        } catch {
            throw .unsafe(error)
        }
    }
}

public enum CredentialStoreError: Error, Equatable, CustomStringConvertible {
    case unsafe(SecureFileError)
    case malformed(path: String, CredentialsFileError)
    case exists(name: String)
    case notFound(name: String, path: String)

    public var description: String {
        switch self {
        case .unsafe(let error):
            return error.description
        case .malformed(let path, let error):
            return "\(path), \(error); fix it by hand (see credentials.example), nothing was changed"
        case .exists(let name):
            return "a credential named '\(name)' exists already; add --force to replace it"
        case .notFound(let name, let path):
            return "no credential named '\(name)' in \(path); list them with: extlib-net credentials list"
        }
    }
}

extension CredentialStoreError: ReportableError {
    public var exitStatus: ExitStatus {
        switch self {
        case .unsafe(let error): return error.exitStatus
        case .malformed: return .configuration
        case .exists, .notFound: return .usage
        }
    }
}
