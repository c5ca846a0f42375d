import SystemPackage
import System
import Mounting
import Core

/// What a mount looks like to Immich: from inside the snap's mount namespace, without the capabilities
/// that let root ignore file permissions (the snap's confinement does not grant them).
///
/// The work happens in a child process (this executable's hidden `__immich-view` command): `setns`
/// changes the whole process and needs it single-threaded, and dropped capabilities cannot come back.
public struct ImmichView: Sendable {
    public let runner: any ProcessRunner
    public let executable: String
    public var timeout: Duration = .seconds(15)

    public static let command = "__immich-view"

    public init(runner: any ProcessRunner, executable: String = SelfExecutable.path) {
        self.runner = runner
        self.executable = executable
    }

    public struct Request: Sendable, Equatable {
        /// A mount namespace file (`/run/snapd/ns/immich-distribution.mnt`) to enter first.
        public var namespace: String?
        /// A mount point whose presence in the namespace's mount table is reported.
        public var mountPoint: String?
        /// A folder to sample files from, reading each as Immich would; `nil` for none.
        public var sample: String?
        public var limit = 20

        public init(namespace: String? = nil, mountPoint: String? = nil, sample: String? = nil) {
            self.namespace = namespace
            self.mountPoint = mountPoint
            self.sample = sample
        }

        var arguments: [String] {
            var arguments = [ImmichView.command, "--limit", String(limit)]
            if let namespace { arguments += ["--namespace", namespace] }
            if let mountPoint { arguments += ["--mount-point", mountPoint] }
            if let sample { arguments += ["--sample", sample] }
            return arguments
        }
    }

    public struct SampledFile: Sendable, Equatable {
        public let path: String
        public let owner: UInt32
        public let mode: UInt32
        /// Why it could not be read (open or read), or `nil` when it could.
        public let error: Errno?
    }

    /// A folder that could not be listed.
    public struct UnlistableFolder: Sendable, Equatable {
        public let path: String
        public let error: Errno
    }

    public struct Report: Sendable, Equatable {
        /// Whether `mountPoint` is in the namespace's mount table; `nil` when not asked.
        public var visible: Bool?
        /// The type and source of the top mount there (what a reader sees).
        public var topType: String?
        public var topSource: String?
        /// The top mount there is a share's placeholder: the share itself is not what Immich sees.
        public var showsPlaceholder: Bool { topType == "tmpfs" && topSource == PlaceholderMount.source }
        /// The share is what Immich sees at the mount point.
        public var showsShare: Bool { visible == true && topType != nil && !showsPlaceholder }
        public var files: [SampledFile] = []
        public var unlistable: [UnlistableFolder] = []
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case namespace(String, Errno)
        case dropCapabilities(Errno)
        case timedOut(Duration)
        case child(String)

        public var description: String {
            switch self {
            case .namespace(let path, let error): return "cannot enter the mount namespace \(path): \(error)"
            case .dropCapabilities(let error): return "cannot drop capabilities: \(error)"
            case .timedOut(let limit): return "reading did not finish within \(formatSeconds(limit.seconds)) (server hung?)"
            case .child(let message): return message
            }
        }
    }

    /// Runs the child and reads its report.
    public func look(_ request: Request) -> Result<Report, Failure> {
        let result: ProcessResult
        do { result = try runner.run(executable, request.arguments, secret: nil, until: .after(timeout)) } catch { return .failure(.child(error.description)) }
        if result.timedOut { return .failure(.timedOut(timeout)) }
        // The child reports on standard output only; standard error (a crash, the runtime's complaint)
        // explains a failure, and is never read as the protocol.
        return Self.parse(result.standardOutput, status: result.status, errors: result.standardError)
    }

    // MARK: the line protocol between child and parent
    // visible 0 | visible 1 FSTYPE SOURCE   (of the top mount; both octal-escaped like mountinfo)
    // file UID MODE ERRNO PATH          (ERRNO 0: read fine; PATH octal-escaped like mountinfo)
    // unlistable ERRNO PATH
    // failed namespace ERRNO PATH | failed capabilities ERRNO

