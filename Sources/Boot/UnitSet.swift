/// The unit files one command owns, as one value: every path it may ever write, the header that marks a
/// file there as its own, the files wanted now, and what systemctl enables. `BootInstaller` applies,
/// removes and inspects every set the same way (boot's units, the Immich guard's), so a check or the
/// all-or-nothing rule cannot be in one pipeline and missing from the other.
public struct UnitSet: Sendable, Equatable {
    /// The command that writes the set, named in errors (`boot enable`, `immich guard enable`).
    public let writer: String
    /// The first line of every file of the set; a file at one of the paths without it is someone else's.
    public let header: String
    /// Every path the set may hold (real-system paths); files no longer wanted are removed from these.
    public let allPaths: [String]
    /// The files wanted now, each under one of `allPaths`.
    public let wanted: [BootFile]
    /// The binary the units run as root: it must be one only root can replace.
    public let executable: String
    /// Units `systemctl enable` after writing.
    public let enabling: [String]
    /// Also start them (`enable --now`) on the real system.
    public let startNow: Bool
    /// The unit to disable before the file at a path goes (a timer no longer asked for, or everything on removal).
    public let enabledUnitAt: [String: String]
    /// Folders of the set removed when they are left empty (a drop-in folder).
    public let emptyFolders: [String]
    /// Units of `enabling` started at once on the real system even without `startNow` (one with only an
    /// ExecStop, which must be active to run it at shutdown).
    public let alsoStarting: [String]
    /// Units disabled without `--now`: stopping them runs their ExecStop (boot's shutdown unit unmounts
    /// every share), which a disable must not do. They stay active, unloaded, until the next boot.
    public let keptRunning: [String]

    public init(writer: String, header: String, allPaths: [String], wanted: [BootFile], executable: String, enabling: [String],
                startNow: Bool, enabledUnitAt: [String: String], emptyFolders: [String] = [], alsoStarting: [String] = [],
                keptRunning: [String] = []) {
        self.writer = writer
        self.header = header
        self.allPaths = allPaths
        self.wanted = wanted
        self.executable = executable
        self.enabling = enabling
        self.startNow = startNow
        self.enabledUnitAt = enabledUnitAt
        self.emptyFolders = emptyFolders
        self.alsoStarting = alsoStarting
        self.keptRunning = keptRunning
    }

    /// What a unit file may hold: our templates are text, one setting per line. A value that slipped
    /// through with a line break, a carriage return or another control character would add a setting,
    /// so the whole file is refused. Every file must also begin with the header.
    public func check() throws(BootError) {
        for file in wanted {
            guard allPaths.contains(file.path) else {
                throw BootError(.unrepresentable(what: "the unit path", value: file.path, reason: "it is not one of the paths \(writer) owns"))
            }
            guard file.contents.hasPrefix(header + "\n") else {
                throw BootError(.unrepresentable(what: "the unit file", value: file.path, reason: "it does not begin with its header"))
            }
            if let bad = file.contents.unicodeScalars.first(where: Self.isForbidden) {
                throw BootError(.unrepresentable(what: "the unit file", value: file.path,
                                                 reason: "it would hold the control character U+\(String(bad.value, radix: 16, uppercase: true))"))
            }
        }
    }

    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A: false
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
        default: false
        }
    }
}
