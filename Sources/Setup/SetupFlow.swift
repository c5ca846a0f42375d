import Synchronization
import Core
import Formats
import Discovery
import Credentials
import Mounting
import Health

/// `extlib-net setup [HOST]`: from "I have a NAS" to a mounted, linked share, one question at a time.
///
/// Each step shows the plain command that does the same (`$ extlib-net ...`, shell-quoted, never with a
/// password) and then runs the service that command runs. Answers are checked with the plain commands'
/// rules and asked again, with the reason, when they fail. Nothing is written before a step's last answer;
/// each write is one atomic file replacement, so Ctrl-C or Ctrl-D leaves only whole steps behind.
public final class SetupFlow {
    public struct Configuration: Sendable {
        public var host: HostName?
        /// Appended to every plain command shown (`--root DIR`, `--smb-port N`), so it can be pasted as is.
        public var globalArguments: [String] = []
        /// Only shown: `discover` and `credentials check` need it too.
        public var smbPort: UInt16?
        public var browseTimeout: Duration = .seconds(3)
        /// Shown with `immich login` (`--url URL` when Immich is not at the default address).
        public var immichArguments: [String] = []

        public init(host: HostName?) { self.host = host }
    }

    public struct Outcome: Sendable, Equatable {
        public let status: ExitStatus
        /// For the executable to print as "extlib-net: MESSAGE" (empty: nothing).
        public let message: String
        /// What was written, in order (for the report and the tests).
        public let written: [String]
    }

    /// How often a rejected account may be typed again before setup gives up.
    static let accountAttempts = 3
    static let maximumAnswerBytes = 1024
    static let defaultHealInterval: Duration = .seconds(300)

    let configuration: Configuration
    let ui: any SetupInteraction
    let system: any SetupSystem
    let browser: (any HostBrowsing)?
    private(set) var written: [String] = []
    private var statuses: [ExitStatus] = []

    public init(_ configuration: Configuration, interaction: any SetupInteraction, system: any SetupSystem, browser: (any HostBrowsing)?) {
        self.configuration = configuration
        self.ui = interaction
        self.system = system
        self.browser = browser
    }

    /// The plain commands setup stands for, for when it cannot run (no terminal).
    public static let plainCommands = [
        "extlib-net discover HOST", "extlib-net credentials add NAME --user USER", "extlib-net add NAME URL [--credentials NAME]",
        "extlib-net mount NAME", "extlib-net boot enable --heal-every 5min", "extlib-net immich login --from-snap",
        "extlib-net immich link NAME", "extlib-net immich guard enable", "extlib-net doctor",
    ]

    public func run() -> Outcome {
        do {
            let status = try steps()
            return Outcome(status: status, message: "", written: written)
        } catch let stop as SetupStop {
            let why = stop == .interrupted ? "interrupted" : "stopped (end of input)"
            let done = written.isEmpty ? "nothing was written" : "nothing was written for the unfinished step; written before it: \(written.joined(separator: "; "))"
            return Outcome(status: .interrupted, message: "setup \(why): \(done)", written: written)
        } catch let failure as SetupFailure {
            return Outcome(status: failure.status, message: failure.message, written: written)
        } catch let error as any ReportableError {
            return Outcome(status: error.exitStatus, message: error.description, written: written)
        } catch {
            return Outcome(status: ExitStatus.of(error), message: "\(error)", written: written)
        }
    }

    struct SetupFailure: Error {
        let status: ExitStatus
        let message: String
    }

    // MARK: the steps

