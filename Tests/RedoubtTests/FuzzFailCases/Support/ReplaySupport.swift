import Foundation

// What the symlinked fuzz sources need from FuzzSupport's Seeds.swift and Warmup.swift, which are
// not compiled here: they write seeds and switch LeakSanitizer, neither of which a replay does.

/// `Fuzz/` of this checkout, found from this file (Tests/RedoubtTests/FuzzFailCases/Support/).
enum Seeds {
    static var fuzzDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz")
    }
}

enum Warmup {
    /// The input being replayed, named by `fuzzFail` when an invariant breaks.
    nonisolated(unsafe) static var replaying: String?
}
