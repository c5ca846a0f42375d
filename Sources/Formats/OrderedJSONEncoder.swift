/// Encodes any `Encodable` into `JSON`: the one path from a value type to `--json` output.
///
/// Unlike Foundation's encoder, keys come out in the order `encode(to:)` writes them (declaration
/// order for synthesized conformances), and a nil optional is written as `null` instead of being left
/// out, so the keys the README calls stable are always there. Synthesized code calls
/// `encodeIfPresent`, which this encoder turns into an explicit null.
public enum OrderedJSONEncoder {
    public static func encode<Value: Encodable>(_ value: Value) throws -> JSON {
        let root = Node()
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        return root.json
    }
}

/// One value under construction; containers share it by reference, as Encoder's API expects.
private final class Node {
    enum Content {
        case unset
        case value(JSON)
        case object([(key: String, node: Node)])
        case array([Node])
    }

    var content: Content = .unset

    var json: JSON {
        switch content {
        case .unset: .null
        case .value(let value): value
        case .object(let members): .object(members.map { ($0.key, $0.node.json) })
        case .array(let items): .array(items.map(\.json))
        }
    }

    /// The member `key` of this object (made one if it was not), replacing an earlier one of that name.
    func member(_ key: String) -> Node {
        var members: [(key: String, node: Node)] = []
        if case .object(let existing) = content { members = existing }
        let child = Node()
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].node = child
        } else {
            members.append((key, child))
        }
        content = .object(members)
        return child
    }

    func appended() -> Node {
        var items: [Node] = []
        if case .array(let existing) = content { items = existing }
        let child = Node()
        items.append(child)
        content = .array(items)
        return child
    }

    var count: Int {
        if case .array(let items) = content { return items.count }
        return 0
    }
}

private struct NodeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(node: node, codingPath: codingPath)
    }
}

/// What every container does with one value: primitives become JSON leaves, anything else encodes
/// itself into the node.
private func store<Value: Encodable>(_ value: Value, in node: Node, codingPath: [any CodingKey]) throws {
    switch value {
    case let text as String: node.content = .value(.string(text))
    case let flag as Bool: node.content = .value(.bool(flag))
    case let number as any BinaryInteger: node.content = .value(.integer(Int64(clamping: number)))
    case let number as Double: node.content = .value(try finite(number, codingPath))
    case let number as Float: node.content = .value(try finite(Double(number), codingPath))
    case let dictionary as [String: any Encodable]:
        // A dictionary has no order of its own: sorted keys, so the same value prints the same way.
        // (Only String keys: no value type here has a dictionary keyed otherwise.)
        node.content = .object([])
        for key in dictionary.keys.sorted() {
            try store(dictionary[key]!, in: node.member(key), codingPath: codingPath)
        }
    default: try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
    }
}

/// JSON has no NaN or infinity: refused, as Foundation's encoder does.
private func finite(_ number: Double, _ codingPath: [any CodingKey]) throws -> JSON {
    guard number.isFinite else {
        throw EncodingError.invalidValue(number, .init(codingPath: codingPath, debugDescription: "\(number) is not a JSON number"))
    }
    return .number(number)
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.member(key.stringValue).content = .value(.null) }

    mutating func encode<Value: Encodable>(_ value: Value, forKey key: Key) throws {
        try store(value, in: node.member(key.stringValue), codingPath: codingPath + [key])
    }

    // Synthesized conformances call these for optionals: null, never a missing key.
    mutating func encodeIfPresent<Value: Encodable>(_ value: Value?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encodeOptional(value, key) }

    private mutating func encodeOptional<Value: Encodable>(_ value: Value?, _ key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = node.member(key.stringValue)
        child.content = .object([])
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.member(key.stringValue)
        child.content = .array([])
        return UnkeyedContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.member("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    mutating func encodeNil() throws { node.appended().content = .value(.null) }

    mutating func encode<Value: Encodable>(_ value: Value) throws {
        try store(value, in: node.appended(), codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = node.appended()
        child.content = .object([])
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = node.appended()
        child.content = .array([])
        return UnkeyedContainer(node: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.appended(), codingPath: codingPath) }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .value(.null) }

    mutating func encode<Value: Encodable>(_ value: Value) throws {
        try store(value, in: node, codingPath: codingPath)
    }
}
