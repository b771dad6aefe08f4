import Foundation
internal import PostgresNIO

/// The PostgreSQL write path: applies one batch inside the caller's transaction.
///
/// The first statement increments the change counter in the one-row `meta`
/// table. Its row lock serialises commits across every node until this
/// transaction ends, so audit sequences never collide; and since each later
/// statement of a READ COMMITTED transaction reads the latest committed
/// data, preconditions see every earlier commit.
enum PostgresBatchWriter {
    private static var quiet: Logger { PostgresCore.quiet }

    /// Applies the operations of `batch` in order; any thrown error means the caller rolls back.
    static func apply(_ batch: WriteBatch, on connection: PostgresConnection) async throws -> CommitResult {
        let counter = try await incrementChangeCounter(on: connection)
        var revisions: [ObjectKey: Int64] = [:]
        var sequences: [Int64] = []
        // Audit heads this batch already read or wrote.
        var heads: [String: (sequence: Int64, hash: Data)] = [:]
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
                try await insertAudit(entry, on: connection)
                heads[partition] = (entry.sequence, entry.hash)
                sequences.append(entry.sequence)
            case .claimRequestID(let partition, let requestID, let object):
                try await claim(partition: partition, requestID: requestID, object: object, on: connection)
            }
        }
        try await connection.query(
            """
            WITH logged AS (INSERT INTO changes (counter, objects) VALUES (\(counter), \(ChangeLog.encode(ChangeLog.objects(of: batch)))))
            DELETE FROM changes WHERE counter = \(counter - ChangeLog.retained)
            """, logger: quiet)
        return CommitResult(revisions: revisions, auditSequences: sequences, changeCounter: counter)
    }

    /// Increments the counter, locking the meta row until the transaction ends, and
    /// queues `NOTIFY redoubt_changes, '<new counter>'` (sent by PostgreSQL at commit).
    static func incrementChangeCounter(on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query(
            """
            WITH c AS (UPDATE meta SET change_counter = change_counter + 1 WHERE id = 1 RETURNING change_counter),
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

    /// Inserts an audit entry as is (also used by import).
    static func insertAudit(_ entry: AuditEntry, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO audit (partition, seq, payload, hash)
            VALUES (\(entry.partition), \(entry.sequence), \(entry.payload), \(entry.hash))
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
