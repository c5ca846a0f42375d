import Logging
import SystemPackage

import Core
import System

/// Why `boot enable|disable|status` did not finish.
public struct BootError: ReportableError, Equatable {
    public enum Code: Equatable, Sendable {
        /// Reading, writing or removing a unit file failed.
        case file(SecureFileError)
        /// A file at one of our paths was not written by `writer` (`boot enable`, `immich guard enable`); it
        /// is never overwritten.
        case foreign(path: String, writer: String = "boot enable")
        case systemctlMissing
        case systemctlFailed(command: String, status: Int32, output: String, timedOut: Bool)
        /// A value a unit file cannot carry (a binary path with a line break): what it is, the value, why.
        case unrepresentable(what: String, value: String, reason: String)
        /// The binary a unit would run as root could be replaced by someone else (see `checkExecutable`).
        case untrustedBinary(UntrustedBinary)
    }

    public let code: Code

    public init(_ code: Code) { self.code = code }

    public var exitStatus: ExitStatus {
        switch code {
        case .file(let error): return error.exitStatus
        case .foreign, .unrepresentable: return .configuration
        case .systemctlMissing, .systemctlFailed: return .system
        // A request the rules refuse, like a mounted definition: nothing on the system is broken or was
        // changed, the user ran the command from the wrong binary.
        case .untrustedBinary: return .usage
        }
    }

    public var description: String {
        switch code {
        case .file(let error):
            return error.description
        case .foreign(let path, let writer):
            return "\(path) exists and was not written by extlib-net \(writer); move it away (or remove it) and run extlib-net \(writer) again"
        case .unrepresentable(let what, let value, let reason):
            return "\(what) '\(Terminal.printable(value))' cannot be written into a systemd unit file: \(reason); nothing was written"
        case .systemctlMissing:
            return "systemctl not found (\(BootInstaller.systemctlCandidates.joined(separator: ", "))): is this host running systemd?"
        case .systemctlFailed(let command, let status, let output, let timedOut):
            let trimmed = output.split(separator: "\n").prefix(5).joined(separator: "; ")
            let how = timedOut ? "did not finish within \(Int(BootInstaller.systemctlTimeout.seconds)) s" : "failed with status \(status)"
            return "\(command) \(how)\(trimmed.isEmpty ? "" : ": \(trimmed)")"
        case .untrustedBinary(let problem):
            return problem.description
        }
    }
}

/// One file's fate in `boot enable` or `boot disable`.
public enum BootChange: Sendable, Equatable {
    case created(String)
    case updated(String)
    case unchanged(String)
    case removed(String)
    /// A file at one of our paths without our header: left alone.
    case keptForeign(String)
}

/// What `boot enable` or `boot disable` did.
public struct BootReport: Sendable, Equatable {
    /// Paths are as seen under the root.
    public var changes: [BootChange] = []
    /// The options of the previous `boot enable`, if its service file was there.
    public var previous: BootOptions?
    /// Every systemctl command line run, in order.
    public var commands: [[String]] = []
    /// systemctl was missing or failed; the files were handled all the same.
    public var systemctlFailure: BootError?

    /// Nothing was written or removed.
    public var changedNothing: Bool {
        changes.allSatisfy { if case .unchanged = $0 { return true }; if case .keptForeign = $0 { return true }; return false }
    }
}

/// The state of one file for `boot status`.
public struct BootFileState: Sendable, Equatable {
    public enum State: String, Sendable {
        /// There, as `boot enable` would write it for the recorded options.
        case present
        /// Wanted by the recorded options, but not there.
        case missing
        /// Ours, but different from what `boot enable` would write for the recorded options.
        case modified
        /// Something without our header is at this path.
        case foreign = "not written by extlib-net"
        /// Not wanted by the recorded options and not there.
        case unused = "not used"
        /// Ours, but not wanted by the recorded options (or no service file is left).
        case leftOver = "left over"
    }

    public let path: String
    public let state: State
}

/// What `boot status` found.
public struct BootState: Sendable, Equatable {
    /// The options recorded in the service file, if it is ours and readable.
    public let options: BootOptions?
    public let files: [BootFileState]
    /// `systemctl is-enabled` / `is-active` of extlib-net.service; nil when not asked (not the real root,
    /// or no systemctl).
    public let isEnabled: SystemctlAnswer?
    public let isActive: SystemctlAnswer?

