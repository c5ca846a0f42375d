import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The built extlib-net where boot units may name it (`BootInstaller.checkExecutable`): a hard link (a
/// copy when linking fails or the build is not root's) in a root-owned 0755 folder under the temporary
/// directory, removed when the test process exits. The tests run `boot enable` and `immich guard enable`
/// through it, as users run an installed binary, with no way around the check.
public enum TrustedCopy {
    nonisolated(unsafe) private static var folders: [String] = []
    private static let lock = NSLock()

    /// A trusted path for `binary`; `binary` itself when no copy can be made (the check then says why).
    public static func of(_ binary: String) -> String {
        lock.withLock {
            let temporary = NSTemporaryDirectory().hasSuffix("/") ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory()
            var template = Array((temporary + "/extlib-net-bin.XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else { return binary }
            let folder = String(cString: made)
            if folders.isEmpty { atexit { TrustedCopy.removeAll() } }
            folders.append(folder)
            let copy = folder + "/extlib-net"
            var info = stat()
            let rootsOwn = stat(binary, &info) == 0 && info.st_uid == 0 && (info.st_mode & 0o022) == 0
            guard chmod(folder, 0o755) == 0,
                  (rootsOwn && link(binary, copy) == 0) || (try? FileManager.default.copyItem(atPath: binary, toPath: copy)) != nil,
                  chmod(copy, 0o755) == 0
            else { return binary }
            return copy
        }
    }

    private static func removeAll() {
        for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
    }
}
