import Foundation
import Logging
import Testing
@testable import System
@testable import Formats
@testable import Mounting
@testable import Immich

@Suite struct CronScheduleTests {
    @Test(arguments: [
        ("0 0 * * *", "*-*-* 00:00:00"),
        ("30 2 * * *", "*-*-* 02:30:00"),
        ("0 */6 * * *", "*-*-* 00/6:00:00"),
        ("15,45 1-5 * * *", "*-*-* 01..05:15,45:00"),
        ("0 3 * * 1-5", "Mon,Tue,Wed,Thu,Fri *-*-* 03:00:00"),
        ("0 3 * * 0-2", "Mon,Tue,Sun *-*-* 03:00:00"),
        ("0 3 * * 5-7", "Fri,Sat,Sun *-*-* 03:00:00"),
        ("0 3 * * 0,6", "Sat,Sun *-*-* 03:00:00"),
        ("0 3 * * 0-6", "Mon,Tue,Wed,Thu,Fri,Sat,Sun *-*-* 03:00:00"),
        ("0 3 * * SUN", "Sun *-*-* 03:00:00"),
        ("0 3 * * 7", "Sun *-*-* 03:00:00"),
        ("0 0 1 * *", "*-*-01 00:00:00"),
        ("0 0 1 JAN *", "*-01-01 00:00:00"),
        ("10 0 0 * * *", "*-*-* 00:00:10"),
        ("0 0 1-10/3 * *", "*-*-01..10/3 00:00:00"),
        ("@daily", "*-*-* 00:00:00"),
        ("@hourly", "*-*-* *:00:00"),
        ("@weekly", "Sun *-*-* 00:00:00"),
    ])
    func converts(_ cron: String, _ calendar: String) throws {
        #expect(try CronSchedule.onCalendar(cron) == calendar)
    }

    @Test(arguments: ["", "0 0 * *", "0 0 * * * * *", "60 0 * * *", "0 24 * * *", "0 0 32 * *", "0 0 * 13 *", "0 0 1 * 1",
                      "0 0 * * 1/2", "x 0 * * *", "0 0 * * 8", "5-1 * * * *", "*/0 * * * *", "0 0 * * *\n[Service]", "0\u{0} 0 * * *",
                      "L 0 * * *", "0 0 ? * MON#2", String(repeating: "1,", count: 200) + "1 * * * *"])
    func refusesWhatSystemdCannotSayExactly(_ cron: String) {
        #expect(throws: CronSchedule.Unconvertible.self) { try CronSchedule.onCalendar(cron) }
    }

