import Dispatch
import Synchronization

/// Runs async code to completion from libFuzzer's synchronous callback.
///
/// The callback runs on the process's main thread, never on the cooperative
/// pool, so blocking it on a semaphore cannot starve the task it waits for.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        // The result lives only in the box once `fill` returns, and the caller takes it out:
        // after this function returns, no task frame still holds the value, so LeakSanitizer's
        // check after an input does not find it half-released on a pool thread.
        await box.fill(body)
        done.signal()
    }
    done.wait()
    guard let result = box.take() else { fuzzFail("runBlocking: task finished without a result") }
    return result
}

/// Like ``runBlocking(_:)`` for setup code that must not fail.
public func runBlockingOrDie<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) -> T {
    switch runBlocking(body) {
    case .success(let value): return value
    case .failure(let error): fuzzFail("setup failed: \(what): \(error)")
    }
}

private final class ResultBox<T: Sendable>: Sendable {
    private let value = Mutex<Result<T, any Error>?>(nil)

    func fill(_ body: @Sendable () async throws -> T) async {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        value.withLock { $0 = result }
    }

    func take() -> Result<T, any Error>? {
        value.withLock { value in
            defer { value = nil }
            return value
        }
    }
}
