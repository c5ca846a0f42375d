/// How many of a seeded random-input test's inputs must reach the checks that only run on success: a
/// test that never gets there passes without checking anything (the cron test did: 0 of 20000). Each is
/// about half of what its seed gives today (in brackets).
enum CountedMinimum {
    /// Cron expressions that convert to `OnCalendar=` (220).
    static let cron = 100
    /// Durations that parse (877).
    static let durations = 400
    /// Mutated NEGOTIATE answers read as "SMB1 only" (4161).
    static let smb1Answers = 2000
    /// Random answers that parse as a menu selection (75).
    static let selections = 35
}
