/// The one check for every piece of text that reaches a mount helper's arguments or the kernel's mount
/// option string: the URL's host, share, subfolder and NFS export path (after percent-decoding), and the
/// account's user name and domain. `MountDefinition.validate()` runs it (so `add` and every read of
/// mounts.toml, hand edits included, see it) and the mounter runs it again before any helper starts.
///
/// What the Linux clients do with the text:
/// - mount.cifs turns `//HOST/SHARE/SUB` into `unc=\\HOST\SHARE,prefixpath=SUB` in the option string it
///   hands the kernel, without escaping, and the kernel splits that string at every `,`: a comma in a share
///   or folder name starts a new option (`ip=` to another server, `sec=none`, ...).
/// - mount.cifs and the kernel take `/` and `\` alike as path separators in the UNC, so a `\` in a
///   share or folder name would split it (and `a\..` would climb out of the share).
/// - mount.cifs reads `username=DOMAIN/USER%PASSWORD`: a `%` in a user name starts a password, a `/` or
///   `\` ends a domain.
/// - The option string is a C string of printable text: NUL ends it, control characters have no place.
/// - NFS export paths get the same rule: commas are where mount.nfs and the kernel look for a list of
///   servers in `HOST:/PATH`, and no export needs one.
/// An `=` in a value is harmless (both split a key from its value at the first `=`), and so are spaces.
public enum MountText {
    public enum Part: String, Sendable, Equatable {
        case host
        case share = "share name"
        case subfolder
        case exportPath = "export path"
        case username = "user name"
        case domain
    }

    /// mount.cifs's MAX_UNC_LEN (1024, with its NUL) for `//HOST/SHARE/SUB`.
    public static let maximumUNCBytes = 1023
    /// NFS's MNTPATHLEN.
    public static let maximumExportPathBytes = 1024

    /// Why `value` cannot go into a mount as `part`, or nil when it can.
    public static func problem(in value: String, as part: Part) -> String? {
        if value.isEmpty { return "it is empty" }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "it contains a control character (NUL, a line break, a tab, ...), which a mount option string cannot carry"
        }
        if value.contains(",") {
            return "it contains ',', where the kernel splits its mount options: the rest would be read as further options"
        }
        switch part {
        case .host:
            if (try? HostName.parse(value)) == nil { return "it is not a host name or an IP address" }
        case .share:
            if value.contains("/") || value.contains("\\") {
                return "it contains '/' or '\\', which mount.cifs and the kernel read as a path separator"
            }
            if value.utf8.count > 80 { return "it is longer than 80 bytes, the longest share name SMB allows" }
        case .subfolder:
            if value.contains("\\") { return "it contains '\\', which mount.cifs and the kernel read as a path separator" }
            for component in value.split(separator: "/", omittingEmptySubsequences: false) where component.isEmpty || component == "." || component == ".." {
                return "it has an empty, '.' or '..' part"
            }
        case .exportPath:
            guard value.hasPrefix("/") else { return "it does not start with '/'" }
            if value != "/" {
                for component in value.dropFirst().split(separator: "/", omittingEmptySubsequences: false) where component.isEmpty || component == "." || component == ".." {
                    return "it has an empty, '.' or '..' part"
                }
            }
            if value.utf8.count > maximumExportPathBytes { return "it is longer than \(maximumExportPathBytes) bytes, the longest path NFS allows" }
        case .username:
            if value.contains("%") { return "it contains '%', after which mount.cifs reads a password" }
            if value.contains("/") || value.contains("\\") {
                return "it contains '/' or '\\', before which mount.cifs reads a domain"
            }
        case .domain:
            break
        }
        return nil
    }

    /// What the user can do about a refused `part`.
    static func advice(_ part: Part) -> String {
        switch part {
        case .host: return "give the server's name or address"
        case .share: return "rename the share on the NAS, or mount another one"
        case .subfolder: return "rename the folder on the NAS, or mount a folder above it"
        case .exportPath: return "change the export path on the NAS"
        case .username, .domain: return "store the account with the user name alone and the domain in --domain (extlib-net credentials add NAME --user USER --domain DOMAIN --force)"
        }
    }

    public static func check(_ value: String, as part: Part) throws(MountOptionError) {
        if let problem = problem(in: value, as: part) { throw .unsafeText(part, value, problem) }
    }
}
