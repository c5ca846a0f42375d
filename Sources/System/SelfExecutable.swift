#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Core

/// This program's own path, read once from `/proc/self/exe`: for helper children that run a hidden
/// command of the same binary, and for the `ExecStart=` of the units.
public enum SelfExecutable {
    /// The path, or nil when `/proc` is not mounted.
    public static let resolved: String? = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// For running a child: falls back to argv[0].
    public static var path: String { resolved ?? CommandLine.arguments.first ?? "extlib-net" }

    /// For a unit's `ExecStart=`, which must name the real file (BootInstaller checks who may replace it).
    public static func forUnits() throws(SelfExecutableError) -> String {
        guard let resolved else { throw SelfExecutableError() }
        return resolved
    }
}

/// `/proc/self/exe` could not be read.
public struct SelfExecutableError: ReportableError, Equatable {
    public var exitStatus: ExitStatus { .system }
    public var description: String { "cannot read /proc/self/exe to find this binary's path for ExecStart=; is /proc mounted?" }
}