    /// The service file is there and ours.
    public var enabled: Bool { options != nil }
}

/// Writes, removes and inspects the units of `BootUnits` under a root, and runs systemctl through a
/// `ProcessRunner`, so tests run without systemd.
public struct BootInstaller: Sendable {
    public let root: SystemRoot
    public let logger: Logger
    public let runner: any ProcessRunner
    /// Absolute path of systemctl; nil: not installed.
    public let systemctl: String?
    /// systemctl acts on the running system (daemon-reload, is-active, no `--root=`); by default only
    /// for the real root of a system systemd runs. The real root without it (an image built in a chroot, a
    /// package installed there) gets `systemctl --root=/`: its enable works offline, where daemon-reload
    /// and `--now` fail.
    public let live: Bool

    public static let systemctlCandidates = ["/usr/bin/systemctl", "/bin/systemctl"]
    public static let systemctlTimeout: Duration = .seconds(30)
    static let queryTimeout: Duration = .seconds(5)

    public init(root: SystemRoot, logger: Logger, runner: any ProcessRunner = SystemProcessRunner(), systemctl: String? = BootInstaller.findSystemctl(), live: Bool? = nil) {
        self.root = root
        self.live = live ?? (root == .real && Self.systemdIsRunning())
        self.logger = logger
        self.runner = runner
        self.systemctl = systemctl
    }

    /// Whether systemd runs this system: the test of sd_booted(3), /run/systemd/system is a folder.
    public static func systemdIsRunning(_ marker: String = "/run/systemd/system") -> Bool {
        guard case .success(let info) = FileInfo.of(marker) else { return false }
        return info.kind == .directory
    }

    /// The host's systemctl (never looked up under `--root`: it is the program that runs).
    public static func findSystemctl() -> String? {
        systemctlCandidates.first(where: FileSystem.isExecutable)
    }

    // MARK: enable

    /// Writes the files `options` want (0644, atomically, only those that differ), removes our files it
    /// does not want (a heal timer no longer asked for), and unless `reload` is false runs
    /// `systemctl daemon-reload` and `systemctl enable` (`systemctl --root=ROOT enable` under another root).
    /// A file at one of the wanted paths that we did not write stops it before anything is written.
    public func enable(_ options: BootOptions, reload: Bool) throws(BootError) -> BootReport {
        // What a unit file cannot carry is refused before anything else.
        try BootUnits.check(options)
        var previous: BootOptions?
        if case .ours(let text) = try existing(BootUnits.servicePath) { previous = BootUnits.recordedOptions(inService: text) }
        var report = try apply(BootUnits.unitSet(options), reload: reload)
        report.previous = previous
        return report
    }

    // MARK: disable

    /// Removes the files `enable` wrote (only files with our header; others are kept and reported), and
    /// the drop-in directory if it is then empty. Unless `reload` is false, runs `systemctl disable` first
    /// and `daemon-reload` after.
    public func disable(reload: Bool) throws(BootError) -> BootReport {
        var previous: BootOptions?
        if case .ours(let text) = try existing(BootUnits.servicePath) { previous = BootUnits.recordedOptions(inService: text) }
        var report = try remove(BootUnits.unitSet(nil), reload: reload)
        report.previous = previous
        return report
    }

    /// `disable`, and on the real root `--now` too, so a heal timer stops firing at a removed service.
    /// (Stopping extlib-net.service only marks it inactive: it has no ExecStop, nothing is unmounted.) The
    /// set's `keptRunning` units are only disabled: stopping boot's shutdown unit would unmount every share.
    fileprivate func disable(_ units: [String], of set: UnitSet, into report: inout BootReport) {
        guard live else { record(&report, runSystemctl(["disable"] + units)); return }
        let stopped = units.filter { !set.keptRunning.contains($0) }, kept = units.filter { set.keptRunning.contains($0) }
        if !stopped.isEmpty { record(&report, runSystemctl(["disable", "--now"] + stopped)) }
        if !kept.isEmpty { record(&report, runSystemctl(["disable"] + kept)) }
    }

