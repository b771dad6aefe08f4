internal import GRDB
import Synchronization

extension SQLiteStore {
    /// Streams every record from one consistent snapshot, a page at a time.
    ///
    /// The stream is pulled: a page is read only when the consumer has used the
    /// previous one, so a slow consumer never makes the store buffer the whole
    /// database. The snapshot holds an SQLite read transaction until the
    /// stream ends or is dropped.
    public func exportAll() -> AsyncThrowingStream<StoreRecord, Error> {
        let exporter = Exporter(store: self)
        return AsyncThrowingStream(unfolding: { try await exporter.next() })
    }

    func makeExportSnapshot() throws -> DatabaseSnapshot {
        try checkOpen()
        do {
            return try pool.makeSnapshot()
        } catch {
            throw StoreError.mapping(error)
        }
    }
}

/// The pull-driven state behind ``SQLiteStore/exportAll()``.
///
/// `AsyncThrowingStream(unfolding:)` calls ``next()`` once at a time; the lock
/// only guards the hand-over of state between calls, never a database read.
final class Exporter: Sendable {
    /// Where the export stands; each case carries the last key emitted.
    enum Phase: Sendable {
        case objects(after: ObjectKey?)
        case audit(afterPartition: String, sequence: Int64)
        case claims(after: ClaimPosition?)
        case done
    }

    /// The last request claim emitted.
    struct ClaimPosition: Sendable {
        var partition: String
        var requestID: String
    }

    private struct State: Sendable {
        var phase: Phase = .objects(after: nil)
        var snapshot: DatabaseSnapshot?
        var buffer: [StoreRecord] = []
        var nextIndex = 0
    }

    private enum Step {
        case record(StoreRecord)
        case finished
        case fetch(Phase, DatabaseSnapshot?)
    }

    static let pageSize = 256

    private let store: SQLiteStore
    private let state = Mutex(State())

    init(store: SQLiteStore) {
        self.store = store
    }

    func next() async throws -> StoreRecord? {
        while true {
            let step: Step = state.withLock { state in
                if state.nextIndex < state.buffer.count {
                    defer { state.nextIndex += 1 }
                    return .record(state.buffer[state.nextIndex])
                }
                if case .done = state.phase {
                    // Release the snapshot, ending its read transaction.
                    state.snapshot = nil
                    return .finished
                }
                return .fetch(state.phase, state.snapshot)
            }
            switch step {
            case .record(let record):
                return record
            case .finished:
                return nil
            case .fetch(let phase, let existing):
                do {
                    try store.checkOpen()
                    let snapshot = try existing ?? store.makeExportSnapshot()
                    let page = try await snapshot.read { db in try Self.page(db, phase: phase) }
                    state.withLock { state in
                        state.snapshot = snapshot
                        state.buffer = page.records
                        state.nextIndex = 0
                        state.phase = page.next
                    }
                } catch {
                    state.withLock { state in
                        state.snapshot = nil
                        state.phase = .done
                        state.buffer = []
                    }
                    throw StoreError.mapping(error)
                }
            }
        }
    }

    /// Reads the page that follows `phase`, moving to the next table when one is exhausted.
    static func page(_ db: Database, phase: Phase) throws -> (records: [StoreRecord], next: Phase) {
        let limit = pageSize
        switch phase {
        case .objects(let after):
            let key = after ?? ObjectKey(partition: "", kind: "", id: "")
            let comparison = after == nil ? ">=" : ">"
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(Queries.objectColumns) FROM objects
                WHERE (partition, kind, id) \(comparison) (?, ?, ?)
                ORDER BY partition, kind, id LIMIT ?
                """, arguments: [key.partition, key.kind, key.id, limit])
            let objects = try rows.map(Queries.decodeObject)
            let next: Phase = if objects.count == limit, let last = objects.last {
                .objects(after: last.key)
            } else {
                .audit(afterPartition: "", sequence: 0)
            }
            return (objects.map(StoreRecord.object), next)
        case .audit(let partition, let sequence):
            let rows = try Row.fetchAll(db, sql: """
                SELECT partition, seq, payload, hash FROM audit
                WHERE (partition, seq) > (?, ?)
                ORDER BY partition, seq LIMIT ?
                """, arguments: [partition, sequence, limit])
            let entries = try rows.map(Queries.decodeAudit)
            let next: Phase = if entries.count == limit, let last = entries.last {
                .audit(afterPartition: last.partition, sequence: last.sequence)
            } else {
                .claims(after: nil)
            }
            return (entries.map(StoreRecord.audit), next)
        case .claims(let after):
            let position = after ?? ClaimPosition(partition: "", requestID: "")
            let comparison = after == nil ? ">=" : ">"
            let rows = try Row.fetchAll(db, sql: """
                SELECT partition, request_id, obj_partition, obj_kind, obj_id FROM request_ids
                WHERE (partition, request_id) \(comparison) (?, ?)
                ORDER BY partition, request_id LIMIT ?
                """, arguments: [position.partition, position.requestID, limit])
            var records: [StoreRecord] = []
            var last: ClaimPosition?
            for row in rows {
                let claimPartition: String = try row.decode(atIndex: 0)
                let claimID: String = try row.decode(atIndex: 1)
                let object = ObjectKey(
                    partition: try row.decode(atIndex: 2),
                    kind: try row.decode(atIndex: 3),
                    id: try row.decode(atIndex: 4))
                records.append(.requestClaim(partition: claimPartition, requestID: claimID, object: object))
                last = ClaimPosition(partition: claimPartition, requestID: claimID)
            }
            let next: Phase = if records.count == limit, let last {
                .claims(after: last)
            } else {
                .done
            }
            return (records, next)
        case .done:
            return ([], .done)
        }
    }
}
