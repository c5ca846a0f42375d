import Logging

import System
import Mounting
import Core

/// One finding of `extlib-net doctor`.
public struct DoctorFinding: Sendable, Equatable {
    public enum Verdict: String, Sendable {
        case pass, fail, warn, skip, note
    }
    /// "immich-distribution" for the snap, else a mount definition's name.
    public let subject: String
    public let check: DoctorCheck
    public let verdict: Verdict
    public let detail: String
    /// What to do about it (failures and warnings).
    public let fix: String?

    public init(_ subject: String, _ check: DoctorCheck, _ verdict: Verdict, _ detail: String, fix: String? = nil) {
        self.subject = subject
        self.check = check
        self.verdict = verdict
        self.detail = detail
        self.fix = fix
    }
}

/// What a finding is about. The raw value is the text `doctor` prints and its JSON's `check`, documented in
/// the README; code compares the case, never the text.
public enum DoctorCheck: String, Sendable, CaseIterable {
    case snapInstalled = "snap installed"
    case servicesKnown = "services known"
    case mediaFolder = "media folder"
    case location
    case mounted
    case healthy
    case visibleInSnap = "visible in the snap"
    case readableByImmich = "readable by Immich"
    case ownerRule = "owner rule"
    case folderWatching = "folder watching"
    case apiConnection = "API connection"
    case linkedInImmich = "linked in Immich"
    case scanGuard = "scan guard"
    case placeholder
}

/// The one text form of a finding, for `doctor` and for setup's closing check.
public enum DoctorPresentation {
    /// The finding, then its fix when it did not pass.
    public static func lines(_ finding: DoctorFinding) -> [String] {
        let line = "[\(finding.verdict.rawValue.uppercased())] \(finding.subject): \(finding.check.rawValue): \(finding.detail)"
        guard let fix = finding.fix, finding.verdict != .pass else { return [line] }
        return [line, "       fix: \(fix)"]
    }
}

/// Checks what stands between a mount definition and an Immich external library, and says the fix.
public struct Doctor: Sendable {
    public let mounter: Mounter
    public let view: ImmichView
    /// The snap's mount namespace; tests point it at one they made.
    public var namespace: String

    public static let snapName = "immich-distribution"
    public static let snapNamespace = "/run/snapd/ns/immich-distribution.mnt"
    public static let serverService = "snap.immich-distribution.immich-server.service"

    public init(mounter: Mounter, view: ImmichView? = nil, namespace: String? = nil) {
        self.mounter = mounter
        self.view = view ?? ImmichView(runner: mounter.runner)
        self.namespace = namespace ?? mounter.root.path(Self.snapNamespace)
    }

    var root: SystemRoot { mounter.root }

    public func examine(_ definitions: [MountDefinition]) -> [DoctorFinding] {
        var findings = snapFindings()
        findings += mediaFolderFindings()
        findings += concurrentMap(definitions, limit: 4) { examine($0) }.flatMap { $0 }
        findings.append(DoctorFinding(
            Self.snapName, .folderWatching, .note,
            "Immich's folder watching (inotify) does not see changes made on a network share by other machines",
            fix: "let Immich rescan: Administration > External Libraries > Scan settings (a scheduled scan), or scan a library by hand"))
        return findings
    }

    func exists(_ path: String) -> Bool { FileSystem.exists(root.path(path)) }

    func snapFindings() -> [DoctorFinding] {
        guard exists("/snap/\(Self.snapName)/current") else {
            return [DoctorFinding(Self.snapName, .snapInstalled, .fail,
                                  "the Immich Distribution snap is not installed (/snap/\(Self.snapName) is missing); the other checks run without it",
                                  fix: "sudo snap install \(Self.snapName)")]
        }
        var findings = [DoctorFinding(Self.snapName, .snapInstalled, .pass, "/snap/\(Self.snapName)/current exists")]
        if exists(SystemRoot.Known.systemdUnitDirectory + "/" + Self.serverService) {
            findings.append(DoctorFinding(Self.snapName, .servicesKnown, .pass, "\(Self.serverService) is installed"))
        } else {
            findings.append(DoctorFinding(Self.snapName, .servicesKnown, .fail, "\(Self.serverService) is not in \(SystemRoot.Known.systemdUnitDirectory)",
                                          fix: "reinstall or refresh the snap: sudo snap refresh \(Self.snapName)"))
        }
        return findings
    }

