internal import PostgresNIO

/// Runs a task's jobs on one connection's event loop (through ``PostgresCore/inTransaction(_:bounded:counted:onEventLoop:_:)``).
///
/// A task on the global executor is resumed after each query by a job queued behind every other
/// task's: with a broker's signing tasks keeping both cores busy, a commit's transaction waited
/// that long between its statements — while it held the store's change-counter row lock, which
/// every node's commits need. On the connection's event loop, the next statement goes out as soon
/// as the previous one's result is read. Only for short steps: anything long here delays the
/// other connections of that event loop.
final class EventLoopTaskExecutor: TaskExecutor {
    private let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    /// On one of PostgresNIO's event loops (the group its connections run on), for a task that
    /// has no connection yet.
    static func anyLoop() -> EventLoopTaskExecutor {
        EventLoopTaskExecutor(PostgresClient.defaultEventLoopGroup.any())
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
