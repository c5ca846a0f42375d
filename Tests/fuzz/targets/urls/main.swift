// smb:// and nfs:// URLs from the command line or mounts.toml: what parses prints back to the same URL,
// and what passes validation never puts an option separator or a control character into the source
// the mount helper gets.
@testable import System
@testable import Mounting
import FuzzSupport

let address = IPAddress("192.0.2.7")!
fuzz { bytes in
    guard let url = try? MountURL.parse(String(decoding: bytes, as: UTF8.self)) else { return }
    guard let again = try? MountURL.parse(url.description), again == url else { fatalError("\(url) does not parse back the same") }
    let definition = MountDefinition(name: "x", url: url)
    guard (try? definition.validate()) != nil else { return }
    for plan in Mounter.plans(for: definition, address: address, target: "/t", account: nil) {
        precondition(!plan.arguments[0].contains(",") && !plan.arguments[0].unicodeScalars.contains { $0.value < 0x20 }, "unsafe source \(plan.arguments[0])")
    }
}
