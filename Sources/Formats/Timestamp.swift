#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Local wall-clock time for messages people read ("2026-11-24 07:15:02").
package enum Timestamp {
    package static func now() -> String {
        var seconds = time(nil)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
