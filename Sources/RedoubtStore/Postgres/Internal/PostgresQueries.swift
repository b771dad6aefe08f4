import Foundation
internal import PostgresNIO

/// Read queries shared by reads, the write path and export.
///
/// Rows are decoded with throwing accessors: an unexpected type becomes
/// ``StoreError/Code/corrupt`` (through ``StoreError/postgresMapping(_:)``), never a trap.
enum PostgresQueries {
    private static var quiet: Logger { PostgresCore.quiet }

    static func object(_ key: ObjectKey, on connection: PostgresConnection) async throws -> StoredObject? {
        let rows = try await connection.query(objectQuery(key), logger: quiet).collect()
        return try rows.first.map(decodeObject)
    }

    /// The one object at `key` (no row when there is none); also ``PostgresPointReader``'s query.
    static func objectQuery(_ key: ObjectKey) -> PostgresQuery {
        """
        SELECT partition, kind, id, label, revision, data FROM objects
        WHERE partition = \(key.partition) AND kind = \(key.kind) AND id = \(key.id)
        """
    }

    static func revision(_ key: ObjectKey, on connection: PostgresConnection) async throws -> Int64? {
        let rows = try await connection.query(
            """
            SELECT revision FROM objects WHERE partition = \(key.partition) AND kind = \(key.kind) AND id = \(key.id)
            """, logger: quiet
        ).collect()
        return try rows.first?.decode(Int64.self)
    }

    static func objects(
        partition: String, kind: String, label: String?, after id: String?, limit: Int, on connection: PostgresConnection
    ) async throws -> [StoredObject] {
        // NULL parameters switch the optional filters off, keeping one statement.
        let rows = try await connection.query(
            """
            SELECT partition, kind, id, label, revision, data FROM objects
            WHERE partition = \(partition) AND kind = \(kind)
              AND (\(label)::text IS NULL OR label = \(label))
              AND (\(id)::text IS NULL OR id > \(id))
            ORDER BY id LIMIT \(Int64(clamping: limit))
            """, logger: quiet
        ).collect()
        return try rows.map(decodeObject)
    }

    static func count(partition: String, kind: String, on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query(
            """
            SELECT COUNT(*) FROM objects WHERE partition = \(partition) AND kind = \(kind)
            """, logger: quiet
        ).collect()
        return Int(try rows.first?.decode(Int64.self) ?? 0)
    }

    static func auditEntries(
        partition: String, from sequence: Int64, limit: Int, on connection: PostgresConnection
    ) async throws -> [AuditEntry] {
        let rows = try await connection.query(
            """
            SELECT partition, seq, payload, hash FROM audit
            WHERE partition = \(partition) AND seq >= \(sequence) ORDER BY seq LIMIT \(Int64(clamping: limit))
            """, logger: quiet
        ).collect()
        return try rows.map(decodeAudit)
    }

    static func auditHead(partition: String, on connection: PostgresConnection) async throws -> AuditEntry? {
        let rows = try await connection.query(
            """
            SELECT partition, seq, payload, hash FROM audit WHERE partition = \(partition) ORDER BY seq DESC LIMIT 1
            """, logger: quiet
        ).collect()
        return try rows.first.map(decodeAudit)
    }

    /// Distinct partitions by skipping through the primary key: one index seek per partition.
    static func auditPartitions(on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query(
            """
            WITH RECURSIVE p(name) AS (
                SELECT MIN(partition) FROM audit
                UNION ALL
                SELECT (SELECT MIN(partition) FROM audit WHERE partition > p.name) FROM p WHERE p.name IS NOT NULL
            )
            SELECT name FROM p WHERE name IS NOT NULL
            """, logger: quiet
        ).collect()
        return try rows.map { try $0.decode(String.self) }
    }

    static func requestClaim(
        partition: String, requestID: String, on connection: PostgresConnection
    ) async throws -> ObjectKey? {
        let rows = try await connection.query(
            """
            SELECT obj_partition, obj_kind, obj_id FROM request_ids
            WHERE partition = \(partition) AND request_id = \(requestID)
            """, logger: quiet
        ).collect()
        return try rows.first.map { row in
            let (partition, kind, id) = try row.decode((String, String, String).self)
            return ObjectKey(partition: partition, kind: kind, id: id)
        }
    }

    static func isEmpty(on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            """
            SELECT EXISTS (SELECT 1 FROM objects) OR EXISTS (SELECT 1 FROM audit) OR EXISTS (SELECT 1 FROM request_ids)
            """, logger: quiet
        ).collect()
        return try rows.first?.decode(Bool.self) == false
    }

    static func decodeObject(_ row: PostgresRow) throws -> StoredObject {
        let (partition, kind, id, label, revision, data) = try row.decode((String, String, String, String?, Int64, Data).self)
        return StoredObject(key: ObjectKey(partition: partition, kind: kind, id: id), label: label, revision: revision, data: data)
    }

    static func decodeAudit(_ row: PostgresRow) throws -> AuditEntry {
        let (partition, sequence, payload, hash) = try row.decode((String, Int64, Data, Data).self)
        return AuditEntry(partition: partition, sequence: sequence, payload: payload, hash: hash)
    }
}
