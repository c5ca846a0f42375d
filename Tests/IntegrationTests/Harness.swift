import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Subprocess
import SystemPackage
import Testing

/// The built `extlib-net`, run as users run it.
enum CLI {
    struct Outcome {
        let status: Int32
        let output: String
        let error: String
        let elapsed: Duration

        /// `--json` output, parsed.
        func json() throws -> [String: Any] {
            let object = try JSONSerialization.jsonObject(with: Data(output.utf8))
            return try #require(object as? [String: Any], "not a JSON object: \(output)")
        }
    }

    /// Next to the test bundle in `.build/<triple>/debug`.
    static let executable: String = {
        if let path = ProcessInfo.processInfo.environment["EXTLIB_NET_BIN"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("extlib-net").path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("extlib-net").path
    }()

    /// The crash test writes passwords to a pipe of a child it may kill: EPIPE, not death by SIGPIPE.
    static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Runs `extlib-net ARGUMENTS`, inside network namespace `namespace` when given.
    static func run(_ arguments: [String], namespace: String? = nil, input: String? = nil, environment: [String: String] = [:]) async throws -> Outcome {
        let command: [String] = (namespace.map { ["/usr/sbin/ip", "netns", "exec", $0] } ?? []) + [executable] + arguments
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
        let started = ContinuousClock.now
        // Standard input is a file, not a pipe: a command may rightly exit before reading it (a usage
        // error), and a pipe write would then fail with EPIPE, which swift-subprocess does not survive.
        let inputFile = try FileDescriptor.temporaryInput(input ?? "")
        let result = try await Subprocess.run(
            .path(FilePath(command[0])), arguments: Arguments(Array(command.dropFirst())),
            environment: .inherit.updating(updates),
            input: .fileDescriptor(inputFile, closeAfterSpawningProcess: true), output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        let elapsed = ContinuousClock.now - started
        guard case .exited(let code) = result.terminationStatus else {
            Issue.record("extlib-net \(arguments) ended by \(result.terminationStatus)")
            return Outcome(status: -1, output: result.standardOutput, error: result.standardError, elapsed: elapsed)
        }
        return Outcome(status: code, output: result.standardOutput, error: result.standardError, elapsed: elapsed)
    }
}

extension CLI {
    /// The issue's margin beyond `--timeout` for the tool's own work.
    static let deadlineMargin: Duration = .milliseconds(300)

    /// Runs a command that must end within `timeout` plus the margin. Process start-up under a loaded
    /// test run is not the tool's doing, so a `--help` run started at the same time measures it and is
    /// allowed on top.
    static func runBounded(_ arguments: [String], timeout: Duration, namespace: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Outcome {
        async let startup = run(["--help"], namespace: namespace)
        let outcome = try await run(arguments, namespace: namespace)
        let overhead = try await startup.elapsed
        let limit = timeout + deadlineMargin + overhead
        #expect(outcome.elapsed <= limit, "took \(outcome.elapsed), limit \(limit) (start-up \(overhead))", sourceLocation: sourceLocation)
        return outcome
    }
}

/// The servers started by `Tests/testbed/testbed up`; see Tests/testbed/README.md.
enum Testbed {
    static let stateDirectory = ProcessInfo.processInfo.environment["EXTLIB_NET_TESTBED"]

    static let values: [String: String] = {
        guard let stateDirectory, let text = try? String(contentsOfFile: stateDirectory + "/env", encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            var value = String(line[line.index(after: equals)...])
            if value.count >= 2, value.first == "'" || value.first == "\"", value.last == value.first { value = String(value.dropFirst().dropLast()) }
            values[String(line[..<equals])] = value
        }
        return values
    }()

    static var isUp: Bool { !values.isEmpty }

    static func value(_ key: String) throws -> String {
        try #require(values[key], "testbed env has no \(key)")
    }

    static func password() throws -> String {
        try String(contentsOfFile: try value("SMB_PASSWORD_FILE"), encoding: .utf8)
    }
}

extension FileDescriptor {
    /// An unlinked temporary file holding `text`, open for reading from its start.
    static func temporaryInput(_ text: String) throws -> FileDescriptor {
        var template = Array("/tmp/extlib-net-input.XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        unlink(template)
        let descriptor = FileDescriptor(rawValue: fd)
        _ = try descriptor.writeAll(Array(text.utf8))
        _ = try descriptor.seek(offset: 0, from: .start)
        return descriptor
    }
}

/// The share names in `discover --json` output.
func shareNames(_ json: [String: Any]) throws -> [String] {
    let smb = try #require(json["smb"] as? [String: Any])
    return try #require(smb["shares"] as? [[String: Any]]).compactMap { $0["name"] as? String }
}
