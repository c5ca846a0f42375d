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

    public func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(rawValue, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }

}
