import Core

/// `boot status --json`.
extension BootState: Encodable {
    private enum CodingKeys: String, CodingKey { case enabled, options, files, isEnabled, isActive }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(options, forKey: .options)
        try container.encode(files, forKey: .files)
        // The state word, or null when systemctl gave none (the text output says why).
        try container.encode(isEnabled?.state, forKey: .isEnabled)
        try container.encode(isActive?.state, forKey: .isActive)
    }
}

extension BootOptions: Encodable {
    private enum CodingKeys: String, CodingKey { case wait, healEvery, executable }

    /// Durations as the units write them (`90s`, `5min`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(BootUnits.systemdDuration(wait), forKey: .wait)
        try container.encode(healEvery.map(BootUnits.systemdDuration), forKey: .healEvery)
        try container.encode(executable, forKey: .executable)
    }
}

extension BootFileState: Encodable {
    private enum CodingKeys: String, CodingKey { case path, state }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(state.rawValue, forKey: .state)
    }
}

/// The one rendering of what a unit install or removal did, for `boot enable|disable`, `immich guard
/// enable|disable` and setup.
public enum BootReportPresentation {
    public struct Lines: Equatable, Sendable {
        /// What was written, removed and run (standard output).
        public var done: [String] = []
        /// Files left alone (standard error, as warnings).
        public var warnings: [String] = []
    }

    /// `writer`: the command whose files these are, named in the warning about a file it did not write.
    /// A systemctl run that failed is left out: its failure is the error the command ends with.
    public static func lines(_ report: BootReport, writer: String) -> Lines {
        var lines = Lines()
        for change in report.changes {
            switch change {
            case .created(let path): lines.done.append("wrote \(path)")
            case .updated(let path): lines.done.append("updated \(path)")
            case .removed(let path): lines.done.append("removed \(path)")
            case .unchanged: break
            case .keptForeign(let path): lines.warnings.append("left \(path) alone: it was not written by extlib-net \(writer)")
            }
        }
        var failed: String?
        if case .systemctlFailed(let command, _, _, _)? = report.systemctlFailure?.code { failed = command }
        for command in report.commands where command.joined(separator: " ") != failed {
            lines.done.append("ran \(command.joined(separator: " "))")
        }
        return lines
    }
}

/// The unit files were written, but systemctl could not enable them (setup stops there).
public struct UnitsNotEnabled: ReportableError, Equatable {
    public let failure: BootError
    public init(failure: BootError) { self.failure = failure }
    public var exitStatus: ExitStatus { failure.exitStatus }
    public var description: String { failure.description + " (the unit files are in place but not enabled)" }
}
