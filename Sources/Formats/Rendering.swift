/// Output from Codable value types: the one place `--json` is produced. Keys come in declaration
/// order and nil is an explicit null (OrderedJSONEncoder), so scripts see every stable key.
public enum Rendering {
    public static func json<Value: Encodable>(_ value: Value) -> String {
        (try? OrderedJSONEncoder.encode(value))?.serialized() ?? "{}"
    }
}
