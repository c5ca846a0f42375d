import Immich
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `immich guard enable|disable` are journaled: whatever fails, Immich's own schedule is never lost and
/// one of the two commands completes what is left. Failures are real: a tmpfs out of inodes for a unit
/// write that fails half-way, and the stand-in's proxy answers (a 502 after Immich applied a change, a
/// 503 in front of it).
@Suite(.serialized) struct GuardJournalTests {
    static let threeAM = "0 3 * * *"

    /// Immich with its own schedule at 03:00, logged in.
    static func immich() async throws -> StandIn {
        let immich = try StandIn()
        try await immich.login()
        try immich.setScanSchedule(enabled: true, cron: threeAM)
        return immich
    }

    static func schedule(_ immich: StandIn) throws -> (enabled: Bool?, cron: String?) {
        let scan = (try immich.config()["library"] as? [String: Any])?["scan"] as? [String: Any]
        return (scan?["enabled"] as? Bool, scan?["cronExpression"] as? String)
    }

    static func faults(_ immich: StandIn, _ json: String) throws {
        let outcome = try Child.runBlocking("/usr/bin/curl", ["-sf", "-X", "POST", "-H", "Content-Type: application/json", "-d", json, immich.url + "/_standin/faults"],
                                            timeout: .seconds(10))
        #expect(outcome.status == 0, "the stand-in took the faults: \(outcome.error)")
    }

    /// The unit folder on a tmpfs with room for two files: the third unit's write fails with ENOSPC.
    static func fullUnitFolder(_ immich: StandIn) throws -> String {
        let folder = immich.scratch.path + "/etc/systemd/system"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let outcome = try Child.runBlocking("/bin/mount", ["-t", "tmpfs", "-o", "nr_inodes=3,size=1m,mode=0755", "tmpfs", folder], timeout: .seconds(10))
        try #require(outcome.status == 0, "mount tmpfs: \(outcome.error)")
        return folder
    }

    static func release(_ folder: String) { _ = try? Child.runBlocking("/bin/umount", ["-l", folder], timeout: .seconds(10)) }

    var recordPath: (StandIn) -> String = { $0.scratch.path + "/etc/extlib-net/immich-guard" }

