import Dispatch
import Foundation
import TestSupport
import Testing
@testable import System
@testable import Discovery

#if canImport(Glibc)
import Glibc
#endif

@Suite struct MulticastDNSTests {
    @Test func queryAsksForAUnicastResponse() {
        let packet = MulticastDNS.query(for: "nas.local", id: 0x1234)
        #expect(packet.prefix(6) == [0x12, 0x34, 0, 0, 0, 1])
        #expect(Array(packet[12...]) == [3] + Array("nas".utf8) + [5] + Array("local".utf8) + [0, 0, 1, 0x80, 1])
    }

    /// A response as avahi sends it: the question echoed, then an A record whose owner name is a
    /// compression pointer to the question.
    static func response(address: [UInt8], owner: String = "nas.local") -> [UInt8] {
        var packet: [UInt8] = [0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0]
        for label in owner.split(separator: ".") { packet += [UInt8(label.utf8.count)] + Array(label.utf8) }
        packet += [0, 0, 1, 0, 1]
        packet += [0xC0, 12, 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4] + address
        return packet
    }

    @Test func parsesCompressedAnswers() {
        let addresses = MulticastDNS.addresses(in: Self.response(address: [169, 254, 77, 1]), for: "NAS.local")
        #expect(addresses.map(\.description) == ["169.254.77.1"])
    }

    @Test func ignoresOtherNamesAndQueries() {
        #expect(MulticastDNS.addresses(in: Self.response(address: [1, 2, 3, 4], owner: "other.local"), for: "nas.local").isEmpty)
        var query = Self.response(address: [1, 2, 3, 4])
        query[2] = 0  // not a response
        #expect(MulticastDNS.addresses(in: query, for: "nas.local").isEmpty)
    }

    @Test func survivesHostilePackets() {
        // A compression pointer to itself, a truncated record, and garbage must all end quietly.
        let loop: [UInt8] = [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]
        #expect(MulticastDNS.addresses(in: loop, for: "nas.local").isEmpty)
        let truncated = Array(Self.response(address: [1, 2, 3, 4]).dropLast(3))
        #expect(MulticastDNS.addresses(in: truncated, for: "nas.local").isEmpty)
    }

