import Foundation
import Logging
import Synchronization
import Testing
import TestSupport
@testable import System
@testable import Mounting

/// Nothing waits without a deadline: the mount lock, and a batch of shares that never answer.
@Suite struct BoundedWaitTests {
    @Test func aHeldLockIsWaitedForBoundedlyAndItsHolderNamed() throws {
        let temp = try TemporaryRoot()
        let path = temp.path + "/extlib-net.lock"
        FileManager.default.createFile(atPath: path, contents: Data())
        let holder = try Child.start("/usr/bin/flock", [path, "sleep", "30"], capture: .none)
        defer { holder.stop() }
        // flock takes the lock right after it starts.
        let started = Deadline.after(.seconds(10))
        while LockHolderProbe.isFree(path), !started.hasPassed { usleep(20_000) }
        var told: [LockHolder?] = []
        let begin = ContinuousClock.now
        #expect {
            _ = try FileLock(path: path, timeout: .milliseconds(600)) { told.append($0) }
        } throws: { error in
            guard let error = error as? SecureFileError, case .busy(let who, _) = error.code else { return false }
            return who?.command.contains("sleep 30") == true && error.exitStatus == .system && error.description.contains("still after")
        }
        let waited = ContinuousClock.now - begin
        #expect(waited >= .milliseconds(600) && waited < .seconds(3), "waited \(waited)")
        #expect(told.count == 1, "told once who holds it")
        #expect(told.first??.command.contains("flock") == true || told.first??.command.contains("sleep") == true)
        holder.stop()
        _ = try FileLock(path: path, timeout: .seconds(2))
    }

    /// MountService's own lock (what mount, heal and the boot unit take): a second taker, another process
    /// or not, waits at most its timeout, hears who holds it, and gets a LockError (exit 2) naming the
    /// wait; once the first lets go, the lock can be taken. A /run that is a symlink is refused.
    @Test func theServiceLockIsExclusiveAndBounded() throws {
        let temp = try TemporaryRoot()
        let service = MountService(mounter: Mounter(root: temp.root, logger: Logger(label: "test")))
        var first: FileLock? = try service.lock(timeout: .seconds(1))
        #expect(FileManager.default.fileExists(atPath: service.lockPath))
        var told = 0
        let begin = ContinuousClock.now
        #expect {
            _ = try service.lock(timeout: .milliseconds(400)) { _ in told += 1 }
        } throws: { error in
            guard let error = error as? LockError, case .busy = error.underlying.code else { return false }
            return error.exitStatus == .system
        }
        let waited = ContinuousClock.now - begin
        #expect(waited >= .milliseconds(400) && waited < .seconds(3), "waited \(waited)")
        #expect(told == 1)
        withExtendedLifetime(first) {}
        first = nil
        _ = try service.lock(timeout: .milliseconds(400))

        let linked = try TemporaryRoot()
        try FileManager.default.createDirectory(atPath: linked.path + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: linked.path + "/run", withDestinationPath: linked.path + "/elsewhere")
        let refusing = MountService(mounter: Mounter(root: linked.root, logger: Logger(label: "test")))
        #expect(throws: LockError.self) { _ = try refusing.lock(timeout: .milliseconds(200)) }
        #expect(!FileManager.default.fileExists(atPath: linked.path + "/elsewhere/extlib-net.lock"))
    }

    /// 16 shares whose server is off: all together end within --wait, not 8 at a time each with the full wait.
    @Test func waitBoundsTheWholeBatch() throws {
        let temp = try TemporaryRoot()
        let port: UInt16 = try {
            let (socket, port) = try TCPProbeTests.listener()
            withExtendedLifetime(socket) {}
            return port
        }()  // closed once the listener is gone
        var mounter = Mounter(root: temp.root, logger: Logger(label: "test"))
        mounter.probeTimeout = .milliseconds(300)
        let service = MountService(mounter: mounter)
        let definitions = try (1...16).map { MountDefinition(name: "s\($0)", url: try MountURL.parse("nfs://127.0.0.1:\(port)/x\($0)")) }
        let begin = ContinuousClock.now
        let results = service.mount(definitions, wait: .seconds(2)) { _ in }
        let took = ContinuousClock.now - begin
        #expect(results.allSatisfy { if case .failure = $0 { true } else { false } })
        #expect(took < .seconds(4), "16 unreachable shares took \(took) for --wait 2s")
    }
}

enum LockHolderProbe {
    static func isFree(_ path: String) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        flock(fd, LOCK_UN)
        return true
    }
}