    // MARK: status

    public func status() throws(BootError) -> BootState {
        var options: BootOptions?
        if case .ours(let text) = try existing(BootUnits.servicePath) { options = BootUnits.recordedOptions(inService: text) }
        let files = try inspect(BootUnits.unitSet(options)).map { file in
            // No options to compare with: the service file is what is missing, or what was edited by hand.
            guard options == nil, file.path == root.path(BootUnits.servicePath) else { return file }
            switch file.state {
            case .unused: return BootFileState(path: file.path, state: .missing)
            case .leftOver: return BootFileState(path: file.path, state: .modified)
            default: return file
            }
        }
        var isEnabled: SystemctlAnswer?
        var isActive: SystemctlAnswer?
        if live, let systemctl {
            isEnabled = query(systemctl, "is-enabled")
            isActive = query(systemctl, "is-active")
        }
        return BootState(options: options, files: files, isEnabled: isEnabled, isActive: isActive)
    }

    private func query(_ systemctl: String, _ verb: String) -> SystemctlAnswer {
        let result: ProcessResult
        do { result = try runner.run(systemctl, [verb, BootUnits.serviceName], secret: nil, until: .after(Self.queryTimeout)) } catch {
            return .unknown(reason: "\(error)")
        }
        if result.timedOut { return .unknown(reason: "systemctl did not answer") }
        // is-enabled / is-active answer on standard output.
        let first = result.standardOutput.split(separator: "\n").first.map(String.init) ?? ""
        return SystemctlAnswer(first) ?? .unknown(reason: first.isEmpty ? "status \(result.status)" : "an unexpected answer")
    }

    // MARK: files

    enum Existing: Equatable {
        case absent
        case ours(String)
        case foreign
    }

    /// What is at `path` (a real-system path) under the root. A symlink or anything but a regular file
    /// counts as foreign: never followed, never removed.
    func existing(_ path: String, header: String = BootUnits.header) throws(BootError) -> Existing {
        // A file reached through a linked folder is somebody else's: never read, rewritten or removed there.
        do {
            try SecureFile.checkFolders(SecureFile.parentDirectory(of: root.path(path)), below: root.prefix)
        } catch {
            switch error.code {
            case .symlinkedFolder, .notDirectory: return .foreign
            default: throw BootError(.file(error))
            }
        }
        let bytes: [UInt8]?
        do {
            bytes = try SecureFile.readConfiguration(root.path(path))
        } catch {
            switch error.code {
            case .symlink, .notRegularFile, .wrongOwner, .writableByOthers, .tooLarge: return .foreign
            default: throw BootError(.file(error))
            }
        }
        guard let bytes else { return .absent }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.hasPrefix(header + "\n") ? .ours(text) : .foreign
    }

    /// One unit file, 0644, atomically, without following a link below the root.
    func writeUnit(_ contents: String, to path: String) throws(SecureFileError) {
        try SecureFile.writeAtomically(Array(contents.utf8), to: path, mode: 0o644, below: root.prefix)
    }

    // MARK: systemctl

    /// The systemctl command line for `arguments` under this root (`--root=ROOT` when not the real root).
    public func systemctlCommand(_ arguments: [String]) -> [String] {
        ["systemctl"] + (live ? [] : ["--root=\(root.prefix.isEmpty ? "/" : root.prefix)"]) + arguments
    }

    fileprivate func runSystemctl(_ arguments: [String]) -> (command: [String], failure: BootError?) {
        let command = systemctlCommand(arguments)
        guard let systemctl else { return (command, BootError(.systemctlMissing)) }
        logger.info("running", metadata: ["command": "\(command.joined(separator: " "))"])
        let result: ProcessResult
        do {
            result = try runner.run(systemctl, Array(command.dropFirst()), secret: nil, until: .after(Self.systemctlTimeout))
        } catch {
            return (command, BootError(.systemctlFailed(command: command.joined(separator: " "), status: 127, output: error.description, timedOut: false)))
        }
        guard result.status == 0, !result.timedOut else {
            return (command, BootError(.systemctlFailed(command: command.joined(separator: " "), status: result.status, output: result.messages, timedOut: result.timedOut)))
        }
        return (command, nil)
    }

