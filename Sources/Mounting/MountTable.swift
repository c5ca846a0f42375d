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
        stack(at: path, in: table).last
    }

    /// The mounts at `path`, bottom first: each one above is mounted on the one below it (its parent ID is
    /// the lower one's mount ID). A placeholder beneath a share makes a stack of two or three.
    public static func stack(at path: String, in table: [MountInfoEntry]) -> [MountInfoEntry] {
        let here = table.filter { $0.mountPoint == path }
        guard here.count > 1 else { return here }
        guard var current = here.first(where: { entry in !here.contains { $0.mountID == entry.parentID } }) else { return here }
        var stack = [current]
        while stack.count < here.count, let next = here.first(where: { $0.parentID == current.mountID }) {
            stack.append(next)
            current = next
        }
        return stack
    }
}
