// Immich's scan schedule (a cron expression from its API) turned into a systemd OnCalendar= value.
@testable import Immich
import FuzzSupport

fuzz { bytes in
    guard let calendar = try? CronSchedule.onCalendar(String(decoding: bytes, as: UTF8.self)) else { return }
    // What reaches a unit file holds only what the type promises.
    precondition(calendar.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "*-:., /".unicodeScalars.contains($0)) }, "unsafe calendar \(calendar)")
}
