import Foundation
import TestSupport
import Testing
@testable import Discovery

/// libnfs is loaded at run time: the newest soname first, and a clear error, naming the packages, when
/// none is installed. The binary itself does not link it (one .deb for libnfs 4 and 5).
@Suite struct LibNFSTests {
    @Test func loadsTheFirstSonameThatIsThereAndBindsEveryCall() throws {
        // Debian 12 (this machine) has libnfs13; libnfs.so.14 is tried first and is not there.
        let loaded = try LibNFS.load(["libnfs.so.14", "libnfs.so.13"]).get()
        #expect(loaded.soname == "libnfs.so.13" || loaded.soname == "libnfs.so.14")
        let context = try #require(loaded.initContext(), "rpc_init_context answered a context")
        #expect(loaded.getFD(context) == -1, "not connected yet")
        loaded.destroyContext(context)
        #expect(LibNFS.sonames == ["libnfs.so.14", "libnfs.so.13"])
    }

    @Test func noLibnfsIsAnErrorNamingThePackages() {
        guard case .failure(let error) = LibNFS.load(["libnfs.so.99", "libnfs.so.98"]) else {
            Issue.record("a soname that does not exist loaded"); return
        }
        #expect(error.description.contains("libnfs.so.99") && error.description.contains("libnfs.so.98"), "\(error)")
        #expect(error.description.contains("apt install libnfs14") && error.description.contains("apt install libnfs13"), "\(error)")
        #expect(NFSListingError.libraryUnavailable(error.description).description == error.description)
    }

    /// Built without a link-time dependency: the binary's NEEDED entries name no libnfs.
    @Test func theBinaryDoesNotLinkLibnfs() throws {
        // Next to the test bundle in .build/<triple>/debug (as the integration tests find it).
        let binary = ProcessInfo.processInfo.environment["EXTLIB_NET_BIN"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("extlib-net").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "the built binary at \(binary)")
        let readelf = Process()
        readelf.executableURL = URL(fileURLWithPath: "/usr/bin/readelf")
        readelf.arguments = ["-d", binary]
        let pipe = Pipe()
        readelf.standardOutput = pipe
        try readelf.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        readelf.waitUntilExit()
        #expect(output.contains("(NEEDED)"), "readelf read the binary: \(output.prefix(200))")
        #expect(!output.contains("libnfs"), "\(output)")
    }

    /// Our declarations of libnfs's calls (CNFS/shim.h) against libnfs 4.0's and 5.0's own headers
    /// (Tests/libnfs-abi): any difference in a function type, a struct or a constant fails to compile.
    @Test(arguments: ["4.0.0", "5.0.2"])
    func theShimMatchesLibnfsHeaders(_ version: String) throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let folder = repository + "/Tests/libnfs-abi"
        let clang = ["/opt/swift/usr/bin/clang", "/usr/bin/clang", "/usr/bin/cc"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let compiler = try #require(clang, "a C compiler")
        let outcome = try Child.runBlocking(compiler, ["-fsyntax-only", "-I", folder + "/" + version, folder + "/check.c"], timeout: .seconds(60))
        #expect(outcome.status == 0, "\(outcome.error)")
    }
}
