import Foundation

/// SQLite's busy handler for a store's connections: short sleeps (50 µs, doubling up to 1 ms)
/// until they add up to `timeout`, counted from the try number SQLite passes (as its own
/// `busy_timeout` counts its sleeps), so the handler keeps no state.
struct BusyWait: Sendable {
    /// The most tries: their sleeps add up to the timeout.
    let maximumTries: Int

    init(timeout: Double) {
        // The doubling sleeps first (50 … 1,000 µs), then 1 ms each.
        var tries = 0
        var slept = 0.0
        while slept < timeout, Self.sleep(beforeTry: tries) < 1000 {
            slept += Double(Self.sleep(beforeTry: tries)) / 1e6
            tries += 1
        }
        maximumTries = tries + Int(max(0, (timeout - slept) * 1000).rounded(.up))
    }

    /// The sleep before try `tries + 1`, in microseconds.
    static func sleep(beforeTry tries: Int) -> UInt32 {
        UInt32(min(1000, 50 << min(tries, 5)))
    }

    /// Whether to try again after `tries` failed tries (sleeping first).
    @Sendable func retry(_ tries: Int) -> Bool {
        guard tries < maximumTries else { return false }
        usleep(Self.sleep(beforeTry: tries))
        return true
    }
}
