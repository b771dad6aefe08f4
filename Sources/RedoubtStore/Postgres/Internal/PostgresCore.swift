import Foundation
internal import Logging
internal import PostgresNIO
import Synchronization

/// What a ``PostgresStore`` shares with its background tasks: the pool, the
/// options, and the open/closed state with the cached change counter.
///
/// The background tasks hold this, never the store, so a store that is
/// dropped without ``PostgresStore/close()`` is still released.
final class PostgresCore: Sendable {
    /// The open/closed state and what the change listener learnt.
    struct State: Sendable {
        var isOpen = true
        /// Operations between ``begin()`` and ``end()``; ``close()`` waits for them.
        var inFlight = 0
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        /// The highest change counter seen (commits of this store, notifications, queries).
        var cachedCounter: Int64?
        /// Whether the listening connection is up and was subscribed before ``cachedCounter`` was read.
        var listenerHealthy = false
        /// When a lease last got a connection: while leases are granted, waiting for one is not a timeout.
        var lastLeaseGranted: ContinuousClock.Instant?
    }

    /// The NOTIFY channel every commit signals with its new change counter.
    static let channel = "redoubt_changes"
    /// PostgresNIO's query logger: nothing is logged.
    static let quiet = Logger(label: "redoubt.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    let url: PostgresURL
    let options: PostgresStore.Options
    let client: PostgresClient
    let state = Mutex(State())

    init(url: PostgresURL, options: PostgresStore.Options) {
        self.url = url
        self.options = options
        client = PostgresClient(
            configuration: url.clientConfiguration(
                connectTimeout: options.connectTimeout, maximumConnections: options.maximumConnections))
    }

    // MARK: - Operations

    /// Marks an operation as started; throws ``StoreError/Code/unavailable`` once closed.
    func begin() throws {
        let open = state.withLock { state in
            if state.isOpen { state.inFlight += 1 }
            return state.isOpen
        }
        guard open else {
            throw StoreError.closed
        }
    }

    /// Marks an operation as finished, waking ``waitForOperations()`` after the last one.
    func end() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.inFlight -= 1
            guard state.inFlight == 0, !state.isOpen else { return [] }
            defer { state.closeWaiters = [] }
            return state.closeWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Stops accepting operations; returns whether the store was open.
    func markClosed() -> Bool {
        state.withLock { state in
            defer { state.isOpen = false; state.listenerHealthy = false }
            return state.isOpen
        }
    }

    /// Returns once no operation is in flight (after ``markClosed()``).
    func waitForOperations() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.inFlight == 0 { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    var isOpen: Bool {
        state.withLock { $0.isOpen }
    }

    /// Runs `body` as one operation on a pooled connection.
    ///
    /// Waiting for a connection is bounded by ``PostgresStore/Options/connectTimeout``:
    /// an unreachable server gives ``StoreError/Code/unavailable`` then, instead
    /// of the pool's own minute-long retry. Errors are mapped to ``StoreError``.
    func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try begin()
        defer { end() }
        do {
            return try await leased(body)
        } catch {
            throw StoreError.postgresMapping(error)
        }
    }

    /// ``withConnection(_:)`` without the open check and error mapping (for migration and the listener).
    ///
    /// The lease runs in its own task so that a timeout returns at once: PostgresNIO's pool
    /// may miss a cancellation that races with the request and keep it for a minute. A lease
    /// that times out never runs `body`. Waiting in the queue behind busy connections is not
    /// a timeout while other leases are being granted (the server is up, just busy).
    ///
    /// Cancelling the caller cancels a running `body` only when `cancelsBody` (the listener);
    /// otherwise `body` finishes, so a cancelled commit is never left half-done.
    func leased<T: Sendable>(
        cancelsBody: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let flag = LeaseFlag()
        let outcome = LeaseOutcome<T>()
        let lease = Task { [client] in
            do {
                let value = try await client.withConnection { connection in
                    guard flag.start() else {
                        throw CancellationError()
                    }
                    self.state.withLock { $0.lastLeaseGranted = .now }
                    return try await body(connection)
                }
                outcome.finish(.success(value))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        let timeout = options.connectTimeout
        let target = "\(url.host):\(url.port)"
        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while true {
                        try await Task.sleep(for: timeout)
                        let granted = self.state.withLock { $0.lastLeaseGranted }
                        if let granted, ContinuousClock.now - granted < timeout {
                            continue
                        }
                        if flag.expire() {
                            lease.cancel()
                            outcome.finish(.failure(StoreError.unavailable(
                                "no connection to the PostgreSQL server at \(target) within \(timeout)")))
                        }
                        return
                    }
                }
                let value = try await outcome.value()
                group.cancelAll()
                return value
            }
        } onCancel: {
            // Still waiting for a connection: return at once (the pool may take a while to notice).
            if flag.expire() {
                lease.cancel()
                outcome.finish(.failure(CancellationError()))
            } else if cancelsBody {
                lease.cancel()
            }
        }
    }

    /// Runs `body` in one transaction on a pooled connection: COMMIT if it returns, ROLLBACK if it throws.
    func inTransaction<T: Sendable>(
        _ begin: String = "BEGIN",
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await Self.transaction(on: connection, begin: begin, body)
        }
    }

    static func transaction<T: Sendable>(
        on connection: PostgresConnection, begin: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await connection.query(PostgresQuery(unsafeSQL: begin), logger: quiet)
        do {
            let value = try await body(connection)
            try await connection.query("COMMIT", logger: quiet)
            return value
        } catch {
            // A broken connection cannot roll back; the server does when it notices.
            _ = try? await connection.query("ROLLBACK", logger: quiet)
            throw error
        }
    }

    // MARK: - Change counter

    /// Records a counter value seen by a commit, a notification or a query; never moves backwards.
    func observe(counter: Int64) {
        state.withLock { state in
            state.cachedCounter = max(state.cachedCounter ?? counter, counter)
        }
    }

    /// The cached counter when the listener is healthy, else nil (the caller queries).
    var trustedCounter: Int64? {
        state.withLock { $0.listenerHealthy ? $0.cachedCounter : nil }
    }

    func setListenerHealthy(_ healthy: Bool) {
        state.withLock { state in
            state.listenerHealthy = healthy && state.isOpen
        }
    }

    /// Reads the counter from the meta row.
    static func queryCounter(on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query("SELECT change_counter FROM meta WHERE id = 1", logger: quiet).collect()
        guard let row = rows.first else {
            throw StoreError.corrupt("the store metadata row is missing")
        }
        return try row.decode(Int64.self)
    }
}

/// Whether a lease started (got its connection) or expired (timed out) first: only one can happen.
final class LeaseFlag: Sendable {
    private enum State {
        case waiting, started, expired
    }

    private let state = Mutex(State.waiting)

    /// Marks the lease started; false if it already expired (then the body must not run).
    func start() -> Bool {
        state.withLock { state in
            guard case .waiting = state else { return false }
            state = .started
            return true
        }
    }

    /// Marks the lease expired; false if it already started.
    func expire() -> Bool {
        state.withLock { state in
            guard case .waiting = state else { return false }
            state = .expired
            return true
        }
    }
}

/// The result of a lease, delivered once to whoever waits for it.
final class LeaseOutcome<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: CheckedContinuation<T, any Error>?
    }

    private let state = Mutex(State())

    /// Delivers `result` unless one was delivered already.
    func finish(_ result: Result<T, any Error>) {
        let waiter: CheckedContinuation<T, any Error>? = state.withLock { state in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    /// Waits for the result.
    func value() async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let result: Result<T, any Error>? = state.withLock { state in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
