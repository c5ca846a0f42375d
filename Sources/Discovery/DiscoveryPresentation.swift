import Core
import System
import Formats
extension DiscoveryReport {
    /// What `discover HOST` exits with (see ExitStatus).
    public var exitStatus: ExitStatus {
        if case .authenticationFailed? = smb.error { return .authentication }
        if !smb.shares.isEmpty || !nfs.exports.isEmpty || nfs.isV4Only { return .success }
        if !smb.reachable && !nfs.reachable { return .unreachable }
        if smb.error == .authenticationRequired { return .authentication }
        return .refused
    }
}

/// `--json` and the human tables, from one report.
public enum DiscoveryPresentation {
    /// Why extlib-net cannot mount this share safely (a name a hostile NAS chose so that the suggested
    /// line would inject mount options, say), or nil.
    public static func unmountable(_ share: SMBShare) -> String? {
        MountText.problem(in: share.name, as: .share)
    }

    public static func unmountable(_ export: NFSExport) -> String? {
        MountText.problem(in: export.path, as: .exportPath)
    }

    /// One line per share or export that cannot be mounted safely, with its name shown escaped.
    static func unmountableLines(_ items: [(String, String)]) -> [String] {
        items.map { name, reason in "  '\(Terminal.printable(name))' cannot be mounted safely (no add line): \(reason)" }
    }

    /// How the account was given, so next-step lines can repeat it.
    public enum AccountHint: Sendable, Equatable {
        case none
        case user(String)
        case stored(String)
    }

