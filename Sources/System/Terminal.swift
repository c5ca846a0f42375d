import CLinux
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Core

/// Reading a password without echo, or from standard input for scripts.
public enum PasswordInput {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case noTerminal
        case empty
        case tooLong(limit: Int)
        case containsNewline
        case notUTF8
        /// Ctrl-C during the prompt (only when the caller asked to stop on it).
        case interrupted
        /// Ctrl-D before a line break (only when the caller asked to stop on it).
        case endOfInput

        public var description: String {
            switch self {
            case .noTerminal:
                return "a password is needed but standard input is not a terminal; pipe it in with --password-stdin"
            case .empty:
                return "the password read from standard input is empty"
            case .tooLong(let limit):
                return "the password is longer than \(limit) bytes"
            case .containsNewline:
                return "the password read from standard input has more than one line; give exactly one line"
            case .notUTF8:
                return "the password is not valid UTF-8 (set the terminal or the input to UTF-8); it would not be stored as typed"
            case .interrupted:
                return "interrupted"
            case .endOfInput:
                return "no password given (end of input)"
            }
        }
    }

    public static let maximumBytes = 4096

    /// The whole of standard input, less one trailing line break.
    public static func fromStandardInput() throws(Failure) -> Secret {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in retryingInterrupted { Glibc.read(0, buffer.baseAddress, 1024) } }
            if count <= 0 { break }
            bytes += chunk.prefix(count)
            if bytes.count > maximumBytes + 2 { throw .tooLong(limit: maximumBytes) }
        }
        return try secret(fromLine: bytes)
    }

    /// Prompts on the terminal with echo off.
    public static func prompt(_ text: String) throws(Failure) -> Secret {
        try prompt(text, stopOnSignal: nil)
    }

    /// Prompts on the terminal with echo off. With `stopOnSignal` (a flag the caller's SIGINT handler sets),
    /// the prompt ends with `.interrupted` within 0.1 s of it saying true, and Ctrl-D before a line break
    /// with `.endOfInput`; either way the echo is back on.
    public static func prompt(_ text: String, stopOnSignal: (() -> Bool)?) throws(Failure) -> Secret {
        guard isatty(0) == 1 else { throw .noTerminal }
        var saved = termios()
        guard tcgetattr(0, &saved) == 0 else { throw .noTerminal }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        // Echo off (dropping stale type-ahead) before the prompt shows: input typed in answer to the
        // prompt then can neither be echoed nor discarded by a later flush. A signal meanwhile puts
        // `saved` back (ProcessHardening).
        extlib_net_terminal_will_change(&saved)
        tcsetattr(0, TCSAFLUSH, &quiet)
        StandardStream.error.write(text)
        defer {
            tcsetattr(0, TCSANOW, &saved)
            extlib_net_terminal_restored()
            StandardStream.error.write("\n")
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            if let stopOnSignal {
                // The signal may be delivered to any thread, so the read is not sure to be broken by it:
                // wait for input in slices and look at the caller's flag in between.
                var ready = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
                let state = poll(&ready, 1, 100)
                if stopOnSignal() { throw .interrupted }
                if state <= 0 { continue }
            }
            let count = retryingInterrupted { Glibc.read(0, &byte, 1) }
            if count <= 0, stopOnSignal != nil { throw .endOfInput }
            guard count == 1, byte != 10 else { break }
            bytes.append(byte)
            if bytes.count > maximumBytes { throw .tooLong(limit: maximumBytes) }
        }
        return try secret(fromLine: bytes)
    }

    static func secret(fromLine input: [UInt8]) throws(Failure) -> Secret {
        var bytes = input[...]
        if bytes.last == 10 { bytes = bytes.dropLast() }
        if bytes.last == 13 { bytes = bytes.dropLast() }
        guard !bytes.isEmpty else { throw .empty }
        guard !bytes.contains(10), !bytes.contains(13) else { throw .containsNewline }
        guard bytes.count <= maximumBytes else { throw .tooLong(limit: maximumBytes) }
        // Decoding with replacement would store another password than the one given (a\377b as a U+FFFD b).
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return Secret(text)
    }
}

extension PasswordInput.Failure: ReportableError {
    public var exitStatus: ExitStatus { .usage }
}

/// One line typed on standard input (echo on), for a guided command's questions.
public enum LineInput {
    public enum Outcome: Equatable {
        /// The line without its line break, cut at the limit (the rest is read and dropped).
        case line([UInt8])
        /// `stopWhen` said true (the caller's SIGINT handler set its flag).
        case interrupted
        /// Standard input ended (Ctrl-D) or failed before a line break.
        case endOfInput
    }

    /// Reads up to a line break. The signal may reach any thread, so a read is not sure to be broken by it:
    /// input is waited for in 0.1 s slices, and `stopWhen` is asked in between.
    public static func read(limit: Int, stopWhen: () -> Bool) -> Outcome {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            var ready = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            let state = retryingInterrupted { poll(&ready, 1, 100) }
            if stopWhen() { return .interrupted }
            if state == 0 { continue }
            let count = retryingInterrupted { Glibc.read(0, &byte, 1) }
            if count <= 0 { return .endOfInput }
            if byte == 10 { return .line(bytes) }
            if bytes.count < limit { bytes.append(byte) }
        }
    }
}
