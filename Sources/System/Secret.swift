/// A password. It prints as a placeholder everywhere (interpolation, `dump`, logs), so it cannot
/// leak into output by accident; only `withCString` hands the real bytes to C.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    public init(_ value: String) { self.value = value }


    public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try value.withCString(body)
    }

    /// For code that must look at characters (validation); never for output.
    public func reveal() -> String { value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
