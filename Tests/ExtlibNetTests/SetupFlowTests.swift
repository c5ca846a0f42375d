import Foundation
import Testing
@testable import System
@testable import Formats
@testable import Discovery
@testable import Credentials
@testable import Mounting
@testable import Health
@testable import Setup

/// The guided setup's logic with a scripted user (the terminal is the fake) and recorded services. The
/// real services behind it are the plain commands' own, tested through the binary on a pseudo-terminal in
/// IntegrationTests/SetupCLITests.
@Suite struct SetupFlowTests {
    enum Answer {
        case line(String)
        case bytes([UInt8])
        case endOfInput
        case interrupt
    }

    /// Plays the user: answers in order; after the script ends, Ctrl-D.
    final class ScriptedUser: SetupInteraction {
        var answers: [Answer]
        var screen: [String] = []
        var interrupted = false
        /// Ctrl-C arrives during the n-th working step (0-based).
        var interruptDuringWork: Int?
        var works = 0
        var prompts = 0
        let log: EventLog

        init(_ answers: [Answer], log: EventLog) {
            self.answers = answers
            self.log = log
        }

        func say(_ line: String) { screen.append(line) }

        func next(_ prompt: String) throws -> Answer {
            screen.append(prompt)
            log.events.append("ask")
            prompts += 1
            guard !answers.isEmpty else { throw SetupStop.endOfInput }
            switch answers.removeFirst() {
            case .endOfInput: throw SetupStop.endOfInput
            case .interrupt:
                interrupted = true
                throw SetupStop.interrupted
            case let answer: return answer
            }
        }

        func ask(_ prompt: String) throws -> [UInt8] {
            switch try next(prompt) {
            case .line(let text): return Array(text.utf8)
            case .bytes(let bytes): return bytes
            default: fatalError("unreachable")
            }
        }

        func secret(_ prompt: String) throws -> Result<Secret, PasswordInput.Failure> {
            let bytes: [UInt8]
            switch try next(prompt) {
            case .line(let text): bytes = Array(text.utf8)
            case .bytes(let raw): bytes = raw
            default: fatalError("unreachable")
            }
            return Result { () throws(PasswordInput.Failure) in try PasswordInput.secret(fromLine: bytes) }
        }

        func working<T>(_ body: () throws -> T) throws -> T {
            defer {
                if works == interruptDuringWork { interrupted = true }
                works += 1
            }
            return try body()
        }

        var text: String { screen.joined(separator: "\n") }
    }

    final class EventLog {
        var events: [String] = []
        var written: [String] { events.filter { $0.hasPrefix("write ") } }
    }

    /// The services, recorded. Writes go to `log` as "write ...".
    final class RecordedSystem: SetupSystem {
        let log: EventLog
        var findings: SetupFindings
        var listingNeedsAccount = false
        var guest: [String: GuestAccess] = [:]
        var goodPassword = "pa,ss\"word"
        var stored: [Credential] = []
        var defined: [MountDefinition] = []
        var mountFails = false
        var immich = true
        var loggedIn = false
        var guardIsOn = false
        var bootIsOn = false
        var doctorFails = false

        init(log: EventLog, findings: SetupFindings) {
            self.log = log
            self.findings = findings
        }

        func discover(_ host: HostName, account: SMBAccount?) throws -> SetupFindings {
            log.events.append("discover")
            guard listingNeedsAccount else { return findings }
            guard let account else { return SetupFindings(candidates: [], smbNeedsAccount: true, status: .authentication) }
            guard account.password.reveal() == goodPassword else { return SetupFindings(candidates: [], accountRejected: true, status: .authentication) }
            return findings
        }

        func guestAccess(to share: String, on host: HostName) -> GuestAccess { guest[share] ?? .opens }

        func check(_ account: SMBAccount, on host: HostName, share: String) throws {
            log.events.append("check")
            guard account.password.reveal() == goodPassword else { throw CredentialCheck.Failure.listing(.authenticationFailed(user: account.user)) }
        }

