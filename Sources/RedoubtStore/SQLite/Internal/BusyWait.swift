import Foundation
import Synchronization

/// SQLite's busy handler for a store's connections: short sleeps (50 µs, doubling up to 1 ms)
/// until `timeout` has passed since the first try of a wait. A connection's handler runs on the
/// one thread using the connection, one wait at a time; each connection gets its own copy of the
/// start time through the try count (0 starts a wait).
final class BusyWait: Sendable {
    private let timeout: Double
    /// When the current wait of each connection began, by thread (a connection is used by one thread at a time).
    private let started = Mutex<[UInt: ContinuousClock.Instant]>([:])

    init(timeout: Double) {
        self.timeout = timeout
    }

    /// Whether to try again after `tries` failed tries (sleeping first).
    @Sendable func retry(_ tries: Int) -> Bool {
        let now = ContinuousClock.now
        let thread = UInt(pthread_self())
        let start = started.withLock { waits in
            if tries == 0 { waits[thread] = now }
            return waits[thread] ?? now
        }
        guard now - start < .nanoseconds(Int64(timeout * 1e9)) else {
            started.withLock { $0[thread] = nil }
            return false
        }
        usleep(UInt32(min(1000, 50 << min(tries, 5))))
        return true
    }
}
