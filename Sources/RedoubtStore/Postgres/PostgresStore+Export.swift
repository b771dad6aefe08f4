internal import PostgresNIO
import Synchronization

extension PostgresStore {
    /// Streams every record from one consistent snapshot, a page at a time.
    ///
    /// The export holds its own connection (outside the pool) with a
    /// `REPEATABLE READ, READ ONLY` transaction, so commits made while it runs
    /// are not part of it; the connection closes when the stream ends, fails
    /// or is dropped. Pages are read only as the consumer asks for them.
    public func exportAll() -> AsyncThrowingStream<StoreRecord, Error> {
        PagedExporter.stream(PostgresExportSource(core: core))
    }
}

/// ``PostgresStore``'s side of ``PagedExporter``: a dedicated connection in a read-only snapshot.
struct PostgresExportSource: ExportSource {
    let core: PostgresCore

    /// Ids for export connections (they only label PostgresNIO's log metadata).
    private static let connectionIDs = Atomic<Int>(1_000_000)

    func checkOpen() throws {
        guard core.isOpen else {
            throw StoreError.closed
        }
    }

    func openSnapshot() async throws -> PostgresConnection {
        try await core.awaitReady()
        let configuration = try core.url.connectionConfiguration(connectTimeout: core.options.connectTimeout)
        let id = Self.connectionIDs.add(1, ordering: .relaxed).newValue
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: configuration, id: id, logger: PostgresCore.quiet)
        } catch {
            throw StoreError.postgresMapping(error)
        }
        do {
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: PostgresCore.quiet)
            return connection
        } catch {
            release(connection)
            throw StoreError.postgresMapping(error)
        }
    }

    func page(_ connection: PostgresConnection, phase: ExportPhase) async throws -> [StoreRecord] {
        do {
            return try await Self.page(connection, phase: phase)
        } catch {
            throw StoreError.postgresMapping(error)
        }
    }

    /// Closing the connection ends the read-only transaction.
    func release(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        // PostgresNIO asserts that a connection is closed before it is freed: hold it until then.
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// Reads the page of `phase`, in key order after the phase's last key.
    static func page(_ connection: PostgresConnection, phase: ExportPhase) async throws -> [StoreRecord] {
        let limit = Int64(ExportPhase.pageSize)
        let quiet = PostgresCore.quiet
        switch phase {
        case .objects(let after):
            let key = after ?? ObjectKey(partition: "", kind: "", id: "")
            let inclusive = after == nil
            let rows = try await connection.query(
                """
                SELECT partition, kind, id, label, revision, data FROM objects
                WHERE (partition, kind, id) > (\(key.partition), \(key.kind), \(key.id))
                   OR (\(inclusive) AND (partition, kind, id) = (\(key.partition), \(key.kind), \(key.id)))
                ORDER BY partition, kind, id LIMIT \(limit)
                """, logger: quiet
            ).collect()
            return try rows.map { .object(try PostgresQueries.decodeObject($0)) }
        case .audit(let partition, let sequence):
            let rows = try await connection.query(
                """
                SELECT partition, seq, payload, hash FROM audit
                WHERE (partition, seq) > (\(partition), \(sequence))
                ORDER BY partition, seq LIMIT \(limit)
                """, logger: quiet
            ).collect()
            return try rows.map { .audit(try PostgresQueries.decodeAudit($0)) }
        case .claims(let after):
            let position = after ?? ExportPhase.ClaimPosition(partition: "", requestID: "")
            let inclusive = after == nil
            let rows = try await connection.query(
                """
                SELECT partition, request_id, obj_partition, obj_kind, obj_id FROM request_ids
                WHERE (partition, request_id) > (\(position.partition), \(position.requestID))
                   OR (\(inclusive) AND (partition, request_id) = (\(position.partition), \(position.requestID)))
                ORDER BY partition, request_id LIMIT \(limit)
                """, logger: quiet
            ).collect()
            return try rows.map { row in
                let (partition, requestID, objectPartition, kind, id) = try row.decode(
                    (String, String, String, String, String).self)
                return .requestClaim(
                    partition: partition, requestID: requestID,
                    object: ObjectKey(partition: objectPartition, kind: kind, id: id))
            }
        case .done:
            return []
        }
    }
}
