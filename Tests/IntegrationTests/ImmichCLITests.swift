import Core
import Immich
import Foundation
import TestSupport
import Testing

/// Immich's API, as the test bed's stand-in models it (Tests/testbed/immich-standin; no real Immich
/// server can run here). Each test gets its own, on a free loopback port, seeing the test's --root as
/// the snap would.
final class StandIn: @unchecked Sendable {
    static let script = #filePath.components(separatedBy: "/Tests/")[0] + "/Tests/testbed/immich-standin"
    let scratch: ScratchRoot
    let state: String
    let adminKey = "adm" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
    let userKey = "usr" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
    private(set) var child: Child?
    private(set) var port = 0
    var url: String { "http://127.0.0.1:\(port)" }
    var root: [String] { ["--root", scratch.path] }

    init(configFile: Bool = false, config: String? = nil) throws {
        scratch = try ScratchRoot()
        state = scratch.path + "/.standin"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let seed = #"{"users": [{"email": "admin@example.com", "name": "Admin", "isAdmin": true, "apiKeys": ["\#(adminKey)"]}, {"email": "user@example.com", "isAdmin": false, "apiKeys": ["\#(userKey)"]}]}"#
        try seed.write(toFile: state + "/seed.json", atomically: true, encoding: .utf8)
        var extra: [String] = []
        if let config {
            try config.write(toFile: state + "/config.json", atomically: true, encoding: .utf8)
            extra = ["--config-file", state + "/config.json"]
        } else if configFile {
            extra = ["--config-file"]
        }
        try start(extra)
    }

