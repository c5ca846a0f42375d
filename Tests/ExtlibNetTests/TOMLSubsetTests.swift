import Testing
@testable import Formats
@testable import Mounting

/// The mounts.toml reader: what a hand edit may plausibly contain is read as TOML reads it, the rest of
/// TOML is refused with its line, and no input makes it crash.
@Suite struct TOMLSubsetTests {
    func parse(_ text: String) throws(TOMLSubset.Failure) -> TOMLSubset.Document { try TOMLSubset.parse(Array(text.utf8)) }

    func failure(_ text: String) -> TOMLSubset.Failure? {
        let result = Result { () throws(TOMLSubset.Failure) in try TOMLSubset.parse(Array(text.utf8)) }
        if case .failure(let failure) = result { return failure }
        return nil
    }

    @Test func whatAHandEditMayContainIsRead() throws {
        let text = """
            # comment\r
            \t [ mounts . "my.photos" ]   # trailing
            "url" = 'smb://nas/C:\\photos'
            credentials = "n\\u00e4s\\t\\"x\\"\\\\"
            uid = 1_000
            gid = 0x3E8
            other = 0o17
            bits = 0b101
            neg = -42
            plus = +7
            rw = true
            exec = false
            empty = ""
            multi = \"\"\"
            one \\
               two
            three\"\"\"
            lit = '''
            a\\b ''quoted'''''

            [mounts]
            ['mounts'.b]
            """
        let document = try parse(text)
        #expect(document.topLevel.isEmpty)
        #expect(document.tables.map(\.path) == [["mounts", "my.photos"], ["mounts"], ["mounts", "b"]])
        let table = document.tables[0]
        #expect(table.line == 2)
        #expect(table.lastLine == 19, "the multi-line literal ends on line 19")
        let values = Dictionary(uniqueKeysWithValues: table.entries.map { ($0.key, $0.value) })
        #expect(values["url"] == .string(#"smb://nas/C:\photos"#))
        #expect(values["credentials"] == .string("näs\t\"x\"\\"))
        #expect(values["uid"] == .integer(1000))
        #expect(values["gid"] == .integer(1000))
        #expect(values["other"] == .integer(15))
        #expect(values["bits"] == .integer(5))
        #expect(values["neg"] == .integer(-42))
        #expect(values["plus"] == .integer(7))
        #expect(values["rw"] == .boolean(true))
        #expect(values["exec"] == .boolean(false))
        #expect(values["empty"] == .string(""))
        #expect(values["multi"] == .string("one two\nthree"))
        #expect(values["lit"] == .string("a\\b ''quoted''"))
        #expect(table.entries.first { $0.key == "uid" }?.line == 5)
        #expect(try parse("a = 9223372036854775807\nb = -9223372036854775808").topLevel.map(\.value) == [.integer(.max), .integer(.min)])
    }

    @Test(arguments: [
        ("a = [\"x\"]", 1, "arrays are not used"),
        ("a = { b = 1 }", 1, "inline tables"),
        ("\n[[mounts]]", 2, "arrays of tables"),
        ("[mounts.a]\nb.c = 1", 2, "dotted keys"),
        ("a = 1.5", 1, "floating-point"),
        ("a = 1e5", 1, "floating-point"),
        ("a = inf", 1, "floating-point"),
        ("a = -nan", 1, "floating-point"),
        ("a = 1979-05-27", 1, "dates"),
        ("a = 07:32:00", 1, "dates"),
        ("a = 1979-05-27T07:32:00Z", 1, "dates"),
        ("a = 99999999999999999999", 1, "too large"),
        ("a = 9223372036854775808", 1, "too large"),
        ("a = 0x1_0000_0000_0000_0000", 1, "too large"),
        ("a = 012", 1, "leading zeros"),
        ("a = 1__2", 1, "whole number"),
        ("a = _1", 1, "not a value"),
        ("a = 1_", 1, "whole number"),
        ("a = 0xG", 1, "whole number"),
        ("a = +0x1", 1, "whole number"),
        ("a = maybe", 1, "not a value"),
        ("a = smb://nas/a", 1, "put text in quotes"),
        ("a =", 1, "no value"),
        ("a = # x", 1, "no value"),
        ("a", 1, "expected '='"),
        ("= 1", 1, "expected a [table] header"),
        ("a = 1 b = 2", 1, "unexpected text after the value"),
        ("[a] x", 1, "unexpected text after the table header"),
        ("[a", 1, "must end with ']'"),
        ("[]", 1, "must start with a name"),
        ("a = 1\rb = 2", 1, "carriage return"),
        ("# ok\n# bad \u{7}", 2, "control character"),
        ("a = \"x", 1, "not closed"),
        ("a = \"x\ny\"", 1, "not closed on its line"),
        ("a = 'x\ny'", 1, "not closed on its line"),
        ("\na = \"\"\"\nx", 2, "not closed"),
        ("a = '''x", 1, "not closed"),
        ("a = \"\\q\"", 1, "unknown escape"),
        ("a = \"\\uD800\"", 1, "not a Unicode character"),
        ("a = \"\\U00110000\"", 1, "not a Unicode character"),
        ("a = \"\\u12\"", 1, "hexadecimal"),
        ("a = \"x\u{1}\"", 1, "control character"),
        ("a = 'x\u{7F}'", 1, "control character"),
        ("a = \"\"\"x\"\"\"\"\"\"", 1, "too many quotes"),
        ("\"\"\"a\"\"\" = 1", 1, "multi-line"),
        ("a = 1\na = 2", 2, "set twice (first on line 1)"),
        ("[t]\na = 1\n'a' = 2", 3, "set twice"),
        ("[t]\n[t]", 2, "defined twice (first on line 1)"),
        ("[t . u]\n[\"t\".'u']", 2, "defined twice"),
    ])
    func theRestOfTOMLIsRefusedWithItsLine(_ text: String, _ line: Int, _ problem: String) {
        let failure = failure(text)
        #expect(failure?.line == line, "\(text): \(String(describing: failure))")
        #expect(failure?.problem.contains(problem) == true, "\(text): \(String(describing: failure))")
    }

