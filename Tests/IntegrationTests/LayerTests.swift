import Foundation
import Testing
import TestSupport

/// The layers are targets, and SwiftPM refuses only cycles: this keeps every arrow pointing down.
@Suite struct LayerTests {
    static let root = #filePath.components(separatedBy: "/Tests/")[0]

    struct Manifest: Decodable {
        struct Target: Decodable {
            let name: String
            let dependencies: [Dependency]
        }
        /// `{"byName": ["Core", null]}`, `{"target": ["Core", null]}` or `{"product": ["Logging", "swift-log", ...]}`.
        struct Dependency: Decodable {
            let target: String?
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                let cases = try container.decode([String: [JSONScalar]].self)
                if let name = cases["byName"]?.first?.text ?? cases["target"]?.first?.text {
                    target = name
                } else {
                    target = nil
                }
            }
        }
        let targets: [Target]
    }

    enum JSONScalar: Decodable {
        case text(String), other
        var text: String? { if case .text(let value) = self { return value } else { return nil } }
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(String.self) { self = .text(value) } else { self = .other }
        }
    }

    static func ranks() throws -> [String: Int] {
        let text = try String(contentsOfFile: root + "/Tests/layers.txt", encoding: .utf8)
        var ranks: [String: Int] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let rank = Int(fields[1]) else { continue }
            ranks[String(fields[0])] = rank
        }
        return ranks
    }

    /// The arrows, and where each points up or sideways.
    static func violations(targets: [Manifest.Target], ranks: [String: Int]) -> [String] {
        var found: [String] = []
        for target in targets {
            guard let rank = ranks[target.name] else {
                found.append("\(target.name) has no rank in Tests/layers.txt")
                continue
            }
            for dependency in target.dependencies.compactMap(\.target) {
                guard let below = ranks[dependency] else {
                    found.append("\(dependency) (used by \(target.name)) has no rank in Tests/layers.txt")
                    continue
                }
                if below >= rank { found.append("\(target.name) (rank \(rank)) depends on \(dependency) (rank \(below))") }
            }
        }
        return found
    }

    @Test func everyArrowPointsDown() async throws {
        // A scratch path of its own: `swift test` holds the lock on .build.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("extlib-net-layers-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outcome = try await Child.run("/usr/bin/env", ["swift", "package", "--package-path", Self.root, "--scratch-path", scratch, "dump-package"],
                                          timeout: .seconds(120))
        #expect(!outcome.timedOut && outcome.status == 0, "swift package dump-package: \(outcome.error)")
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(outcome.output.utf8))
        let library = manifest.targets.filter { !$0.name.hasPrefix("fuzz-") && $0.name != "FuzzSupport" }
        #expect(library.count >= 14, "dump-package listed \(library.map(\.name))")
        let violations = Self.violations(targets: library, ranks: try Self.ranks())
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
        // SwiftPM may let a file import a target it only reaches through another: every import of one of
        // ours must be a declared dependency, so the ranks above see every arrow.
        let undeclared = try Self.undeclaredImports(targets: library, ranks: try Self.ranks())
        #expect(undeclared.isEmpty, "\(undeclared.joined(separator: "\n"))")
    }

    /// `Sources/T/F.swift imports X` for each import of a ranked target X that T does not declare.
    static func undeclaredImports(targets: [Manifest.Target], ranks: [String: Int]) throws -> [String] {
        var found: [String] = []
        for target in targets {
            let folder = root + "/Sources/" + target.name
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            let declared = Set(target.dependencies.compactMap(\.target))
            for file in files.sorted() where file.hasSuffix(".swift") {
                let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ").map(String.init)
                    guard let index = words.firstIndex(of: "import"), index + 1 < words.count, words[..<index].allSatisfy({ $0.hasPrefix("@") || ["public", "package", "internal"].contains($0) }) else { continue }
                    let module = words[index + 1]
                    if ranks[module] != nil, module != target.name, !declared.contains(module) {
                        found.append("Sources/\(target.name)/\(file) imports \(module), which \(target.name) does not declare")
                    }
                }
            }
        }
        return found
    }

    /// The check itself can fail: an arrow up, one sideways and an unranked target are all found.
    @Test func theCheckFindsArrowsThatDoNotPointDown() throws {
        func target(_ name: String, _ dependencies: [String]) throws -> Manifest.Target {
            let json = #"{"name": "\#(name)", "dependencies": ["# + dependencies.map { #"{"byName": ["\#($0)", null]}"# }.joined(separator: ",") + "]}"
            return try JSONDecoder().decode(Manifest.Target.self, from: Data(json.utf8))
        }
        let ranks = ["System": 1, "Formats": 2, "Health": 6, "Boot": 6]
        #expect(Self.violations(targets: [try target("Formats", ["System"])], ranks: ranks).isEmpty)
        #expect(Self.violations(targets: [try target("System", ["Formats"])], ranks: ranks) == ["System (rank 1) depends on Formats (rank 2)"])
        #expect(Self.violations(targets: [try target("Health", ["Boot"])], ranks: ranks) == ["Health (rank 6) depends on Boot (rank 6)"])
        #expect(Self.violations(targets: [try target("New", [])], ranks: ranks) == ["New has no rank in Tests/layers.txt"])
    }

    /// System is where the kernel is called: no file of another target imports Glibc, Musl or CLinux.
    @Test func onlySystemCallsTheKernel() throws {
        let found = try Self.kernelCallers()
        #expect(found.isEmpty, "call the kernel outside System (move the call into System): \(found.sorted())")
    }

    /// The check finds what it looks for: System itself calls the kernel.
    @Test func theKernelCheckSeesSystem() throws {
        #expect(try Self.kernelCallers(including: "System").contains("Sources/System/Descriptor.swift"))
    }

    /// Whether a line imports Glibc, Musl or CLinux in any form: with attributes (`@preconcurrency`), an
    /// access level (`internal import`), or one declaration (`import func Glibc.poll`). Foundation, which
    /// re-exports Glibc, is imported only behind `canImport(FoundationEssentials)` (which does not), and
    /// `LayerTests` checks that too.
    static func importsKernelModule(_ line: String) -> Bool {
        var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        while let first = words.first, first.hasPrefix("@") || ["public", "package", "internal", "fileprivate", "private"].contains(first) {
            words.removeFirst()
        }
        guard words.first == "import", words.count >= 2 else { return false }
        let kinds: Set = ["func", "var", "let", "struct", "class", "enum", "protocol", "typealias"]
        let module = (kinds.contains(words[1]) && words.count >= 3 ? words[2] : words[1]).split(separator: ".").first.map(String.init)
        return ["Glibc", "Musl", "CLinux"].contains(module ?? "")
    }

    @Test func everyFormOfImportIsSeen() {
        for line in ["import Glibc", "  @preconcurrency import Glibc", "internal import CLinux", "import func Glibc.poll", "@_implementationOnly import Musl"] {
            #expect(Self.importsKernelModule(line), "\(line)")
        }
        for line in ["import System", "import GlibcExtras", "// import Glibc", "import SystemPackage"] {
            #expect(!Self.importsKernelModule(line), "\(line)")
        }
    }

    /// Foundation re-exports Glibc on Linux: a file outside System may import it only as the fallback of
    /// `#if canImport(FoundationEssentials)`, which Linux never takes.
    @Test func foundationOnlyBehindFoundationEssentials() throws {
        let sources = Self.root + "/Sources"
        for target in try FileManager.default.contentsOfDirectory(atPath: sources) where target != "System" {
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: sources + "/" + target) else { continue }
            for file in files where file.hasSuffix(".swift") {
                let lines = try String(contentsOfFile: sources + "/" + target + "/" + file, encoding: .utf8).split(separator: "\n").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                for (index, line) in lines.enumerated() where line == "import Foundation" || line.hasSuffix(" import Foundation") {
                    let guarded = index >= 3 && lines[index - 1] == "#else" && lines[index - 3] == "#if canImport(FoundationEssentials)"
                    #expect(guarded, "Sources/\(target)/\(file): import Foundation outside the FoundationEssentials fallback")
                }
            }
        }
    }

    /// Sources/TARGET/FILE.swift of every target but System (unless named) that imports Glibc, Musl or CLinux.
    static func kernelCallers(including system: String? = nil) throws -> Set<String> {
        var found: Set<String> = []
        let sources = root + "/Sources"
        for target in try FileManager.default.contentsOfDirectory(atPath: sources) where target != "System" || target == system {
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: sources + "/" + target) else { continue }
            for file in files where file.hasSuffix(".swift") {
                let text = try String(contentsOfFile: sources + "/" + target + "/" + file, encoding: .utf8)
                let imports = text.split(separator: "\n").contains { importsKernelModule(String($0)) }
                if imports { found.insert("Sources/\(target)/\(file)") }
            }
        }
        return found
    }
}
