import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Unbuffered writes to the standard streams, for prompts and messages that must appear at once.
public enum StandardStream: Int32, Sendable {
    case output = 1
    case error = 2

    /// The terminal's width when this stream is one, else nil.
    public var terminalColumns: Int? {
        guard isatty(rawValue) == 1 else { return nil }
        var size = winsize()
        return ioctl(rawValue, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }

    /// Everything, retrying after signals (swift-system); a closed or broken stream is not an error here.
    public func write(_ text: String) {
        _ = try? FileDescriptor(rawValue: rawValue).writeAll(text.utf8)
    }

}
