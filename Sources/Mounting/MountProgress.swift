import Synchronization

/// What happens to one definition during `mount`.
public enum MountEvent: Sendable {
    /// A worker picked it up (all shares start at once; the mounter bounds the helpers that run).
    case started(name: String)
    /// One failed attempt, as logged: what failed and when the next try is.
    case attemptFailed(name: String, line: String)
    case finished(name: String, Result<MountedShare, MountError>)
}

/// One line per share, redrawn in place on a terminal as events arrive; without a terminal (boot,
/// journal, pipes) each failed attempt is simply written as a line of its own.
public final class MountProgressBoard: Sendable {
    private struct State {
        var lines: [String]
        var drawn = 0
    }
    private let names: [String]
    private let state: Mutex<State>
    private let width: Int
    private let write: @Sendable (String) -> Void

    /// `width`: the terminal's columns; longer lines are cut so the cursor arithmetic stays right.
    public init(names: [String], width: Int, write: @escaping @Sendable (String) -> Void) {
        self.names = names
        self.width = max(20, width)
        self.write = write
        state = Mutex(State(lines: names.map { "\($0): waiting" }))
    }

    public func handle(_ event: MountEvent) {
        let (name, text) = Self.line(for: event)
        guard let index = names.firstIndex(of: name) else { return }
        let output = state.withLock { state -> String in
            state.lines[index] = text
            // Cursor up over what was drawn, then every line cleared and rewritten.
            var output = state.drawn > 0 ? "\u{1B}[\(state.drawn)A" : ""
            for line in state.lines { output += "\r\u{1B}[K" + String(line.prefix(width - 1)) + "\n" }
            state.drawn = state.lines.count
            return output
        }
        write(output)
    }

    static func line(for event: MountEvent) -> (String, String) {
        switch event {
        case .started(let name):
            return (name, "\(name): mounting ...")
        case .attemptFailed(let name, let line):
            return (name, line)
        case .finished(let name, .success(let share)):
            return (name, "\(name): \(share.wasMounted ? "already mounted" : "mounted") on \(share.target)")
        case .finished(let name, .failure(let error)):
            return (name, "\(name): FAILED: \(error)")
        }
    }
}
