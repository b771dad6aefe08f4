import Foundation

/// One item of a backup stream produced by ``ObjectStore/exportAll()`` and
/// consumed by ``ObjectStore/importAll(_:)``.
///
/// Backends export objects first, then audit entries of each partition in
/// sequence order, then request claims. Importers require audit entries of a
/// partition to arrive in sequence order, starting at 1.
public enum StoreRecord: Sendable, Hashable, Codable {
    /// A stored object with its revision.
    case object(StoredObject)
    /// An audit entry with its sequence and hash.
    case audit(AuditEntry)
    /// A request id claimed in `partition` for `object`.
    case requestClaim(partition: String, requestID: String, object: ObjectKey)
}