        func credentials() throws -> [Credential] { stored }
        func store(_ credential: Credential) throws {
            log.events.append("write credential \(credential.name)")
            stored.append(credential)
        }
        func definitions() throws -> [MountDefinition] { defined }
        func add(_ definition: MountDefinition) throws -> String {
            log.events.append("write mount \(definition.name)")
            defined.append(definition)
            return "/root/snap/immich-distribution/common/\(definition.name)"
        }
        func mount(_ definitions: [MountDefinition], progress: @escaping @Sendable (String) -> Void) throws -> [Result<MountedShare, MountError>] {
            log.events.append("write mounted")
            progress("attempt 1 failed: server busy; next in 1 s")
            return definitions.map { definition in
                mountFails ? .failure(.failed(MountFailure(.permanent, "mount error(19): No such device (is the cifs module loaded?)")))
                    : .success(MountedShare(name: definition.name, target: "/t/\(definition.name)", immichPath: "/root/snap/immich-distribution/common/\(definition.name)",
                                            source: "//x/\(definition.name)", wasMounted: false))
            }
        }
        func bootEnabled() -> Bool { bootIsOn }
        func enableBoot(healEvery: Duration?) throws -> [String] {
            log.events.append("write boot \(healEvery.map { "\($0)" } ?? "-")")
            return ["wrote /etc/systemd/system/extlib-net.service"]
        }
        func immichAnswers() -> Bool { immich }
        func immichLoggedIn() -> Bool { loggedIn }
        func immichLogin() throws -> String {
            log.events.append("write immich login")
            return "admin@example.com"
        }
        func link(_ definition: MountDefinition) throws -> [String] {
            log.events.append("write link \(definition.name)")
            return ["created external library '\(definition.name)'"]
        }
        func guardOn() -> Bool { guardIsOn }
        func enableGuard() throws -> [String] {
            log.events.append("write guard")
            return ["guard on"]
        }
        func doctor(_ definitions: [MountDefinition]) -> [DoctorFinding] {
            doctorFails ? [DoctorFinding("photos", .readableByImmich, .fail, "permission denied", fix: "use --uid 0")] : [DoctorFinding("photos", .mounted, .pass, "ok")]
        }
        func importPath(of definition: MountDefinition) -> String { "/root/snap/immich-distribution/common/\(definition.name)" }
    }

    static let candidates = [
        SetupCandidate(kind: .smb, name: "photos", detail: "Family photos", url: "smb://127.0.0.1/photos"),
        SetupCandidate(kind: .smb, name: "private", detail: "Needs an account", url: "smb://127.0.0.1/private"),
        SetupCandidate(kind: .nfs, name: "/volume1/photos", detail: "127.0.0.1", url: "nfs://127.0.0.1/volume1/photos"),
    ]

    struct Run {
        let outcome: SetupFlow.Outcome
        let user: ScriptedUser
        let system: RecordedSystem
        let log: EventLog
    }

    static func run(_ answers: [Answer], host: String? = "127.0.0.1", browser: (any HostBrowsing)? = nil, interruptDuringWork: Int? = nil,
                    configure: (RecordedSystem) -> Void = { _ in }) throws -> Run {
        let log = EventLog()
        let system = RecordedSystem(log: log, findings: SetupFindings(candidates: candidates))
        system.guest["private"] = .needsAccount
        configure(system)
        let user = ScriptedUser(answers, log: log)
        user.interruptDuringWork = interruptDuringWork
        var configuration = SetupFlow.Configuration(host: try host.map { try HostName.parse($0) })
        configuration.globalArguments = ["--root", "/tmp/my root"]
        let outcome = SetupFlow(configuration, interaction: user, system: system, browser: browser).run()
        return Run(outcome: outcome, user: user, system: system, log: log)
    }

    /// Every question of the full flow for the private share, answered: pick 2, alice, password, default
    /// credential name, default mount name, boot yes, heal yes, link yes, guard yes. (Logged in already.)
    static let fullAccountScript: [Answer] = [.line("2"), .line("alice"), .line("pa,ss\"word"), .line(""), .line(""), .line("y"), .line(""), .line("y"), .line("yes")]

    @Test func guestShareGoesFromChoiceToDoctor() throws {
        let run = try Self.run([.line("1"), .line(""), .line("y"), .line("n"), .line(""), .line(""), .line("")])
        #expect(run.outcome.status == .success, "\(run.outcome) \(run.user.text)")
        #expect(run.log.written == ["write mount photos", "write mounted", "write boot -", "write immich login", "write link photos", "write guard"])
        let screen = run.user.text
        #expect(screen.contains("$ extlib-net discover 127.0.0.1 --root '/tmp/my root'"))
        #expect(screen.contains("$ extlib-net add photos smb://127.0.0.1/photos --root '/tmp/my root'"))
        #expect(screen.contains("$ extlib-net mount photos --root '/tmp/my root'"))
        #expect(screen.contains("$ extlib-net boot enable --root '/tmp/my root'"))
        #expect(screen.contains("$ extlib-net immich login --from-snap --root '/tmp/my root'"))
        #expect(screen.contains("$ extlib-net immich link photos --root '/tmp/my root'"))
        #expect(screen.contains("$ extlib-net immich guard enable --root '/tmp/my root'"))
        #expect(screen.contains("$ extlib-net doctor photos --root '/tmp/my root'"))
        #expect(screen.contains("attempt 1 failed: server busy"), "mount progress is shown")
        #expect(screen.contains("doctor: every check passed"))
        #expect(!screen.contains("import path for 'photos'"), "a linked share needs no import path to paste")
    }

