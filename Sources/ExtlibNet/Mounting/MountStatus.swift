/// Exit statuses of add, list, remove, mount, unmount and status; they follow mount(8) where they can.
public enum MountStatus: Int32, Sendable, CaseIterable {
    case success = 0
    case usage = 1
    case system = 2
    case configuration = 16
    case mountFailure = 32
    case someSucceeded = 64

    public var meaning: String {
        switch self {
        case .success: return "success"
        case .usage: return "incorrect invocation: bad arguments, unknown name, or a mounted definition"
        case .system: return "system error"
        case .configuration: return "/etc/extlib-net/mounts.toml (or the credentials file) is malformed, unsafe, or could not be written"
        case .mountFailure: return "mount failure"
        case .someSucceeded: return "some mounts succeeded, others failed"
        }
    }
}

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