    /// A network share mounted inside Immich's own media folder would mix NAS files with uploads.
    func mediaFolderFindings() -> [DoctorFinding] {
        let media = root.path(SandboxBase.var.path + "/" + MountTarget.immichMedia)
        let inside = mounter.mountTable.current().filter { $0.mountPoint == media || $0.mountPoint.hasPrefix(media + "/") }
        guard !inside.isEmpty else { return [] }
        return inside.map {
            DoctorFinding(Self.snapName, .mediaFolder, .fail, "\($0.source) is mounted at \($0.mountPoint), inside Immich's own media folder",
                          fix: "unmount it (umount \(shellQuoted($0.mountPoint))) and add the share with extlib-net add instead")
        }
    }

    func examine(_ definition: MountDefinition) -> [DoctorFinding] {
        let name = definition.name
        let target = mounter.target(of: definition)
        let immichPath = mounter.immichPath(of: definition)
        var findings: [DoctorFinding] = []

        let base = definition.effectiveSandbox.path
        if immichPath.hasPrefix(base + "/"), !immichPath.hasPrefix(SandboxBase.var.path + "/" + MountTarget.immichMedia + "/") {
            findings.append(DoctorFinding(name, .location, .pass, "\(immichPath) is under \(base)"))
        } else {
            findings.append(DoctorFinding(name, .location, .fail, "\(immichPath) is not a folder the snap can read, or is inside its media folder",
                                          fix: "extlib-net remove \(name), then add it again with another name"))
            return findings
        }

        guard let entry = mounter.mountTable.entry(at: target), Mounter.matches(entry, definition) else {
            findings.append(DoctorFinding(name, .mounted, .fail, "nothing from \(definition.url) is mounted at \(target)",
                                          fix: "extlib-net mount \(shellQuoted(name))"))
            return findings
        }
        findings.append(DoctorFinding(name, .mounted, .pass, "\(entry.source) (\(entry.fileSystemType)) at \(target)"))

        let health = mounter.health(target)
        guard health.isHealthy else {
            findings.append(DoctorFinding(name, .healthy, .fail, health.description, fix: health.isStale ? "extlib-net heal \(shellQuoted(name))" : "extlib-net status; check the server"))
            return findings
        }
        findings.append(DoctorFinding(name, .healthy, .pass, "statfs answered"))

        let namespaceExists = FileSystem.isReachable(namespace)
        if namespaceExists {
            switch view.look(ImmichView.Request(namespace: namespace, mountPoint: target)) {
            case .success(let report) where report.showsShare:
                findings.append(DoctorFinding(name, .visibleInSnap, .pass, "mounted inside the snap's mount namespace (\(namespace))"))
            case .success(let report) where report.showsPlaceholder:
                findings.append(DoctorFinding(
                    name, .visibleInSnap, .fail, "the snap's mount namespace (\(namespace)) shows the share's placeholder, not the share",
                    fix: "sudo snap stop \(Self.snapName) && sudo /usr/lib/snapd/snap-discard-ns \(Self.snapName) && sudo snap start \(Self.snapName)"))
            case .success:
                findings.append(DoctorFinding(
                    name, .visibleInSnap, .fail, "the snap's mount namespace (\(namespace)) does not see the mount",
                    fix: "sudo snap stop \(Self.snapName) && sudo /usr/lib/snapd/snap-discard-ns \(Self.snapName) && sudo snap start \(Self.snapName)"))
            case .failure(let failure):
                findings.append(DoctorFinding(name, .visibleInSnap, .fail, failure.description, fix: "run extlib-net doctor as root"))
            }
        } else {
            findings.append(DoctorFinding(name, .visibleInSnap, .skip, "no snap mount namespace at \(namespace) (snap not installed or never started)"))
        }

        // Read as Immich: inside the snap's namespace when there is one, without DAC override.
        let request = ImmichView.Request(namespace: namespaceExists ? namespace : nil, sample: target)
        switch view.look(request) {
        case .failure(let failure):
            findings.append(DoctorFinding(name, .readableByImmich, .fail, failure.description, fix: "extlib-net status \(name); extlib-net heal \(name)"))
        case .success(let report):
            findings += readFindings(definition, report)
        }
        return findings
    }

