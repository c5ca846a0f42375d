#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Owns one file descriptor and closes it exactly once.
///
/// All socket syscalls of the tool go through this type, so errors arrive as `Errno`, never as strings.
package final class Descriptor {
    package let raw: Int32

    package init(raw: Int32) { self.raw = raw }

    deinit { _ = Glibc.close(raw) }

    package static func socket(family: Int32, type: Int32) throws(Errno) -> Descriptor {
        let fd = Glibc.socket(family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        return Descriptor(raw: fd)
    }

    package func setOption<T>(level: Int32, name: Int32, _ value: T) throws(Errno) {
        var value = value
        let result = setsockopt(raw, level, name, &value, socklen_t(MemoryLayout<T>.size))
        guard result == 0 else { throw Errno(rawValue: errno) }
    }

    /// The pending error of a non-blocking connect (`SO_ERROR`); 0 when it succeeded.
    package func pendingError() -> Int32 {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(raw, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return errno }
        return error
    }

    /// Waits for `events` until `deadline`; returns the events seen, or 0 when the time ran out.
    package func wait(for events: Int16, until deadline: Deadline) throws(Errno) -> Int16 {
        var pfd = pollfd(fd: raw, events: events, revents: 0)
        let result = retryingInterrupted { poll(&pfd, 1, Int32(deadline.remainingMilliseconds())) }
        if result > 0 { return pfd.revents }
        if result == 0 { return 0 }
        throw Errno(rawValue: errno)
    }

    /// Like `wait`, for a descriptor a C library owns (libnfs's socket), waking at least every `cap` ms.
    package static func wait(borrowed fd: Int32, for events: Int16, until deadline: Deadline, cap: Int) throws(Errno) -> Int16 {
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        let result = retryingInterrupted { poll(&pfd, 1, Int32(deadline.remainingMilliseconds(cap: cap))) }
        if result > 0 { return pfd.revents }
        if result == 0 { return 0 }
        throw Errno(rawValue: errno)
    }

    package func write(_ bytes: [UInt8]) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                retryingInterrupted { Glibc.send(raw, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            if written < 0 { throw Errno(rawValue: errno) }
            offset += written
        }
    }

    /// One `recv`; an empty array means the peer closed.
    package func read(max: Int) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        let count = buffer.withUnsafeMutableBytes { bytes in retryingInterrupted { Glibc.recv(raw, bytes.baseAddress, max, 0) } }
        guard count >= 0 else { throw Errno(rawValue: errno) }
        return Array(buffer.prefix(count))
    }
}
