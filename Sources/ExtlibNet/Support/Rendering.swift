#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Output from Codable value types: the one place `--json` is produced for them.
public enum Rendering {
    public static func json<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