    @Test func accountIsAskedCheckedAndStoredWithoutThePasswordShown() throws {
        let run = try Self.run(Self.fullAccountScript) { $0.loggedIn = true }
        #expect(run.outcome.status == .success, "\(run.outcome) \(run.user.text)")
        #expect(run.system.stored.map(\.name) == ["127.0.0.1"])
        #expect(run.system.stored.first?.password.reveal() == "pa,ss\"word")
        #expect(run.system.defined.first?.credentials == "127.0.0.1")
        #expect(run.log.events.firstIndex(of: "check")! < run.log.events.firstIndex(of: "write credential 127.0.0.1")!, "checked before stored")
        #expect(run.log.written.contains("write boot \(Duration.seconds(300))"))
        let screen = run.user.text
        #expect(!screen.contains("pa,ss"), "the password was shown: \(screen)")
        #expect(screen.contains("$ extlib-net credentials add 127.0.0.1 --user alice --root '/tmp/my root'"))
        #expect(screen.contains("$ extlib-net add private smb://127.0.0.1/private --credentials 127.0.0.1 --root '/tmp/my root'"))
        #expect(screen.contains("$ extlib-net boot enable --heal-every 5min --root '/tmp/my root'"))
    }

    @Test func badAnswersAreAskedAgainWithTheReason() throws {
        let run = try Self.run([
            .line("0"), .line("four"), .line("9"), .line("2-1"), .bytes([0x31, 0xFF]), .bytes([0x31, 0x1B, 0x5B, 0x32, 0x4A]), .line(""), .line(String(repeating: "1", count: 2000)),
            .line("1, 3"),
            .line("bad name!"), .line(""),
            .line("photos"), .line("photos2"),
            .line("maybe"), .line("n"),
            .line("n"),
        ]) { $0.defined = [] }
        #expect(run.outcome.status == .success, "\(run.outcome) \(run.user.text)")
        #expect(run.system.defined.map(\.name) == ["photos", "photos2"])
        let screen = run.user.text
        for reason in [
            "there is no 0: give numbers from 1 to 3", "'four' is not a number from 1 to 3", "there is no 9", "'2-1' is not a number",
            "not valid UTF-8", "contains a control character", "pick at least one", "longer than 1024 bytes",
            "'bad name!' is not a valid", "a mount named 'photos' exists already", "answer y or n",
        ] {
            #expect(screen.contains(reason), "no '\(reason)' in: \(screen)")
        }
        #expect(!screen.contains("\u{1B}"), "an escape sequence typed reached the screen")
    }

    @Test func badUserNamesPasswordsAndARejectedAccountAreAskedAgain() throws {
        let run = try Self.run([
            .line("2"), .line("a,b"), .line(" "), .line("alice"), .line(""), .bytes([0x61, 0xC3]), .line("wrong"),
            .line("alice"), .line("pa,ss\"word"), .line("bad/name"), .line("nas"), .line(""), .line("n"), .line("n"),
        ]) { $0.loggedIn = true }
        #expect(run.outcome.status == .success, "\(run.outcome) \(run.user.text)")
        #expect(run.system.stored.map(\.name) == ["nas"])
        let screen = run.user.text
        for reason in ["contains ','", "the username is empty", "the password is empty; type it again", "not valid UTF-8",
                       "refused: the server rejected user 'alice'", "Try again.", "'bad/name' is not a valid credential name"] {
            #expect(screen.contains(reason), "no '\(reason)' in: \(screen)")
        }
        #expect(run.log.events.filter { $0 == "check" }.count == 2)
    }