    /// Random text never crashes it, and whatever it returns is safe in a unit file.
    @Test func randomExpressionsGiveSafeOutputOrAnError() {
        var generator = SeededGenerator(state: 0x1234_5678)
        let alphabet = Array("0123456789*/,-? \t@LW#MONSUNJA\n\u{0}x")
        // Random characters alone never made a valid expression (0 of 20000): most rounds build five or so
        // fields from the pieces cron has, with a random piece now and then.
        func number(_ range: ClosedRange<Int>) -> String { String(Int.random(in: range, using: &generator)) }
        func field() -> String {
            switch Int.random(in: 0..<8, using: &generator) {
            case 0: return "*"
            case 1: return "*/" + number(1...30)
            case 2: return number(0...59)
            case 3: return number(0...12) + "-" + number(0...31)
            case 4: return number(0...23) + "," + number(0...59)
            case 5: return number(0...6) + "-" + number(0...7) + "/" + number(1...3)
            case 6: return String((0..<Int.random(in: 0...4, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            default: return number(0...7)
            }
        }
        var converted = 0
        for round in 0..<20_000 {
            let text = round % 4 == 0
                ? String((0..<Int.random(in: 0...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
                : (0..<Int.random(in: 4...6, using: &generator)).map { _ in field() }.joined(separator: " ")
            if let calendar = try? CronSchedule.onCalendar(text) {
                converted += 1
                #expect(calendar.unicodeScalars.allSatisfy { "0123456789*-:., /MonTueWdhFriSatSun".unicodeScalars.contains($0) }, "\(text) -> \(calendar)")
                #expect(!calendar.contains("Sun.."), "systemd ranges run Monday to Sunday: \(text) -> \(calendar)")
            }
        }
        // The checks above ran: a generator that made no valid expression would pass them vacuously.
        #expect(converted >= CountedMinimum.cron, "only \(converted) of 20000 random expressions converted")
    }
}

@Suite struct ImmichConnectionTests {
    @Test func urlsAreSchemeHostAndPortOnly() throws {
        #expect(try ImmichURL.parse("http://127.0.0.1:3001").description == "http://127.0.0.1:3001")
        #expect(try ImmichURL.parse("http://localhost:3001/api/").description == "http://localhost:3001")
        #expect(try ImmichURL.parse("https://photos.example.lan").description == "https://photos.example.lan:443")
        #expect(try ImmichURL.parse("http://[::1]:3001").description == "http://[::1]:3001")
        for bad in ["127.0.0.1:3001", "ftp://x", "http://", "http://a b", "http://user:pw@host", "http://host:0", "http://host:99999",
                    "http://host/path", "http://host?x", "http://ho\nst", "http://[::1"] {
            #expect(throws: ImmichError.self, "\(bad)") { try ImmichURL.parse(bad) }
        }
    }

    @Test func keysThatCouldBreakAHeaderAreRefused() throws {
        try ImmichConnection.checkKey("Hn3mK0qv5C2m1b7XyZ8dA4fG6hJ9kL0pQ1rS2tU3")
        for bad in ["short", "with space in the middle of it", "line\nbreak0123456789", "ümlaut0123456789abcd", String(repeating: "a", count: 600)] {
            #expect(throws: ImmichError.self) { try ImmichConnection.checkKey(bad) }
        }
    }

    @Test func connectionFileRoundTripsAndRefusesHandEdits() throws {
        let connection = ImmichConnection(url: try ImmichURL.parse("http://127.0.0.1:3001"), apiKey: Secret("Hn3mK0qv5C2m1b7XyZ8dA4fG"))
        #expect(try ImmichConnection.parse(connection.rendered(), path: "/f") == connection)
        for bad in ["url=http://x:1\n", "api-key=Hn3mK0qv5C2m1b7XyZ8dA4fG\n", "url=http://x:1\napi-key=Hn3mK0qv5C2m1b7XyZ8dA4fG\nextra=1\n",
                    "url=nonsense\napi-key=Hn3mK0qv5C2m1b7XyZ8dA4fG\n", "garbage"] {
            #expect(throws: ImmichError.self) { try ImmichConnection.parse(bad, path: "/f") }
        }
    }

    @Test func errorsSayWhatToDo() {
        #expect(ImmichError(.notRunning(url: "u")).description.contains("snap start immich-distribution"))
        #expect(ImmichError(.unauthorized).description.contains("immich login"))
        #expect(ImmichError(.notLoggedIn).exitStatus == .authentication)
        #expect(ImmichError(.unauthorized).exitStatus == .authentication)
        #expect(ImmichError(.notRunning(url: "u")).exitStatus == .unreachable)
    }
}

@Suite struct SystemConfigTests {
    /// The guard changes exactly one field of the whole config it puts back.
    @Test func replacingChangesOnlyThatField() throws {
        let text = #"{"ffmpeg":{"crf":23,"preset":"ultrafast","accel":"disabled"},"library":{"scan":{"enabled":true,"cronExpression":"0 0 * * *"},"watch":{"enabled":false}},"trash":{"enabled":true,"days":30},"x":[1,2.5,null,"s"]}"#
        let config = try JSONDecoder().decode(JSON.self, from: Data(text.utf8))
        let off = try #require(config.replacing(["library", "scan", "enabled"], with: .bool(false)))
        #expect(off["library"]?["scan"]?["enabled"] == .bool(false))
        #expect(off["library"]?["scan"]?["cronExpression"] == .string("0 0 * * *"))
        #expect(off["ffmpeg"] == config["ffmpeg"])
        #expect(off["trash"] == config["trash"])
        #expect(off["x"] == config["x"])
        #expect(off.replacing(["library", "scan", "enabled"], with: .bool(true)) == config)
        #expect(config.replacing(["nope", "x"], with: .null) == nil)
        let roundTrip = try JSONDecoder().decode(JSON.self, from: JSONEncoder().encode(config))
        #expect(roundTrip == config)
        let settings = try LibraryScanSettings(config: config)
        #expect(settings == LibraryScanSettings(enabled: true, cronExpression: "0 0 * * *", watchEnabled: false))
    }

    @Test func guardUnitsRunTheScanOnTheSchedule() {
        let settings = GuardSettings(remembered: LibraryScanSettings(enabled: true, cronExpression: "0 0 * * *", watchEnabled: false), schedule: .calendar("*-*-* 00:00:00"))
        let files = GuardUnits.files(settings, executable: "/usr/sbin/extlib-net")
        #expect(files.map(\.path) == [GuardUnits.servicePath, GuardUnits.timerPath, GuardUnits.recoverPath])
        #expect(files[2].contents.contains("ExecStart=/usr/sbin/extlib-net immich recover --wait 10min"))
        #expect(files[2].contents.contains("After=network-online.target extlib-net.service snap.immich-distribution.immich-server.service"))
        #expect(GuardUnits.unitsToEnable(settings) == [GuardUnits.timerName, GuardUnits.recoverName])
        #expect(files[0].contents.contains("ExecStart=/usr/sbin/extlib-net immich scan --all"))
        // A run's placeholder walks start early enough that systemd never stops one half-way.
        #expect(files[0].contents.contains("TimeoutStartSec=15min"))
        #expect(ImmichService.recordingBudget + ImmichService.listingTimeout + .seconds(120) <= GuardUnits.scanTimeout)
        #expect(files[0].contents.contains("After=network-online.target extlib-net.service snap.immich-distribution.immich-server.service"))
        #expect(files[1].contents.contains("OnCalendar=*-*-* 00:00:00\nPersistent=true"))
        let every = GuardSettings(remembered: settings.remembered, schedule: .every(.seconds(6 * 3600)))
        #expect(GuardUnits.files(every, executable: "/x")[1].contents.contains("OnUnitActiveSec=6h"))
        let none = GuardSettings(remembered: LibraryScanSettings(enabled: false, cronExpression: "0 0 * * *", watchEnabled: false), schedule: .onDemand)
        #expect(GuardUnits.files(none, executable: "/x").map(\.path) == [GuardUnits.recoverPath], "no schedule: only the rescan of shares that come back")
        #expect(files.allSatisfy { $0.contents.hasPrefix(GuardUnits.header + "\n") })
    }
}

/// The guard's record on disk: 0.3.0's keys, one schedule, and nothing a hand edit could put into a unit.
@Suite struct GuardRecordFileTests {
    @Test func theScheduleRoundTripsAndADamagedRecordSaysWhatToDo() throws {
        let temp = try TemporaryRoot()
        let mounter = Mounter(root: temp.root, logger: Logger(label: "test"), runner: FakeHost())
        let service = ImmichService(mounts: MountService(mounter: mounter), logger: Logger(label: "test"))
        let remembered = LibraryScanSettings(enabled: true, cronExpression: "0 3 * * *", watchEnabled: false)
        for schedule in [ScanSchedule.calendar("*-*-* 03:00:00"), .every(.seconds(6 * 3600)), .onDemand] {
            let settings = GuardSettings(remembered: remembered, schedule: schedule, phase: .enabling)
            try service.guardFile.save(settings)
            #expect(try service.guardFile.load() == settings)
        }
        // 0.3.0's record: no phase, reads as on.
        let path = service.guardFile.path
        let old = #"{"everySeconds":21600,"remembered":{"cronExpression":"0 3 * * *","enabled":true,"watchEnabled":false}}"#
        try write(old, to: path)
        #expect(try service.guardFile.load() == GuardSettings(remembered: remembered, schedule: .every(.seconds(21600)), phase: .on))
        #expect(try service.guardFile.load()?.switchedWatchOff == false, "0.3.0 never switched watching off")
        var flagged = GuardSettings(remembered: remembered, schedule: .onDemand)
        flagged.switchedWatchOff = true
        try service.guardFile.save(flagged)
        #expect(try service.guardFile.load() == flagged)

        let remembered0 = #""remembered":{"cronExpression":"0 3 * * *","enabled":true,"watchEnabled":false}"#
        for damaged in [#"{"onCalendar":"daily\nExecStartPre=/bin/sh",\#(remembered0)}"#, #"{"onCalendar":"daily","everySeconds":60,\#(remembered0)}"#,
                        #"{"everySeconds":1,\#(remembered0)}"#, #"{"everySeconds":-5,\#(remembered0)}"#, "not json"] {
            try write(damaged, to: path)
            #expect {
                _ = try service.guardFile.load()
            } throws: { error in
                let text = "\(error)"
                return error is MalformedFileError && text.contains("put them back in Immich by hand") && !text.contains("log in")
            }
        }
    }

    func write(_ text: String, to path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
    }
}

/// The guard's decision, for every case, with a fake mount table and real folders under a temp root.
@Suite struct ScanDecisionTests {
    struct Bed {
        let root: String
        var service: ImmichService
        let host = FakeHost()
        let definitions: [MountDefinition]

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-decide-\(UUID().uuidString)").path
            let system = try SystemRoot(root)
            var mounter = Mounter(root: system, logger: Logger(label: "test"), runner: host)
            mounter.mountTable = host.table
            mounter.mountCalls = host
            mounter.statfsProbe = host
            service = ImmichService(mounts: MountService(mounter: mounter), logger: Logger(label: "test"))
            service.snapNamespace = nil
            service.childExecutable = buildFolderExtlibNet
            definitions = [
                MountDefinition(name: "photos", url: try MountURL.parse("nfs://nas/volume1/photos")),
                MountDefinition(name: "videos", url: try MountURL.parse("nfs://nas/volume1/videos")),
            ]
            for definition in definitions { try FileManager.default.createDirectory(atPath: mounter.target(of: definition), withIntermediateDirectories: true) }
        }

        func target(_ index: Int) -> String { service.mounts.mounter.target(of: definitions[index]) }
        func path(_ index: Int) -> String { service.importPath(of: definitions[index]) }
        func fill(_ directory: String) { FileManager.default.createFile(atPath: directory + "/a.jpg", contents: Data([1])) }
        /// "photos" over NFS from a NAS that answers (the mounter checks it can reach the server before
        /// mount.nfs runs), defined, mounted healthy and holding a.jpg. Keep the listener alive while it is used.
        func reachablePhotos() throws -> (listener: Descriptor, definition: MountDefinition) {
            let (listener, port) = try TCPProbeTests.listener()
            var definition = MountDefinition(name: "photos", url: try MountURL.parse("nfs://127.0.0.1:\(port)/volume1/photos"))
            definition.nfsVersion = .v4_2
            try service.mounts.store.add(definition)
            host.mountNFS("127.0.0.1:/volume1/photos", at: target(0), health: .healthy)
            fill(target(0))
            return (listener, definition)
        }
        func library(_ paths: [String]) -> ImmichLibrary {
            ImmichLibrary(id: "00000000-0000-0000-0000-000000000001", ownerId: "00000000-0000-0000-0000-000000000002", name: "L", importPaths: paths, exclusionPatterns: [])
        }
        func decide(_ paths: [String], assets: Int = 5) -> [ImmichService.PathProblem] {
            service.decide(library(paths), definitions: definitions) { assets }.problems.map(\.problem)
        }
        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    @Test func mountedHealthyAndFullIsScanned() throws {
        let bed = try Bed()
        defer { bed.remove() }
        bed.host.mountNFS("1.2.3.4:/volume1/photos", at: bed.target(0), health: .healthy)
        bed.fill(bed.target(0))
        #expect(bed.decide([bed.path(0)]) == [])
        #expect(bed.decide([bed.path(0) + "/2024"]) == [.missing(path: bed.path(0) + "/2024")], "a subfolder of a share that is not there")
        #expect(bed.decide([bed.path(0) + "//"]) == [], "Immich may spell the path differently")
    }

    /// The share is away and its placeholder is what the folder shows: the guard does not scan (nothing
    /// would be lost, but nothing new could be seen either), and the admins hear the library is frozen.
    @Test func aPlaceholderStandingInIsNotScannedAndTheNoticeSaysFrozen() throws {
        let bed = try Bed()
        defer { bed.remove() }
        bed.host.state.withLock { $0.table.append(MountInfo.parse("9 2 0:9 / \(bed.target(0)) ro - tmpfs \(PlaceholderMount.source) ro").first!) }
        #expect(bed.decide([bed.path(0)]) == [.placeholder(definition: "photos")])
        for definition in bed.definitions { try bed.service.mounts.store.add(definition) }
        let immich = FakeImmich()
        let photos = try immich.createLibrary(ownerId: try immich.me().id, name: "Photos", importPaths: [bed.path(0)])
        immich.state.withLock { $0.assets = [photos.id: 2] }
        let outcomes = try bed.service.scan([photos.id], using: immich)
        guard case .skipped(let decision) = outcomes.first else { Issue.record("\(outcomes)"); return }
        #expect(decision.problems.map(\.problem) == [.placeholder(definition: "photos")])
        #expect(immich.state.withLock { $0.notices } == ["Library 'Photos' is frozen, not lost: its share is away and its placeholder stands in"])
        #expect(ImmichService.PathProblem.placeholder(definition: "photos").description.contains("frozen as Immich last saw it, not lost"))
    }

    @Test func everyWayAShareCanBeAway() throws {
        let bed = try Bed()
        defer { bed.remove() }
        #expect(bed.decide([bed.path(0)]) == [.notMounted(definition: "photos")])
        bed.host.mountNFS("1.2.3.4:/volume1/other", at: bed.target(0), health: .healthy)
        #expect(bed.decide([bed.path(0)]) == [.occupied(definition: "photos", source: "1.2.3.4:/volume1/other")])
        bed.host.mountNFS("1.2.3.4:/volume1/videos", at: bed.target(1), health: .timedOut(.seconds(3)))
        #expect(bed.decide([bed.path(1)]) == [.unhealthy(definition: "videos", .timedOut(.seconds(3)))])
    }

    @Test func anEmptyShareWhileImmichHoldsAssetsIsAway() throws {
        let bed = try Bed()
        defer { bed.remove() }
        bed.host.mountNFS("1.2.3.4:/volume1/photos", at: bed.target(0), health: .healthy)
        #expect(bed.decide([bed.path(0)], assets: 3) == [.emptyWhileHoldingAssets(path: bed.path(0), assets: 3)])
        #expect(bed.decide([bed.path(0)], assets: 0) == [], "a new, empty library may be scanned: nothing to lose")
    }

    @Test func pathsNoDefinitionProvidesMustExistAndHoldSomething() throws {
        let bed = try Bed()
        defer { bed.remove() }
        let own = "/srv/photos"
        #expect(bed.decide([own]) == [.missing(path: own)])
        try FileManager.default.createDirectory(atPath: bed.root + own, withIntermediateDirectories: true)
        #expect(bed.decide([own]) == [.empty(path: own)])
        bed.fill(bed.root + own)
        #expect(bed.decide([own]) == [])
    }

    /// An import path above the shares (the whole sandbox folder) holds them: each is checked.
    @Test func aPathHoldingSharesChecksEachOfThem() throws {
        let bed = try Bed()
        defer { bed.remove() }
        bed.host.mountNFS("1.2.3.4:/volume1/photos", at: bed.target(0), health: .healthy)
        bed.fill(bed.target(0))
        let sandbox = "/var/snap/immich-distribution/common"
        #expect(bed.decide([sandbox]) == [.notMounted(definition: "videos")], "videos is away: the parent folder is not empty, but must not be scanned")
        bed.host.mountNFS("1.2.3.4:/volume1/videos", at: bed.target(1), health: .healthy)
        bed.fill(bed.target(1))
        #expect(bed.decide([sandbox]) == [])
        #expect(bed.decide([]) == [.noImportPaths])
    }

    @Test func anUnknownAssetCountIsTheSafeSide() throws {
        let bed = try Bed()
        defer { bed.remove() }
        bed.host.mountNFS("1.2.3.4:/volume1/photos", at: bed.target(0), health: .healthy)
        #expect(bed.decide([bed.path(0)], assets: -1) == [.emptyWhileHoldingAssets(path: bed.path(0), assets: -1)])
    }

    /// Immich scans inside the snap's mount namespace: a host mount that did not reach it is away.
    @Test func aShareTheSnapDoesNotSeeIsAway() throws {
        var bed = try Bed()
        defer { bed.remove() }
        bed.host.mountNFS("1.2.3.4:/volume1/photos", at: bed.target(0), health: .healthy)
        bed.fill(bed.target(0))
        let namespace = bed.root + "/immich-distribution.mnt"
        FileManager.default.createFile(atPath: namespace, contents: Data())
        bed.service.snapNamespace = namespace
        #expect(bed.decide([bed.path(0)]) == [])
        bed.host.state.withLock { $0.view = "visible 0\n" }
        #expect(bed.decide([bed.path(0)]) == [.notVisibleInSnap(definition: "photos", "not in its mount table")])
        // The snap sees the placeholder where the host sees the share: the share did not reach it.
        bed.host.state.withLock { $0.view = "visible 1 tmpfs \(PlaceholderMount.source)\n" }
        #expect(bed.decide([bed.path(0)]) == [.notVisibleInSnap(definition: "photos", "it shows the share's placeholder there, not the share")])
        bed.service.snapNamespace = bed.root + "/no-such-namespace"
        #expect(bed.decide([bed.path(0)]) == [], "no snap namespace (no snap installed): the host's view is Immich's")
    }

    @Test func oneAwayShareSkipsTheWholeLibrary() throws {
        let bed = try Bed()
        defer { bed.remove() }
        bed.host.mountNFS("1.2.3.4:/volume1/photos", at: bed.target(0), health: .healthy)
        bed.fill(bed.target(0))
        #expect(bed.decide([bed.path(0), bed.path(1)]) == [.notMounted(definition: "videos")])
    }

    /// The guarded scan through the ImmichClient protocol: the library whose share is there is scanned,
    /// the other is not, and its admins hear of the outage once, then of its end once.
    @Test func theGuardedScanAsksImmichOnlyForLibrariesThatAreThere() throws {
        let bed = try Bed()
        defer { bed.remove() }
        for definition in bed.definitions { try bed.service.mounts.store.add(definition) }
        let immich = FakeImmich()
        let admin = try immich.me().id
        let photos = try immich.createLibrary(ownerId: admin, name: "Photos", importPaths: [bed.path(0)])
        let videos = try immich.createLibrary(ownerId: admin, name: "Videos", importPaths: [bed.path(1)])
        immich.state.withLock { $0.assets = [photos.id: 2, videos.id: 4] }
        bed.host.mountNFS("1.2.3.4:/volume1/photos", at: bed.target(0), health: .healthy)
        bed.fill(bed.target(0))
        FileManager.default.createFile(atPath: bed.target(0) + "/not-imported-yet.jpg", contents: Data([2]))
        immich.state.withLock { $0.paths = [photos.id: [bed.path(0) + "/a.jpg", bed.path(0) + "/deleted-on-the-nas.jpg"]] }

        for _ in 0..<2 {
            let outcomes = try bed.service.scan([], using: immich, lockingEach: { _ in })
            guard outcomes.count == 2, case .scanned(let scanned, recovered: false) = outcomes[0], case .skipped(let skipped) = outcomes[1] else {
                Issue.record("\(outcomes)"); return
            }
            #expect(scanned.id == photos.id && skipped.library.id == videos.id)
        }
        #expect(immich.state.withLock { ($0.scanned, $0.notices.count) } == ([photos.id, photos.id], 1), "one notice for one outage")
        // Each scan of a library whose share is there records its placeholder: the files both Immich and
        // the share have; none for the share that is away.
        let records = PlaceholderRecords(root: bed.service.mounts.mounter.root)
        let record = try #require(try records.load("photos"))
        #expect(record.entries.map(\.path) == ["a.jpg"] && record.source == .immichAssets && record.libraryIDs == [photos.id])
        #expect(try records.load("videos") == nil)

        bed.host.mountNFS("1.2.3.4:/volume1/videos", at: bed.target(1), health: .healthy)
        bed.fill(bed.target(1))
        let back = try bed.service.scan([videos.id], using: immich)
        guard case .scanned(_, recovered: true) = back.first else { Issue.record("\(back)"); return }
        #expect(immich.state.withLock { $0.notices } == ["Library 'Videos' not scanned: its share is away", "Library 'Videos' is back"])
        #expect(immich.state.withLock { $0.puts } == 0, "the guard is off: Immich's schedule is left alone")
        #expect(try records.load("videos") == nil, "a scan under a mount's or heal's lock leaves the record to the next guarded scan")
    }

    /// The record is the share's: the assets of every library that imports it, not the last one scanned;
    /// a listing shorter than Immich's own count (Immich importing) keeps the old record.
    @Test func aShareOfTwoLibrariesRecordsTheAssetsOfBoth() throws {
        let bed = try Bed()
        defer { bed.remove() }
        try bed.service.mounts.store.add(bed.definitions[0])
        bed.host.mountNFS("1.2.3.4:/volume1/photos", at: bed.target(0), health: .healthy)
        for folder in ["alice", "bob"] {
            try FileManager.default.createDirectory(atPath: bed.target(0) + "/" + folder, withIntermediateDirectories: true)
            bed.fill(bed.target(0) + "/" + folder)
        }
        let immich = FakeImmich()
        let admin = try immich.me().id
        let alice = try immich.createLibrary(ownerId: admin, name: "Alice", importPaths: [bed.path(0) + "/alice"])
        let bob = try immich.createLibrary(ownerId: admin, name: "Bob", importPaths: [bed.path(0) + "/bob"])
        immich.state.withLock {
            $0.paths = [alice.id: [bed.path(0) + "/alice/a.jpg"], bob.id: [bed.path(0) + "/bob/a.jpg"]]
            $0.assets = [alice.id: 1, bob.id: 1]
        }
        guard case .recorded(2, .immichAssets, _) = bed.service.recordPlaceholder(bed.definitions[0], api: immich) else {
            Issue.record("not recorded")
            return
        }
        let records = PlaceholderRecords(root: bed.service.mounts.mounter.root)
        #expect(try records.load("photos")?.entries.map(\.path) == ["alice/a.jpg", "bob/a.jpg"])

        immich.state.withLock { $0.assets[bob.id] = 5 }
        guard case .skipped(let why) = bed.service.recordPlaceholder(bed.definitions[0], api: immich) else { Issue.record("recorded"); return }
        #expect(why.contains("listed 1 of 5 assets"), "\(why)")
        #expect(try records.load("photos")?.entries.count == 2, "the old record stays")
    }

    /// Heal takes a record again when a library's asset count moved since it (the Scan button imported a
    /// file): the new asset is then in the placeholder before the share can go away. Nothing is done
    /// without a login, with the count unchanged, or for a walk kept for another owner's library.
    @Test func healTakesARecordAgainWhenImmichImportedSinceIt() throws {
        var bed = try Bed()
        defer { bed.remove() }
        // A NAS that answers: putting the record to use restacks the share (a mount behind a reachability check).
        let (listener, definition) = try bed.reachablePhotos()
        defer { withExtendedLifetime(listener) {} }
        let immich = FakeImmich()
        let photos = try immich.createLibrary(ownerId: try immich.me().id, name: "Photos", importPaths: [bed.path(0)])
        immich.state.withLock { $0.paths = [photos.id: [bed.path(0) + "/a.jpg"]]; $0.assets = [photos.id: 1] }
        guard case .recorded(1, .immichAssets, _) = bed.service.recordPlaceholder(definition, api: immich) else { Issue.record("not recorded"); return }
        let records = PlaceholderRecords(root: bed.service.mounts.mounter.root)
        #expect(try records.load("photos")?.libraryTotals == [photos.id: 1])
        #expect(try records.summary("photos") == PlaceholderRecords.Summary(definition: "photos", libraryIDs: [photos.id], source: .immichAssets, libraryTotals: [photos.id: 1]))

        // The Scan button imports b.jpg.
        FileManager.default.createFile(atPath: bed.target(0) + "/b.jpg", contents: Data([2]))
        immich.state.withLock { $0.paths[photos.id]?.append(bed.path(0) + "/b.jpg"); $0.assets[photos.id] = 2 }
        bed.service.makeClient = { _, _, _ in immich }
        #expect(bed.service.refreshOutdatedRecords([definition]).isEmpty, "no login: nothing asked")

        try bed.service.connections.save(ImmichConnection(url: try ImmichURL.parse("http://127.0.0.1:3001"), apiKey: Secret("Hn3mK0qv5C2m1b7XyZ8dA4fG")))
        let refreshed = bed.service.refreshOutdatedRecords([definition])
        #expect(refreshed.map(\.name) == ["photos"])
        #expect(refreshed.first?.reason == ImmichService.RecordOutdated(library: "Photos", was: 1, now: 2))
        guard case .recorded(2, .immichAssets, _)? = refreshed.first?.outcome else { Issue.record("\(refreshed)"); return }
        #expect(try records.load("photos")?.entries.map(\.path) == ["a.jpg", "b.jpg"])
        #expect(RecordRefreshPresentation.lines(refreshed).first?.hasPrefix("photos: its placeholder's record was out of date (library 'Photos' held 1 assets at the record, 2 now); recorded again: 2 files") == true)
        #expect(bed.service.refreshOutdatedRecords([definition]).isEmpty, "the count is the record's again")

        // Another owner's library: its record is a walk before a guarded scan, never taken at heal.
        let other = PlaceholderRecord(definition: "photos", libraryIDs: [photos.id], takenAt: "2026-12-04T00:00:00Z", source: .walkBeforeScan,
                                      entries: [.init(path: "a.jpg", modified: FileTime(seconds: 1, nanoseconds: 0))], libraryTotals: [photos.id: 7])
        try records.save(other)
        #expect(bed.service.refreshOutdatedRecords([definition]).isEmpty)
    }

    /// A healthy share with nothing beneath is restacked when its record is taken; when the second mount
    /// fails, the placeholder comes off (the healthy share is never left covered), and status and doctor
    /// say the share has nothing beneath, and why, even after a later mount succeeds at something else.
    @Test func aRestackWhoseSecondMountFailsLeavesTheShareOnTopAndSaysSo() throws {
        let bed = try Bed()
        defer { bed.remove() }
        let (listener, definition) = try bed.reachablePhotos()
        defer { withExtendedLifetime(listener) {} }
        #expect(bed.service.mounts.mounter.target(of: definition) == bed.target(0))
        let immich = FakeImmich()
        let photos = try immich.createLibrary(ownerId: try immich.me().id, name: "Photos", importPaths: [bed.path(0)])
        immich.state.withLock { $0.paths = [photos.id: [bed.path(0) + "/a.jpg"]]; $0.assets = [photos.id: 1] }
        bed.host.state.withLock { $0.mountResult = ProcessResult(status: 32, standardError: "mount.nfs: access denied by server while mounting") }

        guard case .recorded(1, .immichAssets, .failed(let why)) = bed.service.recordPlaceholder(definition, api: immich) else {
            Issue.record("not a failed restack"); return
        }
        #expect(why.contains("access denied"), "\(why)")
        let mounts = bed.service.mounts
        let stack = MountTable.stack(at: bed.target(0), in: bed.host.table.current())
        #expect(stack.map(\.fileSystemType) == ["nfs4"], "the placeholder came off the healthy share: \(stack)")
        let uncovered = mounts.placeholderStatus(definition)
        #expect(uncovered.state == .uncovered && uncovered.problem?.contains("access denied") == true, "\(uncovered)")
        #expect(mounts.mountRecord("photos").placeholderShown == nil)
        let finding = bed.service.placeholderFinding(definition)
        #expect(finding.verdict == .warn && finding.detail.contains("access denied") && finding.fix?.contains("extlib-net mount photos") == true, "\(finding)")

        // The next try works: the placeholder beneath, the share on top, no "since", no problem left.
        bed.host.state.withLock { $0.mountResult = ProcessResult(status: 0, standardError: "") }
        #expect(mounts.refreshPlaceholder(definition) == .restacked, "\(bed.host.calls.filter { $0[0] != "statfs" }) \(bed.host.table.current().map { "\($0.mountID) \($0.parentID) \($0.mountPoint) \($0.fileSystemType)" })")
        #expect(MountTable.stack(at: bed.target(0), in: bed.host.table.current()).map(\.fileSystemType) == ["nfs4", "tmpfs", "nfs4"])
        let ready = mounts.placeholderStatus(definition)
        #expect(ready.state == .beneath && ready.problem == nil, "\(ready)")
        #expect(mounts.mountRecord("photos").placeholderShown == nil, "the share is on top: no placeholder since")
        #expect(bed.service.placeholderFinding(definition).verdict == .pass)
        #expect(throws: MountStoreError.self) { try mounts.remove(named: "photos") }
    }

    @Test func providerMatchesTheFolderAndWhatIsInside() throws {
        let bed = try Bed()
        defer { bed.remove() }
        #expect(bed.service.provider(of: bed.path(0), in: bed.definitions)?.name == "photos")
        #expect(bed.service.provider(of: bed.path(0) + "/", in: bed.definitions)?.name == "photos")
        #expect(bed.service.provider(of: bed.path(0) + "/2024", in: bed.definitions)?.name == "photos")
        #expect(bed.service.provider(of: bed.path(0) + "x", in: bed.definitions) == nil)
        #expect(bed.path(0) == "/var/snap/immich-distribution/common/photos", "the path as the snap sees it, never under --root")
    }

    @Test func forkedEmptinessCheck() throws {
        let bed = try Bed()
        defer { bed.remove() }
        #expect(ForkedStatfs().contents(bed.target(0), timeout: .seconds(5)) == .empty)
        FileManager.default.createFile(atPath: bed.target(0) + "/.hidden", contents: Data())
        #expect(ForkedStatfs().contents(bed.target(0), timeout: .seconds(5)) == .nonEmpty)
        #expect(ForkedStatfs().contents(bed.root + "/nope", timeout: .seconds(5)) == .failed(.noSuchFileOrDirectory))
        #expect(ForkedStatfs().contents(bed.target(0) + "/.hidden", timeout: .seconds(5)) == .failed(.notDirectory))
    }
}

@Suite struct SnapKeyTests {
    final class SnapRunner: ProcessRunner, @unchecked Sendable {
        let result: ProcessResult
        var calls: [[String]] = []
        init(_ result: ProcessResult) { self.result = result }
        func run(_ executable: String, _ arguments: [String], secret: Secret?, until deadline: Deadline) throws(SpawnError) -> ProcessResult {
            calls.append([executable] + arguments)
            return result
        }
    }

    @Test func theKeyComesFromSnapGetsStandardOutput() throws {
        let runner = SnapRunner(ProcessResult(.exited(0), standardOutput: "Hn3mK0qv5C2m1b7XyZ8dA4fG\n", standardError: "WARNING: something on stderr\n"))
        #expect(try SnapAPIKey.read(runner: runner, snap: "/usr/bin/snap").reveal() == "Hn3mK0qv5C2m1b7XyZ8dA4fG")
        #expect(runner.calls == [["/usr/bin/snap", "get", "immich-distribution", "admin-api-key"]])
        let failing = SnapRunner(ProcessResult(.exited(1), standardError: "error: snap \"immich-distribution\" not found\n"))
        #expect(throws: ImmichError.self) { try SnapAPIKey.read(runner: failing, snap: "/usr/bin/snap") }
        let empty = SnapRunner(ProcessResult(.exited(0), standardOutput: "\n"))
        #expect(throws: ImmichError.self) { try SnapAPIKey.read(runner: empty, snap: "/usr/bin/snap") }
        #expect(throws: ImmichError(.snapMissing)) { try SnapAPIKey.read(runner: empty, snap: nil) }
    }
}

/// afterMount returns values; mount, heal and immich recover render them through one presentation.
@Suite struct RescanPresentationTests {
    @Test func eachOutcomeHasItsLine() {
        #expect(RescanPresentation.lines(.nothingToDo).isEmpty)
        #expect(RescanPresentation.lines(.immichAway(shares: ["photos"])) == [
            "immich: Immich is not answering, so the libraries of photos are not rescanned yet; run extlib-net immich recover once it runs (at boot, \(GuardUnits.recoverName) does)",
        ])
        let library = ImmichLibrary(id: "1", ownerId: "o", name: "Fo\u{202E}tos", importPaths: ["/p"], exclusionPatterns: [])
        let lines = RescanPresentation.lines(.scanned([.scanned(library, recovered: true), .failed(library, ImmichError(.unauthorized))]))
        #expect(lines.count == 2)
        #expect(lines[0] == "immich: 'Fo\\u{202e}tos' rescanned: its assets come back")
        #expect(lines[1].hasPrefix("immich: rescanning 'Fo\\u{202e}tos' failed: "))
        #expect(RescanPresentation.lines(.failed(shares: ["a", "b"], "boom")) == ["immich: could not rescan the libraries of a, b: boom"])
    }
}