    /// Notes a systemctl run in the report; false if it failed (the first failure is kept).
    @discardableResult
    fileprivate func record(_ report: inout BootReport, _ run: (command: [String], failure: BootError?)) -> Bool {
        if run.failure?.code != .systemctlMissing { report.commands.append(run.command) }
        if let failure = run.failure {
            logger.warning("systemctl failed", metadata: ["error": "\(failure)"])
            if report.systemctlFailure == nil { report.systemctlFailure = failure }
            return false
        }
        return true
    }
}

// MARK: any set of units

extension BootInstaller {
    /// Makes the files of `set` what it wants: writes those that differ, removes ours it no longer wants
    /// (disabling their unit first), then unless `reload` is false runs daemon-reload and enables
    /// `set.enabling`. Everything is checked before the first write: the files' text, the binary the units
    /// run, the folders on the way, and that no wanted path holds someone else's file. All or nothing: a
    /// write or removal that fails (a full disk) puts back every file as it was, so no unit is left that
    /// the caller's record does not know of.
    public func apply(_ set: UnitSet, reload: Bool) throws(BootError) -> BootReport {
        let current = try checkedStates(set)
        var report = BootReport()
        var journal: [(path: String, before: Existing)] = []
        for file in set.wanted {
            let path = root.path(file.path)
            if case .ours(let text) = current[file.path], text == file.contents {
                report.changes.append(.unchanged(path))
                continue
            }
            report.changes.append(current[file.path] == .absent ? .created(path) : .updated(path))
            do {
                try SecureFile.ensureDirectory(SecureFile.parentDirectory(of: path), below: root.prefix)
                try writeUnit(file.contents, to: path)
                journal.append((path, current[file.path] ?? .absent))
            } catch {
                undo(journal, folders: set.emptyFolders)
                throw BootError(.file(error))
            }
            logger.info("wrote unit file", metadata: ["path": "\(path)"])
        }
        var leftOver: [String] = []
        for path in set.allPaths where !set.wanted.contains(where: { $0.path == path }) {
            switch current[path] {
            case .foreign?: report.changes.append(.keptForeign(root.path(path)))
            case .ours?: leftOver.append(path)
            default: break
            }
        }
        // A unit no longer asked for is disabled while its file is still there to name it.
        let stopping = leftOver.compactMap { set.enabledUnitAt[$0] }
        if reload, !stopping.isEmpty { disable(stopping, of: set, into: &report) }
        do {
            try removeFiles(leftOver, of: set, current: current, into: &report, journal: &journal)
        } catch {
            undo(journal, folders: set.emptyFolders)
            throw error
        }
        guard reload else { return report }
        if live, !report.changedNothing {
            guard record(&report, runSystemctl(["daemon-reload"])) else { return report }
        }
        // Even when no file changed: enabling is idempotent, and repairs an earlier failed enable.
        if !set.enabling.isEmpty,
           record(&report, runSystemctl((live && set.startNow ? ["enable", "--now"] : ["enable"]) + set.enabling)),
           live, !set.startNow, !set.alsoStarting.isEmpty {
            record(&report, runSystemctl(["start"] + set.alsoStarting))
        }
        return report
    }

    /// Everything `apply` checks before its first write, for a caller that changes something else first
    /// (the guard changes Immich's settings) and must stop before that when `apply` would refuse.
    public func preflight(_ set: UnitSet) throws(BootError) {
        _ = try checkedStates(set)
    }

    /// The files' text, the binary the units run, the folders on the way, and that no wanted path holds
    /// someone else's file; then what each path of `set` holds now.
    private func checkedStates(_ set: UnitSet) throws(BootError) -> [String: Existing] {
        try set.check()
        try Self.checkExecutable(set.executable)
        for folder in Set(set.allPaths.map { SecureFile.parentDirectory(of: root.path($0)) }).sorted() {
            do {
                try SecureFile.checkFolders(folder, below: root.prefix)
            } catch {
                throw BootError(.file(error))
            }
        }
        var current: [String: Existing] = [:]
        for path in set.allPaths { current[path] = try existing(path, header: set.header) }
        for file in set.wanted where current[file.path] == .foreign {
            throw BootError(.foreign(path: root.path(file.path), writer: set.writer))
        }
        return current
    }

