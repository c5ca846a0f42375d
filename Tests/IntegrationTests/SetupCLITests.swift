import Core
import System
import Formats
import Mounting
import Boot
import Setup
import Foundation
import TestSupport
import Testing

/// `extlib-net setup` on a real pseudo-terminal (python3's pty module plays the user) against the test
/// bed's servers. The host has no kernel cifs client, so every run here ends at the mount step, which must
/// fail cleanly; the VM suite (Tests/vm/mount-suite.sh, "setup") covers the mount and what follows.
// Serialized: each run starts libsmbclient and talks to the same smbd; ten at once only add load.
@Suite(.serialized, .enabled(if: Testbed.isUp, "Tests/testbed is not up (run scripts/test)"))
struct SetupCLITests {
    /// Tests/testbed/pty-play: runs the command on a pty and plays the steps (read from a file, so no
    /// password is ever in an argv); also used by the VM suite.
    static let player = #filePath.components(separatedBy: "/Tests/")[0] + "/Tests/testbed/pty-play"

    struct Screen {
        let text: String
        let status: Int
        let echoes: [Bool]
        let echoAfter: Bool
        let failed: String?
        /// From the start until the command closed the terminal, as the player measured it.
        let elapsed: Double
    }

    enum Step {
        case expect(String)
        case send(String)
        case pick(String)
        case echo

        var json: [String: Any] {
            switch self {
            case .expect(let text): return ["expect": text]
            case .send(let text): return ["send": text]
            case .pick(let text): return ["pick": text]
            case .echo: return ["echo": true]
            }
        }
    }

    static func onTerminal(_ steps: [Step], _ arguments: [String], namespace: String? = nil) async throws -> Screen {
        let stepsFile = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-pty-\(UUID().uuidString).json").path
        #expect(FileManager.default.createFile(atPath: stepsFile, contents: try JSONSerialization.data(withJSONObject: steps.map(\.json)), attributes: [.posixPermissions: 0o600]))
        defer { try? FileManager.default.removeItem(atPath: stepsFile) }
        let command = (namespace.map { ["/usr/sbin/ip", "netns", "exec", $0] } ?? []) + [CLI.executable] + arguments
        let result = try await Child.run("/usr/bin/python3", [Self.player, stepsFile] + command, timeout: .seconds(120))
        #expect(!result.timedOut, "the terminal driver did not end: \(result.output) \(result.error)")
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let parsed = try #require(object, "driver said: \(result.output) \(result.error)")
        let screen = Screen(text: parsed["screen"] as? String ?? "", status: parsed["status"] as? Int ?? -1, echoes: parsed["echoes"] as? [Bool] ?? [],
                            echoAfter: parsed["echoAfter"] as? Bool ?? false, failed: parsed["failed"] as? String,
                            elapsed: parsed["elapsed"] as? Double ?? -1)
        #expect(screen.failed == nil, "\(screen.failed ?? ""): \(screen.text)")
        return screen
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func mounts(_ scratch: ScratchRoot) -> String {
        (try? String(contentsOfFile: scratch.path + "/etc/extlib-net/mounts.toml", encoding: .utf8)) ?? ""
    }

    /// A guest share, chosen from the numbered list: its definition is added with the suggested name, and
    /// the mount step fails cleanly (no cifs here), keeping the definition and saying how to retry.
    @Test func choosingAGuestShareAddsItAndTheMountFailsCleanly() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let screen = try await Self.onTerminal([
            .expect("Which to mount?"), .send("9\n"), .expect("there is no 9"), .pick("smb  photos"),
            .expect("Name for this mount (its folder for Immich) [photos]: "), .send("bad name\n"), .expect("is not a valid mount name"),
            .expect("[photos]: "), .send("\n"),
        ], ["setup", "127.0.0.1", "--wait", "2s", "--root", scratch.path], namespace: try Testbed.value("LIVE_NS"))
        #expect(screen.text.contains("$ extlib-net discover 127.0.0.1 --root \(scratch.path)"), "\(screen.text)")
        #expect(screen.text.contains("$ extlib-net add photos smb://127.0.0.1/photos --root \(scratch.path)"), "\(screen.text)")
        #expect(screen.text.contains("$ extlib-net mount photos --root \(scratch.path)"), "\(screen.text)")
        #expect(screen.text.contains("photos: NOT mounted: "), "\(screen.text)")
        #expect(screen.text.contains("fix the cause, then: extlib-net mount photos --root \(scratch.path)"), "\(screen.text)")
        #expect(screen.text.contains("$ extlib-net doctor photos --root \(scratch.path)"), "\(screen.text)")
        #expect(screen.text.contains("import path for 'photos': /root/snap/immich-distribution/common/photos"), "\(screen.text)")
        #expect(!screen.text.contains("Mount the shares at every boot"), "boot offered for a share that did not mount")
        #expect(screen.status == Int(ExitStatus.mountFailure.rawValue), "\(screen.text)")
        #expect(Self.mounts(scratch).contains("[mounts.photos]\nurl = \"smb://127.0.0.1/photos\""), "\(Self.mounts(scratch))")
        #expect(!Self.exists(scratch.credentialsFile), "a guest share needs no credential")
        // What setup wrote is what the plain command would have: `list` shows it.
        let list = try await CLI.run(["list", "--json", "--root", scratch.path])
        #expect(list.output.contains(#""url":"smb://127.0.0.1/photos""#), "\(list.output)")
    }

