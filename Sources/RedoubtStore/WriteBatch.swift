import Foundation

/// One step of a ``WriteBatch``: a write, or a precondition that must hold.
///
/// Operations run in order inside one transaction, so later operations see the
/// effect of earlier ones (an `insert` followed by an `update` with
/// `expectedRevision: 1` succeeds). If any operation fails, the whole batch is
/// rolled back and ``ObjectStore/commit(_:)`` throws a ``StoreError``.
public enum WriteOperation: Sendable {
    /// Inserts a new object at revision 1; fails with ``StoreError/Code/conflict`` if the key exists.
    case insert(ObjectKey, label: String?, data: Data)
    /// Replaces label and data of an object at `expectedRevision`, incrementing its revision.
    ///
    /// Fails with ``StoreError/Code/notFound`` if the object is missing and with
    /// ``StoreError/Code/conflict`` if its revision differs.
    case update(ObjectKey, expectedRevision: Int64, label: String?, data: Data)
    /// Deletes an object at `expectedRevision`; same failures as `update`.
    case delete(ObjectKey, expectedRevision: Int64)
    /// A precondition only: the object must exist at exactly `revision`.
    ///
    /// Fails with ``StoreError/Code/notFound`` if the object is missing and with
    /// ``StoreError/Code/conflict`` if its revision differs.
    case require(ObjectKey, revision: Int64)
    /// Appends `payload` to the hash-chained audit log of `partition`, in the same transaction.
    case appendAudit(partition: String, payload: Data)
    /// Records that `requestID` created `object`, so a retried create can be recognised.
    ///
    /// Fails with ``StoreError/Code/duplicateRequest`` if the request id is
    /// already claimed in `partition`; the error's ``StoreError/object`` is the
    /// object claimed first.
    case claimRequestID(partition: String, requestID: String, object: ObjectKey)
}

/// A set of operations committed atomically: all of them, or none.
///
/// ```swift
/// let result = try await store.commit([
///     .claimRequestID(partition: "p", requestID: "req-1", object: key),
///     .insert(key, label: "signing", data: sealed),
///     .appendAudit(partition: "p", payload: event),
/// ])
/// ```
public struct WriteBatch: Sendable {
    /// The operations, applied in order.
    public var operations: [WriteOperation]

    /// Creates a batch from operations applied in order.
    public init(_ operations: [WriteOperation] = []) {
        self.operations = operations
    }
}

extension WriteBatch {
    /// How many objects the batch inserts.
    var insertCount: Int {
        operations.reduce(0) { count, operation in
            if case .insert = operation { return count + 1 }
            return count
        }
    }
}

extension WriteBatch: ExpressibleByArrayLiteral {
    /// Creates a batch from an array literal of operations.
    public init(arrayLiteral elements: WriteOperation...) {
        self.init(elements)
    }
}

/// What a successful ``ObjectStore/commit(_:)`` produced.
public struct CommitResult: Sendable, Hashable {
    /// The revision of every object the batch inserted or updated (its final
    /// revision if written twice). Objects the batch deleted are absent.
    public var revisions: [ObjectKey: Int64]
    /// The audit sequence numbers assigned to the batch's `appendAudit`
    /// operations, in operation order.
    public var auditSequences: [Int64]
    /// The chain link of each appended record, in the same order: the hash it follows and its
    /// own. Empty from a backend that does not report them.
    public var auditLinks: [AuditLink]
    /// The store's change counter right after this batch.
    public var changeCounter: Int64

    /// Creates a commit result (used by backends).
    public init(revisions: [ObjectKey: Int64], auditSequences: [Int64], auditLinks: [AuditLink] = [], changeCounter: Int64) {
        self.revisions = revisions
        self.auditSequences = auditSequences
        self.auditLinks = auditLinks
        self.changeCounter = changeCounter
    }
}

/// Where an appended audit record joined its chain: the hash of the entry before it (the genesis
/// hash for the first) and its own, as the store computed them in this process. A node that
/// knows the first to be authentic extends its verified point with the second without hashing
/// the record again.
public struct AuditLink: Sendable, Hashable {
    /// The chain hash the record follows.
    public var previous: Data
    /// The record's own chain hash.
    public var hash: Data

    /// Creates a link (used by backends).
    public init(previous: Data, hash: Data) {
        self.previous = previous
        self.hash = hash
    }
}
