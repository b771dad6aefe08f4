internal import GRDB

extension SQLiteStore {
    /// Streams every record from one consistent snapshot, a page at a time.
    ///
    /// The stream is pulled: a page is read only when the consumer has used the
    /// previous one, so a slow consumer never makes the store buffer the whole
    /// database. The snapshot holds an SQLite read transaction until the
    /// stream ends or is dropped.
    public func exportAll() -> AsyncThrowingStream<StoreRecord, Error> {
        PagedExporter.stream(SQLiteExportSource(store: self))
    }
}

/// ``SQLiteStore``'s side of ``PagedExporter``: a GRDB snapshot, read a page at a time.
struct SQLiteExportSource: ExportSource {
    let store: SQLiteStore

    func checkOpen() throws {
        try store.checkOpen()
    }

    func openSnapshot() async throws -> DatabaseSnapshot {
        do {
            return try store.pool.makeSnapshot()
        } catch {
            throw StoreError.mapping(error)
        }
    }

    func page(_ snapshot: DatabaseSnapshot, phase: ExportPhase) async throws -> [StoreRecord] {
        do {
            return try await snapshot.read { db in try Self.page(db, phase: phase) }
        } catch {
            throw StoreError.mapping(error)
        }
    }

    /// Dropping the snapshot ends its read transaction.
    func release(_ snapshot: DatabaseSnapshot) {}

    /// Reads the page of `phase`, in key order after the phase's last key.
    static func page(_ db: Database, phase: ExportPhase) throws -> [StoreRecord] {
        let limit = ExportPhase.pageSize
        switch phase {
        case .objects(let after):
            let key = after ?? ObjectKey(partition: "", kind: "", id: "")
            let comparison = after == nil ? ">=" : ">"
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Queries.objectColumns) FROM objects
                    WHERE (partition, kind, id) \(comparison) (?, ?, ?)
                    ORDER BY partition, kind, id LIMIT ?
                    """, arguments: [key.partition, key.kind, key.id, limit])
            return try rows.map { .object(try Queries.decodeObject($0)) }
        case .audit(let partition, let sequence):
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT partition, seq, payload, hash FROM audit
                    WHERE (partition, seq) > (?, ?)
                    ORDER BY partition, seq LIMIT ?
                    """, arguments: [partition, sequence, limit])
            return try rows.map { .audit(try Queries.decodeAudit($0)) }
        case .claims(let after):
            let position = after ?? ExportPhase.ClaimPosition(partition: "", requestID: "")
            let comparison = after == nil ? ">=" : ">"
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT partition, request_id, obj_partition, obj_kind, obj_id FROM request_ids
                    WHERE (partition, request_id) \(comparison) (?, ?)
                    ORDER BY partition, request_id LIMIT ?
                    """, arguments: [position.partition, position.requestID, limit])
            return try rows.map { row in
                .requestClaim(
                    partition: try row.decode(atIndex: 0),
                    requestID: try row.decode(atIndex: 1),
                    object: ObjectKey(
                        partition: try row.decode(atIndex: 2),
                        kind: try row.decode(atIndex: 3),
                        id: try row.decode(atIndex: 4)))
            }
        case .done:
            return []
        }
    }
}