    func start(_ extra: [String] = []) throws {
        unlink(state + "/port")
        child = try Child.start("/usr/bin/python3", [Self.script, "--listen", "127.0.0.1:\(port)", "--state", state, "--port-file", state + "/port",
                                                     "--fs-root", scratch.path] + extra, capture: .none)
        for _ in 0..<200 {
            if let text = try? String(contentsOfFile: state + "/port", encoding: .utf8), let number = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                port = number
                return
            }
            usleep(25_000)
        }
        struct NotListening: Error {}
        throw NotListening()
    }

    func stop() { child?.signal(SIGTERM); _ = child?.wait(timeout: .seconds(10)); child = nil }

    func remove() { stop(); scratch.remove() }

    /// The stand-in's whole state (test control route, no key needed).
    func dump() throws -> [String: Any] {
        let outcome = try Child.runBlocking("/usr/bin/curl", ["-sf", url + "/_standin/state"], timeout: .seconds(10))
        return try #require(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
    }

    func post(_ route: String) throws -> String {
        try Child.runBlocking("/usr/bin/curl", ["-sf", "-X", "POST", url + route], timeout: .seconds(10)).output
    }

    func config() throws -> [String: Any] { try #require(try dump()["config"] as? [String: Any]) }

    /// Immich's own scan schedule changed as an admin would in the web UI (PUT /api/system-config with the
    /// whole config); the cron expression only when given.
    func setScanSchedule(enabled: Bool, cron: String? = nil) throws {
        var config = try self.config()
        var library = try #require(config["library"] as? [String: Any])
        var scan = try #require(library["scan"] as? [String: Any])
        scan["enabled"] = enabled
        if let cron { scan["cronExpression"] = cron }
        library["scan"] = scan
        config["library"] = library
        let body = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        let put = try Child.runBlocking("/usr/bin/curl", ["-sf", "-X", "PUT", "-H", "x-api-key: \(adminKey)", "-H", "Content-Type: application/json",
                                                          "-d", body, url + "/api/system-config"], timeout: .seconds(10))
        #expect(put.status == 0, "PUT /api/system-config: \(put.error)")
    }

    func libraries() throws -> [[String: Any]] { try #require(try dump()["libraries"] as? [[String: Any]]) }

    func login() async throws {
        let outcome = try await CLI.run(["immich", "login", "--url", url, "--api-key-stdin"] + root, input: adminKey)
        #expect(outcome.status == 0, "\(outcome.error)")
    }

    func run(_ arguments: [String], input: String? = nil, binary: String = CLI.executable) async throws -> CLI.Outcome {
        let outcome = try await CLI.run(arguments + root, input: input, binary: binary)
        for key in [adminKey, userKey] {
            #expect(!outcome.output.contains(key) && !outcome.error.contains(key), "the API key leaked from \(arguments)")
        }
        return outcome
    }
}

@Suite(.serialized) struct ImmichCLITests {
    @Test func loginChecksTheKeyBeforeStoringIt() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        let file = immich.scratch.path + "/etc/extlib-net/immich"
        let wrong = try await immich.run(["immich", "login", "--url", immich.url, "--api-key-stdin", "--debug"], input: "not0the0right0key0at0all")
        #expect(wrong.status == ExitStatus.authentication.rawValue, "\(wrong.error)")
        #expect(wrong.error.contains("rejected the API key"))
        let user = try await immich.run(["immich", "login", "--url", immich.url, "--api-key-stdin"], input: immich.userKey)
        #expect(user.status == ExitStatus.authentication.rawValue)
        #expect(user.error.contains("not an Immich admin"))
        #expect(!FileManager.default.fileExists(atPath: file), "nothing stored for a key that is not an admin's")

        let ok = try await immich.run(["immich", "login", "--url", immich.url, "--api-key-stdin", "--debug"], input: immich.adminKey)
        #expect(ok.status == 0, "\(ok.error)")
        #expect(ok.output.contains("admin@example.com"))
        var info = stat()
        #expect(stat(file, &info) == 0 && info.st_mode & 0o777 == 0o600)
        let status = try await immich.run(["immich", "status", "--debug"])
        #expect(status.status == 0, "\(status.error)")
        let logout = try await immich.run(["immich", "logout"])
        #expect(logout.status == 0 && !FileManager.default.fileExists(atPath: file))
        let after = try await immich.run(["immich", "status"])
        #expect(after.status == ExitStatus.authentication.rawValue)
        #expect(after.error.contains("immich login"))
    }

    @Test func immichNotRunningIsAClearBoundedError() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        try await immich.login()
        #expect(try await immich.run(["immich", "guard", "enable", "--no-reload"]).status == 0)
        immich.stop()
        let waited = try await immich.run(["immich", "recover", "--wait", "2s"])
        #expect(waited.status == ExitStatus.unreachable.rawValue, "\(waited.error)")
        #expect(waited.elapsed >= .seconds(2) && waited.elapsed < .seconds(8), "waited \(waited.elapsed) for --wait 2s")
        let outcome = try await immich.run(["immich", "status"])
        #expect(outcome.status == ExitStatus.unreachable.rawValue)
        #expect(outcome.error.contains("snap start immich-distribution"), "\(outcome.error)")
        #expect(outcome.elapsed < .seconds(5))
        let login = try await immich.run(["immich", "login", "--url", immich.url, "--api-key-stdin"], input: immich.adminKey)
        #expect(login.status == ExitStatus.unreachable.rawValue)
    }

    @Test(arguments: [["--url", "ftp://x"], ["--url", "http://host/path"], []])
    func badLoginArguments(_ arguments: [String]) async throws {
        let outcome = try await CLI.run(["immich", "login"] + arguments + (arguments.isEmpty ? [] : ["--api-key-stdin"]))
        #expect(outcome.status == ExitStatus.usage.rawValue, "\(outcome.error)")
    }

    @Test func linkCreatesTheLibraryWithTheSnapsPathOnce() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        try await immich.login()
        #expect(try await immich.run(["add", "photos", "nfs://nas.invalid/volume1/photos"]).status == 0)
        let first = try await immich.run(["immich", "link", "photos"])
        #expect(first.status == 0, "\(first.error)")
        #expect(first.output.contains("created external library 'photos'"))
        #expect(first.output.contains("Immich checks the path: valid"), "\(first.output)")
        var libraries = try immich.libraries()
        #expect(libraries.count == 1)
        // immich status says what stands in for the share while it is away: nothing yet (never mounted).
        let status = try await immich.run(["immich", "status", "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
        let path = ((report?["libraries"] as? [[String: Any]])?.first?["importPaths"] as? [[String: Any]])?.first
        #expect((path?["placeholder"] as? [String: Any])?["state"] as? String == "none", "\(status.output)")
        #expect(try await immich.run(["immich", "status"]).output.contains("placeholder: none"))
        #expect(libraries.first?["importPaths"] as? [String] == ["/var/snap/immich-distribution/common/photos"], "the snap's path, not the --root one")
        let again = try await immich.run(["immich", "link", "photos"])
        #expect(again.status == 0)
        #expect(again.output.contains("nothing changed"))
        #expect(try immich.libraries().count == 1)

        #expect(try await immich.run(["add", "more", "smb://nas.invalid/more"]).status == 0)
        let added = try await immich.run(["immich", "link", "more", "--library", "photos"])
        #expect(added.status == 0, "\(added.error)")
        libraries = try immich.libraries()
        #expect(libraries.first?["importPaths"] as? [String] == ["/var/snap/immich-distribution/common/photos", "/root/snap/immich-distribution/common/more"])

        let unlink = try await immich.run(["immich", "unlink", "more"])
        #expect(unlink.status == 0)
        #expect(unlink.error.contains("offline"), "warns that Immich takes the assets offline")
        #expect(try immich.libraries().first?["importPaths"] as? [String] == ["/var/snap/immich-distribution/common/photos"])
        #expect(try await immich.run(["immich", "unlink", "more"]).status == ExitStatus.usage.rawValue)
        #expect(try await immich.run(["immich", "link", "ghost"]).status == ExitStatus.usage.rawValue)
        #expect(try await immich.run(["immich", "link", "photos", "--library", "nope"]).status == ExitStatus.usage.rawValue)
    }

    @Test func guardSwitchesOnlyTheScheduleOffAndDisableRestoresIt() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        try await immich.login()
        let before = try immich.config()
        let enable = try await immich.run(["immich", "guard", "enable", "--no-reload"])
        #expect(enable.status == 0, "\(enable.error)")
        var after = try immich.config()
        var library = try #require(after["library"] as? [String: Any])
        #expect((library["scan"] as? [String: Any])?["enabled"] as? Bool == false)
        library["scan"] = (before["library"] as? [String: Any])?["scan"]
        after["library"] = library
        #expect(NSDictionary(dictionary: after).isEqual(to: before), "nothing but library.scan.enabled changed")
        let timer = try String(contentsOfFile: immich.scratch.path + GuardUnits.timerPath, encoding: .utf8)
        #expect(timer.contains("OnCalendar=*-*-* 00:00:00"))
        let service = try String(contentsOfFile: immich.scratch.path + GuardUnits.servicePath, encoding: .utf8)
        #expect(service.contains("immich scan --all"))
        #expect(FileManager.default.fileExists(atPath: immich.scratch.path + GuardUnits.recoverPath))
        let recover = try await immich.run(["immich", "recover", "--wait", "5s"])
        #expect(recover.status == 0, "\(recover.error)")
        #expect(recover.output.contains("nothing to rescan"))

        // Someone switches Immich's own schedule back on (the web UI): the next guarded scan switches it off again.
        try immich.setScanSchedule(enabled: true)
        #expect(try await immich.run(["immich", "scan", "--all"]).status == 0)
        #expect(((try immich.config()["library"] as? [String: Any])?["scan"] as? [String: Any])?["enabled"] as? Bool == false, "switched off again")
        let notices = try #require(try immich.dump()["notifications"] as? [[String: Any]])
        #expect(notices.contains { ($0["title"] as? String)?.contains("switched on again") == true })

        // Enabling again must not remember the "off" the guard made.
        #expect(try await immich.run(["immich", "guard", "enable", "--no-reload"]).status == 0)
        let status = try await immich.run(["immich", "guard", "status", "--json"])
        #expect(status.status == 0)
        let json = try status.json()
        #expect(json["on"] as? Bool == true)
        #expect((json["remembered"] as? [String: Any])?["enabled"] as? Bool == true)

        let disable = try await immich.run(["immich", "guard", "disable", "--no-reload"])
        #expect(disable.status == 0, "\(disable.error)")
        #expect(NSDictionary(dictionary: try immich.config()).isEqual(to: before), "exactly as it was")
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + GuardUnits.timerPath))
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + GuardUnits.recoverPath))
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + "/etc/extlib-net/immich-guard"))
        #expect(try await immich.run(["immich", "guard", "disable", "--no-reload"]).output.contains("not on"))
    }

    /// The guard's timer runs the binary as root: one in `.build` is refused before Immich or any file changes.
    @Test func guardRefusesABinaryInTheBuildFolder() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        try await immich.login()
        let before = try immich.config()
        let refused = try await immich.run(["immich", "guard", "enable", "--every", "6h", "--no-reload"], binary: CLI.built)
        #expect(refused.status == ExitStatus.usage.rawValue, "\(refused.error)")
        #expect(refused.error.contains("build folder (.build)") && refused.error.contains("scripts/install"), "\(refused.error)")
        #expect(NSDictionary(dictionary: try immich.config()).isEqual(to: before), "Immich's settings unchanged")
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + "/etc/extlib-net/immich-guard"))
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + GuardUnits.timerPath))
    }

    @Test func aScheduleSystemdCannotSayNeedsEvery() async throws {
        let config = #"{"library": {"scan": {"enabled": true, "cronExpression": "0 0 1 * 1"}, "watch": {"enabled": true}}}"#
        let immich = try StandIn(config: config)
        defer { immich.remove() }
        try await immich.login()
        let refused = try await immich.run(["immich", "guard", "enable", "--no-reload"])
        #expect(refused.status == ExitStatus.usage.rawValue)
        #expect(refused.error.contains("--every"), "\(refused.error)")
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + "/etc/extlib-net/immich-guard"), "nothing remembered")
        // The config file makes Immich's settings read-only: a clear refusal, nothing left behind.
        let readOnly = try await immich.run(["immich", "guard", "enable", "--every", "6h", "--no-reload"])
        #expect(readOnly.status == ExitStatus.refused.rawValue, "\(readOnly.error)")
        #expect(readOnly.error.contains("IMMICH_CONFIG_FILE"))
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + "/etc/extlib-net/immich-guard"))
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + GuardUnits.timerPath))
    }

    /// Folder watching would remove the assets of a share swapped for its placeholder: the guard switches
    /// it off with the schedule, a scan switches it off again if someone turned it on, and disable gives
    /// back exactly what was there.
    @Test func theGuardSwitchesFolderWatchingOffAndGivesItBack() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        try await immich.login()
        func settings() throws -> (scan: Bool?, watch: Bool?) {
            let library = try immich.config()["library"] as? [String: Any]
            return ((library?["scan"] as? [String: Any])?["enabled"] as? Bool, (library?["watch"] as? [String: Any])?["enabled"] as? Bool)
        }
        /// Turns Immich's folder watching on, as an admin would in the web UI (the whole config, as Immich wants it).
        func watchOn() throws {
            var config = try immich.config()
            var library = try #require(config["library"] as? [String: Any])
            library["watch"] = ["enabled": true]
            config["library"] = library
            let body = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
            let put = try Child.runBlocking("/usr/bin/curl", ["-sf", "-X", "PUT", "-H", "x-api-key: \(immich.adminKey)", "-H", "Content-Type: application/json",
                                                          "-d", body, immich.url + "/api/system-config"], timeout: .seconds(10))
            #expect(put.status == 0, "\(put.error)")
        }
        try watchOn()
        let before = try settings()
        #expect(before.watch == true && before.scan == true)
        let enable = try await immich.run(["immich", "guard", "enable", "--every", "6h", "--no-reload"])
        #expect(enable.status == 0, "\(enable.error)")
        #expect(enable.output.contains("folder watching was on and is off now"), "\(enable.output)")
        #expect(try settings() == (false, false))

        // Someone turns watching on again: the next scan switches it off again.
        try watchOn()
        _ = try await immich.run(["immich", "scan", "--all"])
        #expect(try settings() == (false, false))

        let disable = try await immich.run(["immich", "guard", "disable", "--no-reload"])
        #expect(disable.status == 0, "\(disable.error)")
        #expect(try settings() == (true, true), "Immich's own settings, exactly as they were")

        // A guard enabled by 0.3.0 remembered watching on but never changed it; the admin then turned it off,
        // as 0.3.0 advised. Disabling that guard gives the schedule back and leaves watching off.
        #expect(try await immich.run(["immich", "guard", "enable", "--every", "6h", "--no-reload"]).status == 0)
        #expect(try settings() == (false, false))
        let record = immich.scratch.path + "/etc/extlib-net/immich-guard"
        let old = #"{"everySeconds":21600,"remembered":{"cronExpression":"0 3 * * *","enabled":true,"watchEnabled":true}}"#
        try FileManager.default.removeItem(atPath: record)
        #expect(FileManager.default.createFile(atPath: record, contents: Data(old.utf8), attributes: [.posixPermissions: 0o600]))
        #expect(try await immich.run(["immich", "guard", "disable", "--no-reload"]).status == 0)
        #expect(try settings() == (true, false), "watching stays as the admin left it")
    }

    @Test func everyAndTheWatchWarning() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        try await immich.login()
        let enable = try await immich.run(["immich", "guard", "enable", "--every", "6h", "--no-reload"])
        #expect(enable.status == 0, "\(enable.error)")
        let timer = try String(contentsOfFile: immich.scratch.path + GuardUnits.timerPath, encoding: .utf8)
        #expect(timer.contains("OnUnitActiveSec=6h"))
        #expect(try await immich.run(["immich", "guard", "enable", "--every", "5s", "--no-reload"]).status == ExitStatus.usage.rawValue)
        #expect(try await immich.run(["immich", "guard", "enable", "--every", "soon"]).status == ExitStatus.usage.rawValue)
    }

    @Test func scanSkipsALibraryWhoseShareIsAwayAndTellsTheAdminsOnce() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        try await immich.login()
        #expect(try await immich.run(["add", "photos", "nfs://nas.invalid/volume1/photos"]).status == 0)
        #expect(try await immich.run(["immich", "link", "photos"]).status == 0)
        // A library of the user's own folder (no extlib-net share), with a photo in it.
        let own = immich.scratch.path + "/srv/own"
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: own + "/a.jpg", contents: Data([0xFF, 0xD8]))
        #expect(try await immich.run(["add", "own", "nfs://nas.invalid/x", "--sandbox", "root"]).status == 0)
        let created = try Child.runBlocking("/usr/bin/curl", ["-sf", "-H", "x-api-key: \(immich.adminKey)", "-H", "Content-Type: application/json", "-d",
                                                          #"{"ownerId": "\#(try adminID(immich))", "name": "own", "importPaths": ["/srv/own"]}"#, immich.url + "/api/libraries"], timeout: .seconds(10))
        #expect(created.status == 0)

        for round in 1...2 {
            let scan = try await immich.run(["immich", "scan", "--all"])
            #expect(scan.status == ExitStatus.skipped.rawValue, "round \(round): \(scan.error)")
            #expect(scan.output.contains("photos: SKIPPED"), "\(scan.output)")
            #expect(scan.output.contains("share 'photos' is not mounted"))
            #expect(scan.output.contains("own: scan started"))
        }
        let state = try immich.dump()
        let notices = try #require(state["notifications"] as? [[String: Any]])
        #expect(notices.count == 1, "one notice per outage, not one per run: \(notices)")
        #expect(notices.first?["level"] as? String == "warning")
        let libraries = try #require(state["libraries"] as? [[String: Any]])
        #expect(libraries.first { $0["name"] as? String == "photos" }?["scanCount"] as? Int ?? 0 == 0, "the away library was never scanned")
        #expect(libraries.first { $0["name"] as? String == "own" }?["scanCount"] as? Int == 2)
        let one = try await immich.run(["immich", "scan", "own"])
        #expect(one.status == 0, "\(one.error)")
        #expect(try await immich.run(["immich", "scan", "nope"]).status == ExitStatus.usage.rawValue)
        #expect(try await immich.run(["immich", "scan"]).status == ExitStatus.usage.rawValue)
    }

    @Test func doctorChecksTheConnectionTheLinksAndTheGuard() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        #expect(try await immich.run(["add", "photos", "nfs://nas.invalid/volume1/photos"]).status == 0)
        let unconnected = try await immich.run(["doctor"])
        #expect(unconnected.output.contains("[WARN] immich: API connection"), "\(unconnected.output)")
        try await immich.login()
        let before = try await immich.run(["doctor"])
        #expect(before.output.contains("[PASS] immich: API connection"), "\(before.output)")
        #expect(before.output.contains("[WARN] photos: linked in Immich"))
        #expect(before.output.contains("fix: extlib-net immich link photos"))
        #expect(before.output.contains("[FAIL] immich: scan guard"), "Immich's own schedule on, guard off: the dangerous state")
        #expect(before.status == ExitStatus.checkFailed.rawValue)
        #expect(try await immich.run(["immich", "link", "photos"]).status == 0)
        #expect(try await immich.run(["immich", "guard", "enable", "--no-reload"]).status == 0)
        let after = try await immich.run(["doctor", "--json"])
        let findings = try #require(try after.json()["findings"] as? [[String: Any]])
        func verdict(_ subject: String, _ check: String) -> String? {
            findings.first { $0["subject"] as? String == subject && $0["check"] as? String == check }?["verdict"] as? String
        }
        #expect(verdict("photos", "linked in Immich") == "pass")
        #expect(verdict("immich", "scan guard") == "pass")
        #expect(verdict("immich", "folder watching") == "pass")
    }

    func adminID(_ immich: StandIn) throws -> String {
        let users = try #require(try immich.dump()["users"] as? [[String: Any]])
        return try #require(users.first { $0["isAdmin"] as? Bool == true }?["id"] as? String)
    }
}