    @Test func aStoredAccountIsOffered() throws {
        let run = try Self.run([.line("2"), .line("ghost"), .line("home"), .line(""), .line("n"), .line("n")]) { system in
            system.stored = [try! Credential(name: "home", username: "alice", password: Secret("pa,ss\"word"), domain: nil)]
            system.loggedIn = true
        }
        #expect(run.outcome.status == .success, "\(run.outcome) \(run.user.text)")
        #expect(run.system.defined.first?.credentials == "home")
        #expect(run.log.written.allSatisfy { !$0.hasPrefix("write credential") })
        #expect(run.user.text.contains("no stored account 'ghost'"))
        #expect(run.user.text.contains("$ extlib-net credentials check home 127.0.0.1/private --root '/tmp/my root'"))
    }

    @Test func aServerThatListsOnlyToAnAccount() throws {
        let run = try Self.run([.line("alice"), .line("nope"), .line("alice"), .line("pa,ss\"word"), .line("2"), .line(""), .line(""), .line("n"), .line("n")]) {
            $0.listingNeedsAccount = true
            $0.loggedIn = true
        }
        #expect(run.outcome.status == .success, "\(run.outcome) \(run.user.text)")
        #expect(run.user.text.contains("lists its SMB shares only to an account"))
        #expect(run.user.text.contains("rejected user 'alice'"))
        #expect(run.user.text.contains("$ extlib-net discover 127.0.0.1 --user alice --root '/tmp/my root'"))
        #expect(run.system.stored.map(\.name) == ["127.0.0.1"], "the account that listed is the one stored")
    }

    /// Two shares of a server that refuses guests: the second is offered the account stored for the first.
    @Test func aSecondShareOfAGuestlessServerReusesTheStoredAccount() throws {
        let run = try Self.run([.line("alice"), .line("pa,ss\"word"), .line("1,2"), .line(""), .line(""), .line("127.0.0.1"), .line(""), .line("n"), .line("n"), .line("n")]) {
            $0.listingNeedsAccount = true
            $0.loggedIn = true
        }
        #expect(run.outcome.status == .success, "\(run.outcome) \(run.user.text)")
        #expect(run.system.stored.map(\.name) == ["127.0.0.1"])
        #expect(run.system.defined.map(\.credentials) == ["127.0.0.1", "127.0.0.1"])
    }

    /// The brief's rule, at every question: Ctrl-D or Ctrl-C there stops setup, and exactly what the
    /// finished steps wrote is there (nothing of the step that was asking).
    @Test(arguments: [false, true]) func stoppingAtEveryQuestionLeavesOnlyFinishedSteps(ctrlC: Bool) throws {
        let full = try Self.run(Self.fullAccountScript) { $0.loggedIn = true }
        #expect(full.outcome.status == .success)
        // The writes that happened before each question, in the full run.
        var before: [[String]] = []
        var writes: [String] = []
        for event in full.log.events {
            if event == "ask" { before.append(writes) }
            if event.hasPrefix("write ") { writes.append(event) }
        }
        #expect(before.count == full.user.prompts)
        for (index, expected) in before.enumerated() {
            let stop: Answer = ctrlC ? .interrupt : .endOfInput
            let run = try Self.run(Array(Self.fullAccountScript.prefix(index)) + [stop]) { $0.loggedIn = true }
            #expect(run.outcome.status == .interrupted, "question \(index)")
            #expect(run.log.written == expected, "stopped at question \(index): wrote \(run.log.written), expected \(expected)")
            #expect(run.outcome.message.contains(ctrlC ? "interrupted" : "end of input"))
            #expect(run.log.events.last == "ask" || run.log.events.isEmpty, "nothing ran after the stop: \(run.log.events)")
        }
    }

