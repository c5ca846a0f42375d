#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one wall clock for text: local time for messages people read ("2026-11-24 07:15:02"), UTC for
/// records ("2026-11-24T06:15:02Z").
package enum Timestamp {
    package static func now() -> String { format("%Y-%m-%d %H:%M:%S", utc: false) }

    package static func utcNow() -> String { format("%Y-%m-%dT%H:%M:%SZ", utc: true) }

    private static func format(_ pattern: String, utc: Bool) -> String {
        var seconds = time(nil)
        var parts = tm()
        if utc { gmtime_r(&seconds, &parts) } else { localtime_r(&seconds, &parts) }
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, pattern, &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