    /// Seeded random and mutated packets: never a crash or a hang, and an address returned is always
    /// one the packet really carries (four bytes of it), never something made up.
    @Test func mutatedPacketsGiveOnlyAddressesTheyCarry() {
        var generator = SeededGenerator(state: 0xD15C_0DE5)
        let valid = Self.response(address: [169, 254, 77, 1])
        let started = ContinuousClock.now
        var found = 0
        for round in 0..<20_000 {
            var packet: [UInt8]
            if round % 4 == 0 {
                packet = (0..<Int.random(in: 0...80, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                packet = valid
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    packet[Int.random(in: 0..<packet.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                if round % 7 == 0 { packet = Array(packet.prefix(Int.random(in: 0...packet.count, using: &generator))) }
            }
            for address in MulticastDNS.addresses(in: packet, for: "nas.local") {
                guard case .v4(let raw) = address else { Issue.record("an IPv6 address from an A record: \(packet)"); continue }
                let bytes = withUnsafeBytes(of: raw) { Array($0) }
                let carried = packet.count >= 4 && (0...(packet.count - 4)).contains { Array(packet[$0..<$0 + 4]) == bytes }
                #expect(carried, "\(address) is not in \(packet)")
                found += 1
            }
        }
        #expect(found > 0, "some mutations leave the answer intact")
        #expect(ContinuousClock.now - started < .seconds(20), "no packet makes parsing slow")
    }
}

@Suite struct AvahiProtocolTests {
    @Test func parsesReplies() {
        #expect(AvahiClient.parse("+ 2 0 nas.local 169.254.77.1\n") == .resolved([IPAddress("169.254.77.1")!]))
        #expect(AvahiClient.parse("-15 Timeout reached\n") == .unavailable("unexpected reply from avahi-daemon"))
        #expect(AvahiClient.parse("- 15 Timeout reached\n") == .notFound)
    }

    @Test func missingSocketIsUnavailable() {
        let client = AvahiClient(socketPath: "/nonexistent/extlib-net-test/socket", logger: .init(label: "test"))
        guard case .unavailable = client.resolve("nas.local", until: .after(.seconds(1))) else {
            Issue.record("expected unavailable")
            return
        }
    }
}

/// Real sockets on the host's loopback.
@Suite struct TCPProbeTests {
    /// A listening socket on 127.0.0.1 with a kernel-chosen port.
    static func listener() throws -> (Descriptor, UInt16) {
        let socket = try Descriptor.socket(family: AF_INET, type: Int32(SOCK_STREAM.rawValue))
        let loopback = IPAddress("127.0.0.1")!
        #expect(loopback.withSocketAddress(port: 0) { bind(socket.raw, $0, $1) } == 0)
        #expect(listen(socket.raw, 4) == 0)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket.raw, $0, &length) } }
        return (socket, UInt16(bigEndian: address.sin_port))
    }

    @Test func listeningPortIsOpen() throws {
        let (listening, port) = try Self.listener()
        let states = TCPProbe.probe([Endpoint(IPAddress("127.0.0.1")!, port)], until: .after(.seconds(2)))
        #expect(states == [.open])
        withExtendedLifetime(listening) {}
    }

    @Test func refusedPortIsClosed() throws {
        var port: UInt16 = 0
        do {
            let (socket, chosen) = try Self.listener()
            port = chosen
            withExtendedLifetime(socket) {}
        }
        let states = TCPProbe.probe([Endpoint(IPAddress("127.0.0.1")!, port)], until: .after(.seconds(2)))
        #expect(states == [.closed])
    }
}

@Suite struct BlockingCallTests {
    @Test func returnsValueBeforeDeadline() {
        let call = BlockingCall(on: DispatchQueue(label: "t1")) { 42 }
        #expect(call.wait(until: .after(.seconds(5))) == 42)
        #expect(call.wait(until: .after(.seconds(5))) == 42)
    }

    @Test func givesUpAtTheDeadline() {
        let started = ContinuousClock.now
        let call = BlockingCall(on: DispatchQueue(label: "t2")) { () -> Int in
            usleep(2_000_000)
            return 1
        }
        #expect(call.wait(until: .after(.milliseconds(200))) == nil)
        #expect(ContinuousClock.now - started < .milliseconds(1500))
    }
}

/// The real runner with real programs (sh), checking what a child can see.
@Suite struct ProcessRunnerTests {
    let runner = SystemProcessRunner()

    @Test func secretArrivesOnDescriptor3AndNowhereElse() throws {
        let secret = Secret("pa,ss\"word $x")
        let script = #"printf 'fd:'; cat <&3; printf '\nenv:%s\nargs:%s\n' "$(env | sort | tr '\n' ' ')" "$*""#
        let result = try runner.run("/bin/sh", ["-c", script, "sh", "arg1"], secret: secret, until: .after(.seconds(5)))
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("fd:pa,ss\"word $x"))
        let afterSecret = result.standardOutput.components(separatedBy: "\n").dropFirst().joined(separator: "\n")
        #expect(!afterSecret.contains("pa,ss"), "the password must be only on fd 3: \(afterSecret)")
        #expect(afterSecret.contains("PASSWD_FD=3"))
        #expect(!afterSecret.contains("HOME="), "helpers get a minimal environment")
    }

    @Test func standardOutputErrorAndTerminationApart() throws {
        let result = try runner.run("/bin/sh", ["-c", "echo out; echo 'mount error(13): Permission denied' >&2; exit 32"], secret: nil, until: .after(.seconds(5)))
        #expect(result == ProcessResult(.exited(32), standardOutput: "out\n", standardError: "mount error(13): Permission denied\n"))
        #expect(result.messages == "mount error(13): Permission denied\n\nout\n")
        let killed = try runner.run("/bin/sh", ["-c", "kill -TERM $$"], secret: nil, until: .after(.seconds(5)))
        #expect(killed.termination == .signalled(SIGTERM))
        #expect(killed.status == 128 + SIGTERM)
    }

    @Test func deadlineKillsAHangingChild() throws {
        let started = ContinuousClock.now
        let result = try runner.run("/bin/sleep", ["30"], secret: nil, until: .after(.milliseconds(300)))
        #expect(result.timedOut)
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    /// umount runs umount.nfs: at the deadline what the child started goes too, and holds no pipe of ours.
    @Test func deadlineKillsWhatTheChildStarted() throws {
        let marker = "extlib-net-grandchild-\(getpid())"
        let started = ContinuousClock.now
        let result = try runner.run("/bin/sh", ["-c", "/bin/sh -c 'sleep 30; : \(marker)' ; true"], secret: nil, until: .after(.milliseconds(500)))
        #expect(result.timedOut)
        #expect(ContinuousClock.now - started < .seconds(3))
        usleep(200_000)
        let left = try Child.runBlocking("/usr/bin/pgrep", ["-f", marker])
        #expect(left.output.isEmpty, "the grandchild was left running: \(left.output)")
    }

    /// Dispatch worker threads block most signals; a helper started from one must not inherit that,
    /// or SIGTERM (systemd stopping the unit, a user's kill) would not reach it.
    @Test func childrenStartWithNoBlockedSignals() throws {
        let result = BlockingCall(on: DispatchQueue(label: "blocked")) { () -> ProcessResult? in
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_BLOCK, &all, nil)
            defer {
                var none = sigset_t()
                sigemptyset(&none)
                pthread_sigmask(SIG_SETMASK, &none, nil)
            }
            // grep itself, not through sh: dash clears its signal mask when it starts.
            return try? self.runner.run("/bin/grep", ["-E", "^Sig(Blk|Ign):", "/proc/self/status"], secret: nil, until: .after(.seconds(5)))
        }.wait(until: .after(.seconds(10))).flatMap { $0 }
        #expect(result?.status == 0)
        let masks = Dictionary(uniqueKeysWithValues: (result?.standardOutput ?? "").split(separator: "\n").compactMap { line -> (String, UInt64)? in
            let parts = line.split(separator: "\t")
            return parts.count == 2 ? (String(parts[0]), UInt64(parts[1], radix: 16) ?? .max) : nil
        })
        #expect(masks["SigBlk:"] == 0, "\(String(describing: result))")
        // Standard signals 1...31 at their defaults (glibc keeps two of its own real-time signals apart).
        #expect(masks["SigIgn:"].map { $0 & 0x7fff_ffff } == 0, "\(String(describing: result))")
    }

    /// A descriptor opened elsewhere without close-on-exec (a script being written, which would then
    /// fail to run with ETXTBSY) never reaches a helper; the secret's descriptor 3 still does.
    @Test func strayDescriptorsNeverReachTheChild() throws {
        let stray = open("/dev/null", O_RDONLY)
        let high = dup2(stray, 57)
        close(stray)
        defer { close(high) }
        let result = try runner.run("/bin/sh", ["-c", "[ -e /proc/self/fd/57 ] && echo leaked || echo closed; [ -e /proc/self/fd/3 ] && echo secret; cat <&3 >/dev/null"],
                                    secret: Secret("x"), until: .after(.seconds(5)))
        #expect(result.standardOutput == "closed\nsecret\n")
        let child = try? Child.runBlocking("/bin/sh", ["-c", "[ -e /proc/self/fd/57 ] && echo leaked || echo closed"])
        #expect(child?.output == "closed\n")
    }

    @Test func aMissingProgramIsAThrownError() {
        #expect(throws: SpawnError(executable: "/nonexistent/mount.cifs", errno: .noSuchFileOrDirectory)) {
            try runner.run("/nonexistent/mount.cifs", [], secret: nil, until: .after(.seconds(1)))
        }
        // The secret then goes to a socket nobody reads: EPIPE, where a SIGPIPE would end the test run.
        #expect(throws: SpawnError.self) { try runner.run("/nonexistent/mount.cifs", [], secret: Secret("pw"), until: .after(.seconds(1))) }
        #expect(SpawnError(executable: "/sbin/mount.cifs", errno: .noSuchFileOrDirectory).description == "/sbin/mount.cifs is not installed")
    }
}

/// The tests' own child processes (Tests/TestSupport): a hung child never hangs the test run.
@Suite struct TestChildTests {
    @Test func aGrandchildHoldingTheOutputIsKilledAtTheDeadline() throws {
        let started = ContinuousClock.now
        let outcome = try Child.runBlocking("/bin/sh", ["-c", "sleep 30 & echo started"], timeout: .milliseconds(500))
        #expect(outcome.timedOut)
        #expect(outcome.output == "started\n")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func statusOutputErrorAndInput() throws {
        let outcome = try Child.runBlocking("/bin/sh", ["-c", "read line; echo \"out $line\"; echo err >&2; exit 3"], input: "typed\n")
        #expect(!outcome.timedOut)
        #expect(outcome.status == 3)
        #expect(outcome.output == "out typed\n")
        #expect(outcome.error == "err\n")
    }

    @Test func signalReachesTheChildAndIsReported() throws {
        let child = try Child.start("/bin/sleep", ["30"], capture: .none)
        child.signal(SIGTERM)
        let outcome = child.wait(timeout: .seconds(5))
        #expect(outcome.status == 128 + SIGTERM && !outcome.timedOut)
    }
}

@Suite struct SMBDialectProbeTests {
    /// An SMB1 NEGOTIATE response choosing dialect `index`, as a NetBIOS session message.
    static func smb1Response(index: UInt16, status: [UInt8] = [0, 0, 0, 0]) -> [UInt8] {
        var smb: [UInt8] = [0xFF, 0x53, 0x4D, 0x42, 0x72] + status + [0x98, 0x01, 0xC8] + [UInt8](repeating: 0, count: 20)
        smb += [17, UInt8(index & 0xFF), UInt8(index >> 8)] + [UInt8](repeating: 0, count: 34) + [0, 0]
        return [0, 0, UInt8(smb.count >> 8), UInt8(smb.count & 0xFF)] + smb
    }

    static let smb2Response: [UInt8] = {
        let smb: [UInt8] = [0xFE, 0x53, 0x4D, 0x42, 64, 0] + [UInt8](repeating: 0, count: 58) + [65, 0, 1, 0, 0xFF, 0x02]
        return [0, 0, 0, UInt8(smb.count)] + smb
    }()

    @Test func requestOffersSMB1ThenSMB2() {
        let request = SMBDialectProbe.negotiateRequest()
        #expect(SMBDialectProbe.frameState(request) == .complete)
        #expect(Array(request[4..<9]) == [0xFF, 0x53, 0x4D, 0x42, 0x72])
        let dialects = String(decoding: request[39...].map { $0 == 2 || $0 == 0 ? UInt8(ascii: "|") : $0 }, as: UTF8.self)
        #expect(dialects == "|NT LM 0.12||SMB 2.002||SMB 2.???|")
    }

    @Test func readsTheChosenGeneration() {
        #expect(SMBDialectProbe.generation(inResponse: Self.smb1Response(index: 0)) == .success(.smb1Only))
        #expect(SMBDialectProbe.generation(inResponse: Self.smb1Response(index: 2)) == .success(.smb2OrLater))
        #expect(SMBDialectProbe.generation(inResponse: Self.smb2Response) == .success(.smb2OrLater))
    }

    @Test func refusalsAndGarbageAreNotSMB1() {
        for bytes in [Self.smb1Response(index: 0xFFFF), Self.smb1Response(index: 0, status: [0x22, 0, 0, 0xC0]),
                      Array(Self.smb1Response(index: 0).prefix(30)), [0, 0, 0, 4, 1, 2, 3, 4], [0x85, 0, 0, 0], [0, 0xFF, 0xFF, 0xFF]] {
            #expect(SMBDialectProbe.generation(inResponse: bytes) != .success(.smb1Only), "\(bytes)")
        }
        #expect(SMBDialectProbe.frameState([0, 0xFF, 0xFF, 0xFF]) != .complete, "a 16 MiB frame is refused, not awaited")
    }

    /// Seeded random and mutated answers: never a crash, and "SMB1 only" only for an SMB1 NEGOTIATE
    /// answer that chose index 0.
    @Test func mutatedAnswersNeverCrash() {
        var generator = SeededGenerator(state: 0x5B1_0000)
        let valid = [Self.smb1Response(index: 0), Self.smb2Response]
        var smb1Answers = 0
        defer { #expect(smb1Answers >= CountedMinimum.smb1Answers, "only \(smb1Answers) mutated answers read as SMB1 only") }
        for round in 0..<20_000 {
            var bytes = valid[round % 2]
            if round % 5 == 0 {
                bytes = (0..<Int.random(in: 0...120, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                if round % 7 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator))) }
            }
            if case .success(.smb1Only) = SMBDialectProbe.generation(inResponse: bytes) {
                smb1Answers += 1
                #expect(bytes.count >= 39 && bytes[4] == 0xFF && bytes[8] == 0x72 && bytes[37] == 0 && bytes[38] == 0, "\(bytes)")
            }
        }
    }
}
