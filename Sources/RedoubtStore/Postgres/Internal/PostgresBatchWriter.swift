import Foundation
internal import PostgresNIO

/// The PostgreSQL write path: applies a group of batches inside the caller's transaction.
///
/// The first statement locks the one-row `meta` table holding the change counter. The lock
/// serialises commits across every node until this transaction ends, so audit sequences never
/// collide; and since each later statement of a READ COMMITTED transaction reads the latest
/// committed data, preconditions see every earlier commit. Each batch then ends with one
/// statement that takes its own change counter value, logs the objects it touched and queues
/// the NOTIFY; its audit records go in with one multi-row insert.
enum PostgresBatchWriter {
    private static var quiet: Logger { PostgresCore.quiet }

    /// A batch of a group of several failed on its own account (a precondition, a conflict, a
    /// value the server refused): the group is rolled back, and the store commits it again
    /// around that batch so only that batch fails. Never seen outside the store.
    struct GroupBatchFailure: Error {
        /// The batch at fault; nil when the append-only fast path failed (which batch is not
        /// known: the group goes again through the general path).
        var index: Int?
    }

    /// Applies `batches` in order, each as if committed alone; any thrown error means the caller
    /// rolls back. In a group of several, a batch's own failure is ``GroupBatchFailure``. With
    /// `appendPath`, an append-only group takes the fast path (``applyAppendOnly(_:on:)``).
    static func applyGroup(
        _ batches: [WriteBatch], appendPath: Bool = true, on connection: PostgresConnection
    ) async throws -> [CommitResult] {
        if appendPath, isAppendOnly(batches) {
            do {
                return try await applyAppendOnly(batches, on: connection)
            } catch  where isOwnFailure(error, on: connection) {
                throw GroupBatchFailure(index: nil)
            }
        }
        try await lockChangeCounter(on: connection)
        // Audit heads this group already read or wrote (a flush appends thousands to one partition).
        var heads: [String: (sequence: Int64, hash: Data)] = [:]
        var results: [CommitResult] = []
        results.reserveCapacity(batches.count)
        for (index, batch) in batches.enumerated() {
            do {
                results.append(try await apply(batch, heads: &heads, on: connection))
            } catch  where batches.count > 1 && isOwnFailure(error, on: connection) {
                throw GroupBatchFailure(index: index)
            }
        }
        return results
    }

    /// Whether `error` came from the batch itself rather than from the connection.
    private static func isOwnFailure(_ error: any Error, on connection: PostgresConnection) -> Bool {
        guard !connection.isClosed else {
            return false
        }
        if error is StoreError {
            return true
        }
        return (error as? PSQLError)?.code == .server
    }

    /// Applies the operations of one batch in order, then records its change.
    private static func apply(
        _ batch: WriteBatch, heads: inout [String: (sequence: Int64, hash: Data)], on connection: PostgresConnection
    ) async throws -> CommitResult {
        var revisions: [ObjectKey: Int64] = [:]
        var entries: [AuditEntry] = []
        var links: [AuditLink] = []
        for operation in batch.operations {
            switch operation {
            case .insert(let key, let label, let data):
                try await insert(key, label: label, revision: 1, data: data, on: connection)
                revisions[key] = 1
            case .update(let key, let expectedRevision, let label, let data):
                revisions[key] = try await update(
                    key, expectedRevision: expectedRevision, label: label, data: data, on: connection)
            case .delete(let key, let expectedRevision):
                try await delete(key, expectedRevision: expectedRevision, on: connection)
                revisions[key] = nil
            case .require(let key, let revision):
                guard try await PostgresQueries.revision(key, on: connection) == revision else {
                    throw try await mismatch(key, expected: revision, on: connection)
                }
            case .appendAudit(let partition, let payload):
                var head = heads[partition]
                if head == nil {
                    head = try await PostgresQueries.auditHead(partition: partition, on: connection)
                        .map { ($0.sequence, $0.hash) }
                }
                let entry = try AuditEntry.appending(payload: payload, to: partition, head: head)
                entries.append(entry)
                links.append(entry.link(after: head))
                heads[partition] = (entry.sequence, entry.hash)
            case .claimRequestID(let partition, let requestID, let object):
                try await claim(partition: partition, requestID: requestID, object: object, on: connection)
            }
        }
        try await insertAudit(entries, on: connection)
        let counter = try await recordChange(ChangeLog.objects(of: batch), on: connection)
        return CommitResult(revisions: revisions, auditSequences: entries.map(\.sequence), auditLinks: links, changeCounter: counter)
    }

    /// Locks the meta row until the transaction ends.
    private static func lockChangeCounter(on connection: PostgresConnection) async throws {
        let rows = try await connection.query("SELECT change_counter FROM meta WHERE id = 1 FOR UPDATE", logger: quiet)
            .collect()
        guard !rows.isEmpty else {
            throw StoreError.corrupt("the store metadata row is missing")
        }
    }

    /// In one statement: increments the counter, logs `objects` under it, forgets the commit
    /// `ChangeLog.retained` before it, and queues `NOTIFY redoubt_changes, '<new counter>'`
    /// (sent by PostgreSQL at commit). Returns the new counter.
    private static func recordChange(_ objects: [ObjectKey], on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query(
            """
            WITH c AS (UPDATE meta SET change_counter = change_counter + 1 WHERE id = 1 RETURNING change_counter),
                 n AS (SELECT pg_notify(\(PostgresCore.channel), change_counter::text) FROM c),
                 logged AS (INSERT INTO changes (counter, objects) SELECT change_counter, \(ChangeLog.encode(objects)) FROM c),
                 pruned AS (DELETE FROM changes USING c WHERE changes.counter = c.change_counter - \(ChangeLog.retained))
            SELECT change_counter FROM c, n
            """, logger: quiet
        ).collect()
        guard let row = rows.first else {
            throw StoreError.corrupt("the store metadata row is missing")
        }
        return try row.decode(Int64.self)
    }

