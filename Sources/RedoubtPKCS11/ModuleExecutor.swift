import CPKCS11
import Foundation
import Synchronization

/// The module's own threads. Every HSM call the module makes runs as a task that prefers this
/// executor, so the host's threads only wait and the module never depends on the process's
/// global executor (which a host may not have, or may have broken by forking).
final class ModuleExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private let inFlight = Atomic<Int>(0)
    /// How many calls at once run on their callers' threads: one per core.
    static let callerThreadCalls = max(1, ProcessInfo.processInfo.activeProcessorCount)
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var threads: [Thread] = []

    init(threads count: Int) {
        for index in 0..<count {
            // Strongly held: a thread may start after C_Finalize dropped the runtime; it ends on stop().
            let thread = Thread { self.work() }
            thread.name = "redoubt-pkcs11-\(index)"
            threads.append(thread)
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        enqueue(UnownedJob(job))
    }

    func enqueue(_ job: UnownedJob) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the threads end once the queue is empty.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// Runs `operation` and waits for its result, at most `timeout` (then the call is a device
    /// error and its task is cancelled). While few calls run at once, on the calling (host)
    /// thread, which the C caller lends while it waits: the call's task prefers a
    /// ``CallerExecutor`` whose jobs this thread runs until the result is there — no thread hop on
    /// the way in or out; jobs that arrive after the caller left run on the module's threads.
    func blocking<T: Sendable>(timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) throws -> T {
        // Up to one call per core runs on its caller's thread (no hop: the lowest latency); beyond
        // that, the calls' work goes to the module's threads, so that 64 waiting callers do not
        // become 64 threads taking turns on two cores (measured: 0.5x the throughput).
        let concurrent = inFlight.add(1, ordering: .relaxed).newValue
        defer { inFlight.subtract(1, ordering: .relaxed) }
        let caller = idleCallers.withLock { $0.popLast() } ?? CallerExecutor(fallback: self)
        caller.lend()
        let box = ResultBox<T>()
        let preferred: any TaskExecutor = concurrent <= Self.callerThreadCalls ? caller : self
        let task = Task(executorPreference: preferred) {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            box.value = result
            caller.finish()
        }
        guard caller.run(until: Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)),
            let result = box.value
        else {
            // Never reused: the task may still finish, and its late jobs go to the module's threads.
            task.cancel()
            throw P11Error(CK_RV(CKR_DEVICE_ERROR), "the HSM did not answer within \(timeout)")
        }
        // The task has finished (its last job set the result), so nothing of it comes back to
        // this executor: another call may lend it (saving an executor and its lock per call).
        idleCallers.withLock { if $0.count < 64 { $0.append(caller) } }
        return try result.get()
    }

    /// Executors of finished calls, for the next calls.
    private let idleCallers = Mutex<[CallerExecutor]>([])
}

/// A call's result, written by its task before it finishes.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    var value: Result<T, any Error>?
}

/// The executor of one C call at a time: its jobs run on the thread that made the call, while that
/// thread waits for the call's result; at any other time (or past the deadline) they go to the
/// module's threads.
final class CallerExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false
    private var left = true
    private let fallback: ModuleExecutor

    init(fallback: ModuleExecutor) { self.fallback = fallback }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        if left {
            condition.unlock()
            fallback.enqueue(job)
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// A new call borrows this executor: its jobs will wait for ``run(until:)``.
    func lend() {
        condition.lock()
        left = false
        finished = false
        condition.unlock()
    }

    /// The call's task has its result.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// Runs jobs on this thread until the call finishes (true) or `deadline` passes (false); then
    /// hands any queued job to the module's threads.
    func run(until deadline: Date) -> Bool {
        condition.lock()
        while !finished {
            if let job = jobs.first {
                jobs.removeFirst()
                condition.unlock()
                job.runSynchronously(on: asUnownedTaskExecutor())
                condition.lock()
                continue
            }
            if !condition.wait(until: deadline) { break }
        }
        left = true
        let rest = jobs
        jobs = []
        let done = finished
        condition.unlock()
        for job in rest { fallback.enqueue(job) }
        return done
    }
}
