import Core
/// Immich's `library.scan.cronExpression` as a systemd `OnCalendar=` value, so the guarded scan runs on
/// Immich's own schedule. Only what both can say exactly is converted; anything else is refused (the
/// user then gives `--every`). The result holds only digits, names and `*-:.,/`: safe in a unit file.
public enum CronSchedule {
    public struct Unconvertible: Error, Equatable, CustomStringConvertible {
        public let expression: String
        public let reason: String
        public var description: String {
            "Immich's scan schedule '\(Terminal.printable(expression))' cannot be turned into a systemd calendar (\(reason)); give the guarded scan's interval with --every, e.g. --every 24h"
        }
    }

    static let shortcuts = [
        "@yearly": "*-01-01 00:00:00", "@annually": "*-01-01 00:00:00", "@monthly": "*-*-01 00:00:00",
        "@weekly": "Sun *-*-* 00:00:00", "@daily": "*-*-* 00:00:00", "@midnight": "*-*-* 00:00:00", "@hourly": "*-*-* *:00:00",
    ]
    static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let weekdays = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    static let systemdWeekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    public static func onCalendar(_ expression: String) throws(Unconvertible) -> String {
        let trimmed = expression.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        func fail(_ reason: String) -> Unconvertible { Unconvertible(expression: expression, reason: reason) }
        guard expression.utf8.count <= 200 else { throw fail("it is too long") }
        if trimmed.count == 1, let shortcut = shortcuts[trimmed[0].lowercased()] { return shortcut }
        guard trimmed.count == 5 || trimmed.count == 6 else { throw fail("cron has 5 fields, or 6 with seconds first") }
        let fields = trimmed.count == 6 ? trimmed : ["0"] + trimmed
        let second = try field(fields[0], 0...59, names: [], start: 0, what: "second", fail)
        let minute = try field(fields[1], 0...59, names: [], start: 0, what: "minute", fail)
        let hour = try field(fields[2], 0...23, names: [], start: 0, what: "hour", fail)
        let day = try field(fields[3], 1...31, names: [], start: 1, what: "day of month", fail)
        let month = try field(fields[4], 1...12, names: months, nameBase: 1, start: 1, what: "month", fail)
        var weekday: String?
        if fields[5] != "*" && fields[5] != "?" {
            // cron matches day-of-month OR day-of-week when both are set; systemd needs both: not the same.
            guard day == "*" else { throw fail("it restricts both the day of the month and the day of the week") }
            weekday = try weekdayField(fields[5], fail)
        }
        return (weekday.map { $0 + " " } ?? "") + "*-\(month)-\(day) \(hour):\(minute):\(second)"
    }

    /// One numeric field: `*`, `N`, `A-B`, `*/S`, `A-B/S`, `A/S`, lists of these.
    static func field(_ text: String, _ range: ClosedRange<Int>, names: [String], nameBase: Int = 0, start: Int, what: String, _ fail: (String) -> Unconvertible) throws(Unconvertible) -> String {
        if text == "*" || text == "?" { return "*" }
        var parts: [String] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = item.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw fail("bad \(what) '\(item)'") }
            var step: Int?
            if pieces.count == 2 {
                guard let value = Int(pieces[1]), value >= 1, value <= range.upperBound else { throw fail("bad step in \(what) '\(item)'") }
                step = value
            }
            let base = pieces[0]
            var text: String
            if base == "*" {
                guard let step else { throw fail("bad \(what) '\(item)'") }
                text = "\(pad(start, what))/\(step)"
                parts.append(text)
                continue
            }
            let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count <= 2 else { throw fail("bad \(what) '\(item)'") }
            var values: [Int] = []
            for bound in bounds {
                guard let value = number(String(bound), names: names, base: nameBase), range.contains(value) else { throw fail("bad \(what) '\(item)'") }
                values.append(value)
            }
            if values.count == 2 {
                guard values[0] <= values[1] else { throw fail("\(what) range '\(item)' runs backwards") }
                text = "\(pad(values[0], what))..\(pad(values[1], what))"
            } else {
                text = pad(values[0], what)
            }
            if let step { text += "/\(step)" }
            parts.append(text)
        }
        return parts.joined(separator: ",")
    }

    /// Days of the week as a list of names: cron counts Sunday as 0 and 7, and systemd's ranges run
    /// Monday to Sunday, so `0-2` must become `Sun,Mon,Tue`, never `Sun..Tue` (which systemd refuses).
    static func weekdayField(_ text: String, _ fail: (String) -> Unconvertible) throws(Unconvertible) -> String {
        var days = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard !item.contains("/"), bounds.count <= 2 else { throw fail("day of week '\(item)' uses a step") }
            var values: [Int] = []
            for bound in bounds {
                guard let value = number(String(bound), names: weekdays, base: 0), (0...7).contains(value) else { throw fail("bad day of week '\(item)'") }
                values.append(value)
            }
            if values.count == 2 {
                guard values[0] <= values[1] else { throw fail("day-of-week range '\(item)' runs backwards") }
                for day in values[0]...values[1] { days.insert(day % 7) }
            } else {
                days.insert(values[0] % 7)
            }
        }
        return [1, 2, 3, 4, 5, 6, 0].filter(days.contains).map { systemdWeekdays[$0] }.joined(separator: ",")
    }

    static func number(_ text: String, names: [String], base: Int) -> Int? {
        if let index = names.firstIndex(of: text.uppercased()) { return index + base }
        guard !text.isEmpty, text.utf8.count <= 2, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    static func pad(_ value: Int, _ what: String) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
