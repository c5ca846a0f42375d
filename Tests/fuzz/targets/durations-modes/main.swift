// Durations (--wait, --heal-every, the unit header) and octal modes (--file-mode, mounts.toml): any text
// gives a value in range or nil, never a trap in the arithmetic.
@testable import Formats
@testable import Mounting
import FuzzSupport

fuzz { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    if let duration = DurationText.parse(text) {
        precondition(duration >= .zero && duration <= DurationText.maximum, "\(text) -> \(duration)")
        _ = DurationText.format(duration)
    }
    if let mode = CIFSOptions.parseMode(text) { _ = try? CIFSOptions.checkedMode(mode) }
}