    /// Removes every file of `set` that is ours (others are kept and reported), and its folders left
    /// empty; unless `reload` is false, disables their units first and runs daemon-reload after. A
    /// systemctl failure is reported, but the files still go: the user asked for them to go.
    public func remove(_ set: UnitSet, reload: Bool) throws(BootError) -> BootReport {
        var report = BootReport()
        var current: [String: Existing] = [:]
        var ours: [String] = []
        for path in set.allPaths {
            let found = try existing(path, header: set.header)
            current[path] = found
            switch found {
            case .absent: break
            case .foreign: report.changes.append(.keptForeign(root.path(path)))
            case .ours: ours.append(path)
            }
        }
        guard !ours.isEmpty else { return report }
        let units = ours.compactMap { set.enabledUnitAt[$0] }
        if reload, !units.isEmpty { disable(units, of: set, into: &report) }
        var journal: [(path: String, before: Existing)] = []
        try removeFiles(ours, of: set, current: current, into: &report, journal: &journal)
        if reload, live { record(&report, runSystemctl(["daemon-reload"])) }
        return report
    }

    /// Each path of `set` against what it wants: present, missing, modified, foreign, unused or left over.
    public func inspect(_ set: UnitSet) throws(BootError) -> [BootFileState] {
        var states: [BootFileState] = []
        for path in set.allPaths {
            let want = set.wanted.first { $0.path == path }
            let state: BootFileState.State
            switch try existing(path, header: set.header) {
            case .absent: state = want == nil ? .unused : .missing
            case .foreign: state = .foreign
            case .ours(let text):
                if let want { state = want.contents == text ? .present : .modified } else { state = .leftOver }
            }
            states.append(BootFileState(path: root.path(path), state: state))
        }
        return states
    }

    private func removeFiles(_ paths: [String], of set: UnitSet, current: [String: Existing], into report: inout BootReport,
                             journal: inout [(path: String, before: Existing)]) throws(BootError) {
        for path in paths {
            let full = root.path(path)
            do {
                try SecureFile.remove(full, below: root.prefix)
            } catch {
                throw BootError(.file(error))
            }
            journal.append((full, current[path] ?? .absent))
            report.changes.append(.removed(full))
            logger.info("removed unit file", metadata: ["path": "\(full)"])
        }
        // Only if empty: another tool's drop-in for the Immich server stays, and so does its folder.
        for folder in set.emptyFolders { FileSystem.removeFolderIfEmpty(root.path(folder)) }
    }

    /// Puts back what a failed `apply` changed, newest first: rewrites what it replaced or removed, removes
    /// what it created. Best effort, since it runs after a failure (each step is logged when it fails).
    private func undo(_ journal: [(path: String, before: Existing)], folders: [String]) {
        for (path, before) in journal.reversed() {
            do {
                switch before {
                case .ours(let text):
                    try SecureFile.ensureDirectory(SecureFile.parentDirectory(of: path), below: root.prefix)
                    try writeUnit(text, to: path)
                default: try SecureFile.remove(path, below: root.prefix)
                }
            } catch {
                logger.warning("cannot undo a unit file change", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
        // A folder the failed apply made, left empty (only if empty: another tool's files stay).
        for folder in folders { FileSystem.removeFolderIfEmpty(root.path(folder)) }
    }

    /// `systemd-analyze calendar EXPRESSION`, bounded: nil when it accepts it (or is not installed, said
    /// in the second value), else its complaint.
    public func checkCalendar(_ expression: String) -> (problem: String?, checked: Bool) {
        let candidates = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        guard let analyze = candidates.first(where: FileSystem.isExecutable) else { return (nil, false) }
        guard let result = try? runner.run(analyze, ["calendar", expression], secret: nil, until: .after(Self.queryTimeout)) else { return (nil, false) }
        if result.status == 0, !result.timedOut { return (nil, true) }
        return (result.messages.split(separator: "\n").first.map(String.init) ?? "systemd-analyze exited \(result.status)", true)
    }
}