    func steps() throws -> ExitStatus {
        let host = try chooseHost()
        var findings = try discover(host, account: nil)
        var listingAccount: SMBAccount?
        // Guest is refused server-wide: every SMB share needs an account, no guest probe.
        let guestRefused = findings.smbNeedsAccount
        if findings.smbNeedsAccount {
            ui.say("\(host) lists its SMB shares only to an account.")
            let (account, listed) = try accountForListing(host, findings)
            listingAccount = account
            findings = listed
        }
        for problem in findings.problems { ui.say(Terminal.printable(problem, limit: 1000)) }
        guard !findings.candidates.isEmpty else {
            for line in findings.summary where !line.isEmpty { ui.say(line) }
            throw SetupFailure(status: findings.status == .success ? .refused : findings.status, message: "\(host) offers no share or export setup could mount")
        }
        let chosen = try chooseCandidates(findings.candidates)

        var definitions: [MountDefinition] = []
        var sessionCredential: Credential? = nil
        for candidate in chosen {
            try checkpoint()
            ui.say("")
            ui.say("== \(candidate.kind.rawValue) \(Terminal.printable(candidate.name)) ==")
            var credentialName: String?
            if candidate.kind == .smb {
                let needs: Bool
                if guestRefused {
                    needs = true
                } else {
                    switch try ui.working({ system.guestAccess(to: candidate.name, on: host) }) {
                    case .opens: needs = false
                    case .needsAccount:
                        ui.say("'\(Terminal.printable(candidate.name))' does not open as guest: it needs an account.")
                        needs = true
                    case .problem(let problem):
                        ui.say("'\(Terminal.printable(candidate.name))' cannot be opened as guest (\(Terminal.printable(problem))); skipped.")
                        statuses.append(.refused)
                        continue
                    }
                }
                try checkpoint()
                if needs {
                    guard let credential = try account(for: candidate, on: host, reusing: sessionCredential, typed: listingAccount) else {
                        statuses.append(.authentication)
                        continue
                    }
                    sessionCredential = credential
                    listingAccount = nil
                    credentialName = credential.name
                }
            }
            definitions.append(try addDefinition(candidate, credentials: credentialName))
        }
        guard !definitions.isEmpty else {
            throw SetupFailure(status: ExitStatus.batch(statuses, of: statuses.count), message: "no share was added")
        }

        let mounted = try mount(definitions)
        var linked: Set<String> = []
        if !mounted.isEmpty {
            try offerBoot()
            linked = try offerImmich(mounted)
        }
        try finish(definitions, linked: linked)
        return statuses.first { $0 != .success } ?? .success
    }

    /// Step 1: HOST, or one of the hosts the LAN browse found.
    func chooseHost() throws -> HostName {
        if let host = configuration.host { return host }
        guard let browser else {
            throw SetupFailure(status: .usage, message: "give the NAS's name or address: extlib-net setup nas.local")
        }
        show(browser.command)
        let hosts = try ui.working { try browser.browse(timeout: configuration.browseTimeout) }
        try checkpoint()
        guard !hosts.isEmpty else {
            throw SetupFailure(status: .noneFound, message: "no NAS announced itself on the LAN; give its name or address: extlib-net setup nas.local")
        }
        for (index, found) in hosts.enumerated() {
            let name = found.name.map { Terminal.printable($0) } ?? "(no name)"
            ui.say("  \(index + 1)) \(name)  \(Terminal.printable(found.addresses.joined(separator: ", ")))  \(Terminal.printable(found.services.joined(separator: ", ")))")
        }
        return try askValid("Which NAS? (a number, or a name or address): ") { answer -> Result<HostName, Refusal> in
            if let number = Int(answer) {
                guard (1...hosts.count).contains(number) else { return .failure("give a number from 1 to \(hosts.count), or a name or address") }
                guard let text = hosts[number - 1].name ?? hosts[number - 1].addresses.first else { return .failure("that host has neither a name nor an address") }
                return Result { () throws(HostNameError) in try HostName.parse(text) }.mapError { Refusal($0.description) }
            }
            return Result { () throws(HostNameError) in try HostName.parse(answer) }.mapError { Refusal($0.description) }
        }
    }

    func discover(_ host: HostName, account: SMBAccount?) throws -> SetupFindings {
        show(["discover", host.description] + (account.map { ["--user", $0.user] + ($0.domain.map { ["--domain", $0] } ?? []) } ?? []) + portArguments)
        let findings = try ui.working { try system.discover(host, account: account) }
        try checkpoint()
        return findings
    }

