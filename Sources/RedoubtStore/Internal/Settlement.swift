import Synchronization

/// A result that comes once, for any number of tasks to wait on: whether a store is ready, where a
/// broker listens, or why it never will.
///
/// A waiter's cancellation ends its own wait (with `CancellationError`) and nobody else's, so
/// waiting on a server that never runs cannot hang a cancelled task.
package final class Settlement<Value: Sendable>: Sendable {
    private struct State {
        package var result: Result<Value, any Error>?
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Value, any Error>] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    /// The result, once there is one.
    package var result: Result<Value, any Error>? { state.withLock { $0.result } }

    /// Settles it unless it already is; the first result wins. Returns whether this one did.
    @discardableResult
    package func settle(_ result: Result<Value, any Error>) -> Bool {
        store(result, replacing: false)
    }

    /// Settles it with `result` even when it already was (a server that listened, then stopped).
    package func replace(with result: Result<Value, any Error>) {
        _ = store(result, replacing: true)
    }

    private func store(_ result: Result<Value, any Error>, replacing: Bool) -> Bool {
        let waiters = state.withLock { s -> [CheckedContinuation<Value, any Error>]? in
            guard replacing || s.result == nil else { return nil }
            s.result = result
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(with: result) }
        return true
    }

    /// Waits for the result.
    ///
    /// - Throws: the error it settled with; `CancellationError` when the calling task is cancelled first.
    package func value() async throws -> Value {
        let id = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let now: Result<Value, any Error>? = state.withLock { s in
                    if let result = s.result { return result }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }
}