    /// A share only alice may open: user name, password without echo (off before the prompt shows), the
    /// check against the real server, the credential stored, and the definition using it.
    @Test func aShareThatNeedsAnAccountAsksChecksAndStoresIt() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let password = try Testbed.password()
        let screen = try await Self.onTerminal([
            .expect("Which to mount?"), .pick("smb  private"),
            .expect("does not open as guest"), .expect("User name on the NAS: "), .send("alice\n"),
            .expect("Password for alice: "), .echo, .send("Wr0ngPw\n"), .expect("refused: "), .expect("Try again."),
            .expect("User name on the NAS: "), .send("alice\n"), .expect("Password for alice: "), .echo, .send(password + "\n"),
            .expect("the account works"), .expect("Name to store this account under [127.0.0.1]: "), .echo, .send("nas\n"),
            .expect("[private]: "), .send("\n"),
        ], ["setup", "127.0.0.1", "--wait", "2s", "--root", scratch.path], namespace: try Testbed.value("LIVE_NS"))
        #expect(screen.echoes == [false, false, true], "echo must be off at the password prompt, on elsewhere: \(screen.echoes)")
        #expect(screen.echoAfter)
        #expect(!screen.text.contains(password) && !screen.text.contains("Wr0ngPw"), "a password was shown: \(screen.text)")
        #expect(screen.text.contains("$ extlib-net credentials add nas --user alice --root \(scratch.path)"), "\(screen.text)")
        #expect(screen.text.contains("$ extlib-net add private smb://127.0.0.1/private --credentials nas --root \(scratch.path)"), "\(screen.text)")
        #expect(try scratch.store.credential(named: "nas").password.reveal() == password)
        #expect(screen.status == Int(ExitStatus.mountFailure.rawValue), "\(screen.text)")
        #expect(Self.mounts(scratch).contains("credentials = \"nas\""), "\(Self.mounts(scratch))")
    }

    /// Ctrl-C at the password prompt: echo back on, nothing written, exit 8.
    @Test func ctrlCAtThePasswordPromptWritesNothingAndRestoresEcho() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let screen = try await Self.onTerminal([
            .expect("Which to mount?"), .pick("smb  private"), .expect("User name on the NAS: "), .send("alice\n"),
            .expect("Password for alice: "), .echo, .send("half-typ"), .send("\u{03}"), .expect("setup interrupted"),
        ], ["setup", "127.0.0.1", "--root", scratch.path], namespace: try Testbed.value("LIVE_NS"))
        #expect(screen.echoes == [false])
        #expect(screen.echoAfter, "Ctrl-C left the terminal without echo")
        #expect(screen.status == Int(ExitStatus.interrupted.rawValue), "\(screen.text)")
        #expect(screen.text.contains("nothing was written"), "\(screen.text)")
        #expect(!screen.text.contains("half-typ"))
        #expect(!Self.exists(scratch.path + "/etc/extlib-net"), "something was written: \(screen.text)")
    }

    /// Ctrl-C after the account step finished, at the mount's name: the credential stays (its step was
    /// done, and setup says so), no definition is written.
    @Test func ctrlCAtTheMountNameKeepsOnlyTheFinishedAccountStep() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let screen = try await Self.onTerminal([
            .expect("Which to mount?"), .pick("smb  private"), .expect("User name on the NAS: "), .send("alice\n"),
            .expect("Password for alice: "), .send(try Testbed.password() + "\n"), .expect("[127.0.0.1]: "), .send("\n"),
            .expect("[private]: "), .send("priv"), .send("\u{03}"), .expect("setup interrupted"),
        ], ["setup", "127.0.0.1", "--root", scratch.path], namespace: try Testbed.value("LIVE_NS"))
        #expect(screen.status == Int(ExitStatus.interrupted.rawValue), "\(screen.text)")
        #expect(screen.text.contains("written before it: credential '127.0.0.1'"), "\(screen.text)")
        #expect(screen.echoAfter)
        #expect((try? scratch.store.credential(named: "127.0.0.1")) != nil)
        #expect(!Self.exists(scratch.path + "/etc/extlib-net/mounts.toml"), "\(Self.mounts(scratch))")
    }

    /// Ctrl-C while a step runs (discovery of a hung server, bounded by --timeout): setup says it stops
    /// once the step is over, then stops there, nothing written, echo on.
    @Test func ctrlCDuringAStepStopsWhenTheStepIsOver() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let screen = try await Self.onTerminal([
            .expect("$ extlib-net discover 127.0.0.1"), .send("\u{03}"), .expect("stopping once this step is over"), .expect("setup interrupted: nothing was written"),
        ], ["setup", "127.0.0.1", "--timeout", "3", "--root", scratch.path], namespace: try Testbed.value("HUNG_NS"))
        #expect(screen.status == Int(ExitStatus.interrupted.rawValue), "\(screen.text)")
        #expect(screen.echoAfter)
        #expect(!screen.text.contains("Which to mount?"), "setup went on after Ctrl-C: \(screen.text)")
        #expect(screen.elapsed < 20, "took \(screen.elapsed) s")
        #expect(!Self.exists(scratch.path + "/etc"))
    }

    /// A second Ctrl-C while the step runs quits at once (SIGINT), still nothing written.
    @Test func aSecondCtrlCQuitsAtOnce() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let screen = try await Self.onTerminal([
            .expect("$ extlib-net discover 127.0.0.1"), .send("\u{03}"), .expect("Ctrl-C again quits at once"), .send("\u{03}"),
        ], ["setup", "127.0.0.1", "--timeout", "20", "--root", scratch.path], namespace: try Testbed.value("HUNG_NS"))
        #expect(screen.status == -2, "not ended by SIGINT: \(screen.status) \(screen.text)")
        #expect(screen.elapsed < 15, "it waited for the 20 s step: \(screen.elapsed) s")
        #expect(screen.echoAfter)
        #expect(!Self.exists(scratch.path + "/etc"))
    }

    /// Ctrl-D at the first question: quits, nothing written.
    @Test func ctrlDQuits() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let screen = try await Self.onTerminal([.expect("Which to mount?"), .send("\u{04}")],
                                               ["setup", "127.0.0.1", "--root", scratch.path], namespace: try Testbed.value("LIVE_NS"))
        #expect(screen.status == Int(ExitStatus.interrupted.rawValue), "\(screen.text)")
        #expect(screen.text.contains("setup stopped (end of input): nothing was written"), "\(screen.text)")
        #expect(!Self.exists(scratch.path + "/etc/extlib-net"))
    }

    /// A server that lists nothing to guests: setup asks for the account to list with.
    @Test func aServerWithoutGuestAccessAsksForTheAccountFirst() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let port = try Testbed.value("SMB_AUTH_PORT")
        let screen = try await Self.onTerminal([
            .expect("lists its SMB shares only to an account"), .expect("User name on the NAS: "), .send("alice\n"),
            .expect("Password for alice: "), .send(try Testbed.password() + "\n"),
            .expect("Which to mount?"), .pick("smb  secure"), .expect("[127.0.0.1]: "), .send("\n"), .expect("[secure]: "), .send("\u{04}"),
        ], ["setup", "127.0.0.1", "--smb-port", port, "--root", scratch.path], namespace: try Testbed.value("LIVE_NS"))
        #expect(screen.text.contains("$ extlib-net discover 127.0.0.1 --user alice --smb-port \(port) --root \(scratch.path)"), "\(screen.text)")
        #expect(screen.status == Int(ExitStatus.interrupted.rawValue), "\(screen.text)")
        #expect(try scratch.store.credential(named: "127.0.0.1").username == "alice")
    }

    /// Without a terminal: refused, exit 1, the plain commands named, nothing written.
    @Test func refusesWithoutATerminal() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let outcome = try await CLI.run(["setup", "127.0.0.1", "--root", scratch.path], input: "1\n\n")
        #expect(outcome.status == ExitStatus.usage.rawValue)
        #expect(outcome.error.contains("needs a terminal"), "\(outcome.error)")
        for command in ["extlib-net discover HOST", "extlib-net add NAME URL", "extlib-net mount NAME", "extlib-net boot enable"] {
            #expect(outcome.error.contains(command), "\(command) not named: \(outcome.error)")
        }
        #expect(!Self.exists(scratch.path + "/etc"))
    }

    /// Without HOST (until LAN browsing is connected): asks for the NAS's name.
    /// Without HOST, on the test bed's LAN of namespaces: the hosts that announced themselves are offered,
    /// and the one picked is discovered by the name it announced.
    @Test func withoutHostOffersTheNASesOnTheLAN() async throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        let name = try Testbed.value("LAN_SMB_NAME")
        let screen = try await Self.onTerminal([
            .expect("Which NAS?"), .pick(name), .expect("Which to mount?"), .send("q\n"),
        ], ["setup", "--root", scratch.path], namespace: try Testbed.value("LAN_CLIENT_NS"))
        #expect(screen.text.contains("$ extlib-net discover --root \(scratch.path)"), "\(screen.text)")
        #expect(screen.text.contains(try Testbed.value("LAN_NFS_NAME")), "\(screen.text)")
        #expect(!screen.text.contains(try Testbed.value("LAN_SILENT_ADDR") + " "), "a host that announced nothing is offered: \(screen.text)")
        #expect(screen.text.contains("$ extlib-net discover \(name) --root \(scratch.path)"), "\(screen.text)")
        #expect(screen.status == Int(ExitStatus.interrupted.rawValue), "\(screen.text)")
        #expect(!Self.exists(scratch.path + "/etc/extlib-net/mounts.toml"), "nothing written before a choice")
    }

    @Test func withoutHostAndNoNASOnTheLANSaysSo() async throws {
        let screen = try await Self.onTerminal([], ["setup"], namespace: try Testbed.value("EMPTY_NS"))
        #expect(screen.status == Int(ExitStatus.noneFound.rawValue), "\(screen.text)")
        #expect(screen.text.contains("no NAS announced itself on the LAN; give its name or address: extlib-net setup nas.local"), "\(screen.text)")
    }
}

