import CPKCS11
import Foundation
import Synchronization

/// The module's own threads. Every HSM call the module makes runs as a task that prefers this
/// executor, so the host's threads only wait and the module never depends on the process's
/// global executor (which a host may not have, or may have broken by forking).
final class ModuleExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
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
        let job = UnownedJob(job)
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

    /// Runs `operation` on the module's threads and waits for it on the calling (host) thread,
    /// at most `timeout`; then the call is reported as a device error and its task cancelled.
    func blocking<T: Sendable>(timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let task = Task(executorPreference: self) {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            box.set(result)
        }
        guard let result = box.wait(timeout: timeout) else {
            task.cancel()
            throw P11Error(CK_RV(CKR_DEVICE_ERROR), "the HSM did not answer within \(timeout)")
        }
        return try result.get()
    }
}

/// One result handed from a module thread to the waiting host thread.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<T, any Error>?

    func set(_ value: Result<T, any Error>) {
        condition.lock()
        result = value
        condition.broadcast()
        condition.unlock()
    }

    func wait(timeout: Duration) -> Result<T, any Error>? {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        condition.lock()
        defer { condition.unlock() }
        while result == nil {
            if !condition.wait(until: deadline) { break }
        }
        return result
    }
}