    /// The server refused guest listing: an account to list with, asked again while it is rejected.
    func accountForListing(_ host: HostName, _ first: SetupFindings) throws -> (SMBAccount, SetupFindings) {
        for attempt in 1...Self.accountAttempts {
            let account = try askAccount()
            let findings = try discover(host, account: account)
            if !findings.accountRejected, !findings.smbNeedsAccount { return (account, findings) }
            ui.say("\(host) rejected user '\(Terminal.printable(account.user))': wrong user name or password\(attempt < Self.accountAttempts ? "; try again" : "")")
        }
        throw SetupFailure(status: .authentication, message: "\(host) rejected the account \(Self.accountAttempts) times; nothing was stored")
    }

    /// Step 2: one or more of the shares, by number.
    func chooseCandidates(_ candidates: [SetupCandidate]) throws -> [SetupCandidate] {
        ui.say("Shares and exports:")
        for (index, candidate) in candidates.enumerated() {
            let detail = candidate.detail.isEmpty ? "" : "  (\(Terminal.printable(candidate.detail)))"
            ui.say("  \(index + 1)) \(candidate.kind.rawValue)  \(Terminal.printable(candidate.name))\(detail)")
        }
        let numbers = try askValid("Which to mount? (numbers such as 1 or 1,3 or 1-2): ") { Self.parseSelection($0, count: candidates.count) }
        return numbers.map { candidates[$0 - 1] }
    }

    /// "1", "1 3", "1,3", "2-4", "all": numbers from 1 to `count`, each once, in the order given.
    static func parseSelection(_ text: String, count: Int) -> Result<[Int], Refusal> {
        if text.lowercased() == "all" { return .success(Array(1...count)) }
        var numbers: [Int] = []
        let words = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
        guard !words.isEmpty else { return .failure("pick at least one, by its number") }
        for word in words {
            let bounds = word.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard bounds.count <= 2, let low = Int(bounds[0]), let high = Int(bounds.last!), low <= high else {
                return .failure("'\(Terminal.printable(String(word), limit: 40))' is not a number from 1 to \(count) or a range such as 1-\(count)")
            }
            guard low >= 1, high <= count else { return .failure("there is no \(high > count ? high : low): give numbers from 1 to \(count)") }
            for number in low...high where !numbers.contains(number) { numbers.append(number) }
        }
        return .success(numbers)
    }

    /// Step 3: a stored account, or a new one asked, checked against the share and only then stored.
    func account(for candidate: SetupCandidate, on host: HostName, reusing session: Credential?, typed: SMBAccount?) throws -> Credential? {
        var offered = try system.credentials()
        if let session, !offered.contains(where: { $0.name == session.name }) { offered.append(session) }
        if typed == nil, !offered.isEmpty {
            let names = offered.map(\.name)
            let useStored = try askValid("Use a stored account (\(names.joined(separator: ", "))), or Enter for a new one: ") { answer -> Result<Credential?, Refusal> in
                if answer.isEmpty { return .success(nil) }
                guard let found = offered.first(where: { $0.name == answer }) else { return .failure("no stored account '\(Terminal.printable(answer, limit: 64))'; give one of \(names.joined(separator: ", ")) or press Enter") }
                return .success(found)
            }
            if let stored = useStored {
                show(["credentials", "check", stored.name, "\(host)/\(candidate.name)"] + portArguments)
                if try checked(stored.account, candidate, host) { return stored }
                ui.say("Type another account for '\(Terminal.printable(candidate.name))'.")
            }
        }
        var account = typed
        for attempt in 1...Self.accountAttempts {
            let current = try account ?? askAccount()
            account = nil
            ui.say("checking user '\(Terminal.printable(current.user))' on \(host)/\(Terminal.printable(candidate.name)) (what extlib-net credentials check does)")
            if try checked(current, candidate, host) {
                let name = try askCredentialName(suggested: DiscoveryPresentation.suggestedName(host.description), taken: offered.map(\.name))
                let credential = try Credential(name: name, username: current.user, password: current.password, domain: current.domain)
                show(["credentials", "add", name, "--user", current.user] + (current.domain.map { ["--domain", $0] } ?? []))
                try checkpoint()
                try ui.working { try system.store(credential) }
                record("credential '\(name)'")
                ui.say("stored '\(name)' (user \(Terminal.printable(current.user))); the password is typed at its prompt, never on the command line")
                try checkpoint()
                return credential
            }
            if attempt < Self.accountAttempts { ui.say("Try again.") }
        }
        ui.say("'\(Terminal.printable(candidate.name))' skipped: no account worked (nothing was stored)")
        return nil
    }

