import Core
import Logging

/// The tool's log handler: every message, metadata value and error passes through the one escaper
/// before it reaches standard error, so text a server sent (an endpoint address, a share name) cannot
/// drive the terminal from a `--debug` log.
public struct EscapingLogHandler: LogHandler {
    private var inner: any LogHandler

    public init(wrapping inner: any LogHandler) { self.inner = inner }

    public static func standardError(label: String) -> EscapingLogHandler {
        EscapingLogHandler(wrapping: StreamLogHandler.standardError(label: label))
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues(Self.escaped) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map(Self.escaped) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = "\(Terminal.printable(event.message.description, limit: 2000))"
        var metadata = event.metadata?.mapValues(Self.escaped) ?? [:]
        if let error = event.error {
            metadata["error"] = .string(Terminal.printable(String(describing: error)))
            event.error = nil
        }
        event.metadata = metadata.isEmpty ? nil : metadata
        inner.log(event: event)
    }

    static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): return .string(Terminal.printable(text, limit: 2000))
        case .stringConvertible(let item): return .string(Terminal.printable(item.description, limit: 2000))
        case .array(let items): return .array(items.map(escaped))
        case .dictionary(let items): return .dictionary(Dictionary(items.map { (Terminal.printable($0.key, limit: 200), escaped($0.value)) }, uniquingKeysWith: { first, _ in first }))
        }
    }
}
