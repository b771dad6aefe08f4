import Foundation
internal import PostgresNIO

/// The fast path of the PostgreSQL write path: a group whose batches only insert objects and
/// append audit records (key creation, sessions, audit flushes) is written in a fixed number of
/// statements, whatever its size: one takes the meta row lock and the group's change counter
/// values, one per partition reads the audit head, and one inserts every object, audit record
/// and change-log row of the group.
///
/// Nothing is checked row by row: an insert of a key that exists fails the statement, the group
/// is rolled back, and the store commits it again through ``PostgresBatchWriter/applyGroup(_:on:)``'s
/// general path, where the batch at fault gets its own error.
extension PostgresBatchWriter {
    /// Whether every operation of every batch is an insert or an audit record.
    static func isAppendOnly(_ batches: [WriteBatch]) -> Bool {
        batches.allSatisfy { batch in
            batch.operations.allSatisfy { operation in
                switch operation {
                case .insert, .appendAudit: return true
                case .update, .delete, .require, .claimRequestID: return false
                }
            }
        }
    }

    /// The rows of a group, column by column (PostgreSQL takes each column as one array).
    private struct Rows {
        var partitions: [String] = [], kinds: [String] = [], ids: [String] = []
        /// A nil label is "" with `labeled` false: arrays of optionals cannot be bound.
        var labels: [String] = [], labeled: [Bool] = [], data: [ByteBuffer] = []
        var auditPartitions: [String] = [], sequences: [Int64] = []
        var payloads: [ByteBuffer] = [], hashes: [ByteBuffer] = []
        var counters: [Int64] = [], changes: [ByteBuffer] = []
    }

    /// Applies an append-only group (``isAppendOnly(_:)``); any thrown error means the caller rolls back.
    static func applyAppendOnly(_ batches: [WriteBatch], on connection: PostgresConnection) async throws -> [CommitResult] {
        let last = try await incrementChangeCounter(by: batches.count, on: connection)
        let first = last - Int64(batches.count) + 1
        var heads: [String: (sequence: Int64, hash: Data)] = [:]
        for partition in Set(batches.flatMap(\.auditPartitions)) {
            if let head = try await PostgresQueries.auditHead(partition: partition, on: connection) {
                heads[partition] = (head.sequence, head.hash)
            }
        }
        var rows = Rows()
        var results: [CommitResult] = []
        results.reserveCapacity(batches.count)
        for (index, batch) in batches.enumerated() {
            var revisions: [ObjectKey: Int64] = [:]
            var sequences: [Int64] = []
            var links: [AuditLink] = []
            for operation in batch.operations {
                switch operation {
                case .insert(let key, let label, let data):
                    rows.partitions.append(key.partition)
                    rows.kinds.append(key.kind)
                    rows.ids.append(key.id)
                    rows.labels.append(label ?? "")
                    rows.labeled.append(label != nil)
                    rows.data.append(ByteBuffer(bytes: data))
                    revisions[key] = 1
                case .appendAudit(let partition, let payload):
                    let entry = try AuditEntry.appending(payload: payload, to: partition, head: heads[partition])
                    links.append(entry.link(after: heads[partition]))
                    heads[partition] = (entry.sequence, entry.hash)
                    rows.auditPartitions.append(partition)
                    rows.sequences.append(entry.sequence)
                    rows.payloads.append(ByteBuffer(bytes: entry.payload))
                    rows.hashes.append(ByteBuffer(bytes: entry.hash))
                    sequences.append(entry.sequence)
                case .update, .delete, .require, .claimRequestID:
                    throw StoreError.invalidArgument("internal: a batch with \(operation) is not append-only")
                }
            }
            let counter = first + Int64(index)
            rows.counters.append(counter)
            rows.changes.append(ByteBuffer(bytes: ChangeLog.encode(ChangeLog.objects(of: batch))))
            results.append(CommitResult(revisions: revisions, auditSequences: sequences, auditLinks: links, changeCounter: counter))
        }
        try await connection.query(
            """
            WITH o AS (INSERT INTO objects (partition, kind, id, label, revision, data)
                       SELECT p, k, i, CASE WHEN h THEN l END, 1, d
                       FROM unnest(\(rows.partitions)::text[], \(rows.kinds)::text[], \(rows.ids)::text[],
                                   \(rows.labels)::text[], \(rows.labeled)::bool[], \(rows.data)::bytea[]) AS t(p, k, i, l, h, d)),
                 a AS (INSERT INTO audit (partition, seq, payload, hash)
                       SELECT * FROM unnest(\(rows.auditPartitions)::text[], \(rows.sequences)::bigint[],
                                            \(rows.payloads)::bytea[], \(rows.hashes)::bytea[])),
                 l AS (INSERT INTO changes (counter, objects) SELECT * FROM unnest(\(rows.counters)::bigint[], \(rows.changes)::bytea[])),
                 pruned AS (DELETE FROM changes WHERE counter BETWEEN \(first - ChangeLog.retained) AND \(last - ChangeLog.retained))
            SELECT 1
            """, logger: PostgresCore.quiet
        ).collect()  // a failure shows when the rows are read
        return results
    }
}

extension WriteBatch {
    /// The partitions this batch appends audit records to.
    fileprivate var auditPartitions: [String] {
        operations.compactMap { operation in
            if case .appendAudit(let partition, _) = operation { return partition }
            return nil
        }
    }
}