    static func parse(_ text: String, status: Int32, errors: String = "") -> Result<Report, Failure> {
        var report = Report()
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false)
            switch fields.first {
            case "visible" where fields.count == 2 || fields.count == 4:
                report.visible = fields[1] == "1"
                if fields.count == 4 {
                    report.topType = MountInfo.unescape(fields[2])
                    report.topSource = MountInfo.unescape(fields[3])
                }
            case "file" where fields.count == 5:
                guard let owner = UInt32(fields[1]), let mode = UInt32(fields[2], radix: 8), let code = Int32(fields[3]) else { continue }
                report.files.append(SampledFile(path: MountInfo.unescape(fields[4]), owner: owner, mode: mode, error: code == 0 ? nil : Errno(rawValue: code)))
            case "unlistable" where fields.count >= 3:
                guard let code = Int32(fields[1]) else { continue }
                report.unlistable.append(UnlistableFolder(path: MountInfo.unescape(line.split(separator: " ", maxSplits: 2)[2]), error: Errno(rawValue: code)))
            case "failed" where fields.count >= 3:
                let code = Errno(rawValue: Int32(fields[2]) ?? 0)
                if fields[1] == "namespace" {
                    return .failure(.namespace(MountInfo.unescape(line.split(separator: " ", maxSplits: 3).last ?? ""), code))
                }
                return .failure(.dropCapabilities(code))
            default:
                continue
            }
        }
        guard status == 0 else {
            let detail = errors.split(separator: "\n").first.map { Terminal.printable(String($0)) } ?? "exit status \(status)"
            return .failure(.child("the check could not run: \(detail)"))
        }
        return .success(report)
    }

    // MARK: the child

    /// The child's work; writes the line protocol to standard output and returns the exit status.
    public static func runChild(_ request: Request, write: (String) -> Void) -> Int32 {
        if let namespace = request.namespace, let error = ProcessConfinement.enterMountNamespace(namespace) {
            write("failed namespace \(error.rawValue) \(MountInfo.escape(namespace))\n")
            return 3
        }
        if let mountPoint = request.mountPoint {
            if let top = MountTable.system.entry(at: mountPoint) {
                write("visible 1 \(MountInfo.escape(top.fileSystemType)) \(MountInfo.escape(top.source))\n")
            } else {
                write("visible 0\n")
            }
        }
        guard let sample = request.sample else { return 0 }
        if let error = ProcessConfinement.dropFilePermissionOverrides() {
            write("failed capabilities \(error.rawValue)\n")
            return 3
        }
        sampleFiles(under: sample, limit: request.limit, write: write)
        return 0
    }

    /// Breadth first, so a sample covers several folders; symlinks are not followed.
    static func sampleFiles(under top: String, limit: Int, write: (String) -> Void) {
        var folders = [top]
        var sampled = 0
        var visited = 0
        while !folders.isEmpty, sampled < limit, visited < 64 {
            let folder = folders.removeFirst()
            visited += 1
            guard let listing = DirectoryListing(path: folder) else {
                write("unlistable \(Errno.last.rawValue) \(MountInfo.escape(folder))\n")
                continue
            }
            var names: [String] = []
            while names.count < 1000, let name = listing.next() { names.append(name) }
            for name in names.sorted() where sampled < limit {
                let path = folder == "/" ? "/" + name : folder + "/" + name
                guard let info = try? FileInfo.of(path).get() else { continue }
                switch info.kind {
                case .directory:
                    folders.append(path)
                case .regular:
                    sampled += 1
                    write("file \(info.owner) \(String(info.permissions, radix: 8)) \(readError(path)) \(MountInfo.escape(path))\n")
                default:
                    continue
                }
            }
        }
    }

    /// 0 when the first bytes of the file can be read, else the errno.
    static func readError(_ path: String) -> Int32 { FileSystem.readProblem(path)?.rawValue ?? 0 }
}
