// /proc/self/mountinfo lines, and the octal escapes in their fields.
@testable import Mounting
import FuzzSupport

fuzz { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    for entry in MountInfo.parse(text) {
        _ = MountTable.entry(at: entry.mountPoint, in: [entry])
    }
    _ = MountInfo.unescape(Substring(text))
    precondition(MountInfo.unescape(Substring(MountInfo.escape(text))) == text, "escape does not round-trip")
}
