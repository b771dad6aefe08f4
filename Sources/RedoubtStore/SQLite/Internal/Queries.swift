import Foundation
internal import GRDB

/// Read queries shared by reads, the write path and export.
///
/// Rows are decoded with throwing accessors: a row of an unexpected type
/// becomes ``StoreError/Code/corrupt``, never a trap.
enum Queries {
    static let objectColumns = "partition, kind, id, label, revision, data"

    static func object(_ db: Database, key: ObjectKey) throws -> StoredObject? {
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(objectColumns) FROM objects WHERE partition = ? AND kind = ? AND id = ?
                """)
        let row = try Row.fetchOne(statement, arguments: [key.partition, key.kind, key.id])
        return try row.map(decodeObject)
    }

    static func revision(_ db: Database, key: ObjectKey) throws -> Int64? {
        let statement = try db.cachedStatement(
            sql: """
                SELECT revision FROM objects WHERE partition = ? AND kind = ? AND id = ?
                """)
        return try Int64.fetchOne(statement, arguments: [key.partition, key.kind, key.id])
    }

    static func objects(
        _ db: Database, partition: String, kind: String, label: String?, after id: String?, limit: Int
    ) throws -> [StoredObject] {
        var sql = "SELECT \(objectColumns) FROM objects WHERE partition = ? AND kind = ?"
        var arguments: StatementArguments = [partition, kind]
        if let label {
            sql += " AND label = ?"
            arguments += [label]
        }
        if let id {
            sql += " AND id > ?"
            arguments += [id]
        }
        sql += " ORDER BY id LIMIT ?"
        arguments += [limit]
        let statement = try db.cachedStatement(sql: sql)
        return try Row.fetchAll(statement, arguments: arguments).map(decodeObject)
    }

    static func count(_ db: Database, partition: String, kind: String) throws -> Int {
        let statement = try db.cachedStatement(sql: "SELECT COUNT(*) FROM objects WHERE partition = ? AND kind = ?")
        return try Int.fetchOne(statement, arguments: [partition, kind]) ?? 0
    }

    static func auditEntries(_ db: Database, partition: String, from sequence: Int64, limit: Int) throws -> [AuditEntry] {
        let statement = try db.cachedStatement(
            sql: """
                SELECT partition, seq, payload, hash FROM audit WHERE partition = ? AND seq >= ? ORDER BY seq LIMIT ?
                """)
        return try Row.fetchAll(statement, arguments: [partition, sequence, limit]).map(decodeAudit)
    }

    static func auditHead(_ db: Database, partition: String) throws -> AuditEntry? {
        let statement = try db.cachedStatement(
            sql: """
                SELECT partition, seq, payload, hash FROM audit WHERE partition = ? ORDER BY seq DESC LIMIT 1
                """)
        return try Row.fetchOne(statement, arguments: [partition]).map(decodeAudit)
    }

    /// Distinct partitions by skipping through the primary key (a loose index
    /// scan): one seek per partition instead of reading every entry.
    static func auditPartitions(_ db: Database) throws -> [String] {
        try String.fetchAll(
            db,
            sql: """
                WITH RECURSIVE p(name) AS (
                    SELECT MIN(partition) FROM audit
                    UNION ALL
                    SELECT (SELECT MIN(partition) FROM audit WHERE partition > p.name) FROM p WHERE p.name IS NOT NULL
                )
                SELECT name FROM p WHERE name IS NOT NULL
                """)
    }

    static func requestClaim(_ db: Database, partition: String, requestID: String) throws -> ObjectKey? {
        let statement = try db.cachedStatement(
            sql: """
                SELECT obj_partition, obj_kind, obj_id FROM request_ids WHERE partition = ? AND request_id = ?
                """)
        return try Row.fetchOne(statement, arguments: [partition, requestID]).map { row in
            ObjectKey(
                partition: try row.decode(atIndex: 0),
                kind: try row.decode(atIndex: 1),
                id: try row.decode(atIndex: 2))
        }
    }

    static func changeCounter(_ db: Database) throws -> Int64 {
        let statement = try db.cachedStatement(sql: "SELECT change_counter FROM meta WHERE id = 1")
        guard let counter = try Int64.fetchOne(statement) else {
            throw StoreError.corrupt("the store metadata row is missing")
        }
        return counter
    }

    static func isEmpty(_ db: Database) throws -> Bool {
        let found = try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM objects) OR EXISTS (SELECT 1 FROM audit) OR EXISTS (SELECT 1 FROM request_ids)
                """)
        return found == false
    }

    static func decodeObject(_ row: Row) throws -> StoredObject {
        StoredObject(
            key: ObjectKey(
                partition: try row.decode(atIndex: 0),
                kind: try row.decode(atIndex: 1),
                id: try row.decode(atIndex: 2)),
            label: try row.decode(atIndex: 3),
            revision: try row.decode(atIndex: 4),
            data: try row.decode(atIndex: 5))
    }

    static func decodeAudit(_ row: Row) throws -> AuditEntry {
        AuditEntry(
            partition: try row.decode(atIndex: 0),
            sequence: try row.decode(atIndex: 1),
            payload: try row.decode(atIndex: 2),
            hash: try row.decode(atIndex: 3))
    }
}
