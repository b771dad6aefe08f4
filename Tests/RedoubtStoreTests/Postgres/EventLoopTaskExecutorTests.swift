import Foundation
import PostgresNIO
@testable import RedoubtStore
import Testing

/// The executor the PostgreSQL writer's transactions run on: every job of a task preferring it
/// runs on its event loop, before and after each suspension.
@Suite("EventLoopTaskExecutor", .timeLimit(.minutes(1)))
struct EventLoopTaskExecutorTests {
    @Test("a task preferring it runs on its event loop, also after awaiting that loop and another thread")
    func runsOnTheEventLoop() async throws {
        let loop = PostgresClient.defaultEventLoopGroup.next()
        #expect(!loop.inEventLoop)
        let seen = try await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) { () async throws -> [Bool] in
            var seen = [loop.inEventLoop]
            // Resumed from the loop itself (as after a query's result).
            try await loop.scheduleTask(in: .milliseconds(1)) {}.futureResult.get()
            seen.append(loop.inEventLoop)
            // Resumed from a thread of its own.
            await withCheckedContinuation { continuation in Thread { continuation.resume() }.start() }
            seen.append(loop.inEventLoop)
            // A child task inherits the preference.
            async let child = loop.inEventLoop
            seen.append(await child)
            return seen
        }
        #expect(seen == [true, true, true, true])
        #expect(!loop.inEventLoop)
    }
}
