#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Core
import System

/// A small JSON file of typed state, root-only (0600 from the start), written atomically, never followed
/// through a link below `below`: the guard's record, the outages, a mount's record in /run.
public struct PrivateJSONFile<Value: Codable>: Sendable {
    public let path: String
    /// The root: nothing below it is followed when writing.
    public let below: String
    /// What to do when the file is there but is not what extlib-net writes (said in the error).
    public let repair: String
    /// The largest file read (a placeholder's record lists every file of a share).
    public var limit = SecureFile.maximumSize

    public init(path: String, below: String, repair: String) {
        self.path = path
        self.below = below
        self.repair = repair
    }

    /// nil when there is no file.
    public func load() throws -> Value? {
        guard let bytes = try SecureFile.readPrivate(path, limit: limit) else { return nil }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(bytes))
        } catch {
            throw MalformedFileError(path: path, repair: repair)
        }
    }

    public func save(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(value) else { throw MalformedFileError(path: path, repair: repair) }
        // Never written larger than `load` reads: it would read as damaged ever after.
        guard data.count < limit else { throw SecureFileError(path: path, code: .tooLarge) }
        try SecureFile.ensurePrivateDirectory(SecureFile.parentDirectory(of: path), below: below)
        try SecureFile.writePrivate(Array(data) + [0x0A], to: path, below: below)
    }

    @discardableResult
    public func remove() -> Bool { (try? SecureFile.remove(path, below: below)) ?? false }
}

/// A state file that is not what extlib-net writes (edited by hand, or damaged).
public struct MalformedFileError: ReportableError, Equatable {
    public let path: String
    public let repair: String
    public init(path: String, repair: String) {
        self.path = path
        self.repair = repair
    }
    public var exitStatus: ExitStatus { .configuration }
    public var description: String { "\(path) is not what extlib-net writes; \(repair)" }
}
