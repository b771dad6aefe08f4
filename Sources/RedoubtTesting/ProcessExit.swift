import Foundation
import Synchronization

extension Process {
    /// Waits for the process to end without blocking a thread and without polling: the process's
    /// termination handler resumes the wait. The test runner's cooperative pool has one thread per
    /// core (two here): a test blocked in `waitUntilExit()` takes one of them from every other test
    /// running at the same time, and two such tests stall the whole run.
    func exited() async {
        _ = await exited(within: nil)
    }

    /// Waits for the process to end, for at most `limit` (none: as long as it takes); whether it
    /// ended. The limit only bounds the wait: the end itself is an event, not a polled state.
    func exited(within limit: Duration?) async -> Bool {
        let signal = ExitSignal()
        let previous = terminationHandler
        terminationHandler = { process in
            previous?(process)
            signal.fire()
        }
        if !isRunning { signal.fire() }  // ended before the handler was set
        guard let limit else {
            await signal.wait()
            return true
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await signal.wait()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let ended = await group.next() ?? false
            group.cancelAll()
            signal.fire()  // releases the waiter if the limit came first
            return ended || !isRunning
        }
    }
}

/// A one-shot event: `wait()` returns once `fire()` has been called, whether before or after.
private final class ExitSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.fired else { return [] }
            s.fired = true
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.fired { return true }
                s.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
