import Foundation

/// The durable store of sealed objects, audit chains and request claims.
///
/// Implementations: ``SQLiteStore`` (embedded, the default) and
/// ``PostgresStore`` (one database shared by several nodes); both pass the
/// same conformance suite. All methods are `async` and may be
/// called concurrently. Writes happen only through ``commit(_:)``, which applies
/// a ``WriteBatch`` atomically with optimistic-concurrency preconditions.
///
/// ```swift
/// let store: any ObjectStore = try SQLiteStore(path: "/var/lib/redoubt/store.sqlite")
/// let key = ObjectKey(partition: "p", kind: "key", id: "k1")
/// let result = try await store.commit([
///     .insert(key, label: "signing", data: sealedBytes),
///     .appendAudit(partition: "p", payload: auditRecord),
/// ])
/// let object = try await store.get(key)          // revision 1
/// try await store.commit([.update(key, expectedRevision: 1, label: "signing", data: newBytes)])
/// ```
///
/// Every method throws ``StoreError`` (or `CancellationError` when a read's
/// task is cancelled).
public protocol ObjectStore: Sendable {
    /// Returns the object at `key`, or `nil` if there is none.
    func get(_ key: ObjectKey) async throws -> StoredObject?

    /// Lists objects of one partition and kind, ordered by id (bytewise UTF-8).
    ///
    /// - Parameters:
    ///   - label: When not `nil`, only objects with exactly this label.
    ///   - id: When not `nil`, only objects whose id sorts after it: pass the
    ///     last id of the previous page to get the next page.
    ///   - limit: The maximum number of objects returned; must not be negative.
    func list(partition: String, kind: String, label: String?, after id: String?, limit: Int) async throws -> [StoredObject]

    /// Returns the number of objects of one partition and kind.
    func count(partition: String, kind: String) async throws -> Int

    /// Applies `batch` atomically: every operation, or none.
    ///
    /// When this returns, the batch is durable. A failed precondition throws
    /// ``StoreError`` (``StoreError/Code/conflict``, ``StoreError/Code/notFound``,
    /// ``StoreError/Code/duplicateRequest``) and leaves the store unchanged.
    /// Cancelling the calling task does not withdraw a batch already submitted.
    @discardableResult
    func commit(_ batch: WriteBatch) async throws -> CommitResult

    /// Returns up to `limit` audit entries of `partition` with a sequence of at
    /// least `sequence`, in sequence order.
    func audit(partition: String, from sequence: Int64, limit: Int) async throws -> [AuditEntry]

    /// Returns the latest audit entry of `partition`, or `nil` if it has none.
    func auditHead(partition: String) async throws -> AuditEntry?

    /// Returns every partition that has audit entries, sorted.
    func auditPartitions() async throws -> [String]

    /// Returns the object claimed by `requestID` in `partition`, or `nil`.
    func requestClaim(partition: String, requestID: String) async throws -> ObjectKey?

    /// Returns the change counter: cheap to read, and increased by every
    /// successful commit (also those made by other processes sharing the store).
    func changeCounter() async throws -> Int64

    /// Returns the commits after change counter `counter`, oldest first, at most `limit` (1 to
    /// 10,000) — what each changed — or `nil` when the store no longer holds the record of every
    /// one of them (the log keeps the latest 10,000 commits; a restore, or a commit by a version
    /// before the log, leaves none): then assume anything may have changed.
    func changes(after counter: Int64, limit: Int) async throws -> [StoreChange]?

    /// Streams every object, audit entry and request claim, for backup.
    ///
    /// The stream reflects one consistent snapshot of the store. Objects come
    /// first, then audit entries by partition and sequence, then request claims.
    func exportAll() -> AsyncThrowingStream<StoreRecord, Error>

    /// Loads records produced by ``exportAll()`` into an empty store,
    /// preserving revisions, audit sequences and hashes.
    ///
    /// All or nothing: if the store is not empty (``StoreError/Code/notEmpty``),
    /// the records are inconsistent (``StoreError/Code/corrupt``) or the sequence
    /// throws, nothing is written.
    func importAll(_ records: some AsyncSequence<StoreRecord, Error> & Sendable) async throws

    /// Finishes pending commits and releases the store; later calls throw
    /// ``StoreError/Code/unavailable``. Calling it again does nothing.
    func close() async throws
}
