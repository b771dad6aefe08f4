import RedoubtTesting
import Synchronization
import Testing

/// `RedoubtTesting.ManualClock`: time moves only when the test moves it, sleepers wake exactly
/// at their deadline, and cancellation ends a sleep at once.
// The time limit catches a hang; among every other test a task can wait a minute for a thread.
@Suite("ManualClock", .timeLimit(.minutes(5)))
struct ManualClockTests {
    @Test("a sleeper wakes when time reaches its deadline, not before")
    func wakesAtDeadline() async throws {
        let clock = ManualClock()
        #expect(clock.now == ManualClock.zero)
        let sleeping = Task { try await clock.sleep(for: .seconds(10)) }
        try await clock.waitForSleepers(1)
        clock.advance(by: .seconds(9))
        #expect(clock.sleepers == 1)
        clock.advance(by: .seconds(1))
        #expect(clock.sleepers == 0)
        try await sleeping.finished
        #expect(clock.now == ManualClock.zero.advanced(by: .seconds(10)))
        #expect(ManualClock.zero.duration(to: clock.now) == .seconds(10))
    }

    @Test("advancing wakes only the sleepers it reaches; advance(to:) never goes back")
    func wakesOnlyDue() async throws {
        let clock = ManualClock(start: ManualClock.Instant(offset: .seconds(100)))
        let woke = Woken()
        let early = Task {
            try await clock.sleep(until: clock.now.advanced(by: .seconds(1)))
            woke.add("early")
        }
        let late = Task {
            try await clock.sleep(until: ManualClock.Instant(offset: .seconds(105)))
            woke.add("late")
        }
        try await clock.waitForSleepers(2)
        clock.advance(to: ManualClock.Instant(offset: .seconds(102)))
        try await early.finished
        #expect(woke.names == ["early"])
        #expect(clock.sleepers == 1)
        clock.advance(to: ManualClock.Instant(offset: .seconds(50)))
        #expect(clock.now == ManualClock.Instant(offset: .seconds(102)))
        clock.advance(by: .seconds(3))
        try await late.finished
        #expect(woke.names == ["early", "late"])
    }

    @Test("a deadline already reached returns at once")
    func pastDeadline() async throws {
        let clock = ManualClock()
        clock.advance(by: .seconds(5))
        try await clock.sleep(until: ManualClock.Instant(offset: .seconds(5)))
        try await clock.sleep(for: .zero)
        #expect(clock.sleepers == 0)
    }

    @Test("cancelling a sleeper ends its sleep with CancellationError; a cancelled task does not sleep")
    func cancellation() async throws {
        let clock = ManualClock()
        let sleeping = Task { try await clock.sleep(for: .seconds(3600)) }
        try await clock.waitForSleepers(1)
        sleeping.cancel()
        await #expect(throws: CancellationError.self) { try await sleeping.finished }
        #expect(clock.sleepers == 0)

        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(for: .seconds(1))
        }
        await #expect(throws: CancellationError.self) { try await cancelledFirst.value }
        #expect(clock.sleepers == 0)

        let waiting = Task { try await clock.waitForSleepers(1) }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }

    @Test("waitForSleepers returns once that many tasks sleep")
    func waitsForSleepers() async throws {
        let clock = ManualClock()
        try await clock.waitForSleepers(0)
        let sleepers = (0..<3).map { _ in Task { try await clock.sleep(for: .seconds(1)) } }
        try await clock.waitForSleepers(3)
        #expect(clock.sleepers == 3)
        clock.advance(by: .seconds(1))
        for sleeper in sleepers { try await sleeper.finished }
        #expect(clock.sleepers == 0)
    }
}

extension Task where Failure == any Error {
    /// The task's value; if the waiting test is cancelled (its time limit passed), the task is
    /// cancelled too, so a sleeper that is never woken fails the test instead of hanging it.
    fileprivate var finished: Success {
        get async throws {
            try await withTaskCancellationHandler {
                try await value
            } onCancel: {
                cancel()
            }
        }
    }
}

/// Names recorded from several tasks.
private final class Woken: Sendable {
    private let storage = Mutex<[String]>([])
    var names: [String] { storage.withLock { $0 } }
    func add(_ name: String) { storage.withLock { $0.append(name) } }
}