    func readFindings(_ definition: MountDefinition, _ report: ImmichView.Report) -> [DoctorFinding] {
        let name = definition.name
        var findings: [DoctorFinding] = []
        let unreadable = report.files.filter { $0.error != nil }
        let ownershipFix = definition.isSMB
            ? "the mount options set the owner and mode: extlib-net remove \(name), then add it again without --uid/--gid/--file-mode (files then appear root-owned, mode 0755)"
            : "make the files readable for everyone on the NAS (chmod -R o+rX), or export them squashed to one owner"
        if let folder = report.unlistable.first {
            findings.append(DoctorFinding(name, .readableByImmich, .fail, "Immich cannot list \(folder.path): \(folder.error)", fix: ownershipFix))
        } else if report.files.isEmpty {
            findings.append(DoctorFinding(name, .readableByImmich, .warn, "no files found: Immich would import an empty library",
                                          fix: "check the share and path (extlib-net discover \(shellQuoted(definition.url.host))); an empty folder may also mean the NAS side is empty"))
        } else if let first = unreadable.first {
            findings.append(DoctorFinding(
                name, .readableByImmich, .fail,
                "\(unreadable.count) of \(report.files.count) sampled files cannot be read without root's override of file permissions (\(first.path): \(first.error!), owner \(first.owner), mode \(String(first.mode, radix: 8)))",
                fix: ownershipFix))
        } else {
            findings.append(DoctorFinding(name, .readableByImmich, .pass, "read \(report.files.count) sampled files the way Immich does (without CAP_DAC_OVERRIDE)"))
        }

        // snapd's AppArmor rules for /root/snap/<snap>/** are owner-qualified.
        if definition.effectiveSandbox == .root, !report.files.isEmpty {
            let foreign = report.files.filter { $0.owner != 0 }
            if let first = foreign.first {
                let fix = definition.isSMB ? ownershipFix : "extlib-net remove \(name), then add it again with --sandbox var (no owner rule there)"
                findings.append(DoctorFinding(
                    name, .ownerRule, .fail,
                    "\(foreign.count) of \(report.files.count) sampled files are not owned by root (\(first.path): owner \(first.owner)); under \(SandboxBase.root.path) the snap's AppArmor rules only allow files Immich (root) owns",
                    fix: fix))
            } else {
                findings.append(DoctorFinding(name, .ownerRule, .pass, "sampled files appear owned by root, as the AppArmor owner rule under \(SandboxBase.root.path) requires"))
            }
        }
        return findings
    }
}

extension DoctorFinding: Encodable {
    private enum CodingKeys: String, CodingKey { case subject, check, verdict, detail, fix }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(subject, forKey: .subject)
        try container.encode(check.rawValue, forKey: .check)
        try container.encode(verdict.rawValue, forKey: .verdict)
        try container.encode(detail, forKey: .detail)
        try container.encode(fix, forKey: .fix)
    }
}

/// `doctor --json`: `ok` is false when any check failed.
public struct DoctorReport: Encodable, Sendable {
    public let ok: Bool
    public let findings: [DoctorFinding]

    public init(_ findings: [DoctorFinding]) {
        self.findings = findings
        ok = !findings.contains { $0.verdict == .fail }
    }
}
