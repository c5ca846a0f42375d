import System
/// One line of `/proc/self/mountinfo` (proc(5)).
public struct MountInfoEntry: Sendable, Equatable {
    public let mountID: Int
    public let parentID: Int
    public let root: String
    public let mountPoint: String
    public let options: [String]
    public let fileSystemType: String
    public let source: String
    public let superOptions: [String]
    /// "MAJOR:MINOR" of the file system: two binds of one tmpfs share it.
    public var device: String = ""
}

public enum MountInfo {
    /// Parses the whole file; malformed lines are skipped (the kernel writes it, but a future field
    /// layout must not crash the tool).
    public static func parse(_ text: String) -> [MountInfoEntry] {
        text.split(separator: "\n").compactMap { parseLine(Substring($0)) }
    }

    static func parseLine(_ line: Substring) -> MountInfoEntry? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let separator = fields.firstIndex(of: "-"), separator >= 6, fields.count >= separator + 4,
            let mountID = Int(fields[0]), let parentID = Int(fields[1])
        else { return nil }
        return MountInfoEntry(
            mountID: mountID, parentID: parentID,
            root: unescape(fields[3]), mountPoint: unescape(fields[4]),
            options: fields[5].split(separator: ",").map(String.init),
            fileSystemType: unescape(fields[separator + 1]), source: unescape(fields[separator + 2]),
            superOptions: fields[separator + 3].split(separator: ",").map(String.init), device: String(fields[2]))
    }

    /// The kernel writes space, tab, newline and backslash as `\ooo` octal escapes.
    public static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count, let value = octalByte(utf8[(index + 1)...(index + 3)]) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Space, backslash and control bytes as `\ooo`, like mountinfo (unescape reverses it).
    public static func escape(_ path: String) -> String {
        return String(decoding: Array(path.utf8).flatMap { byte -> [UInt8] in
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte == 0x7F {
                let octal = String(byte, radix: 8)
                return Array(("\\" + String(repeating: "0", count: 3 - octal.count) + octal).utf8)
            }
            return [byte]
        }, as: UTF8.self)
    }

    private static func octalByte(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(digit) else { return nil }
            value = value * 8 + Int(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }
}
