import Foundation
internal import GRDB
import Synchronization

/// The embedded ``ObjectStore``: one SQLite file in WAL mode, accessed through GRDB.
///
/// - Durability: every acknowledged commit is fsync'd (`synchronous=FULL`), so
///   it survives `kill -9` and power loss.
/// - Concurrency: reads run in parallel on a pool of reader connections;
///   ``get(_:)`` runs on the caller's thread through a read-only connection
///   of its own when that one is free.
///   Commits are grouped: callers queue their batches, and a single writer puts
///   all pending batches into one transaction (one fsync), each inside its own
///   savepoint so a failed precondition rolls back only that caller's batch.
/// - Several processes may share one file: SQLite's locks serialise writers,
///   and each operation waits up to ``Options/busyTimeout`` for a lock.
///
/// ```swift
/// let store = try SQLiteStore(path: "/var/lib/redoubt/store.sqlite")
/// let key = ObjectKey(partition: "p", kind: "key", id: "k1")
/// _ = try await store.commit([.insert(key, label: nil, data: sealed)])
/// try await store.close()
/// ```
public final class SQLiteStore: ObjectStore {
    let pool: DatabasePool
    let options: Options
    let state: Mutex<GroupCommitState<PendingCommit>>
    /// ``get(_:)``'s connection, read on the caller's thread.
    let pointReader: PointReader
    private let removeOnClose: URL?

    /// Opens or creates the store at `path`, applying schema migrations.
    ///
    /// - Throws: ``StoreError`` with ``StoreError/Code/invalidArgument`` for bad
    ///   options, ``StoreError/Code/corrupt`` if the file is not a database, or
    ///   ``StoreError/Code/unavailable`` if it cannot be opened.
    public convenience init(path: String, options: Options = .defaults) throws {
        try self.init(path: path, options: options, removeOnClose: nil)
    }

