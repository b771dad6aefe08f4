import Foundation
internal import PostgresNIO
import Synchronization

/// The ``ObjectStore`` for several nodes: one PostgreSQL database, reached through a connection pool.
///
/// It behaves exactly like ``SQLiteStore`` (the same conformance suite runs
/// against both), so nodes on different machines can share one store, and
/// PostgreSQL's own replication carries it to other sites.
///
/// - Commits: one transaction each. The first statement increments the change
///   counter in a one-row `meta` table; its row lock serialises commits across
///   all nodes, so audit sequences never collide. Preconditions run in order
///   and a failing one rolls the whole batch back.
/// - Change counter: every commit also sends `NOTIFY redoubt_changes,
///   '<new counter>'`. The store keeps one listening connection, so
///   ``changeCounter()`` answers from memory while it is healthy (no round
///   trip) and queries the database while it reconnects.
/// - Schema: the shared, append-only ``Migrations`` list, applied under a
///   PostgreSQL advisory lock; a database migrated by a newer Redoubt is refused.
/// - Errors: ``StoreError`` with the same codes as ``SQLiteStore``; an unreachable
///   server gives ``StoreError/Code/unavailable`` after ``Options/connectTimeout``.
///   No message, log or description ever holds the URL's password.
///
/// ```swift
/// let store = try await PostgresStore.connect(
///     url: "postgres://redoubt:secret@db.internal:5432/redoubt?sslmode=verify-full")
/// let key = ObjectKey(partition: "p", kind: "key", id: "k1")
/// _ = try await store.commit([.insert(key, label: nil, data: sealed)])
/// try await store.close()
/// ```
public final class PostgresStore: ObjectStore, CustomStringConvertible {
    let core: PostgresCore
    /// `client.run()` and the change listener (in that order): started by ``connect(url:options:)``, ended by ``close()``.
    private let background: Mutex<[Task<Void, Never>]>

    private init(core: PostgresCore) {
        self.core = core
        background = Mutex([])
    }

    /// Connects to the database named by `url`, applying schema migrations.
    ///
    /// The URL has the form `postgres://user:password@host:port/database?sslmode=MODE`
    /// where `MODE` is `disable`, `prefer` (the default), `require`, `verify-ca` or
    /// `verify-full`; `sslrootcert=PATH` names the CA file used to verify the server.
    ///
    /// - Throws: ``StoreError`` with ``StoreError/Code/invalidArgument`` for a bad
    ///   URL or options, ``StoreError/Code/unavailable`` if the server cannot be
    ///   reached or refuses the credentials, or if the database was written by a
    ///   newer version of Redoubt.
    public static func connect(url: String, options: Options = .defaults) async throws -> PostgresStore {
        try options.validate()
        let parsed = try PostgresURL(parsing: url)
        let store = PostgresStore(core: PostgresCore(url: parsed, options: options))
        store.start()
        do {
            try await store.core.leased(bodyTimeout: options.operationTimeout) { connection in
                try await PostgresSchema.migrate(on: connection)
                store.core.observe(counter: try await PostgresCore.queryCounter(on: connection))
            }
        } catch {
            try? await store.close()
            throw StoreError.postgresMapping(error)
        }
        return store
    }

    private func start() {
        let core = self.core
        let client = core.client
        let tasks = [
            Task { await client.run() },
            Task { await ChangeListener(core: core).run() },
        ]
        background.withLock { $0 = tasks }
    }

    /// The server and database, never the password.
    public var description: String {
        "PostgresStore(\(core.url.redacted))"
    }

    // MARK: - Reads

    /// Returns the object at `key`, or `nil` if there is none.
    public func get(_ key: ObjectKey) async throws -> StoredObject? {
        try await core.withConnection { try await PostgresQueries.object(key, on: $0) }
    }

    /// Lists objects of one partition and kind, ordered by id; see ``ObjectStore/list(partition:kind:label:after:limit:)``.
    public func list(
        partition: String, kind: String, label: String?, after id: String?, limit: Int
    ) async throws -> [StoredObject] {
        guard try StoreError.rowsWanted(limit: limit) else {
            return []
        }
        return try await core.withConnection { connection in
            try await PostgresQueries.objects(
                partition: partition, kind: kind, label: label, after: id, limit: limit, on: connection)
        }
    }

    /// Returns the number of objects of one partition and kind.
    public func count(partition: String, kind: String) async throws -> Int {
        try await core.withConnection { try await PostgresQueries.count(partition: partition, kind: kind, on: $0) }
    }

    /// Returns up to `limit` audit entries of `partition` from `sequence` on.
    public func audit(partition: String, from sequence: Int64, limit: Int) async throws -> [AuditEntry] {
        guard try StoreError.rowsWanted(limit: limit) else {
            return []
        }
        return try await core.withConnection { connection in
            try await PostgresQueries.auditEntries(partition: partition, from: sequence, limit: limit, on: connection)
        }
    }

    /// Returns the latest audit entry of `partition`, or `nil`.
    public func auditHead(partition: String) async throws -> AuditEntry? {
        try await core.withConnection { try await PostgresQueries.auditHead(partition: partition, on: $0) }
    }

    /// Returns every partition that has audit entries, sorted.
    public func auditPartitions() async throws -> [String] {
        try await core.withConnection { try await PostgresQueries.auditPartitions(on: $0) }
    }

    /// Returns the object claimed by `requestID` in `partition`, or `nil`.
    public func requestClaim(partition: String, requestID: String) async throws -> ObjectKey? {
        try await core.withConnection { connection in
            try await PostgresQueries.requestClaim(partition: partition, requestID: requestID, on: connection)
        }
    }

    /// Returns the change counter: from memory while the listening connection
    /// is healthy (it follows every node's commits through NOTIFY), otherwise
    /// read from the database.
    public func changeCounter() async throws -> Int64 {
        guard core.isOpen else {
            throw StoreError.closed
        }
        if let counter = core.trustedCounter {
            return counter
        }
        let counter = try await core.withConnection { try await PostgresCore.queryCounter(on: $0) }
        core.observe(counter: counter)
        return core.state.withLock { $0.cachedCounter } ?? counter
    }

    // MARK: - Commit

    /// Applies `batch` in one transaction and returns once PostgreSQL has committed it.
    @discardableResult
    public func commit(_ batch: WriteBatch) async throws -> CommitResult {
        let result = try await core.inTransaction { connection in
            try await PostgresBatchWriter.apply(batch, on: connection)
        }
        core.observe(counter: result.changeCounter)
        return result
    }

    // MARK: - Lifecycle

    /// Waits for operations in flight, then closes every connection and ends the background tasks.
    ///
    /// The listener ends first (its connection is closed with it), then the pool. Each is given
    /// ``Options/connectTimeout`` to end; one that does not is left behind rather than holding
    /// the caller.
    public func close() async throws {
        guard core.markClosed() else {
            return
        }
        await core.waitForOperations()
        let tasks = background.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in tasks.reversed() {
            task.cancel()
            await Self.wait(for: task, upTo: core.options.connectTimeout)
        }
    }

    /// Returns when `task` has ended or after `limit`, whichever is first.
    private static func wait(for task: Task<Void, Never>, upTo limit: Duration) async {
        let ended = LeaseOutcome<Void>()
        let waiter = Task {
            await task.value
            ended.finish(.success(()))
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            ended.finish(.success(()))
        }
        try? await ended.value()
        waiter.cancel()
        timer.cancel()
    }
}