    /// Ctrl-C while a step runs: the bounded step finishes, nothing after it runs.
    @Test func ctrlCDuringEveryWorkingStepStopsAfterIt() throws {
        let full = try Self.run(Self.fullAccountScript) { $0.loggedIn = true }
        let steps = full.user.works
        #expect(steps >= 8)
        for step in 0..<steps {
            let run = try Self.run(Self.fullAccountScript, interruptDuringWork: step) { $0.loggedIn = true }
            #expect(run.outcome.status == .interrupted, "step \(step): \(run.outcome)")
            #expect(run.user.works == step + 1, "step \(step): work went on after Ctrl-C")
            #expect(full.log.written.starts(with: run.log.written), "step \(step)")
            // A check interrupted: its account is never stored.
            if run.log.events.last == "check" { #expect(run.system.stored.isEmpty) }
        }
    }

    @Test func typingQQuitsLikeCtrlD() throws {
        let run = try Self.run([.line("1"), .line("q")])
        #expect(run.outcome.status == .interrupted)
        #expect(run.log.written.isEmpty)
    }

    @Test func aFailedMountKeepsTheDefinitionAndSaysHowToRetry() throws {
        let run = try Self.run([.line("1"), .line("")]) { $0.mountFails = true }
        #expect(run.outcome.status == .mountFailure, "\(run.outcome)")
        #expect(run.log.written == ["write mount photos", "write mounted"], "no boot or Immich offers after a failed mount")
        let screen = run.user.text
        #expect(screen.contains("photos: NOT mounted: mount error(19)"))
        #expect(screen.contains("the definition stays in mounts.toml; fix the cause, then: extlib-net mount photos --root '/tmp/my root'"))
        #expect(screen.contains("$ extlib-net doctor photos"))
        #expect(screen.contains("Immich: Administration > External Libraries > import path for 'photos': /root/snap/immich-distribution/common/photos"))
    }

    @Test func withoutImmichTheImportPathIsGiven() throws {
        let run = try Self.run([.line("3"), .line(""), .line("n")]) {
            $0.immich = false
            $0.doctorFails = true
        }
        #expect(run.outcome.status == .checkFailed)
        #expect(run.system.defined.first?.name == "volume1-photos")
        #expect(run.user.text.contains("Immich does not answer on this machine"))
        #expect(run.user.text.contains("[FAIL] photos: readable by Immich: permission denied"))
        #expect(run.user.text.contains("import path for 'volume1-photos'"))
    }

    @Test func withoutHostAndWithoutBrowsingItAsksForTheName() throws {
        let run = try Self.run([], host: nil)
        #expect(run.outcome.status == .usage)
        #expect(run.outcome.message == "give the NAS's name or address: extlib-net setup nas.local")
        #expect(run.log.events.isEmpty)
    }

    struct Browser: HostBrowsing {
        var hosts: [BrowsedHost]
        var command: [String] { ["discover", "--lan"] }
        func browse(timeout: Duration) throws -> [BrowsedHost] { hosts }
    }

    @Test func browsedHostsAreOffered() throws {
        let browser = Browser(hosts: [BrowsedHost(name: "nas.local", addresses: ["169.254.77.1"], services: ["smb"]), BrowsedHost(name: nil, addresses: ["10.0.0.9"], services: ["nfs"])])
        let run = try Self.run([.line("7"), .line("no such!host"), .line("2"), .line("q")], host: nil, browser: browser)
        #expect(run.outcome.status == .interrupted)
        #expect(run.user.text.contains("$ extlib-net discover --lan --root '/tmp/my root'"))
        #expect(run.user.text.contains("give a number from 1 to 2"))
        #expect(run.log.events.contains("discover"))
        let empty = try Self.run([], host: nil, browser: Browser(hosts: []))
        #expect(empty.outcome.status == .noneFound)
    }

    @Test func nothingToOfferSaysWhatDiscoverSaw() throws {
        let run = try Self.run([]) {
            $0.findings = SetupFindings(candidates: [], summary: ["SMB: no answer on 445, 139"], status: .unreachable)
            $0.findings.problems = ["NFS exports could not be listed: no answer\u{1B}[2J"]
        }
        #expect(run.outcome.status == .unreachable)
        #expect(run.user.text.contains("NFS exports could not be listed: no answer\\u{1b}[2J"), "a problem is said, escaped: \(run.user.text)")
        #expect(run.user.text.contains("SMB: no answer on 445, 139"))
    }

    /// Hostile answers: random bytes and mutations of valid ones never crash the parsers, and what they
    /// accept is within bounds.
    @Test func selectionAndDecodingSurviveRandomInput() {
        var generator = SeededGenerator(state: 13)
        let valid = ["1", "1 3", "1,2", "2-3", "all"]
        var selections = 0
        defer { #expect(selections >= CountedMinimum.selections, "only \(selections) random answers parsed as a selection") }
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...12, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = Array(valid[round / 2 % valid.count].utf8)
                for _ in 0...Int.random(in: 0...3, using: &generator) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            guard case .success(let text) = SetupFlow.decode(bytes) else { continue }
            let count = Int.random(in: 1...5, using: &generator)
            if case .success(let numbers) = SetupFlow.parseSelection(text, count: count) {
                selections += 1
                #expect(!numbers.isEmpty && numbers.allSatisfy { (1...count).contains($0) } && Set(numbers).count == numbers.count, "\(bytes)")
            }
        }
    }
}