/// The real services behind setup's later steps, which the host cannot reach through the flow (its mount
/// step fails here): Immich found and a share linked in the stand-in, and boot enable refusing a binary in
/// .build with nothing written. The VM suite runs them through the flow.
@Suite struct SetupServiceTests {
    @Test func immichIsFoundAndAShareLinked() async throws {
        let standIn = try StandIn()
        defer { standIn.remove() }
        var system = LiveSetupSystem(root: try SystemRoot(standIn.scratch.path), logger: .init(label: "test"))
        system.immichURL = standIn.url
        #expect(system.immichAnswers())
        var closed = system
        closed.immichURL = "http://127.0.0.1:9"
        #expect(!closed.immichAnswers())
        #expect(!system.immichLoggedIn())
        try await standIn.login()
        #expect(system.immichLoggedIn())
        let definition = MountDefinition(name: "photos", url: try MountURL.parse("smb://127.0.0.1/photos"))
        _ = try system.add(definition)
        let lines = try system.link(definition)
        // The same lines as `immich link` prints (one LinkPresentation): the library's id too.
        let id = try #require(try standIn.libraries().first?["id"] as? String)
        #expect(lines.first == "created external library 'photos' (\(id)) with import path /root/snap/immich-distribution/common/photos", "\(lines)")
        #expect(try system.link(definition).first == "library 'photos' has import path /root/snap/immich-distribution/common/photos already; nothing changed")
        let paths = try standIn.libraries().compactMap { $0["importPaths"] as? [String] }
        #expect(paths == [["/root/snap/immich-distribution/common/photos"]])
        #expect(!system.guardOn())
        #expect(system.importPath(of: definition) == "/root/snap/immich-distribution/common/photos")
    }

    @Test func bootEnableRefusesABinaryInBuildAndWritesNothing() throws {
        let scratch = try ScratchRoot()
        defer { scratch.remove() }
        var system = LiveSetupSystem(root: try SystemRoot(scratch.path), logger: .init(label: "test"))
        system.executable = CLI.built
        #expect(!system.bootEnabled())
        #expect(throws: BootError.self) { try system.enableBoot(healEvery: .seconds(300)) }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/etc/systemd"))
        #expect(!system.bootEnabled())
    }
}