    public static func text(_ report: DiscoveryReport, account: AccountHint = .none) -> String {
        var lines: [String] = []
        let addresses = report.resolved.addresses.map(\.description).joined(separator: ", ")
        let via = report.resolved.method == .literal ? "" : " (\(report.resolved.method.rawValue))"
        lines.append("\(report.host): \(addresses)\(via)")
        lines.append("")
        lines += smbSection(report, account: account)
        lines.append("")
        lines += nfsSection(report)
        let steps = nextSteps(report, account: account)
        if !steps.isEmpty {
            lines.append("")
            lines.append("Next steps: add a share, then use its path as an Immich external library:")
            lines += steps.map { "  " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func smbSection(_ report: DiscoveryReport, account: AccountHint) -> [String] {
        let smb = report.smb
        let timeout = formatSeconds(report.options.timeout.seconds)
        var lines = ["SMB  " + smb.probes.map { "port \($0.port) \($0.state.rawValue)" }.joined(separator: ", ")]
        if !smb.reachable {
            lines.append("  no SMB server reachable")
            return lines
        }
        if let listedAs = smb.listedAs { lines.append("  listed as user '\(listedAs)'") }
        if smb.generation == .smb1Only, smb.error == nil {
            lines.append("  listed over SMB1: the server speaks nothing newer (mount with --smb-version 1.0; update the NAS if you can)")
        }
        switch smb.error {
        case .authenticationRequired?:
            lines.append("  authentication required: the server refuses guest access")
            if account == .none {
                lines.append("  list the shares with an account: extlib-net discover \(shellQuoted(report.host))\(portOption(report)) --user NAME")
            }
        case .authenticationFailed(let user)?:
            lines.append("  authentication failed: the server rejected user '\(user)' (wrong user name or password)")
        case .timedOut?:
            lines.append("  the port accepts connections but the server did not answer within \(timeout) (is it hung?)")
        case .refused?:
            lines.append("  connection refused while listing")
        case .libraryUnavailable(let message)?:
            lines.append("  \(message)")
        case .smb1Only?:
            lines.append("  the server speaks only SMB1 (NT1), an old and insecure protocol; update the NAS if you can")
            lines.append("  list its shares over SMB1: extlib-net discover \(shellQuoted(report.host))\(portOption(report)) --smb1")
            lines.append("  and add them with --smb-version 1.0")
        case .failed(let errno)?:
            lines.append("  listing failed: \(errno)")
        case nil:
            break
        }
        if smb.shares.isEmpty {
            if smb.error == nil {
                lines.append(report.options.includeAll ? "  no shares" : "  no disk shares (--all also shows hidden shares, IPC and printers)")
            }
            return lines
        }
        lines += TextTable.render(header: ["SHARE", "TYPE", "COMMENT"], rows: smb.shares.map { [Terminal.printable($0.name), $0.type.rawValue, Terminal.printable($0.comment)] })
        lines += unmountableLines(smb.shares.compactMap { share in unmountable(share).map { (share.name, $0) } })
        return lines
    }

    static func nfsSection(_ report: DiscoveryReport) -> [String] {
        let nfs = report.nfs
        var lines = ["NFS  port \(DiscoveryOptions.nfsPort) \(nfs.nfsPort.rawValue), portmapper \(DiscoveryOptions.portmapperPort) \(nfs.portmapper.rawValue)"]
        if !nfs.reachable {
            lines.append("  no NFS server reachable")
            return lines
        }
        if nfs.isV4Only {
            lines.append("  NFSv4-only server: it does not list its exports (no portmapper or MOUNT service).")
            lines.append("  Give the export path directly: extlib-net add NAME nfs://\(report.host)/EXPORT/PATH")
            return lines
        }
        switch nfs.error {
        case .timedOut?:
            lines.append("  the portmapper accepts connections but did not answer within \(formatSeconds(report.options.timeout.seconds)) (is it hung?)")
            return lines
        case let error?:
            lines.append("  listing exports failed: \(error)")
            return lines
        case nil:
            break
        }
        if nfs.exports.isEmpty {
            lines.append("  no exports")
            return lines
        }
        lines += TextTable.render(header: ["EXPORT", "ALLOWED CLIENTS"], rows: nfs.exports.map { [Terminal.printable($0.path), $0.clients.isEmpty ? "(everyone)" : Terminal.printable($0.clients.joined(separator: ", "))] })
        lines += unmountableLines(nfs.exports.compactMap { export in unmountable(export).map { (export.path, $0) } })
        return lines
    }

    /// One `extlib-net add` line per disk share and export.
    public static func nextSteps(_ report: DiscoveryReport, account: AccountHint = .none) -> [String] {
        var steps: [String] = []
        let host = report.host.contains(":") ? "[\(report.host)]" : report.host
        let smbPort = report.smb.port.flatMap { $0 == 445 ? nil : ":\($0)" } ?? ""
        var credentialsOption = ""
        if report.smb.listedAs != nil {
            switch account {
            case .user(let user):
                let name = suggestedName(report.host)
                steps.append("extlib-net credentials add \(shellQuoted(name)) --user \(shellQuoted(user))")
                credentialsOption = " --credentials \(shellQuoted(name))"
            case .stored(let name):
                credentialsOption = " --credentials \(shellQuoted(name))"
            case .none:
                break
            }
        }
        let versionOption = report.smb.generation == .smb1Only ? " --smb-version 1.0" : ""
        for share in report.smb.shares where share.type == .disk && unmountable(share) == nil {
            let url = "smb://\(host)\(smbPort)/\(URLComponent.encode(share.name))"
            steps.append("extlib-net add \(shellQuoted(suggestedName(share.name))) \(shellQuoted(url))\(credentialsOption)\(versionOption)")
        }
        for export in report.nfs.exports where unmountable(export) == nil {
            let url = "nfs://\(host)\(URLComponent.encode(export.path, keepingSlashes: true))"
            steps.append("extlib-net add \(shellQuoted(suggestedName(export.path))) \(shellQuoted(url))")
        }
        return steps
    }

    /// A mount name matching `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`, derived from a share or export.
    public static func suggestedName(_ source: String) -> String {
        var name = ""
        for character in source {
            if let replacement = transliterations[character] {
                name += replacement
            } else if character.isASCII, character.isLetter || character.isNumber || character == "." || character == "_" || character == "-" {
                name.append(character)
            } else if !name.isEmpty, name.last != "-" {
                name.append("-")
            }
        }
        while let first = name.first, !(first.isASCII && (first.isLetter || first.isNumber)) { name.removeFirst() }
        while name.hasSuffix("-") { name.removeLast() }
        name = String(name.prefix(64))
        return name.isEmpty ? "share" : name
    }

    private static let transliterations: [Character: String] = [
        "ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
        "à": "a", "á": "a", "â": "a", "ã": "a", "å": "a", "æ": "ae", "ç": "c",
        "è": "e", "é": "e", "ê": "e", "ë": "e", "ì": "i", "í": "i", "î": "i", "ï": "i",
        "ñ": "n", "ò": "o", "ó": "o", "ô": "o", "õ": "o", "ø": "o", "ù": "u", "ú": "u", "û": "u",
        "ý": "y", "ÿ": "y", "À": "A", "Á": "A", "Â": "A", "Å": "A", "Ç": "C", "È": "E", "É": "E",
        "Ñ": "N", "Ó": "O", "Ø": "O", "Ú": "U",
    ]

    private static func portOption(_ report: DiscoveryReport) -> String {
        report.options.smbPort.map { " --smb-port \($0)" } ?? ""
    }
}

/// `discover HOST --json`. The keys are stable (README): null where nothing is known.
extension DiscoveryReport: Encodable {
    private enum CodingKeys: String, CodingKey { case host, addresses, resolvedBy, smb, nfs }
    private enum SMBKeys: String, CodingKey { case port, reachable, shares, error, authRequired, listedAs, smb1Only, probes }
    private enum NFSKeys: String, CodingKey { case reachable, exports, v4only, error, probes }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(host, forKey: .host)
        try container.encode(resolved.addresses.map(\.description), forKey: .addresses)
        try container.encode(resolved.method.rawValue, forKey: .resolvedBy)

        var smbContainer = container.nestedContainer(keyedBy: SMBKeys.self, forKey: .smb)
        try smbContainer.encode(smb.port, forKey: .port)
        try smbContainer.encode(smb.reachable, forKey: .reachable)
        try smbContainer.encode(smb.shares.map(ShareListing.init), forKey: .shares)
        try smbContainer.encode(smb.error?.description, forKey: .error)
        try smbContainer.encode(smb.error == .authenticationRequired, forKey: .authRequired)
        try smbContainer.encode(smb.listedAs, forKey: .listedAs)
        try smbContainer.encode(smb.generation == .smb1Only, forKey: .smb1Only)
        try smbContainer.encode(PortStates(smb.probes.map { ($0.port, $0.state) }), forKey: .probes)

        var nfsContainer = container.nestedContainer(keyedBy: NFSKeys.self, forKey: .nfs)
        try nfsContainer.encode(nfs.reachable, forKey: .reachable)
        try nfsContainer.encode(nfs.exports.map(ExportListing.init), forKey: .exports)
        try nfsContainer.encode(nfs.isV4Only, forKey: .v4only)
        try nfsContainer.encode(nfs.isV4Only ? nil : nfs.error?.description, forKey: .error)
        try nfsContainer.encode(PortStates([(DiscoveryOptions.nfsPort, nfs.nfsPort), (DiscoveryOptions.portmapperPort, nfs.portmapper)]), forKey: .probes)
    }

    private struct ShareListing: Encodable {
        let name: String, type: String, comment: String, mountable: Bool, unmountableReason: String?
        init(_ share: SMBShare) {
            name = share.name
            type = share.type.rawValue
            comment = share.comment
            unmountableReason = DiscoveryPresentation.unmountable(share)
            mountable = unmountableReason == nil
        }
        private enum CodingKeys: String, CodingKey { case name, type, comment, mountable, unmountableReason }
    }

    private struct ExportListing: Encodable {
        let path: String, clients: [String], mountable: Bool, unmountableReason: String?
        init(_ export: NFSExport) {
            path = export.path
            clients = export.clients
            unmountableReason = DiscoveryPresentation.unmountable(export)
            mountable = unmountableReason == nil
        }
        private enum CodingKeys: String, CodingKey { case path, clients, mountable, unmountableReason }
    }

    /// `{"445": "open", "139": "closed"}`, in probe order.
    private struct PortStates: Encodable {
        let states: [(port: UInt16, state: PortState)]
        init(_ states: [(UInt16, PortState)]) { self.states = states.map { (port: $0.0, state: $0.1) } }

        private struct PortKey: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: PortKey.self)
            for (port, state) in states { try container.encode(state.rawValue, forKey: PortKey(stringValue: String(port))) }
        }
    }
}

/// `discover HOST --json` when HOST does not resolve: the same stable keys, with nothing found.
public struct UnresolvedDiscovery: Encodable, Sendable {
    public let host: String
    public let error: String

    public init(host: String, error: ResolutionError) {
        self.host = host
        self.error = error.description
    }

    private enum CodingKeys: String, CodingKey { case host, addresses, error, smb, nfs }
    private enum SMBKeys: String, CodingKey { case port, reachable, shares, error }
    private enum NFSKeys: String, CodingKey { case reachable, exports, v4only, error }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(host, forKey: .host)
        try container.encode([String](), forKey: .addresses)
        try container.encode(error, forKey: .error)
        var smb = container.nestedContainer(keyedBy: SMBKeys.self, forKey: .smb)
        try smb.encodeNil(forKey: .port)
        try smb.encode(false, forKey: .reachable)
        try smb.encode([String](), forKey: .shares)
        try smb.encodeNil(forKey: .error)
        var nfs = container.nestedContainer(keyedBy: NFSKeys.self, forKey: .nfs)
        try nfs.encode(false, forKey: .reachable)
        try nfs.encode([String](), forKey: .exports)
        try nfs.encode(false, forKey: .v4only)
        try nfs.encodeNil(forKey: .error)
    }
}
