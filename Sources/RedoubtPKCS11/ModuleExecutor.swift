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
    /// Each job with the executor it runs as: a caller executor's jobs run here as that executor, so
    /// that its task, preferring it, finds itself already there and does not queue again at the
    /// next switch to the generic executor.
    private var jobs: [(job: UnownedJob, lane: CallerExecutor?)] = []
    private var stopping = false
    private var threads: [Thread] = []

    init(threads count: Int) {
        for index in 0..<count {
            // Strongly held: a thread may start after C_Finalize dropped the runtime; it ends on stop().
            // Named from inside, in at most 15 bytes: otherwise Linux keeps the creator's name
            // (the host's thread's, in a profile).
            let thread = Thread {
                Thread.current.name = "redoubt-p11-\(index)"
                self.work()
            }
            threads.append(thread)
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        enqueue(UnownedJob(job))
    }

    func enqueue(_ job: UnownedJob) {
        enqueue(job, as: nil)
    }

    /// Queues `job` to run on these threads as `lane` (as this executor when nil).
    func enqueue(_ job: UnownedJob, as lane: CallerExecutor?) {
        condition.lock()
        jobs.append((job, lane))
        condition.signal()
        condition.unlock()
    }

    /// Ends the idle callers' tasks and lets the threads end once the queue is empty.
    func stop() {
        let lanes = idle.withLock { idle -> [CallerExecutor] in
            idle.stopped = true
            defer { idle.lanes = [] }
            return idle.lanes
        }
        for lane in lanes { lane.retire() }
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
            let (job, lane) = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: lane?.asUnownedTaskExecutor() ?? asUnownedTaskExecutor())
        }
    }

    /// Runs `operation` and waits for its result, at most `timeout` (then the call is a device
    /// error and its task is cancelled). While few calls run at once, on the calling (host)
    /// thread, which the C caller lends while it waits: the call runs in the task of a
    /// ``CallerExecutor`` whose jobs this thread runs until the result is there — no thread hop on
    /// the way in or out, and no task made per call; jobs that arrive after the caller left run on
    /// the module's threads.
    func blocking<T: Sendable>(timeout: Duration, _ operation: nonisolated(nonsending) @escaping @Sendable () async throws -> T) throws -> T {
        // Up to one call per core runs on its caller's thread (no hop: the lowest latency); beyond
        // that, the calls' work goes to the module's threads, so that 64 waiting callers do not
        // become 64 threads taking turns on two cores (measured: 0.5x the throughput).
        let concurrent = inFlight.add(1, ordering: .relaxed).newValue
        defer { inFlight.subtract(1, ordering: .relaxed) }
        let lane = idle.withLock { $0.lanes.popLast() } ?? CallerExecutor(fallback: self)
        let box = ResultBox<T>()
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        let finished = lane.call(runningJobsHere: concurrent <= Self.callerThreadCalls, until: deadline) {
            do { box.value = .success(try await operation()) } catch { box.value = .failure(error) }
        }
        // Past the deadline the lane is retired (its task cancelled; never reused).
        guard finished, let result = box.value else { throw P11Error(CK_RV(CKR_DEVICE_ERROR), "the HSM did not answer within \(timeout)") }
        let kept = idle.withLock { idle -> Bool in
            guard !idle.stopped, idle.lanes.count < 64 else { return false }
            idle.lanes.append(lane)
            return true
        }
        if !kept { lane.retire() }
        return try result.get()
    }

    /// Caller executors between calls, each with its task waiting for the next call.
    private let idle = Mutex<(lanes: [CallerExecutor], stopped: Bool)>(([], false))
}

/// A call's result, written by its task before the call finishes.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    var value: Result<T, any Error>?
}

/// An executor, and a task preferring it, that run one C call at a time: the task takes each
/// call's work in turn (making a task per call cost more than the rest of the module's part of an
/// embedded call); the executor's jobs run on the thread that made the call while it waits for the
/// work to finish, and at any other time (or past the deadline) on the module's threads.
final class CallerExecutor: TaskExecutor, @unchecked Sendable {
    /// Runs on the caller executor like the loop that calls it: no executor switch per call.
    typealias Work = nonisolated(nonsending) @Sendable () async -> Void

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false
    /// Whether a caller's thread runs the jobs now.
    private var lent = false
    private var retired = false
    /// The task, waiting for its next work.
    private var waiting: UnsafeContinuation<Work?, Never>?
    /// Work given before the task was waiting for it.
    private var submitted: Work?
    private var task: Task<Void, Never>?
    private let fallback: ModuleExecutor

    init(fallback: ModuleExecutor) {
        self.fallback = fallback
        // Holds this executor until it is retired (its loop then ends).
        task = Task(executorPreference: self) { await self.serve() }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        guard lent else {
            condition.unlock()
            fallback.enqueue(job, as: self)
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private nonisolated(nonsending) func serve() async {
        while let work = await next() {
            await work()
            markFinished()
        }
    }

    private func markFinished() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    private nonisolated(nonsending) func next() async -> Work? {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Work?, Never>) in
            condition.lock()
            if retired {
                condition.unlock()
                continuation.resume(returning: nil)
            } else if let work = submitted {
                submitted = nil
                condition.unlock()
                continuation.resume(returning: work)
            } else {
                waiting = continuation
                condition.unlock()
            }
        }
    }

    /// Gives `work` to the task and, when `runningJobsHere`, runs the executor's jobs on this
    /// thread until the work is done (true) or `deadline` passes (false: the executor is then
    /// retired and its task cancelled). Jobs still queued go to the module's threads.
    func call(runningJobsHere: Bool, until deadline: Date, _ work: @escaping Work) -> Bool {
        condition.lock()
        finished = false
        lent = runningJobsHere
        let waiter = waiting
        waiting = nil
        if waiter == nil { submitted = work }
        condition.unlock()
        waiter?.resume(returning: work)  // the task's next job: queued here when lent
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
        lent = false
        let rest = jobs
        jobs = []
        let done = finished
        if !done { retired = true }
        condition.unlock()
        for job in rest { fallback.enqueue(job, as: self) }
        if !done { task?.cancel() }
        return done
    }

    /// Ends the task (now if it waits for work, else after its work) and the executor's use.
    func retire() {
        condition.lock()
        retired = true
        lent = false
        let waiter = waiting
        waiting = nil
        condition.unlock()
        waiter?.resume(returning: nil)
    }
}
