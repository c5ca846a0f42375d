import Core
import System
public enum MountOptionError: Error, Equatable, CustomStringConvertible {
    case emptyOption
    case badOption(String)
    case reservedOption(String)
    case badAccount(String)
    case badMode(UInt16)
    /// A mode with setuid, setgid or sticky bits.
    case specialModeBits(UInt16)
    /// A key that would undo the tool's own settings or the safety flags: the key and why.
    case unsafeOption(String, String)
    /// Text that cannot reach a mount safely: which part, the text, and why.
    case unsafeText(MountText.Part, String, String)

    public var description: String {
        switch self {
        case .emptyOption: return "--options has an empty entry (two commas in a row, or a comma at an end)"
        case .badOption(let item): return "--options entry '\(Terminal.printable(item))' is not key or key=value (letters, digits, '_', '-'; no spaces or control characters)"
        case .reservedOption(let key): return "--options may not set '\(key)': use the dedicated flag (credentials go through --credentials)"
        case .badAccount(let problem): return problem
        case .badMode(let mode): return "mode \(String(mode, radix: 8)) is not an octal permission of at most 7777"
        case .specialModeBits(let mode):
            return "mode \(String(mode, radix: 8)) sets setuid, setgid or sticky bits, which a photo library never needs; use a mode of at most 0777, such as 0644 or 0755"
        case .unsafeOption(let key, let reason): return "--options may not set '\(Terminal.printable(key))': \(reason)"
        case .unsafeText(let part, let value, let reason):
            return "the \(part.rawValue) '\(Terminal.printable(value))' cannot be mounted safely: \(reason); \(MountText.advice(part))"
        }
    }
}

extension MountOptionError: ReportableError {
    public var exitStatus: ExitStatus { .usage }
}
