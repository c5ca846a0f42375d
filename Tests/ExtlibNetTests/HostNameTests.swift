import Testing
@testable import System
@testable import Formats
@testable import Mounting

@Suite struct HostNameTests {
    @Test(arguments: ["nas", "nas.local", "nas.example.lan.", "my-nas_2", "NAS.LOCAL"])
    func acceptsNames(_ input: String) throws {
        #expect(try HostName.parse(input) == .name(input))
    }

    @Test(arguments: ["192.0.2.7", "::1", "[fe80::1]", "2001:db8::5"])
    func acceptsAddressLiterals(_ input: String) throws {
        guard case .address = try HostName.parse(input) else {
            Issue.record("\(input) should be an address")
            return
        }
    }

    @Test func multicastNames() throws {
        #expect(try HostName.parse("nas.local").isMulticastDNSName)
        #expect(try HostName.parse("NAS.Local.").isMulticastDNSName)
        #expect(try !HostName.parse("nas.locally").isMulticastDNSName)
        #expect(try !HostName.parse("192.0.2.1").isMulticastDNSName)
    }

    @Test func rejectsEmpty() {
        #expect(throws: HostNameError.empty) { try HostName.parse("") }
    }

    @Test func rejectsURLsAndNamesTheHost() {
        #expect(throws: HostNameError.url("smb://nas.local/photos", host: "nas.local")) { try HostName.parse("smb://nas.local/photos") }
        #expect(throws: HostNameError.url("//nas/photos", host: "nas")) { try HostName.parse("//nas/photos") }
        #expect(throws: HostNameError.url(#"\\nas\photos"#, host: "nas")) { try HostName.parse(#"\\nas\photos"#) }
        let message = HostNameError.url("smb://nas.local/photos", host: "nas.local").description
        #expect(message.contains("extlib-net discover nas.local"))
    }

    @Test func rejectsPaths() {
        #expect(throws: HostNameError.path("/mnt/nas")) { try HostName.parse("/mnt/nas") }
        #expect(throws: HostNameError.path("nas/photos")) { try HostName.parse("nas/photos") }
    }

    @Test func rejectsOtherBadInput() {
        #expect(throws: HostNameError.whitespace("my nas")) { try HostName.parse("my nas") }
        #expect(throws: HostNameError.hostWithPort("nas:445", host: "nas")) { try HostName.parse("nas:445") }
        #expect(throws: HostNameError.invalidCharacters("näs")) { try HostName.parse("näs") }
        #expect(throws: HostNameError.invalidLabel("nas..lan")) { try HostName.parse("nas..lan") }
        #expect(throws: HostNameError.tooLong(300)) { try HostName.parse(String(repeating: "a", count: 300)) }
        #expect(throws: HostNameError.invalidLabel(String(repeating: "a", count: 64) + ".lan")) {
            try HostName.parse(String(repeating: "a", count: 64) + ".lan")
        }
    }
}

@Suite struct SystemRootTests {
    @Test func prefixesPaths() throws {
        let root = try SystemRoot("/tmp/r/")
        #expect(root.path("/etc/extlib-net") == "/tmp/r/etc/extlib-net")
        #expect(SystemRoot.real.path("/run") == "/run")
        #expect(try SystemRoot("/").path("/run") == "/run")
    }

    @Test func rejectsRelativeAndEmpty() {
        #expect(throws: SystemRootError.relative("tmp/r")) { try SystemRoot("tmp/r") }
        #expect(throws: SystemRootError.empty) { try SystemRoot("") }
    }
}

@Suite struct IPAddressTests {
    @Test func roundTrips() {
        #expect(IPAddress("192.0.2.7")?.description == "192.0.2.7")
        #expect(IPAddress("[::1]")?.description == "::1")
        #expect(IPAddress("::1")?.urlHost == "[::1]")
        #expect(IPAddress("nas") == nil)
        #expect(IPAddress("256.1.1.1") == nil)
    }
}

/// Found by scripts/fuzz (the urls target): inet_pton stopped at a NUL, so a host of "051::", NULs and
/// more text was taken for the address 51:: and kept, NULs and all, in the URL.
@Suite struct EmbeddedNULTests {
    @Test func anAddressWithANULIsNotAnAddress() {
        #expect(IPAddress("::1\u{0}junk") == nil)
        #expect(IPAddress("192.0.2.7\u{0}") == nil)
        #expect(IPAddress("[::1\u{0}]") == nil)
        #expect(IPAddress("::1") != nil)
    }

    @Test func aURLWhoseHostHoldsANULIsRefused() {
        #expect(throws: MountURLError.self) { try MountURL.parse("nfs://051::\u{0}\u{0}\u{0}81]:2049/v/v/phot") }
        #expect(throws: MountURLError.self) { try MountURL.parse("smb://[::1\u{0}x]/share") }
    }
}

/// Found by scripts/fuzz (the urls target): "/" followed by a combining mark is one Character, so the
/// path split missed it and a share or folder name could hold a slash.
@Suite struct CombiningMarkAfterSlashTests {
    @Test func aSlashBeforeACombiningMarkStillSeparates() throws {
        let url = try MountURL.parse("smb://ng/b:///\u{05B1}")
        #expect(url == .smb(host: "ng", port: nil, share: "b:", subdirectory: "\u{05B1}"))
        #expect(try MountURL.parse(url.description) == url)
        #expect(throws: MountURLError.self) { try MountURL.parse("smb://nas/a%2F\u{0301}") }
        if case .smb(_, _, let share, _) = try MountURL.parse("smb://nas//\u{0301}x") { #expect(!share.unicodeScalars.contains("/")) }
    }
}
