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

    /// Applies `batch` in one transaction and returns once PostgreSQL has committed it.
    @discardableResult
    public func commit(_ batch: WriteBatch) async throws -> CommitResult {
        let result = try await core.inTransaction { connection in
            try await PostgresBatchWriter.apply(batch, on: connection)
        }
        core.observe(counter: result.changeCounter)
        return result
    }
}
