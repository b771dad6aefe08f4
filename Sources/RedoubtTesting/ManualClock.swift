import Synchronization

/// A `Clock` that only moves when a test moves it, for components that take an injectable clock
/// (the broker's rate limiter, `BackupScheduler`'s waits…): time passes by ``advance(by:)``, not
/// by sleeping.
///
/// A task sleeping on it (`try await clock.sleep(for: .seconds(60))`) stays suspended until
/// ``advance(by:)`` or ``advance(to:)`` moves ``now`` to or past its deadline, and throws
/// `CancellationError` as soon as it is cancelled. ``waitForSleepers(_:)`` lets a test wait until
/// the component under test has gone to sleep, so it advances time at a known point rather than
/// guessing how long the component needs to get there:
///
/// ```swift
/// let clock = ManualClock()
/// let running = Task { await scheduler.run() }   // sleeps on `clock` between runs
/// try await clock.waitForSleepers(1)             // it is waiting for its interval
/// clock.advance(by: .seconds(3600))              // the interval has passed: it runs
/// try await clock.waitForSleepers(1)             // … and is waiting for the next one
/// running.cancel()
/// ```
///
/// It is a class: the test and the component share one instance. Thread-safe.
public final class ManualClock: Clock, Sendable {
    /// A point in the clock's time: how far it is from the clock's zero.
    public struct Instant: InstantProtocol, Hashable, Sendable, CustomStringConvertible {
        /// The time since the clock's zero (``ManualClock/zero``).
        public var offset: Swift.Duration

        /// The instant `offset` after the clock's zero.
        public init(offset: Swift.Duration) {
            self.offset = offset
        }

        /// This instant moved by `duration` (earlier when it is negative).
        public func advanced(by duration: Swift.Duration) -> Instant {
            Instant(offset: offset + duration)
        }

        /// The time from this instant to `other` (negative when `other` is earlier).
        public func duration(to other: Instant) -> Swift.Duration {
            other.offset - offset
        }

        /// Whether `lhs` is earlier than `rhs`.
        public static func < (lhs: Instant, rhs: Instant) -> Bool {
            lhs.offset < rhs.offset
        }

        /// The offset, e.g. `+1.5 seconds`.
        public var description: String { "+\(offset)" }
    }

    /// The clock's duration type: `Swift.Duration`.
    public typealias Duration = Swift.Duration

    /// The instant every `ManualClock` starts at unless told otherwise: offset zero.
    public static let zero = Instant(offset: .zero)

    private struct Sleeper {
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct Waiter {
        let count: Int
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Instant
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
        var waiters: [Int: Waiter] = [:]

        /// Takes out the waiters satisfied by the current number of sleepers.
        mutating func satisfiedWaiters() -> [CheckedContinuation<Void, any Error>] {
            let ready = waiters.filter { $0.value.count <= sleepers.count }
            for id in ready.keys { waiters[id] = nil }
            return ready.values.map(\.continuation)
        }

        /// Takes out the sleepers whose deadline `now` has reached, earliest first.
        mutating func wakeDue() -> [Sleeper] {
            let due = sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { sleepers[id] = nil }
            return due.values.sorted { $0.deadline < $1.deadline }
        }
    }

    private let state: Mutex<State>

    /// A clock whose time starts at `start` (by default ``zero``).
    ///
    /// - Parameter start: The clock's ``now`` until the first ``advance(by:)``.
    public init(start: Instant = ManualClock.zero) {
        state = Mutex(State(now: start))
    }

    /// The current instant: where the last ``advance(by:)`` or ``advance(to:)`` left it.
    public var now: Instant { state.withLock { $0.now } }

    /// The smallest step it measures: none (it is exact).
    public var minimumResolution: Duration { .zero }

    /// A fresh id for a sleeper or a waiter (the key its cancellation handler removes).
    private func newID() -> Int {
        state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
    }

    /// How many tasks are suspended in ``sleep(until:tolerance:)`` on this clock right now.
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    /// Suspends until ``now`` reaches `deadline`: returns at once if it already has, otherwise
    /// when ``advance(by:)`` or ``advance(to:)`` gets there. Real time plays no part.
    ///
    /// - Parameters:
    ///   - deadline: The instant to wake at.
    ///   - tolerance: Ignored: a manual clock wakes exactly at its deadline.
    /// - Throws: `CancellationError` if the task is cancelled before or while it sleeps.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = newID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case wait, wake, cancel }
                let (outcome, waiters) = state.withLock { s -> (Outcome, [CheckedContinuation<Void, any Error>]) in
                    // Cancelled between the check above and now: the handler found nothing to resume.
                    if Task.isCancelled { return (.cancel, []) }
                    if deadline <= s.now { return (.wake, []) }
                    s.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return (.wait, s.satisfiedWaiters())
                }
                for waiter in waiters { waiter.resume() }
                switch outcome {
                case .wait: break
                case .wake: continuation.resume()
                case .cancel: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward by `duration` and wakes every sleeper whose deadline it reaches.
    ///
    /// The woken tasks are resumed before it returns, but run concurrently: to know that one has
    /// done its work and gone back to sleep, ``waitForSleepers(_:)``.
    ///
    /// - Parameter duration: How far to move; must not be negative (clocks do not go backwards).
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a ManualClock cannot go backwards (advance(by: \(duration)))")
        let woken = state.withLock { s -> [Sleeper] in
            s.now = s.now.advanced(by: duration)
            return s.wakeDue()
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    /// Moves time forward to `instant` (nothing happens if it is not later than ``now``) and wakes
    /// every sleeper whose deadline it reaches.
    ///
    /// - Parameter instant: The new ``now``.
    public func advance(to instant: Instant) {
        let woken = state.withLock { s -> [Sleeper] in
            guard instant > s.now else { return [] }
            s.now = instant
            return s.wakeDue()
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    /// Suspends until at least `count` tasks are sleeping on this clock (see ``sleepers``):
    /// the moment to ``advance(by:)`` when the component under test must be waiting first.
    ///
    /// It waits on an event, not on time: if the component never sleeps, neither does this return,
    /// so give the test a time limit (`.timeLimit(.minutes(1))`), which cancels it.
    ///
    /// - Parameter count: How many sleepers to wait for (by default one).
    /// - Throws: `CancellationError` if the task is cancelled while it waits.
    public func waitForSleepers(_ count: Int = 1) async throws {
        try Task.checkCancellation()
        let id = newID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case wait, ready, cancel }
                let outcome = state.withLock { s -> Outcome in
                    if Task.isCancelled { return .cancel }
                    if s.sleepers.count >= count { return .ready }
                    s.waiters[id] = Waiter(count: count, continuation: continuation)
                    return .wait
                }
                switch outcome {
                case .wait: break
                case .ready: continuation.resume()
                case .cancel: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }
}
