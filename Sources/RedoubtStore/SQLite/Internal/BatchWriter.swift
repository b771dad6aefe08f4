import Foundation
internal import GRDB
internal import GRDBSQLite

/// The write path: applies batches inside the writer's transaction.
enum BatchWriter {
    /// The result of one group transaction.
    struct GroupOutcome {
        /// Whether the transaction committed (some batches may still have failed alone).
        var committed: Bool
        /// One result per batch, in order.
        var results: [Result<CommitResult, any Error>]
    }

    /// Commits `batches` in one immediate transaction, each in its own savepoint.
    ///
    /// A batch that fails is rolled back to its savepoint and only its result
    /// is a failure. If the transaction itself fails (lock timeout, I/O error,
    /// commit failure), every batch fails with that error.
    static func commitGroup(_ batches: [WriteBatch], in db: Database) -> GroupOutcome {
        var results: [Result<CommitResult, any Error>] = []
        results.reserveCapacity(batches.count)
        do {
            try db.inTransaction(.immediate) {
                for batch in batches {
                    results.append(try applyInSavepoint(batch, in: db))
                }
                return .commit
            }
            return GroupOutcome(committed: true, results: results)
        } catch {
            let failure = StoreError.mapping(error)
            return GroupOutcome(committed: false, results: Array(repeating: .failure(failure), count: batches.count))
        }
    }

    /// Applies one batch in a savepoint. Returns the batch's own failure;
    /// throws only when the enclosing transaction can no longer be used.
    private static func applyInSavepoint(_ batch: WriteBatch, in db: Database) throws -> Result<CommitResult, any Error> {
        try db.execute(sql: "SAVEPOINT redoubt_batch")
        do {
            let result = try apply(batch, in: db)
            try db.execute(sql: "RELEASE SAVEPOINT redoubt_batch")
            return .success(result)
        } catch {
            // SQLite rolls back the whole transaction on some errors (I/O, disk
            // full); then nothing in this group can commit.
            guard db.isInsideTransaction else {
                throw error
            }
            try db.execute(sql: "ROLLBACK TO SAVEPOINT redoubt_batch")
            try db.execute(sql: "RELEASE SAVEPOINT redoubt_batch")
            return .failure(StoreError.mapping(error))
        }
    }

    /// Applies the operations of one batch in order and bumps the change counter.
    static func apply(_ batch: WriteBatch, in db: Database) throws -> CommitResult {
        var revisions: [ObjectKey: Int64] = [:]
        var sequences: [Int64] = []
        var links: [AuditLink] = []
        // Audit heads this batch already read or wrote (a flush appends thousands to one partition).
        var heads: [String: (sequence: Int64, hash: Data)] = [:]
        // Its audit records, inserted together at the end (nothing in a batch reads them back).
        var entries: [AuditEntry] = []
        for operation in batch.operations {
            switch operation {
            case .insert(let key, let label, let data):
                try insert(key, label: label, revision: 1, data: data, in: db)
                revisions[key] = 1
            case .update(let key, let expectedRevision, let label, let data):
                revisions[key] = try update(key, expectedRevision: expectedRevision, label: label, data: data, in: db)
            case .delete(let key, let expectedRevision):
                try delete(key, expectedRevision: expectedRevision, in: db)
                revisions[key] = nil
            case .require(let key, let revision):
                try require(key, revision: revision, in: db)
            case .appendAudit(let partition, let payload):
                let (entry, link) = try nextAuditEntry(partition: partition, payload: payload, heads: &heads, in: db)
                entries.append(entry)
                sequences.append(entry.sequence)
                links.append(link)
            case .claimRequestID(let partition, let requestID, let object):
                try claim(partition: partition, requestID: requestID, object: object, in: db)
            }
        }
        try insertAudit(entries, in: db)
        let counter = try incrementChangeCounter(in: db)
        try logChange(counter, ChangeLog.objects(of: batch), in: db)
        return CommitResult(revisions: revisions, auditSequences: sequences, auditLinks: links, changeCounter: counter)
    }

