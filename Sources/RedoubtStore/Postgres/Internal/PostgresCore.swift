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
        /// Whether ``PostgresStore/run()`` has been called (it runs once).
        var runClaimed = false
        /// Objects this store may insert before it asks PostgreSQL to analyse `objects` (once).
        var insertsBeforeAnalyze = PostgresCore.analyzeAfterInserts
        /// That `ANALYZE`, once started.
        var analysis: Task<Void, Never>?
    }

    /// How many inserts through one store start its one `ANALYZE objects`.
    ///
    /// Until PostgreSQL has statistics for a table, its planner may read a key through
    /// `objects_by_label` (partition, kind, label, id) rather than the primary key: a walk over the
    /// partition's keys (0.25-0.46 ms at 2,000 keys against 0.015 ms, `EXPLAIN ANALYZE`). Autovacuum
    /// analyses a new table within about a minute of its first writes; a store filling one does not
    /// wait for it.
    static let analyzeAfterInserts = 1_000

    /// The NOTIFY channel every commit signals with its new change counter.
    static let channel = "redoubt_changes"
    /// PostgresNIO's query logger: nothing is logged.
    static let quiet = Logger(label: "redoubt.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    let url: PostgresURL
    let options: PostgresStore.Options
    let client: PostgresClient
    let state = Mutex(State())
    /// Settled by ``PostgresStore/run()`` once migrations are applied (or failed), or by a close.
    let ready = Settlement<Void>()
    /// Settled by ``PostgresStore/close()``: ``PostgresStore/run()`` then ends the listener and the pool.
    let closing = Settlement<Void>()
    /// Settled when ``PostgresStore/run()`` returns.
    let ended = Settlement<Void>()
    /// The connection point reads use without a lease, when the pool has room for it.
    let pointReader = PostgresPointReader()

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
            defer {
                state.isOpen = false
                state.listenerHealthy = false
            }
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

    /// Whether a ``PostgresPointReader`` holds a connection of its own: the pool keeps one for the
    /// change listener and at least two for everything else.
    var keepsPointReader: Bool {
        options.maximumConnections >= 4
    }

    /// The object at `key` through ``pointReader`` as one operation; nil when the store is not
    /// ready yet or the point reader cannot answer (the caller reads through the pool).
    func pointRead(_ key: ObjectKey) async throws -> StoredObject?? {
        guard case .success = ready.result, (try? begin()) != nil else {
            return nil
        }
        defer { end() }
        return try await pointReader.read(key, timeout: options.operationTimeout)
    }

    /// Runs `body` as one operation on a pooled connection.
    ///
    /// Waiting for a connection is bounded by ``PostgresStore/Options/connectTimeout``:
    /// an unreachable server gives ``StoreError/Code/unavailable`` then, instead
    /// of the pool's own minute-long retry. When `bounded`, the whole operation is
    /// bounded by ``PostgresStore/Options/operationTimeout`` too. Errors are mapped
    /// to ``StoreError``.
    ///
    /// An operation that is not `counted` runs for callers that already hold their own
    /// ``begin()`` (the group-commit writer, for the commits it carries).
    func withConnection<T: Sendable>(
        bounded: Bool = true, counted: Bool = true, executor: (any TaskExecutor)? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await awaitReady()
        if counted { try begin() }
        defer { if counted { end() } }
        do {
            return try await leased(bodyTimeout: bounded ? options.operationTimeout : nil, executor: executor, body)
        } catch {
            throw StoreError.postgresMapping(error)
        }
    }

    /// ``withConnection(_:)`` without the open check and error mapping (for migration and the listener).
    ///
    /// Every step is bounded, so no caller can wait forever on a server or a pool in trouble:
    /// - Waiting for a connection ends after ``PostgresStore/Options/connectTimeout`` with
    ///   ``StoreError/Code/unavailable``, unless other leases are being granted meanwhile (the
    ///   server is up, just busy); even then it ends at `bodyTimeout`.
    /// - A `body` still running at `bodyTimeout` (from the call) is abandoned: its connection is
    ///   closed (the server rolls back a transaction it did not commit, and queries stuck on it
    ///   fail) and the caller gets ``StoreError/Code/unavailable``. `nil` (the listener, an import)
    ///   leaves `body` unbounded.
    /// - A `body` whose connection has closed under it is abandoned the same way after
    ///   ``closedConnectionGrace`` (PostgresNIO may never fail a query on a connection the
    ///   server terminated).
    /// - The lease runs in its own task, so a timeout returns at once: PostgresNIO's pool may
    ///   miss a cancellation that races with the request and keep it for a minute. A lease that
    ///   times out never runs `body`.
    ///
    /// The lease's task prefers `executor` when given (the writer's: an event loop), the global one otherwise.
    ///
    /// Cancelling the caller cancels a running `body` only when `cancelsBody` (the listener: its
    /// connection is closed too, so a `LISTEN` that misses the cancellation cannot hold the store's
    /// close); otherwise `body` finishes, so a cancelled commit is never left half-done.
    func leased<T: Sendable>(
        cancelsBody: Bool = false, bodyTimeout: Duration?, executor: (any TaskExecutor)? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let flag = LeaseFlag()
        let outcome = LeaseOutcome<T>()
        let lease = Task(executorPreference: executor) { [client] in
            do {
                let value = try await client.withConnection { connection in
                    guard flag.start(on: connection) else {
                        throw CancellationError()
                    }
                    self.state.withLock { $0.lastLeaseGranted = .now }
                    let result: Result<T, any Error>
                    do {
                        result = .success(try await body(connection))
                    } catch {
                        result = .failure(error)
                    }
                    // An abandoned connection goes back to the pool closed, never half-way through.
                    if !flag.finish() {
                        try? await connection.close()
                    }
                    return try result.get()
                }
                outcome.finish(.success(value))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        let target = "\(url.host):\(url.port)"
        let started = ContinuousClock.now
        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await self.watch(
                        flag, outcome, lease, started: started, bodyTimeout: bodyTimeout, target: target)
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
                if let connection = flag.abandon() {
                    outcome.finish(.failure(CancellationError()))
                    Task { try? await connection.close() }
                }
            }
        }
    }

    /// The watchdog of one ``leased(cancelsBody:bodyTimeout:_:)`` call: expires a lease that waits
    /// too long for a connection and abandons a body that runs past `bodyTimeout` or outlives its connection.
    private func watch<T: Sendable>(
        _ flag: LeaseFlag, _ outcome: LeaseOutcome<T>, _ lease: Task<Void, Never>,
        started: ContinuousClock.Instant, bodyTimeout: Duration?, target: String
    ) async throws {
        let timeout = options.connectTimeout
        let deadline = bodyTimeout.map { started + $0 }
        // Waiting for a connection.
        while flag.isWaiting {
            var wake = ContinuousClock.now + timeout
            if let deadline { wake = min(wake, deadline) }
            try await Task.sleep(until: wake, clock: .continuous)
            let now = ContinuousClock.now
            let granted = state.withLock { $0.lastLeaseGranted }
            let othersServed = granted.map { now - $0 < timeout } ?? false
            let pastDeadline = deadline.map { now >= $0 } ?? false
            if othersServed, !pastDeadline {
                continue
            }
            if flag.expire() {
                lease.cancel()
                outcome.finish(
                    .failure(
                        StoreError.unavailable(
                            "no connection to the PostgreSQL server at \(target) within \(timeout)")))
                return
            }
        }
        // The body runs. PostgresNIO can leave a query waiting forever on a connection the server
        // closed (seen when a backend is terminated mid-query): a body whose connection has been
        // closed for a whole poll interval is abandoned, as is one past its deadline.
        var closedSince: ContinuousClock.Instant?
        while let connection = flag.runningConnection {
            let now = ContinuousClock.now
            if let deadline, now >= deadline, let bodyTimeout {
                abandon(
                    flag, outcome, lease,
                    because:
                        "the PostgreSQL server at \(target) did not complete the operation within \(bodyTimeout); "
                        + "its connection was closed (a commit in it may or may not have been applied)")
                return
            }
            if connection.isClosed {
                if let closedSince, now - closedSince >= Self.closedConnectionGrace {
                    abandon(
                        flag, outcome, lease,
                        because:
                            "the connection to the PostgreSQL server at \(target) was lost during the operation "
                            + "(a commit in it may or may not have been applied)")
                    return
                }
                closedSince = closedSince ?? now
            }
            var wake = now + Self.closedConnectionGrace
            if let deadline { wake = min(wake, deadline) }
            try await Task.sleep(until: wake, clock: .continuous)
        }
    }

    /// How long a body may go on after its connection closed before it is abandoned (it normally
    /// fails at once with the connection's error).
    static let closedConnectionGrace: Duration = .milliseconds(500)

    /// Gives up on a running body: the caller gets `unavailable`, the connection is closed.
    private func abandon<T: Sendable>(
        _ flag: LeaseFlag, _ outcome: LeaseOutcome<T>, _ lease: Task<Void, Never>, because message: String
    ) {
        guard let connection = flag.abandon() else {
            return
        }
        outcome.finish(.failure(StoreError.unavailable(message)))
        lease.cancel()
        // Not awaited here: the caller's task group waits for this watchdog.
        Task { try? await connection.close() }
    }

    /// Runs `body` in one transaction on a pooled connection: COMMIT if it returns, ROLLBACK if it throws.
    /// With `onEventLoop`, the transaction runs on the connection's event loop
    /// (``EventLoopTaskExecutor``): for the writer, whose transactions hold the change-counter lock.
    func inTransaction<T: Sendable>(
        _ begin: String = "BEGIN", bounded: Bool = true, counted: Bool = true, onEventLoop: Bool = false,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let executor = onEventLoop ? EventLoopTaskExecutor.anyLoop() : nil
        return try await withConnection(bounded: bounded, counted: counted, executor: executor) { connection in
            guard onEventLoop else { return try await Self.transaction(on: connection, begin: begin, body) }
            return try await withTaskExecutorPreference(EventLoopTaskExecutor(connection.eventLoop)) {
                try await Self.transaction(on: connection, begin: begin, body)
            }
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

    /// Counts the inserts of committed `batches`; past ``analyzeAfterInserts`` (once per store), runs
    /// `ANALYZE objects` in a task of its own. A failure (a role that does not own the table) leaves
    /// the statistics to autovacuum.
    func noteInserts(of batches: [WriteBatch]) {
        state.withLock { state in
            // Once it has started, commits count nothing more.
            guard state.analysis == nil else { return }
            state.insertsBeforeAnalyze -= batches.reduce(0) { $0 + $1.insertCount }
            guard state.insertsBeforeAnalyze <= 0 else { return }
            state.analysis = Task {
                _ = try? await self.withConnection { try await $0.query("ANALYZE objects", logger: Self.quiet) }
            }
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

/// Where one lease is: waiting for a connection, then expired (timed out first) or started;
/// a started one then finished, or was abandoned (its body ran too long or was cancelled).
/// Only one of each pair can happen.
final class LeaseFlag: Sendable {
    private enum State {
        case waiting, expired
        case started(PostgresConnection)
        case finished, abandoned
    }

    private let state = Mutex(State.waiting)

    var isWaiting: Bool {
        state.withLock { state in
            if case .waiting = state { return true }
            return false
        }
    }

    /// Marks the lease started on `connection`; false if it already expired (then the body must not run).
    func start(on connection: PostgresConnection) -> Bool {
        state.withLock { state in
            guard case .waiting = state else { return false }
            state = .started(connection)
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

    /// The connection of a running body, nil before it starts and after it ends.
    var runningConnection: PostgresConnection? {
        state.withLock { state in
            if case .started(let connection) = state { return connection }
            return nil
        }
    }

    /// Marks the body finished; false if it was abandoned first (its connection must be closed).
    func finish() -> Bool {
        state.withLock { state in
            guard case .started = state else { return false }
            state = .finished
            return true
        }
    }

    /// Marks a running body abandoned and returns its connection (to close); nil if it is not running.
    func abandon() -> PostgresConnection? {
        state.withLock { state in
            guard case .started(let connection) = state else { return nil }
            state = .abandoned
            return connection
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
