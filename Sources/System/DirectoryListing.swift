#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The names in one directory, "." and ".." left out. Owns its `DIR*` and closes it.
package final class DirectoryListing: Sequence, IteratorProtocol {
    private let stream: OpaquePointer

    /// Lists the directory open at `descriptor`, through a duplicate (the caller keeps its own).
    package init?(duplicating descriptor: Int32) {
        let copy = dup(descriptor)
        guard copy >= 0 else { return nil }
        guard let stream = fdopendir(copy) else {
            close(copy)
            return nil
        }
        self.stream = stream
    }

    package init?(path: String) {
        guard let stream = opendir(path) else { return nil }
        self.stream = stream
    }

    deinit { closedir(stream) }

    /// The next name as the kernel has it (a file name need not be UTF-8).
    package func nextBytes() -> [UInt8]? {
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [0x2E], name != [0x2E, 0x2E] { return name }
        }
        return nil
    }

    package func next() -> String? {
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { return name }
        }
        return nil
    }
}
