import Foundation
internal import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The ``ObjectStore`` for several nodes: one PostgreSQL database, reached through a connection pool.
///
/// It behaves exactly like ``SQLiteStore`` (the same conformance suite runs
/// against both), so nodes on different machines can share one store, and
/// PostgreSQL's own replication carries it to other sites.
///
/// - Commits: grouped, as in ``SQLiteStore``. Callers queue their batches, and one writer
///   per store commits whatever is queued in one transaction (up to 64 batches), each batch with its own change counter value; a caller
///   returns once PostgreSQL has committed its batch. The transaction first locks the one-row
///   `meta` table; that row lock serialises commits across all nodes, so audit sequences never
///   collide. Preconditions run in order and a failing one fails its batch only: the group is
///   rolled back and committed again around it, the failing batch alone.
/// - Reads: ``get(_:)`` runs on a connection the store keeps for reads of one object (from 4
///   connections up), without a lease from the pool; the pool answers when that connection is busy
///   or lost. After its first 1,000 inserts and after an import, the store runs `ANALYZE`, so the
///   planner reads a key through the primary key before autovacuum's first round.
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
/// - Lifecycle: a swift-service-lifecycle `Service`. `init` only checks the URL and options;
///   ``run()`` runs the connection pool and the change listener, applies migrations, then serves
///   until ``close()`` or the graceful shutdown of its service group. Operations made before it is
///   ready wait for it (up to ``Options/connectTimeout``). ``connect(url:options:)`` does all of
///   this in one call for code without a service group.
///
/// ```swift
/// let store = try await PostgresStore.connect(
///     url: "postgres://redoubt:secret@db.internal:5432/redoubt?sslmode=verify-full")
/// let key = ObjectKey(partition: "p", kind: "key", id: "k1")
/// _ = try await store.commit([.insert(key, label: nil, data: sealed)])
/// try await store.close()
/// ```
public final class PostgresStore: ObjectStore, Service, CustomStringConvertible {
    let core: PostgresCore
    /// The task of ``start()``, when that is how it runs (``connect(url:options:)``).
    let started = Mutex<Task<Void, Never>?>(nil)
    /// Batches waiting for the group-commit writer.
    let writes = Mutex(GroupCommitState<PendingCommit>())
    /// The most batches one transaction commits.
    static let maximumBatchesPerTransaction = 64

    init(core: PostgresCore) {
        self.core = core
    }

    /// The server and database, never the password.
    public var description: String {
        "PostgresStore(\(core.url.redacted))"
    }

    // MARK: - Reads

    /// Returns the object at `key`, or `nil` if there is none.
    public func get(_ key: ObjectKey) async throws -> StoredObject? {
        if let object = try await core.pointRead(key) {
            return object
        }
        return try await core.withConnection { try await PostgresQueries.object(key, on: $0) }
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

    /// The database's size on disk in bytes (`pg_database_size`: every table and index, the
    /// catalogs included), for capacity planning.
    public func databaseSize() async throws -> Int64 {
        try await core.withConnection { connection in
            let rows = try await connection.query("SELECT pg_database_size(current_database())", logger: PostgresCore.quiet).collect()
            guard let row = rows.first else {
                throw StoreError.corrupt("the server reported no database size")
            }
            return try row.decode(Int64.self)
        }
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

    /// Returns the commits after `counter`; see ``ObjectStore/changes(after:limit:)``.
    public func changes(after counter: Int64, limit: Int) async throws -> [StoreChange]? {
        try ChangeLog.check(limit: limit)
        return try await core.withConnection { connection in
            // One statement, one snapshot: the counter and the rows agree.
            let rows = try await connection.query(
                """
                SELECT m.change_counter, c.counter, c.objects FROM meta m
                LEFT JOIN LATERAL (SELECT counter, objects FROM changes WHERE counter > \(counter) ORDER BY counter LIMIT \(limit)) c ON true
                WHERE m.id = 1
                """, logger: PostgresCore.quiet
            ).collect()
            var current: Int64 = counter
            var found: [(counter: Int64, objects: Data)] = []
            for row in rows {
                let (meta, logged, objects) = try row.decode((Int64, Int64?, Data?).self)
                current = meta
                if let logged, let objects { found.append((logged, objects)) }
            }
            return ChangeLog.contiguous(found, after: counter, current: current, limit: limit)
        }
    }

    // MARK: - Commit

    /// Queues `batch` for the group-commit writer and returns once PostgreSQL has committed it.
    @discardableResult
    public func commit(_ batch: WriteBatch) async throws -> CommitResult {
        try await core.awaitReady()
        // Counted from here, so close() waits for the writer to commit it.
        try core.begin()
        defer { core.end() }
        return try await withCheckedThrowingContinuation { continuation in
            let action = writes.withLock { $0.enqueue(PendingCommit(batch: batch, continuation: continuation)) }
            switch action {
            case .startDrain:
                // On an event loop, like its transactions: not queued behind the callers' tasks.
                Task(executorPreference: EventLoopTaskExecutor.anyLoop()) { await self.drainCommits() }
            case .queued:
                break
            case .rejected:
                continuation.resume(throwing: StoreError.closed)
            }
        }
    }

    /// The writer: commits queued batches, a group per transaction, until none is left.
    private func drainCommits() async {
        while true {
            let group = writes.withLock { $0.takeGroup(limit: Self.maximumBatchesPerTransaction) }
            guard !group.isEmpty else {
                return
            }
            let results = await commitGroup(group.map(\.batch))
            for (pending, result) in zip(group, results) {
                pending.continuation.resume(with: result)
            }
        }
    }

    /// Commits `batches` in one transaction. When one of them fails on its own account, the
    /// transaction is rolled back and the batches before it, it, and those after it are committed
    /// again in that order, so each caller gets the result of a commit in arrival order. When the
    /// append-only fast path fails, the group goes again through the general path.
    private func commitGroup(_ batches: [WriteBatch], appendPath: Bool = true) async -> [Result<CommitResult, any Error>] {
        guard !batches.isEmpty else {
            return []
        }
        do {
            let results = try await core.inTransaction(counted: false, onEventLoop: true) { connection in
                try await PostgresBatchWriter.applyGroup(batches, appendPath: appendPath, on: connection)
            }
            if let last = results.last {
                core.observe(counter: last.changeCounter)
            }
            core.noteInserts(of: batches)
            writes.withLock { $0.recordTransaction(batchCount: batches.count) }
            return results.map { .success($0) }
        } catch let failure as PostgresBatchWriter.GroupBatchFailure {
            guard let index = failure.index else {
                return await commitGroup(batches, appendPath: false)
            }
            return await commitGroup(Array(batches[..<index])) + commitGroup([batches[index]])
                + commitGroup(Array(batches[(index + 1)...]))
        } catch {
            return Array(repeating: .failure(error), count: batches.count)
        }
    }

    /// Group-commit counters, for tests: committed transactions and the batches they held.
    var groupCommitStatistics: (transactions: Int, batches: Int) {
        writes.withLock { ($0.transactions, $0.batches) }
    }
}