    /// The PUT that switches Immich's schedule off is applied, but a proxy answers 502: enable reads the
    /// config again, sees it applied, and finishes; so does disable.
    @Test func aLostAnswerIsSettledByReadingTheConfigAgain() async throws {
        let immich = try await Self.immich()
        defer { immich.remove() }
        try Self.faults(immich, #"[{"method": "PUT", "path": "/api/system-config", "status": 502, "mode": "apply-then-fail", "count": 1}]"#)
        let enable = try await immich.run(["immich", "guard", "enable", "--no-reload"])
        #expect(enable.status == 0, "\(enable.error)")
        #expect(try Self.schedule(immich).enabled == false)
        let status = try await immich.run(["immich", "guard", "status", "--json"])
        #expect(try status.json()["on"] as? Bool == true)
        #expect(try status.json()["unfinished"] is NSNull)

        try Self.faults(immich, #"[{"method": "PUT", "path": "/api/system-config", "status": 504, "mode": "apply-then-fail", "count": 1}]"#)
        let disable = try await immich.run(["immich", "guard", "disable", "--no-reload"])
        #expect(disable.status == 0, "\(disable.error)")
        #expect(try Self.schedule(immich) == (true, Self.threeAM))
        #expect(!FileManager.default.fileExists(atPath: recordPath(immich)))
    }

    /// A PUT a proxy refused changed nothing: enable fails, and leaves no record and no unit.
    @Test func aRefusedSwitchLeavesEverythingAsItWas() async throws {
        let immich = try await Self.immich()
        defer { immich.remove() }
        try Self.faults(immich, #"[{"method": "PUT", "path": "/api/system-config", "status": 502, "mode": "refuse", "count": 1}]"#)
        let enable = try await immich.run(["immich", "guard", "enable", "--no-reload"])
        #expect(enable.status != 0)
        #expect(enable.error.contains("502"), "\(enable.error)")
        #expect(try Self.schedule(immich) == (true, Self.threeAM))
        #expect(!FileManager.default.fileExists(atPath: recordPath(immich)))
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + GuardUnits.timerPath))
    }

    /// Disk full after Immich's schedule was switched off: the units written are removed again, Immich
    /// gets '0 3 * * *' back (read back to check), and the record goes. Before, the service and timer
    /// stayed behind while guard status said off.
    @Test func aUnitWriteThatFailsGivesImmichItsScheduleBack() async throws {
        let immich = try await Self.immich()
        defer { immich.remove() }
        let folder = try Self.fullUnitFolder(immich)
        defer { Self.release(folder) }
        let enable = try await immich.run(["immich", "guard", "enable", "--no-reload"])
        #expect(enable.status != 0)
        #expect(enable.error.contains("No space left") || enable.error.contains("space"), "\(enable.error)")
        #expect(try Self.schedule(immich) == (true, Self.threeAM), "Immich's own schedule is back")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty, "no unit left behind")
        #expect(!FileManager.default.fileExists(atPath: recordPath(immich)))
    }

    /// A unit folder reached through a link is refused before Immich's schedule is touched, by the same
    /// preflight the unit installation runs, and the message says the folder is a link. Before, the guard's
    /// own copy of the checks said a unit file that does not exist "was not written by extlib-net".
    @Test func aLinkedUnitFolderStopsEnableBeforeImmichChanges() async throws {
        let immich = try await Self.immich()
        defer { immich.remove() }
        let elsewhere = immich.scratch.path + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere + "/system", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: immich.scratch.path + "/etc", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: immich.scratch.path + "/etc/systemd", withDestinationPath: elsewhere)
        try Self.faults(immich, #"[{"method": "PUT", "path": "/api/system-config", "status": 503, "mode": "refuse", "count": 5, "after": 1}]"#)
        let enable = try await immich.run(["immich", "guard", "enable", "--no-reload"])
        #expect(enable.status != 0)
        #expect(enable.error.contains("/etc/systemd"), "names the folder: \(enable.error)")
        #expect(enable.error.contains("link"), "says the folder is a link, not that a file is foreign: \(enable.error)")
        #expect(try Self.schedule(immich) == (true, Self.threeAM), "Immich's schedule was never changed")
        #expect(!FileManager.default.fileExists(atPath: recordPath(immich)), "no record")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere + "/system").isEmpty, "nothing written through the link")
    }

    /// Disk full, and then Immich does not take its schedule back (503): the record stays, says which
    /// command finishes, and `guard disable` later gives Immich exactly '0 3 * * *' back. Before, the
    /// record was deleted and Immich's cron lost for good.
    @Test func aFailedRestoreKeepsTheRecordAndDisableFinishes() async throws {
        let immich = try await Self.immich()
        defer { immich.remove() }
        let folder = try Self.fullUnitFolder(immich)
        defer { Self.release(folder) }
        try Self.faults(immich, #"[{"method": "PUT", "path": "/api/system-config", "status": 503, "mode": "refuse", "count": 5, "after": 1}]"#)
        let enable = try await immich.run(["immich", "guard", "enable", "--no-reload"])
        #expect(enable.status != 0)
        #expect(enable.error.contains("guard disable") && enable.error.contains("guard enable"), "names the commands that finish: \(enable.error)")
        #expect(!enable.error.contains("boot enable"), "\(enable.error)")
        #expect(try Self.schedule(immich).enabled == false, "the restore was refused")
        #expect(FileManager.default.fileExists(atPath: recordPath(immich)), "the record keeps Immich's schedule")
        let status = try await immich.run(["immich", "guard", "status", "--json"])
        let json = try status.json()
        #expect(json["on"] as? Bool == false)
        #expect(json["unfinished"] as? String == "enable")
        #expect((json["remembered"] as? [String: Any])?["cronExpression"] as? String == Self.threeAM)
        let text = try await immich.run(["immich", "guard", "status"])
        #expect(text.output.contains("did not finish"), "\(text.output)")

        try Self.faults(immich, "[]")
        Self.release(folder)
        let disable = try await immich.run(["immich", "guard", "disable", "--no-reload"])
        #expect(disable.status == 0, "\(disable.error)")
        #expect(try Self.schedule(immich) == (true, Self.threeAM))
        #expect(!FileManager.default.fileExists(atPath: recordPath(immich)))
    }

    /// A disable whose restore is refused keeps the record (phase disabling) and the units; running it
    /// again finishes.
    @Test func aDisableThatFailsIsFinishedByRunningItAgain() async throws {
        let immich = try await Self.immich()
        defer { immich.remove() }
        #expect(try await immich.run(["immich", "guard", "enable", "--no-reload"]).status == 0)
        try Self.faults(immich, #"[{"method": "PUT", "path": "/api/system-config", "status": 503, "mode": "refuse", "count": 1}]"#)
        let first = try await immich.run(["immich", "guard", "disable", "--no-reload"])
        #expect(first.status != 0)
        #expect(first.error.contains("guard disable again"), "\(first.error)")
        #expect(FileManager.default.fileExists(atPath: recordPath(immich)))
        #expect(FileManager.default.fileExists(atPath: immich.scratch.path + GuardUnits.timerPath), "the guarded scan keeps running meanwhile")
        let status = try await immich.run(["immich", "guard", "status", "--json"])
        #expect(try status.json()["unfinished"] as? String == "disable")
        let again = try await immich.run(["immich", "guard", "disable", "--no-reload"])
        #expect(again.status == 0, "\(again.error)")
        #expect(try Self.schedule(immich) == (true, Self.threeAM))
        #expect(!FileManager.default.fileExists(atPath: immich.scratch.path + GuardUnits.timerPath))
    }

    /// HAProxy answers 503 while immich-server starts: recover waits through it within --wait.
    @Test func recoverWaitsThroughAProxysUnavailableAnswers() async throws {
        let immich = try await Self.immich()
        defer { immich.remove() }
        #expect(try await immich.run(["immich", "guard", "enable", "--no-reload"]).status == 0)
        try Self.faults(immich, #"[{"method": "GET", "path": "/api/server/ping", "status": 503, "mode": "refuse", "count": 2}]"#)
        let recover = try await immich.run(["immich", "recover", "--wait", "30s"])
        #expect(recover.status == 0, "\(recover.error)")
        #expect(recover.output.contains("nothing to rescan"), "\(recover.output)")
        let pings = try #require(try immich.dump()["requests"] as? [[String: Any]]).filter { ($0["path"] as? String) == "/api/server/ping" }
        #expect(pings.count >= 1)
        // Beyond --wait it still gives up, with the proxy's answer.
        try Self.faults(immich, #"[{"method": "GET", "path": "/api/server/ping", "status": 503, "mode": "refuse", "count": 100}]"#)
        let late = try await immich.run(["immich", "recover", "--wait", "3s"])
        #expect(late.status != 0)
        #expect(late.error.contains("503"), "\(late.error)")
    }

    /// A slow Immich (3 s for each scan request, three libraries): `immich scan` holds the mount lock for
    /// one library's check and scan at a time, so a heal started meanwhile gets in between two libraries
    /// instead of waiting out the whole run (which held the lock for all of it, about 80 s with 12 libraries
    /// at 3 s a request, and made the heal timer give up after its 60 s).
    @Test func aSlowScanRunLetsHealInBetweenLibraries() async throws {
        let immich = try StandIn()
        defer { immich.remove() }
        try await immich.login()
        let users = try #require(try immich.dump()["users"] as? [[String: Any]])
        let admin = try #require(users.first { $0["isAdmin"] as? Bool == true }?["id"] as? String)
        for index in 1...3 {
            let folder = immich.scratch.path + "/srv/photos\(index)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: folder + "/a.jpg", contents: Data([0xFF, 0xD8])))
            let body = #"{"ownerId": "\#(admin)", "name": "lib\#(index)", "importPaths": ["/srv/photos\#(index)"]}"#
            let created = try Child.runBlocking("/usr/bin/curl", ["-sf", "-X", "POST", "-H", "x-api-key: \(immich.adminKey)", "-H", "Content-Type: application/json",
                                                                  "-d", body, immich.url + "/api/libraries"], timeout: .seconds(10))
            #expect(created.status == 0, "\(created.error)")
        }
        #expect(try await immich.run(["add", "photos", "nfs://127.0.0.1/photos"]).status == 0)
        try Self.faults(immich, #"[{"method": "POST", "path": "/api/libraries/", "prefix": true, "mode": "delay", "seconds": 3, "count": 3}]"#)
        let clock = ContinuousClock()
        let start = clock.now
        async let scan = immich.run(["immich", "scan", "--all"])
        try await Task.sleep(for: .seconds(1))
        let healStart = clock.now
        let heal = try await immich.run(["heal", "photos"])
        let healTook = clock.now - healStart
        let scanned = try await scan
        let scanTook = clock.now - start
        #expect(scanned.status == 0, "\(scanned.output) \(scanned.error)")
        #expect(scanned.output.components(separatedBy: "scan started").count - 1 == 3, "\(scanned.output)")
        #expect(heal.status == 0, "\(heal.error)")
        #expect(scanTook >= .seconds(9), "the three scan requests took \(scanTook)")
        #expect(healTook < .seconds(6), "heal waited \(healTook) for the mount lock")
    }

    /// A scan that finds Immich's schedule switched on again switches it off only while no guard enable or
    /// disable runs (they hold the guard lock): otherwise a scan could undo a disable that ran between its
    /// read and its write, leaving Immich without its schedule and without a record.
    @Test func aScanDoesNotSwitchTheScheduleOffWhileTheGuardLockIsHeld() async throws {
        let immich = try await Self.immich()
        defer { immich.remove() }
        #expect(try await immich.run(["immich", "guard", "enable", "--no-reload"]).status == 0)
        try immich.setScanSchedule(enabled: true)
        let holder = try Child.start("/usr/bin/flock", ["-x", immich.scratch.path + "/run/extlib-net-guard.lock", "sleep", "30"], capture: .none)
        defer { holder.signal(SIGTERM); _ = holder.wait(timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await immich.run(["immich", "scan", "--all"]).status == 0)
        #expect(try Self.schedule(immich).enabled == true, "switched off while the lock was held")
        holder.signal(SIGTERM)
        _ = holder.wait(timeout: .seconds(10))
        #expect(try await immich.run(["immich", "scan", "--all"]).status == 0)
        #expect(try Self.schedule(immich).enabled == false, "switched off again once the lock was free")
    }

    /// A record with a phase this version does not know (a newer one, a hand edit) reads as unfinished:
    /// guard disable completes it.
    @Test func anUnknownPhaseIsFinishedByDisable() async throws {
        let immich = try await Self.immich()
        defer { immich.remove() }
        #expect(try await immich.run(["immich", "guard", "enable", "--no-reload"]).status == 0)
        let text = try String(contentsOfFile: recordPath(immich), encoding: .utf8).replacingOccurrences(of: "\"on\"", with: "\"paused\"")
        #expect(text.contains("paused"))
        try text.write(toFile: recordPath(immich), atomically: true, encoding: .utf8)
        chmod(recordPath(immich), 0o600)
        let status = try await immich.run(["immich", "guard", "status", "--json"])
        #expect(try status.json()["unfinished"] as? String == "enable", "\(status.output) \(status.error)")
        #expect(try await immich.run(["immich", "guard", "disable", "--no-reload"]).status == 0)
        #expect(try Self.schedule(immich) == (true, Self.threeAM))
    }

    /// Immich restarted with IMMICH_CONFIG_FILE after the guard went on: disable cannot give the schedule
    /// back through the API, keeps the record, and says what to put in that file.
    @Test func aReadOnlyConfigSaysWhatToPutInTheFile() async throws {
        let immich = try await Self.immich()
        defer { immich.remove() }
        #expect(try await immich.run(["immich", "guard", "enable", "--no-reload"]).status == 0)
        immich.stop()
        try immich.start(["--config-file"])
        let disable = try await immich.run(["immich", "guard", "disable", "--no-reload"])
        #expect(disable.status != 0)
        #expect(disable.error.contains("library.scan.cronExpression to '0 3 * * *'") && disable.error.contains("guard disable again"), "\(disable.error)")
        #expect(FileManager.default.fileExists(atPath: recordPath(immich)), "the record keeps Immich's schedule")
    }
}
