// mounts.toml: the TOML reader on any bytes, and the definitions on top of it for valid UTF-8 (what
// MountStore hands it). What it accepts must also survive being written and read again.
@testable import Formats
@testable import Mounting
import FuzzSupport

fuzz { bytes in
    _ = try? TOMLSubset.parse(bytes)
    guard let text = String(validating: bytes, as: UTF8.self), var file = try? MountsFile.parse(text) else { return }
    let names = file.definitions.map(\.name)
    guard let reread = try? MountsFile.parse(file.rendered()), reread.definitions == file.definitions else {
        fatalError("an accepted file does not read back the same")
    }
    if let first = names.first {
        do { try file.remove(named: first) } catch { fatalError("removing \(first) failed: \(error)") }
        precondition(file.definitions.map(\.name) == Array(names.dropFirst()))
    }
}
