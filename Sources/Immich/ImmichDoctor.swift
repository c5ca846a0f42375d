import Core
import Mounting
import Health

// MARK: doctor

extension ImmichService {
    /// doctor's Immich checks: the API answers the stored key, every definition is linked, the guard is
    /// on, folder watching is off. Without a stored connection: one warning saying how to connect.
    public func doctorFindings(_ definitions: [MountDefinition]) -> [DoctorFinding] {
        let subject = "immich"
        let connection: ImmichConnection?
        do {
            connection = try connections.load()
        } catch {
            return [DoctorFinding(subject, .apiConnection, .fail, "\(error)", fix: "extlib-net immich login --from-snap")]
        }
        guard let connection else {
            return [DoctorFinding(subject, .apiConnection, .warn, "extlib-net is not connected to Immich's API, so it cannot guard the libraries' scans",
                                  fix: "extlib-net immich login --from-snap, then extlib-net immich guard enable")]
        }
        let api = makeClient(connection, timeout, logger)
        var findings: [DoctorFinding] = []
        let libraries: [ImmichLibrary]
        do {
            let me = try api.me()
            guard me.isAdmin == true else { throw ImmichError(.notAdmin(me.email)) }
            libraries = try api.libraries()
            findings.append(DoctorFinding(subject, .apiConnection, .pass, "Immich at \(connection.url) answers the stored key (\(Terminal.printable(me.email)), an admin)"))
        } catch {
            return [DoctorFinding(subject, .apiConnection, .fail, "\(error)", fix: "start Immich (snap start immich-distribution) or log in again: extlib-net immich login --from-snap")]
        }
        for definition in definitions {
            let path = importPath(of: definition)
            if let library = libraries.first(where: { $0.importPaths.contains { provider(of: $0, in: [definition]) != nil } }) {
                findings.append(DoctorFinding(definition.name, .linkedInImmich, .pass, "library '\(Terminal.printable(library.name))' imports \(path)"))
                findings.append(placeholderFinding(definition))
            } else {
                findings.append(DoctorFinding(definition.name, .linkedInImmich, .warn, "no Immich library imports \(path)", fix: "extlib-net immich link \(definition.name)"))
            }
        }
        let on = guardIsOn
        do {
            let settings = try LibraryScanSettings(config: try api.systemConfig())
            if on, !settings.enabled {
                findings.append(DoctorFinding(subject, .scanGuard, .pass, "Immich's own scheduled scan is off; the guarded scan runs instead"))
            } else if settings.enabled {
                findings.append(DoctorFinding(subject, .scanGuard, .fail,
                    "Immich's own scheduled scan is on ('\(Terminal.printable(settings.cronExpression))'): a scan while a share is away moves its whole library to the trash",
                    fix: "extlib-net immich guard enable"))
            } else {
                findings.append(DoctorFinding(subject, .scanGuard, .warn, "Immich's scheduled scan is off and the guard is not on: new photos on the shares are not imported",
                                              fix: "extlib-net immich guard enable --every 24h"))
            }
            if !settings.watchEnabled {
                findings.append(DoctorFinding(subject, .folderWatching, .pass, "off (it does not work on network shares)"))
            } else if on {
                // The guard turned it off; someone turned it on again.
                findings.append(DoctorFinding(subject, .folderWatching, .fail,
                    "Immich's folder watching is on while the guard is on: a share swapped for its placeholder looks like deleted files, and Immich removes those assets",
                    fix: "extlib-net immich guard enable (switches it off again; guard disable gives it back)"))
            } else {
                findings.append(DoctorFinding(subject, .folderWatching, .warn, "Immich's folder watching is on; it does not see changes on network shares",
                                              fix: "extlib-net immich guard enable (switches it off), or turn it off: Administration > Settings > External Library > Watch"))
            }
        } catch {
            findings.append(DoctorFinding(subject, .scanGuard, .fail, "\(error)"))
        }
        return findings
    }
}

extension ImmichService {
    /// Everything `doctor` checks, for the command and for setup: the mounts and the snap (Health's
    /// `Doctor`), then Immich's side.
    public func allDoctorFindings(_ definitions: [MountDefinition], namespace: String? = nil) -> [DoctorFinding] {
        Doctor(mounter: mounts.mounter, namespace: namespace).examine(definitions) + doctorFindings(definitions)
    }

    /// A linked share's placeholder: what stands in while the share is away, or that nothing does.
    func placeholderFinding(_ definition: MountDefinition) -> DoctorFinding {
        let status = mounts.placeholderStatus(definition)
        let problem = status.problem.map { " (last problem: \($0))" } ?? ""
        switch status.state {
        case .none:
            return DoctorFinding(definition.name, .placeholder, .warn, "no placeholder record: while the share is away, a scan started in Immich would trash the library",
                                 fix: "extlib-net immich link \(definition.name) (with the share mounted) records one")
        case .damaged:
            return DoctorFinding(definition.name, .placeholder, .fail, "the placeholder record is damaged: the library is unprotected while the share is away",
                                 fix: "delete /var/lib/extlib-net/placeholders/\(definition.name).json and run extlib-net immich link \(definition.name)")
        case .shown:
            return DoctorFinding(definition.name, .placeholder, .warn, "\(status.text): the share is away, the library is frozen as Immich last saw it",
                                 fix: "extlib-net heal (or mount \(definition.name)) once the NAS answers")
        case .recorded:
            return DoctorFinding(definition.name, .placeholder, .warn,
                                 "\(status.text): neither the share nor its placeholder is at the folder, so a scan started in Immich now would trash the library\(problem)",
                                 fix: "extlib-net mount \(definition.name), or extlib-net unmount --placeholder \(definition.name) while the NAS is away")
        case .uncovered:
            return DoctorFinding(definition.name, .placeholder, .warn,
                                 "\(status.text): should the share go away, its folder is empty until the next heal covers it\(problem)",
                                 fix: "extlib-net mount \(definition.name) puts the placeholder beneath the share (it is mounted again over it)")
        case .beneath:
            guard status.problem == nil else {
                return DoctorFinding(definition.name, .placeholder, .warn, "\(status.text), but\(problem)",
                                     fix: "the next guarded scan brings it up to date; extlib-net unmount then mount \(definition.name) builds it again")
            }
            return DoctorFinding(definition.name, .placeholder, .pass, status.text)
        }
    }
}
