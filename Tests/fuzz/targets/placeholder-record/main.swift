// A placeholder record: its "SECONDS.NANOSECONDS PATH" lines (what its JSON strings hold) and the layout check
// that refuses what cannot be built (a count of its folders checked against a plain one).

import System
@testable import Mounting
import FuzzSupport

fuzz { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    var entries: [PlaceholderRecord.Entry] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        guard let entry = PlaceholderRecord.Entry(line: String(line)) else { continue }
        precondition(PlaceholderRecord.Entry(line: entry.line) == entry, "an entry's line does not round-trip")
        entries.append(entry)
    }
    let record = PlaceholderRecord(definition: "photos", libraryIDs: [], takenAt: "", source: .immichAssets, entries: entries)
    if case .success(let layout) = record.layout() {
        var folders = Set<[UInt8]>()
        for entry in entries {
            let path = Array(entry.path.utf8)
            for (index, byte) in path.enumerated() where byte == 0x2F { folders.insert(Array(path[..<index])) }
            precondition(TreeSnapshot.isCleanRelative(entry.path) && entry.modified.isValid, "an unclean entry accepted")
        }
        precondition(layout == .init(files: entries.count, folders: folders.count), "the folder count is wrong")
        precondition(!entries.contains { folders.contains(Array($0.path.utf8)) }, "a file that is a folder accepted")
    }
}
