/// The backend-independent checks of ``ObjectStore/importAll(_:)``, and its errors.
///
/// Backends call ``check(_:)`` on every record before writing it; duplicates
/// are found by the backend's own unique keys and reported with
/// ``duplicateObject(_:)`` and ``duplicateClaim(partition:requestID:)``.
struct ImportValidator {
    private var auditHeads: [String: AuditEntry] = [:]

    /// Fails with ``StoreError/Code/corrupt`` if `record` cannot follow the records checked before it.
    mutating func check(_ record: StoreRecord) throws {
        switch record {
        case .object(let object):
            guard object.revision >= 1 else {
                throw StoreError.corrupt("backup object has revision \(object.revision)", object: object.key)
            }
        case .audit(let entry):
            let verdict = verifyAuditChain([entry], previous: auditHeads[entry.partition])
            guard verdict == .valid else {
                let reason = if case .broken(_, let reason) = verdict { reason } else { "" }
                throw StoreError.corrupt(
                    "backup audit chain of partition \"\(entry.partition)\" is broken: \(reason)")
            }
            auditHeads[entry.partition] = entry
        case .requestClaim:
            break
        }
    }

    /// The error for an import into a store that holds data.
    static var notEmpty: StoreError {
        StoreError(code: .notEmpty, message: "import needs an empty store")
    }

    /// The error for a backup holding `key` twice.
    static func duplicateObject(_ key: ObjectKey) -> StoreError {
        StoreError.corrupt("backup holds the same object twice", object: key)
    }

    /// The error for a backup claiming `requestID` twice in `partition`.
    static func duplicateClaim(partition: String, requestID: String) -> StoreError {
        StoreError.corrupt("backup holds request id \"\(requestID)\" twice in partition \"\(partition)\"")
    }
}