    @Test func keysAreTheSameTableWhateverTheirQuoting() throws {
        #expect(failure("[mounts.a]\n[mounts.\"a\"]")?.line == 2)
        #expect(failure("[mounts.a]\nurl = 'x'\n\"url\" = 'y'")?.line == 3)
        // Different tables may use the same keys.
        #expect(try parse("[a]\nx = 1\n[b]\nx = 1").tables.count == 2)
    }

    @Test func messagesShowControlCharactersEscaped() {
        let failure = failure("a = \u{1B}[31mred")
        #expect(failure?.problem.contains("\u{1B}") == false, "\(String(describing: failure))")
    }

    /// Seeded random bytes and mutations of a valid file: the reader returns or throws, with a line that
    /// exists; it never crashes or hangs.
    @Test func randomAndMutatedBytesNeverCrash() {
        var generator = SeededGenerator(state: 0x7031_5EED)
        let seed = Array("""
            # mine
            [mounts.photos]   # family
            url = "smb://nas/photos/2024"
            rw = false
            uid = 1_000
            options = 'cache=none'
            multi = \"\"\"
            a \\
              b\"\"\"
            [mounts."my.nfs"]
            url = '''nfs://nas/volume1'''
            exec = true

            """.utf8)
        let pieces: [[UInt8]] = ["\"", "'", "\"\"\"", "'''", "\\", "\\u", "\\U0010FFFF", "\\uD800", "[", "]", "[[", "=", ".", "#", "\n", "\r", "\r\n",
                                 "\t", " ", "0x", "_", "-", "+", "9999999999999999999", "{", "}", ",", "true", "\u{7F}", "\u{1}", "é"].map { Array($0.utf8) } + [[0xFF], [0xC3], [0]]
        var accepted = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 4 == 0 {
                bytes = (0..<Int.random(in: 0...80, using: &generator)).map { _ in
                    Bool.random(using: &generator) ? UInt8.random(in: 0...255, using: &generator) : Array("[]=\"'#.\n \\a1".utf8).randomElement(using: &generator)!
                }
            } else {
                bytes = seed
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let at = Int.random(in: 0...bytes.count, using: &generator)
                    switch Int.random(in: 0..<3, using: &generator) {
                    case 0 where at < bytes.count: bytes.remove(at: at)
                    case 1 where at < bytes.count: bytes[at] = UInt8.random(in: 0...255, using: &generator)
                    default: bytes.insert(contentsOf: pieces.randomElement(using: &generator)!, at: at)
                    }
                }
            }
            let lines = bytes.count { $0 == 0x0A } + 1
            let result = Result { () throws(TOMLSubset.Failure) in try TOMLSubset.parse(bytes) }
            switch result {
            case .success(let document):
                accepted += 1
                for table in document.tables {
                    #expect(table.line >= 1 && table.line <= table.lastLine && table.lastLine <= lines)
                    for entry in table.entries { #expect(entry.line >= table.line && entry.line <= table.lastLine) }
                }
            case .failure(let failure):
                #expect(failure.line >= 1 && failure.line <= lines, "\(failure)")
            }
            // The mounts.toml layer on top must not crash either (it gets valid UTF-8 only).
            if let text = String(validating: bytes, as: UTF8.self) { _ = try? MountsFile.parse(text) }
        }
        #expect(accepted > 1000, "mutations also give valid files (\(accepted))")
    }
}