    /// The check; false (with the reason shown) when the account or share is refused.
    func checked(_ account: SMBAccount, _ candidate: SetupCandidate, _ host: HostName) throws -> Bool {
        let result: Result<Void, any Error> = try ui.working {
            do {
                try system.check(account, on: host, share: candidate.name)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try checkpoint()
        switch result {
        case .success:
            ui.say("the account works: '\(Terminal.printable(candidate.name))' opened")
            return true
        case .failure(let error):
            ui.say("refused: \(Terminal.printable("\(error)"))")
            return false
        }
    }

    func askAccount() throws -> SMBAccount {
        let user = try askValid("User name on the NAS: ") { answer -> Result<String, Refusal> in
            Result { () throws(CredentialFieldError) in try Credential.check(username: answer) }.map { answer }.mapError { Refusal($0.description) }
        }
        while true {
            try checkpoint()
            switch try ui.secret("Password for \(Terminal.printable(user)): ") {
            case .failure(.empty):
                ui.say("the password is empty; type it again")
            case .failure(let problem):
                ui.say("\(problem.description); type it again")
            case .success(let password):
                do {
                    _ = try Credential(name: "check", username: user, password: password, domain: nil)
                    return SMBAccount(user: user, domain: nil, password: password)
                } catch {
                    ui.say("\(error); type it again")
                }
            }
        }
    }

    func askCredentialName(suggested: String, taken: [String]) throws -> String {
        let proposal = Self.free(suggested, taken: taken)
        return try askValid("Name to store this account under [\(proposal)]: ") { answer -> Result<String, Refusal> in
            let name = answer.isEmpty ? proposal : answer
            guard NameRule.isValid(name) else { return .failure(Refusal(NameError(.credential, name).description)) }
            guard !taken.contains(name) else { return .failure("a credential '\(name)' is stored already (extlib-net credentials list); give another name") }
            return .success(name)
        }
    }

    /// `name`, or `name-2`, `name-3`... when taken.
    static func free(_ name: String, taken: [String]) -> String {
        guard taken.contains(name) else { return name }
        var number = 2
        while true {
            let suffix = "-\(number)"
            let candidate = String(name.prefix(64 - suffix.count)) + suffix
            if !taken.contains(candidate) { return candidate }
            number += 1
        }
    }

    /// Step 4: the definition's name (suggested, editable), then `add`.
    func addDefinition(_ candidate: SetupCandidate, credentials: String?) throws -> MountDefinition {
        let url: MountURL
        do throws(MountURLError) {
            url = try MountURL.parse(candidate.url)
        } catch {
            throw SetupFailure(status: error.exitStatus, message: error.description)
        }
        let taken = try system.definitions().map(\.name)
        let proposal = Self.free(DiscoveryPresentation.suggestedName(candidate.name), taken: taken)
        let definition = try askValid("Name for this mount (its folder for Immich) [\(proposal)]: ") { answer -> Result<MountDefinition, Refusal> in
            var definition = MountDefinition(name: answer.isEmpty ? proposal : answer, url: url)
            definition.credentials = credentials
            do {
                try definition.validate()
            } catch {
                return .failure(Refusal("\(error)"))
            }
            guard !taken.contains(definition.name) else { return .failure("a mount named '\(definition.name)' exists already (extlib-net list); give another name") }
            return .success(definition)
        }
        show(["add", definition.name, candidate.url] + (credentials.map { ["--credentials", $0] } ?? []))
        try checkpoint()
        let target = try ui.working { try system.add(definition) }
        record("mount '\(definition.name)'")
        ui.say("added '\(definition.name)': \(url) -> \(target)")
        try checkpoint()
        return definition
    }

    /// Step 5: mount them all, with each failed attempt shown as it happens. A failed mount keeps its
    /// definition (the server and account were checked; the cause is on this machine or the NAS), and says
    /// how to retry.
    func mount(_ definitions: [MountDefinition]) throws -> [MountDefinition] {
        ui.say("")
        show(["mount"] + definitions.map(\.name))
        let ui = self.ui
        let progress = ProgressRelay(ui)
        let results = try ui.working { try system.mount(definitions) { progress.say($0) } }
        progress.close()
        var mounted: [MountDefinition] = []
        var failures: [ExitStatus] = []
        for (definition, result) in zip(definitions, results) {
            switch result {
            case .success(let share):
                mounted.append(definition)
                ui.say("\(definition.name): \(share.wasMounted ? "already mounted" : "mounted") \(share.source) on \(share.target)")
            case .failure(let error):
                failures.append(error.exitStatus)
                ui.say("\(definition.name): NOT mounted: \(error)")
                ui.say("  the definition stays in mounts.toml; fix the cause, then: \(plain(["mount", definition.name]))")
            }
        }
        if !failures.isEmpty { statuses.append(ExitStatus.batch(failures, of: definitions.count)) }
        try checkpoint()
        return mounted
    }

    /// Step 6: the boot units and the heal timer.
    func offerBoot() throws {
        ui.say("")
        if system.bootEnabled() {
            ui.say("boot: already enabled (extlib-net boot status)")
            return
        }
        guard try confirm("Mount the shares at every boot, before Immich starts? [Y/n] ", default: true) else { return }
        let heal = try confirm("Also remount a share that went away, every 5 minutes? [Y/n] ", default: true)
        let interval = heal ? Self.defaultHealInterval : nil
        show(["boot", "enable"] + (heal ? ["--heal-every", "5min"] : []))
        try checkpoint()
        do {
            for line in try ui.working({ try system.enableBoot(healEvery: interval) }) { ui.say(line) }
            record("boot units")
        } catch {
            // Not fatal: the shares are mounted now; boot can be enabled later with the plain command.
            ui.say("boot enable failed: \(error)")
            statuses.append(ExitStatus.of(error))
        }
        try checkpoint()
    }

    /// Step 7: when Immich answers here, log in, link each mounted share, and the guard. Returns the names linked.
    func offerImmich(_ mounted: [MountDefinition]) throws -> Set<String> {
        ui.say("")
        guard try ui.working({ system.immichAnswers() }) else {
            ui.say("Immich does not answer on this machine; link the shares later with: \(plain(["immich", "link", "NAME"]))")
            return []
        }
        try checkpoint()
        if !system.immichLoggedIn() {
            guard try confirm("Immich answers here. Log in with the admin key the Immich snap keeps? [Y/n] ", default: true) else { return [] }
            show(["immich", "login", "--from-snap"] + configuration.immichArguments)
            do {
                let email = try ui.working { try system.immichLogin() }
                record("Immich connection")
                ui.say("logged in to Immich as \(Terminal.printable(email)) (admin)")
            } catch {
                ui.say("immich login failed: \(error)")
                ui.say("  with a key of your own: \(plain(["immich", "login", "--api-key-stdin"])) < keyfile")
                statuses.append(ExitStatus.of(error))
                return []
            }
            try checkpoint()
        }
        var linked: Set<String> = []
        for definition in mounted {
            guard try confirm("Make an Immich external library import '\(definition.name)'? [Y/n] ", default: true) else { continue }
            show(["immich", "link", definition.name])
            do {
                for line in try ui.working({ try system.link(definition) }) { ui.say(line) }
                record("Immich library for '\(definition.name)'")
                linked.insert(definition.name)
            } catch {
                ui.say("immich link failed: \(error)")
                statuses.append(ExitStatus.of(error))
            }
            try checkpoint()
        }
        if !linked.isEmpty, !system.guardOn() {
            ui.say("Immich's scheduled scan takes a library's assets offline (into the trash) while its NAS is away.")
            if try confirm("Switch it for the guarded scan, which skips shares that are away? [Y/n] ", default: true) {
                show(["immich", "guard", "enable"])
                do {
                    for line in try ui.working({ try system.enableGuard() }) { ui.say(line) }
                    record("Immich scan guard")
                } catch {
                    ui.say("immich guard enable failed: \(error)")
                    statuses.append(ExitStatus.of(error))
                }
                try checkpoint()
            }
        }
        return linked
    }

    /// Step 8: doctor's verdict, and the import path of each share not linked.
    func finish(_ definitions: [MountDefinition], linked: Set<String>) throws {
        ui.say("")
        show(["doctor"] + definitions.map(\.name))
        let findings = try ui.working { system.doctor(definitions) }
        try checkpoint()
        let failed = findings.filter { $0.verdict == .fail }
        for finding in findings where finding.verdict == .fail || finding.verdict == .warn {
            DoctorPresentation.lines(finding).forEach(ui.say)
        }
        let warned = findings.filter { $0.verdict == .warn }.count
        ui.say(failed.isEmpty ? "doctor: every check passed\(warned > 0 ? " (\(warned) warning\(warned == 1 ? "" : "s"))" : "")"
               : "doctor: \(failed.count) check\(failed.count == 1 ? "" : "s") failed")
        if !failed.isEmpty { statuses.append(.checkFailed) }
        for definition in definitions where !linked.contains(definition.name) {
            ui.say("Immich: Administration > External Libraries > import path for '\(definition.name)': \(system.importPath(of: definition))")
        }
    }

    // MARK: asking

    /// Asks until `validate` accepts the (decoded, trimmed) answer; each refusal is said with its reason.
    func askValid<T>(_ prompt: String, _ validate: (String) -> Result<T, Refusal>) throws -> T {
        while true {
            try checkpoint()
            let bytes = try ui.ask(prompt)
            let answer: String
            switch Self.decode(bytes) {
            case .failure(let problem):
                ui.say("\(problem.reason); type it again")
                continue
            case .success(let text): answer = text
            }
            if ["q", "quit"].contains(answer.lowercased()) { throw SetupStop.endOfInput }
            switch validate(answer) {
            case .success(let value): return value
            case .failure(let refusal): ui.say("\(Terminal.printable(refusal.reason, limit: 2000)); type it again (or q to quit)")
            }
        }
    }

    /// A line as typed: valid UTF-8, no control characters, not too long; blanks around it dropped.
    static func decode(_ bytes: [UInt8]) -> Result<String, Refusal> {
        var bytes = bytes[...]
        if bytes.last == 13 { bytes = bytes.dropLast() }
        guard bytes.count <= maximumAnswerBytes else { return .failure("that answer is longer than \(maximumAnswerBytes) bytes") }
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure("that answer is not valid UTF-8 (set the terminal to UTF-8)") }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            return .failure("that answer contains a control character")
        }
        return .success(String(text.trimmingBlanks))
    }

