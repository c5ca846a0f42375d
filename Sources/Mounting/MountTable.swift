import System
/// What is mounted now, from `/proc/self/mountinfo`.
/// Where the current mounts come from: the kernel's /proc/self/mountinfo, or a test's table.
public struct MountTable: Sendable {
    public let read: @Sendable () -> [MountInfoEntry]

    public init(read: @escaping @Sendable () -> [MountInfoEntry]) { self.read = read }

    public static let system = MountTable {
        guard let bytes = try? SecureFile.readProcFile("/proc/self/mountinfo") else { return [] }
        return MountInfo.parse(String(decoding: bytes, as: UTF8.self))
    }

    public func current() -> [MountInfoEntry] { read() }

    /// The entry mounted at `path`, the last one when mounts are stacked.
    public func entry(at path: String) -> MountInfoEntry? { Self.entry(at: path, in: current()) }

    public static func entry(at path: String, in table: [MountInfoEntry]) -> MountInfoEntry? {
        table.last { $0.mountPoint == path }
    }
}
