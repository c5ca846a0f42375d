import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
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

    /// The built binary, through a path only root can replace (`TrustedCopy`), as an installed one is:
    /// `boot enable` and `immich guard enable` refuse to name a binary in `.build`.
    static let executable: String = {
        if let path = ProcessInfo.processInfo.environment["EXTLIB_NET_BIN"] { return path }
        return TrustedCopy.of(built)
    }()

    /// Next to the test bundle in `.build/<triple>/debug`.
    static let built: String = {
        if let path = ProcessInfo.processInfo.environment["EXTLIB_NET_BIN"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("extlib-net").path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("extlib-net").path
    }()

    /// Longer than any command may take, short of hanging the test run.
    static let limit: Duration = .seconds(120)

    /// Runs `extlib-net ARGUMENTS`, inside network namespace `namespace` when given.
    static func run(_ arguments: [String], namespace: String? = nil, input: String? = nil, environment: [String: String] = [:],
                    binary: String = executable, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Outcome {
        let command: [String] = (namespace.map { ["/usr/sbin/ip", "netns", "exec", $0] } ?? []) + [binary] + arguments
        let outcome = try await Child.run(command[0], Array(command.dropFirst()), environment: environment, input: input ?? "", timeout: limit)
        if outcome.timedOut {
            Issue.record("extlib-net \(arguments) did not end within \(limit); killed. Output: \(outcome.output) Errors: \(outcome.error)",
                         sourceLocation: sourceLocation)
        }
        return Outcome(status: outcome.status, output: outcome.output, error: outcome.error, elapsed: outcome.elapsed)
    }
}

extension CLI {
    /// The issue's margin beyond `--timeout` for the tool's own work.
    static let deadlineMargin: Duration = .milliseconds(300)

    /// Runs a command that must end within `timeout` plus the margin. Process start-up under a loaded
    /// test run is not the tool's doing, so the same command's `--help`, started at the same time,
    /// measures it and is allowed on top (for discover that start-up includes the early libsmbclient load).
    static func runBounded(_ arguments: [String], timeout: Duration, namespace: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Outcome {
        async let startup = run(Array(arguments.prefix(1)) + ["--help"], namespace: namespace)
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

/// The share names in `discover --json` output.
func shareNames(_ json: [String: Any]) throws -> [String] {
    let smb = try #require(json["smb"] as? [String: Any])
    return try #require(smb["shares"] as? [[String: Any]]).compactMap { $0["name"] as? String }
}