    func confirm(_ prompt: String, default value: Bool) throws -> Bool {
        try askValid(prompt) { answer -> Result<Bool, Refusal> in
            switch answer.lowercased() {
            case "": return .success(value)
            case "y", "yes": return .success(true)
            case "n", "no": return .success(false)
            default: return .failure("answer y or n")
            }
        }
    }

    // MARK: helpers

    func checkpoint() throws {
        if ui.interrupted { throw SetupStop.interrupted }
    }

    func record(_ what: String) { written.append(what) }

    var portArguments: [String] { configuration.smbPort.map { ["--smb-port", String($0)] } ?? [] }

    /// The plain command, pasteable: shell-quoted, with the global arguments. Never given a secret.
    func plain(_ arguments: [String]) -> String {
        (["extlib-net"] + arguments + configuration.globalArguments).map(shellQuoted).joined(separator: " ")
    }

    func show(_ arguments: [String]) { ui.say("$ " + plain(arguments)) }
}

/// Why an answer was refused: said to the user before asking again.
struct Refusal: Error, Equatable, ExpressibleByStringInterpolation {
    let reason: String
    init(_ reason: String) { self.reason = reason }
    init(stringLiteral value: String) { reason = value }
}

/// Mount progress arrives on the mount's worker threads; lines go to the interaction in order, and none
/// after the step is over.
private final class ProgressRelay: @unchecked Sendable {
    private let ui: any SetupInteraction
    private let open = Mutex(true)

    init(_ ui: any SetupInteraction) { self.ui = ui }

    func say(_ line: String) {
        open.withLock { open in
            if open { ui.say(Terminal.printable(line, limit: 1000)) }
        }
    }

    func close() { open.withLock { $0 = false } }
}
