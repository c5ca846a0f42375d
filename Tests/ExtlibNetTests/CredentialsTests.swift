import Foundation
import PropertyBased
import Testing
@testable import System
@testable import Formats
@testable import Credentials

/// Characters that break naive formats: separators, quotes, shell and comment characters, spaces,
/// brackets, backslashes, tabs and non-ASCII letters.
private let hostileAlphabet: [Character] = Array(#"ab,=#;"'$`\ []{}%!&*()<>|?~^@+:./_-"#) + ["\t", "ü", "ß", "é", "日", "🙂", "Ω", "\u{A0}", "\u{301}"]

/// A temporary system root, removed afterwards.
final class TemporaryRoot {
    let path: String
    let root: SystemRoot

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        root = try SystemRoot(path)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var store: CredentialStore { CredentialStore(root: root, logger: .init(label: "test")) }

    func write(_ text: String, mode: Int = 0o600) throws {
        try FileManager.default.createDirectory(atPath: store.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        FileManager.default.createFile(atPath: store.path, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
    }

    func contents() -> Data? { FileManager.default.contents(atPath: store.path) }
}

@Suite struct CredentialFormatTests {
    @Test func arbitraryValuesRoundTripThroughWriterAndParser() async {
        let alphabet = hostileAlphabet
        let nameAlphabet = Array("abcXYZ0189._-")
        let hostile = Gen.int(in: 0...(alphabet.count - 1)).array(of: 1...40).map { String($0.map { alphabet[$0] }) }
        // Usernames and domains: no commas, and no blanks at the edges (inner ones are fine).
        let noComma = hostile.map { "u" + $0.replacingOccurrences(of: ",", with: "u") + "u" }
        let names = Gen.int(in: 0...(nameAlphabet.count - 1)).array(of: 0...20).map { "n" + String($0.map { nameAlphabet[$0] }) }
        await propertyCheck(count: 300, input: names, noComma, hostile, noComma.optional()) { name, user, password, domain in
            let credential = try Credential(name: name, username: user, password: Secret(password), domain: domain)
            var document = CredentialsDocument()
            document.upsert(credential)
            let parsed = try CredentialsDocument.parse(document.rendered())
            #expect(parsed.credentials == [credential])
            #expect(parsed.credential(named: name)?.password.reveal() == password)
        }
    }

    @Test func passwordsWithSpecialCharactersRoundTripExactly() throws {
        for password in [#"pa,ss"word"#, " leading and trailing ", "$HOME=#x", "ümläut ß", "a=b=c", "#not-a-comment", "[x]", ";semi"] {
            let credential = try Credential(name: "nas", username: "alice", password: Secret(password), domain: "WORKGROUP")
            var document = CredentialsDocument()
            document.upsert(credential)
            #expect(try CredentialsDocument.parse(document.rendered()).credentials.first?.password.reveal() == password)
        }
    }

    @Test(arguments: [
        ("user\nname", CredentialFieldError.controlCharacter(.username)),
        ("user\rname", .controlCharacter(.username)),
        ("user\0name", .controlCharacter(.username)),
        ("alice,uid=0", .comma(.username)),
        ("", .empty(.username)),
        (" alice", .edgeBlank(.username)),
        ("alice\t", .edgeBlank(.username)),
        (String(repeating: "u", count: 257), .tooLong(.username, limit: 256)),
    ])
    func hostileUsernamesAreRejected(_ username: String, _ expected: CredentialFieldError) {
        #expect(throws: expected) { try Credential(name: "nas", username: username, password: Secret("pw"), domain: nil) }
    }

    @Test func hostileDomainsAndPasswordsAreRejected() {
        #expect(throws: CredentialFieldError.comma(.domain)) { try Credential(name: "n", username: "u", password: Secret("p"), domain: "WG,uid=0") }
        #expect(throws: CredentialFieldError.controlCharacter(.domain)) { try Credential(name: "n", username: "u", password: Secret("p"), domain: "W\nG") }
        #expect(throws: CredentialFieldError.controlCharacter(.password)) { try Credential(name: "n", username: "u", password: Secret("p\nq"), domain: nil) }
        #expect(throws: CredentialFieldError.controlCharacter(.password)) { try Credential(name: "n", username: "u", password: Secret("p\0q"), domain: nil) }
        #expect(throws: CredentialFieldError.empty(.password)) { try Credential(name: "n", username: "u", password: Secret(""), domain: nil) }
        // 512 bytes after commas are doubled: 300 commas count as 600.
        #expect(throws: CredentialFieldError.tooLong(.password, limit: 512)) {
            try Credential(name: "n", username: "u", password: Secret(String(repeating: ",", count: 300)), domain: nil)
        }
        #expect(throws: Never.self) { try Credential(name: "n", username: "u", password: Secret(String(repeating: ",", count: 256)), domain: nil) }
    }

    @Test(arguments: ["", "-x", ".x", "a b", "ä", String(repeating: "a", count: 65), "a/b", "a\nb"])
    func invalidNamesAreRejected(_ name: String) {
        #expect(!NameRule.isValid(name))
        #expect(throws: CredentialFieldError.invalidName(name)) { try Credential(name: name, username: "u", password: Secret("p"), domain: nil) }
    }

    @Test func errorMessagesNeverContainThePassword() {
        let secret = "s3cr3t,\"value"
        for password in [secret + "\n", secret + "\0", String(repeating: secret, count: 100)] {
            do {
                _ = try Credential(name: "n", username: "u", password: Secret(password), domain: nil)
                Issue.record("accepted")
            } catch {
                #expect(!error.description.contains("s3cr3t"))
            }
        }
        let malformed = "[nas]\nusername=a,b\npassword=\(secret)\n"
        do {
            _ = try CredentialsDocument.parse(Array(malformed.utf8))
            Issue.record("accepted")
        } catch {
            #expect(!error.description.contains("s3cr3t"))
        }
    }

    @Test(arguments: [
        ("username=a\n", 1, "before any [name]"),
        ("[nas]\nusername=a\npassword=b\n[nas]\nusername=c\npassword=d\n", 4, "appears twice"),
        ("[nas]\nusername=a\n", 1, "no password"),
        ("# c\n[nas]\npassword=b\n", 2, "no username"),
        ("[nas]\nusername=a\nusername=b\npassword=c\n", 3, "appears twice"),
        ("[nas]\nuser=a\npassword=c\n", 2, "unknown key 'user'"),
        ("[nas]\nusername=a\npassword=b\njunk\n", 4, "expected [name]"),
        ("[bad name]\n", 1, "not a valid credential name"),
        ("[nas\n", 1, "must look like [name]"),
        ("[nas]\nusername=a,b\npassword=c\n", 1, "','"),
    ])
    func malformedFilesNameTheLine(_ text: String, _ line: Int, _ problem: String) {
        do {
            _ = try CredentialsDocument.parse(Array(text.utf8))
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.description.contains(problem), "\(error)")
        }
    }

    @Test func handEditsAreReadAndKept() throws {
        let text = """
            # my NAS accounts
            [home]
              username = photos
            password=with spaces and # hash
            ; old work account
            [work]\r
            username=bob\r
            password=x\r
            domain=CORP\r

            """
        var document = try CredentialsDocument.parse(Array(text.utf8))
        #expect(document.credential(named: "home")?.username == "photos")
        #expect(document.credential(named: "home")?.password.reveal() == "with spaces and # hash")
        #expect(document.credential(named: "work")?.domain == "CORP")
        #expect(document.credential(named: "work")?.password.reveal() == "x")

        let removed = document.remove(named: "home")
        #expect(removed)
        let after = String(decoding: document.rendered(), as: UTF8.self)
        #expect(after.contains("# my NAS accounts"))
        #expect(after.contains("; old work account"), "the comment above [work] stays when [home] goes")
        #expect(!after.contains("photos"))
        document.upsert(try Credential(name: "work", username: "carol", password: Secret("y"), domain: nil))
        let replaced = try CredentialsDocument.parse(document.rendered())
        #expect(replaced.credentials.map(\.username) == ["carol"])
        #expect(String(decoding: document.rendered(), as: UTF8.self).contains("; old work account"))
    }
}

@Suite struct CredentialStoreTests {
    let alice = try! Credential(name: "nas", username: "alice", password: Secret(#"pa,ss"word"#), domain: nil)

    @Test func createsFileAndDirectoryPrivately() throws {
        let temp = try TemporaryRoot()
        try temp.store.add(alice, replacing: false)
        var info = stat()
        #expect(lstat(temp.store.path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(info.st_uid == 0)
        #expect(lstat(temp.store.directory, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
        #expect(try temp.store.credential(named: "nas") == alice)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: temp.store.directory)
        #expect(leftovers == ["credentials"])
    }

    @Test func replacesOnlyWhenAsked() throws {
        let temp = try TemporaryRoot()
        try temp.store.add(alice, replacing: false)
        let bob = try Credential(name: "nas", username: "bob", password: Secret("x"), domain: nil)
        #expect(throws: CredentialStoreError.exists(name: "nas")) { try temp.store.add(bob, replacing: false) }
        try temp.store.add(bob, replacing: true)
        #expect(try temp.store.credential(named: "nas").username == "bob")
        try temp.store.remove(named: "nas")
        #expect(throws: CredentialStoreError.notFound(name: "nas", path: temp.store.path)) { try temp.store.remove(named: "nas") }
    }

    @Test(arguments: [0o640, 0o604, 0o660, 0o644, 0o700])
    func refusesFilesOthersCanAccess(_ mode: Int) throws {
        let temp = try TemporaryRoot()
        try temp.write("[nas]\nusername=a\npassword=b\n", mode: mode)
        let before = temp.contents()
        do {
            _ = try temp.store.load()
            if mode & 0o077 != 0 { Issue.record("accepted mode \(String(mode, radix: 8))") }
        } catch {
            guard case .unsafe(let fileError) = error, case .tooOpen = fileError.code else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(error.description.contains("chmod 600"))
        }
        if mode & 0o077 != 0 {
            #expect(throws: CredentialStoreError.self) { try temp.store.add(alice, replacing: false) }
            #expect(temp.contents() == before)
        }
    }

    @Test func refusesFilesNotOwnedByRoot() throws {
        let temp = try TemporaryRoot()
        try temp.write("[nas]\nusername=a\npassword=b\n")
        #expect(chown(temp.store.path, 65534, 65534) == 0)
        #expect {
            try temp.store.load()
        } throws: { error in
            guard let error = error as? CredentialStoreError, case .unsafe(let fileError) = error, case .wrongOwner(65534) = fileError.code else { return false }
            return error.description.contains("chown root:root")
        }
    }

    @Test func refusesSymlinkedFile() throws {
        let temp = try TemporaryRoot()
        try temp.write("")
        try FileManager.default.removeItem(atPath: temp.store.path)
        let elsewhere = temp.path + "/elsewhere"
        FileManager.default.createFile(atPath: elsewhere, contents: Data("[nas]\nusername=a\npassword=b\n".utf8), attributes: [.posixPermissions: 0o600])
        try FileManager.default.createSymbolicLink(atPath: temp.store.path, withDestinationPath: elsewhere)
        #expect {
            try temp.store.load()
        } throws: { error in
            guard let error = error as? CredentialStoreError, case .unsafe(let fileError) = error else { return false }
            return fileError.code == .symlink
        }
        #expect(throws: CredentialStoreError.self) { try temp.store.add(alice, replacing: false) }
        #expect(FileManager.default.contents(atPath: elsewhere) == Data("[nas]\nusername=a\npassword=b\n".utf8), "the link target is untouched")
    }

    @Test func refusesAnOpenDirectoryForWriting() throws {
        let temp = try TemporaryRoot()
        try temp.write("[nas]\nusername=a\npassword=b\n")
        #expect(chmod(temp.store.directory, 0o755) == 0)
        #expect {
            try temp.store.add(alice, replacing: true)
        } throws: { error in
            (error as? CredentialStoreError)?.description.contains("chmod 700") == true
        }
    }

    @Test func malformedFileIsNeverRewritten() throws {
        let temp = try TemporaryRoot()
        let text = "[nas]\nusername=a\npassword=b\ngarbage\n"
        try temp.write(text)
        for attempt in [{ try temp.store.add(alice, replacing: true) }, { try temp.store.remove(named: "nas") }] {
            #expect {
                try attempt()
            } throws: { error in
                (error as? CredentialStoreError)?.description.contains("line 4") == true
            }
            #expect(temp.contents() == Data(text.utf8))
        }
    }

    @Test func staleTemporariesFromKilledWritersAreCleanedUp() throws {
        let temp = try TemporaryRoot()
        try temp.store.add(alice, replacing: false)
        let stale = temp.store.directory + "/.credentials.999.1.tmp"
        FileManager.default.createFile(atPath: stale, contents: Data("half".utf8), attributes: [.posixPermissions: 0o600])
        try temp.store.add(try Credential(name: "b", username: "b", password: Secret("b"), domain: nil), replacing: false)
        #expect(!FileManager.default.fileExists(atPath: stale))
    }
}