    /// Adds `count` to the counter, locking the meta row until the transaction ends, and queues
    /// `NOTIFY redoubt_changes, '<new counter>'` (an import's one change, an append-only group's
    /// counters). Returns the new counter.
    static func incrementChangeCounter(by count: Int = 1, on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query(
            """
            WITH c AS (UPDATE meta SET change_counter = change_counter + \(Int64(count)) WHERE id = 1 RETURNING change_counter),
                 n AS (SELECT pg_notify(\(PostgresCore.channel), change_counter::text) FROM c)
            SELECT change_counter FROM c, n
            """, logger: quiet
        ).collect()
        guard let row = rows.first else {
            throw StoreError.corrupt("the store metadata row is missing")
        }
        return try row.decode(Int64.self)
    }

    /// Inserts an object; throws `.conflict` if the key exists.
    private static func insert(
        _ key: ObjectKey, label: String?, revision: Int64, data: Data, on connection: PostgresConnection
    ) async throws {
        guard try await tryInsert(key, label: label, revision: revision, data: data, on: connection) else {
            throw StoreError.alreadyExists(key)
        }
    }

    /// Inserts an object unless the key exists; returns whether it did (also used by import).
    static func tryInsert(
        _ key: ObjectKey, label: String?, revision: Int64, data: Data, on connection: PostgresConnection
    ) async throws -> Bool {
        let rows = try await connection.query(
            """
            INSERT INTO objects (partition, kind, id, label, revision, data)
            VALUES (\(key.partition), \(key.kind), \(key.id), \(label), \(revision), \(data))
            ON CONFLICT DO NOTHING RETURNING revision
            """, logger: quiet
        ).collect()
        return rows.count == 1
    }

    private static func update(
        _ key: ObjectKey, expectedRevision: Int64, label: String?, data: Data, on connection: PostgresConnection
    ) async throws -> Int64 {
        let (newRevision, overflow) = expectedRevision.addingReportingOverflow(1)
        guard !overflow else {
            guard try await PostgresQueries.revision(key, on: connection) == expectedRevision else {
                throw try await mismatch(key, expected: expectedRevision, on: connection)
            }
            throw StoreError.revisionExhausted(key)
        }
        let rows = try await connection.query(
            """
            UPDATE objects SET label = \(label), data = \(data), revision = revision + 1
            WHERE partition = \(key.partition) AND kind = \(key.kind) AND id = \(key.id) AND revision = \(expectedRevision)
            RETURNING revision
            """, logger: quiet
        ).collect()
        guard rows.count == 1 else {
            throw try await mismatch(key, expected: expectedRevision, on: connection)
        }
        return newRevision
    }

    private static func delete(_ key: ObjectKey, expectedRevision: Int64, on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            """
            DELETE FROM objects
            WHERE partition = \(key.partition) AND kind = \(key.kind) AND id = \(key.id) AND revision = \(expectedRevision)
            RETURNING revision
            """, logger: quiet
        ).collect()
        guard rows.count == 1 else {
            throw try await mismatch(key, expected: expectedRevision, on: connection)
        }
    }

    private static func mismatch(_ key: ObjectKey, expected: Int64, on connection: PostgresConnection) async throws -> StoreError {
        StoreError.revisionMismatch(key, expected: expected, actual: try await PostgresQueries.revision(key, on: connection))
    }

    /// Inserts an audit entry as is (an import).
    static func insertAudit(_ entry: AuditEntry, on connection: PostgresConnection) async throws {
        try await insertAudit([entry], on: connection)
    }

    /// Inserts audit entries as they are, in one statement.
    static func insertAudit(_ entries: [AuditEntry], on connection: PostgresConnection) async throws {
        guard !entries.isEmpty else {
            return
        }
        try await connection.query(
            """
            INSERT INTO audit (partition, seq, payload, hash)
            SELECT * FROM unnest(\(entries.map(\.partition))::text[], \(entries.map(\.sequence))::bigint[],
                                 \(entries.map { ByteBuffer(bytes: $0.payload) })::bytea[], \(entries.map { ByteBuffer(bytes: $0.hash) })::bytea[])
            """, logger: quiet)
    }

    /// Claims `requestID`; throws `.duplicateRequest` with the claimed object if taken.
    private static func claim(
        partition: String, requestID: String, object: ObjectKey, on connection: PostgresConnection
    ) async throws {
        guard try await tryClaim(partition: partition, requestID: requestID, object: object, on: connection) else {
            let claimed = try await PostgresQueries.requestClaim(partition: partition, requestID: requestID, on: connection)
            throw StoreError.requestClaimed(partition: partition, requestID: requestID, claimed: claimed)
        }
    }

    /// Claims `requestID` unless it is claimed; returns whether it did (also used by import).
    static func tryClaim(
        partition: String, requestID: String, object: ObjectKey, on connection: PostgresConnection
    ) async throws -> Bool {
        let rows = try await connection.query(
            """
            INSERT INTO request_ids (partition, request_id, obj_partition, obj_kind, obj_id)
            VALUES (\(partition), \(requestID), \(object.partition), \(object.kind), \(object.id))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: quiet
        ).collect()
        return rows.count == 1
    }
}