    /// Records what the commit of `counter` changed, and forgets the commit `ChangeLog.retained` before it.
    private static func logChange(_ counter: Int64, _ objects: [ObjectKey], in db: Database) throws {
        let insert = try db.cachedStatement(sql: "INSERT INTO changes (counter, objects) VALUES (?, COALESCE(?, x''))")
        try insert.execute(arguments: [counter, ChangeLog.encode(objects)])
        let prune = try db.cachedStatement(sql: "DELETE FROM changes WHERE counter = ?")
        try prune.execute(arguments: [counter - ChangeLog.retained])
    }

    // MARK: - Operations

    // `COALESCE(?, x'')`: SQLite binds an empty `Data` as NULL (no base
    // address); store it as the empty blob it is.

    /// Inserts an object; throws `.conflict` if the key exists.
    static func insert(_ key: ObjectKey, label: String?, revision: Int64, data: Data, in db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO objects (partition, kind, id, label, revision, data)
                VALUES (?, ?, ?, ?, ?, COALESCE(?, x'')) ON CONFLICT DO NOTHING
                """)
        try statement.execute(arguments: [key.partition, key.kind, key.id, label, revision, data])
        guard db.changesCount == 1 else {
            throw StoreError.alreadyExists(key)
        }
    }

    private static func update(
        _ key: ObjectKey, expectedRevision: Int64, label: String?, data: Data, in db: Database
    ) throws -> Int64 {
        let (newRevision, overflow) = expectedRevision.addingReportingOverflow(1)
        guard !overflow else {
            guard try Queries.revision(db, key: key) == expectedRevision else {
                throw try revisionMismatch(key, expected: expectedRevision, in: db)
            }
            throw StoreError.revisionExhausted(key)
        }
        let statement = try db.cachedStatement(
            sql: """
                UPDATE objects SET label = ?, data = COALESCE(?, x''), revision = revision + 1
                WHERE partition = ? AND kind = ? AND id = ? AND revision = ?
                """)
        try statement.execute(arguments: [label, data, key.partition, key.kind, key.id, expectedRevision])
        guard db.changesCount == 1 else {
            throw try revisionMismatch(key, expected: expectedRevision, in: db)
        }
        return newRevision
    }

    private static func delete(_ key: ObjectKey, expectedRevision: Int64, in db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                DELETE FROM objects WHERE partition = ? AND kind = ? AND id = ? AND revision = ?
                """)
        try statement.execute(arguments: [key.partition, key.kind, key.id, expectedRevision])
        guard db.changesCount == 1 else {
            throw try revisionMismatch(key, expected: expectedRevision, in: db)
        }
    }

    private static func require(_ key: ObjectKey, revision: Int64, in db: Database) throws {
        guard try Queries.revision(db, key: key) == revision else {
            throw try revisionMismatch(key, expected: revision, in: db)
        }
    }

    /// The error for a precondition on `key` at `expected` that did not hold.
    private static func revisionMismatch(_ key: ObjectKey, expected: Int64, in db: Database) throws -> StoreError {
        StoreError.revisionMismatch(key, expected: expected, actual: try Queries.revision(db, key: key))
    }

    /// The record that follows the head of `partition` (read once per batch, then kept in `heads`).
    private static func nextAuditEntry(
        partition: String, payload: Data,
        heads: inout [String: (sequence: Int64, hash: Data)], in db: Database
    ) throws -> (AuditEntry, AuditLink) {
        var head = heads[partition]
        if head == nil {
            let statement = try db.cachedStatement(
                sql: """
                    SELECT seq, hash FROM audit WHERE partition = ? ORDER BY seq DESC LIMIT 1
                    """)
            if let row = try Row.fetchOne(statement, arguments: [partition]) {
                head = (try row.decode(atIndex: 0), try row.decode(atIndex: 1))
            }
        }
        let entry = try AuditEntry.appending(payload: payload, to: partition, head: head)
        heads[partition] = (entry.sequence, entry.hash)
        return (entry, entry.link(after: head))
    }

    /// Rows per multi-row audit insert: a flush of thousands of records costs one statement per
    /// 32 (a statement's own cost was about a third of a record's).
    static let auditRowsPerStatement = 32
    private static let multiRowAuditInsert =
        "INSERT INTO audit (partition, seq, payload, hash) VALUES "
        + Array(repeating: "(?, ?, COALESCE(?, x''), ?)", count: auditRowsPerStatement).joined(separator: ", ")

    /// Inserts audit entries as they are, 32 rows per statement, the rest one by one.
    static func insertAudit(_ entries: [AuditEntry], in db: Database) throws {
        var start = entries.startIndex
        if entries.count >= auditRowsPerStatement {
            let statement = try db.cachedStatement(sql: multiRowAuditInsert)
            while entries.endIndex - start >= auditRowsPerStatement {
                try insertAuditRows(statement, entries[start..<(start + auditRowsPerStatement)], in: db)
                start += auditRowsPerStatement
            }
        }
        if start < entries.endIndex {
            let statement = try db.cachedStatement(sql: singleRowAuditInsert)
            for index in start..<entries.endIndex {
                try insertAuditRows(statement, entries[index...index], in: db)
            }
        }
    }

    private static let singleRowAuditInsert =
        "INSERT INTO audit (partition, seq, payload, hash) VALUES (?, ?, COALESCE(?, x''), ?)"

    /// Inserts an audit entry as is (also used by import).
    static func insertAudit(_ entry: AuditEntry, in db: Database) throws {
        try insertAuditRows(try db.cachedStatement(sql: singleRowAuditInsert), [entry][...], in: db)
    }

    /// Runs an audit insert of `rows.count` rows (4 parameters each) with `rows` bound through
    /// SQLite's own calls: a flush inserts thousands, and GRDB's argument values (an existential
    /// per value, checked and then bound) cost about as much as SQLite's insert itself.
    private static func insertAuditRows(_ statement: Statement, _ rows: ArraySlice<AuditEntry>, in db: Database) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        var index: Int32 = 1
        var code = SQLITE_OK
        func check(_ result: Int32) { if code == SQLITE_OK { code = result } }
        for entry in rows {
            check(sqlite3_bind_text(handle, index, entry.partition, -1, sqliteTransient))
            check(sqlite3_bind_int64(handle, index + 1, entry.sequence))
            // An empty blob binds as NULL (no base address): the statement's COALESCE stores x''.
            check(entry.payload.withUnsafeBytes { sqlite3_bind_blob(handle, index + 2, $0.baseAddress, Int32($0.count), sqliteTransient) })
            check(entry.hash.withUnsafeBytes { sqlite3_bind_blob(handle, index + 3, $0.baseAddress, Int32($0.count), sqliteTransient) })
            index += 4
        }
        if code == SQLITE_OK {
            code = sqlite3_step(handle)
            if code == SQLITE_DONE { code = SQLITE_OK }
        }
        sqlite3_reset(handle)
        guard code == SQLITE_OK else {
            let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
        }
    }

    /// SQLite copies a value bound with this destructor (`SQLITE_TRANSIENT`).
    private static let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    /// Claims `requestID`; throws `.duplicateRequest` with the claimed object if taken.
    static func claim(partition: String, requestID: String, object: ObjectKey, in db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO request_ids (partition, request_id, obj_partition, obj_kind, obj_id)
                VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """)
        try statement.execute(arguments: [partition, requestID, object.partition, object.kind, object.id])
        guard db.changesCount == 1 else {
            let claimed = try Queries.requestClaim(db, partition: partition, requestID: requestID)
            throw StoreError.requestClaimed(partition: partition, requestID: requestID, claimed: claimed)
        }
    }

    /// Increments the change counter and returns its new value.
    static func incrementChangeCounter(in db: Database) throws -> Int64 {
        let statement = try db.cachedStatement(sql: "UPDATE meta SET change_counter = change_counter + 1 WHERE id = 1")
        try statement.execute()
        return try Queries.changeCounter(db)
    }
}
