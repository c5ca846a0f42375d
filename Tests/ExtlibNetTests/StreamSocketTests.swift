import Foundation
import SystemPackage
import Testing
@testable import System

#if canImport(Glibc)
import Glibc
#endif

/// StreamSocket against real listeners on this machine: a peer that never answers ends in `.timedOut`
/// at the deadline, a peer that closes ends the stream, and a refused connection is an `Errno`.
@Suite struct StreamSocketTests {
    /// A listening Unix socket in a fresh folder; its connections are accepted by the kernel's backlog
    /// and never answered.
    static func silentUnixListener() throws -> (path: String, fd: Int32, folder: String) {
        let folder = NSTemporaryDirectory() + "extlib-net-stream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/s"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        try #require(bound == 0 && listen(fd, 4) == 0)
        return (path, fd, folder)
    }

    @Test func aPeerThatNeverAnswersTimesOutAtTheDeadline() throws {
        let listener = try Self.silentUnixListener()
        defer { close(listener.fd); try? FileManager.default.removeItem(atPath: listener.folder) }
        let socket = try StreamSocket.connect(unixSocket: listener.path, until: .after(.seconds(2)))
        try socket.send(Array("hello\n".utf8), until: .after(.seconds(2)))
        let started = ContinuousClock.now
        #expect(throws: StreamSocket.Failure.timedOut) { _ = try socket.receive(max: 64, until: .after(.milliseconds(300))) }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(250) && waited < .seconds(2), "\(waited)")
    }

    @Test func aPeerThatClosesEndsTheStream() throws {
        let listener = try Self.silentUnixListener()
        defer { close(listener.fd); try? FileManager.default.removeItem(atPath: listener.folder) }
        let socket = try StreamSocket.connect(unixSocket: listener.path, until: .after(.seconds(2)))
        let accepted = accept(listener.fd, nil, nil)
        try #require(accepted >= 0)
        _ = Array("bye".utf8).withUnsafeBytes { write(accepted, $0.baseAddress, 3) }
        close(accepted)
        #expect(try socket.receive(max: 64, until: .after(.seconds(2))) == Array("bye".utf8))
        #expect(try socket.receive(max: 64, until: .after(.seconds(2))) == [])
    }

    @Test func aMissingSocketAndARefusedPortAreErrnos() throws {
        #expect(throws: StreamSocket.Failure.failed(.noSuchFileOrDirectory)) {
            _ = try StreamSocket.connect(unixSocket: "/nonexistent/extlib-net.sock", until: .after(.seconds(1)))
        }
        #expect(throws: StreamSocket.Failure.failed(.fileNameTooLong)) {
            _ = try StreamSocket.connect(unixSocket: "/" + String(repeating: "x", count: 200), until: .after(.seconds(1)))
        }
        // Port 1 on loopback: nobody listens there in the test bed.
        #expect(throws: StreamSocket.Failure.failed(.connectionRefused)) {
            _ = try StreamSocket.connect(to: Endpoint(IPAddress("127.0.0.1")!, 1), until: .after(.seconds(2)))
        }
    }
}