/// Writing definitions and reading them back gives the same definitions, whatever valid values they hold.
@Suite struct MountsFileRoundTripTests {
    static func randomDefinition(_ index: Int, using generator: inout SeededGenerator) -> MountDefinition? {
        let nameAlphabet = Array("abcXYZ019._-")
        let name = "n\(index)" + String((0..<Int.random(in: 0...8, using: &generator)).map { _ in nameAlphabet.randomElement(using: &generator)! })
        let textAlphabet = ["a", "Z", "9", "é", "日", " ", "\"", "'", "\\", "#", "=", "[", "]", "$", "%", "+", "~", "\u{1F4F7}"]
        func text(_ count: Int) -> String {
            (0..<Int.random(in: 1...count, using: &generator)).map { _ in textAlphabet.randomElement(using: &generator)! }.joined()
        }
        let smb = Bool.random(using: &generator)
        let share = URLComponent.encode(text(10))
        let sub = Bool.random(using: &generator) ? "/" + URLComponent.encode(text(6)) : ""
        let host = ["nas", "nas.local", "192.0.2.7", "[2001:db8::1]", "nas:4450"].randomElement(using: &generator)!
        guard let url = try? MountURL.parse("\(smb ? "smb" : "nfs")://\(host)/\(share)\(sub)") else { return nil }
        var definition = MountDefinition(name: name, url: url)
        definition.readWrite = Bool.random(using: &generator)
        definition.exec = Bool.random(using: &generator)
        if Bool.random(using: &generator) { definition.sandbox = Bool.random(using: &generator) ? .root : .var }
        if smb {
            if Bool.random(using: &generator) { definition.credentials = "acct" + String(Int.random(in: 0...99, using: &generator)) }
            if Bool.random(using: &generator) { definition.smbVersion = SMBDialect.allCases.randomElement(using: &generator) }
            if Bool.random(using: &generator) { definition.uid = UInt32.random(in: 0...UInt32.max, using: &generator) }
            if Bool.random(using: &generator) { definition.gid = UInt32.random(in: 0...UInt32.max, using: &generator) }
            if Bool.random(using: &generator) { definition.fileMode = UInt16.random(in: 0...0o777, using: &generator) }
            if Bool.random(using: &generator) { definition.directoryMode = UInt16.random(in: 0...0o777, using: &generator) }
            if Bool.random(using: &generator) { definition.options = Array(["cache=none", "actimeo=30", "nobrl", "iocharset=utf8"].shuffled(using: &generator).prefix(Int.random(in: 1...3, using: &generator))) }
        } else {
            if Bool.random(using: &generator) { definition.nfsVersion = NFSVersion.allCases.randomElement(using: &generator) }
            if Bool.random(using: &generator) { definition.options = Array(["soft", "timeo=50", "nolock"].shuffled(using: &generator).prefix(Int.random(in: 1...2, using: &generator))) }
        }
        return (try? definition.validate()) != nil ? definition : nil
    }

    @Test func writtenDefinitionsReadBackEqual() throws {
        var generator = SeededGenerator(state: 0x2_0D_7219)
        var checked = 0
        for _ in 0..<300 {
            var file = MountsFile()
            var written: [MountDefinition] = []
            for index in 0..<Int.random(in: 1...6, using: &generator) {
                guard let definition = Self.randomDefinition(index, using: &generator) else { continue }
                try file.append(definition)
                written.append(definition)
            }
            guard !written.isEmpty else { continue }
            let reread = try MountsFile.parse(file.rendered())
            #expect(reread.definitions == written, "\(file.rendered())")
            // Removing any one leaves the others as they were.
            var edited = reread
            let victim = written.randomElement(using: &generator)!
            try edited.remove(named: victim.name)
            #expect(try MountsFile.parse(edited.rendered()).definitions == written.filter { $0.name != victim.name })
            checked += written.count
        }
        #expect(checked > 500, "the generator makes valid definitions (\(checked))")
    }

    @Test func removeCutsExactlyTheTableAcrossAMultilineValue() throws {
        let text = """
            [mounts.a]
            url = "smb://nas/a"
            options = \"\"\"
            cache=none,\\
               actimeo=30\"\"\"
            # about b
            [mounts.b]
            url = "smb://nas/b"
            """
        var file = try MountsFile.parse(text)
        #expect(file.definition(named: "a")?.options == ["cache=none", "actimeo=30"])
        try file.remove(named: "a")
        #expect(file.rendered() == "# about b\n[mounts.b]\nurl = \"smb://nas/b\"\n")
        var tricky = try MountsFile.parse("[ mounts . 'c' ]\nurl = 'smb://nas/c'\n[mounts.d]\nurl = 'smb://nas/d'\n")
        try tricky.remove(named: "c")
        #expect(tricky.rendered() == "[mounts.d]\nurl = 'smb://nas/d'\n")
    }
}