    private init(path: String, options: Options, removeOnClose: URL?) throws {
        try options.validate()
        self.options = options
        self.removeOnClose = removeOnClose
        self.state = Mutex(GroupCommitState())

        var configuration = Configuration()
        configuration.label = "Redoubt.SQLiteStore"
        configuration.foreignKeysEnabled = true
        // A connection that finds the database locked (another store on the same file, i.e. another
        // node) retries every 50 µs to 1 ms until the timeout: SQLite's own busy handler sleeps 1,
        // 2, 5, 10… up to 100 ms between tries, long after a short commit of the other node ended.
        configuration.busyMode = .callback(BusyWait(timeout: options.busyTimeoutSeconds).retry)
        configuration.maximumReaderCount = options.maximumReaderCount
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB switches the writer to `synchronous=NORMAL` when it enables
            // WAL, after any `prepareDatabase` hook: set FULL afterwards, on the
            // one writer connection, so every commit is fsync'd. `fullfsync`
            // makes Darwin flush the drive cache too (no effect elsewhere).
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA fullfsync = ON")
            }
            try Schema.migrate(pool)
            pointReader = try PointReader(path: path, label: "Redoubt.SQLiteStore.point")
        } catch {
            throw StoreError.mapping(error)
        }
    }

    /// Creates a store in a new temporary directory, removed by ``close()``.
    ///
    /// Meant for tests and tools; the files stay if the store is never closed.
    public static func temporary(options: Options = .defaults) throws -> SQLiteStore {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("redoubt-store-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.unavailable("cannot create a temporary directory: \(error.localizedDescription)")
        }
        do {
            return try SQLiteStore(
                path: directory.appendingPathComponent("store.sqlite").path,
                options: options,
                removeOnClose: directory)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    // MARK: - Reads

    /// Returns the object at `key`, or `nil` if there is none.
    ///
    /// The lookup runs on the caller's thread when the store's point-read connection is free (no
    /// hop to a reader's queue), through the reader pool otherwise.
    public func get(_ key: ObjectKey) async throws -> StoredObject? {
        try checkOpen()
        if let found = pointReader.read({ db in try Queries.object(db, key: key) }) { return found }
        return try await read { db in try Queries.object(db, key: key) }
    }

    /// Lists objects of one partition and kind, ordered by id; see ``ObjectStore/list(partition:kind:label:after:limit:)``.
    public func list(
        partition: String, kind: String, label: String?, after id: String?, limit: Int
    ) async throws -> [StoredObject] {
        guard try StoreError.rowsWanted(limit: limit) else {
            return []
        }
        return try await read { db in
            try Queries.objects(db, partition: partition, kind: kind, label: label, after: id, limit: limit)
        }
    }

    /// Returns the number of objects of one partition and kind.
    public func count(partition: String, kind: String) async throws -> Int {
        try await read { db in try Queries.count(db, partition: partition, kind: kind) }
    }

    /// Returns up to `limit` audit entries of `partition` from `sequence` on.
    public func audit(partition: String, from sequence: Int64, limit: Int) async throws -> [AuditEntry] {
        guard try StoreError.rowsWanted(limit: limit) else {
            return []
        }
        return try await read { db in
            try Queries.auditEntries(db, partition: partition, from: sequence, limit: limit)
        }
    }

    /// Returns the latest audit entry of `partition`, or `nil`.
    public func auditHead(partition: String) async throws -> AuditEntry? {
        try await read { db in try Queries.auditHead(db, partition: partition) }
    }

    /// Returns every partition that has audit entries, sorted.
    public func auditPartitions() async throws -> [String] {
        try await read { db in try Queries.auditPartitions(db) }
    }

    /// Returns the object claimed by `requestID` in `partition`, or `nil`.
    public func requestClaim(partition: String, requestID: String) async throws -> ObjectKey? {
        try await read { db in try Queries.requestClaim(db, partition: partition, requestID: requestID) }
    }

    /// Returns the change counter, read from the file so commits of other processes count.
    public func changeCounter() async throws -> Int64 {
        try await read { db in try Queries.changeCounter(db) }
    }

    /// Returns the commits after `counter`; see ``ObjectStore/changes(after:limit:)``.
    public func changes(after counter: Int64, limit: Int) async throws -> [StoreChange]? {
        try ChangeLog.check(limit: limit)
        return try await read { db in
            let current = try Queries.changeCounter(db)
            let statement = try db.cachedStatement(sql: "SELECT counter, objects FROM changes WHERE counter > ? ORDER BY counter LIMIT ?")
            let rows = try Row.fetchAll(statement, arguments: [counter, limit]).map { row -> (counter: Int64, objects: Data) in
                (try row.decode(atIndex: 0), try row.decode(atIndex: 1))
            }
            return ChangeLog.contiguous(rows, after: counter, current: current, limit: limit)
        }
    }

    // MARK: - Commit

    /// Queues `batch` for the group-commit writer and returns once it is durable.
    @discardableResult
    public func commit(_ batch: WriteBatch) async throws -> CommitResult {
        try await withCheckedThrowingContinuation { continuation in
            let action = state.withLock { state in
                state.enqueue(PendingCommit(batch: batch, continuation: continuation))
            }
            switch action {
            case .startDrain:
                pool.asyncWriteWithoutTransaction { db in
                    self.drain(db)
                }
            case .queued:
                break
            case .rejected:
                continuation.resume(throwing: StoreError.closed)
            }
        }
    }

    /// Runs on GRDB's writer queue until no batch is pending.
    private func drain(_ db: Database) {
        while true {
            let group = state.withLock { $0.takeGroup(limit: options.maxBatchesPerTransaction) }
            guard !group.isEmpty else {
                return
            }
            let outcome = BatchWriter.commitGroup(group.map(\.batch), in: db)
            if outcome.committed {
                state.withLock { $0.recordTransaction(batchCount: group.count) }
            }
            for (pending, result) in zip(group, outcome.results) {
                pending.continuation.resume(with: result)
            }
        }
    }

    // MARK: - Lifecycle

    /// Commits what is already queued, then closes every connection.
    ///
    /// Stores made by ``temporary(options:)`` also delete their files.
    public func close() async throws {
        let wasOpen = state.withLock { $0.close() }
        guard wasOpen else {
            return
        }
        // Runs after every drain or import already scheduled on the writer.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            pool.asyncWriteWithoutTransaction { _ in
                continuation.resume()
            }
        }
        pointReader.close()
        do {
            try pool.close()
        } catch {
            throw StoreError.mapping(error)
        }
        if let removeOnClose {
            try? FileManager.default.removeItem(at: removeOnClose)
        }
    }

    // MARK: - Helpers

    func checkOpen() throws {
        guard state.withLock({ $0.isOpen }) else {
            throw StoreError.closed
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try checkOpen()
        do {
            return try await pool.read(body)
        } catch {
            throw StoreError.mapping(error)
        }
    }

    /// Group-commit counters, for tests: committed transactions and the batches they held.
    var groupCommitStatistics: (transactions: Int, batches: Int) {
        state.withLock { ($0.transactions, $0.batches) }
    }

    /// Reads a PRAGMA on the writer connection, for tests.
    func writerPragma(_ name: String) async throws -> String? {
        try checkOpen()
        return try await pool.writeWithoutTransaction { db in
            try String.fetchOne(db, sql: "PRAGMA \(name)")
        }
    }
}
