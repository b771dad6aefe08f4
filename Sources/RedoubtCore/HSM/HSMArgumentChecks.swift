import Foundation

/// The checks of ``HSM`` arguments whose out-of-range values a wire format reads as "the
/// default" (0, an empty list), written down once.
///
/// ``LocalHSM`` makes them after authorizing the session. A client of a broker makes them
/// before sending, because it could not pass such a value on for the HSM to refuse; either way
/// the caller sees the same INVALID_ARGUMENT and message.
public enum HSMArgumentChecks {
    /// The most keys or audit records one call returns.
    public static let maximumPageSize = 1000

    /// ``HSM/auditRecords(_:from:limit:)``: `from` 1 or more, `limit` 1 to 1000.
    public static func auditRead(from sequence: Int64, limit: Int) throws {
        guard sequence >= 1 else { throw HSMError.invalid("from must be 1 or more") }
        guard (1...maximumPageSize).contains(limit) else { throw HSMError.invalid("limit must be 1 to \(maximumPageSize)") }
    }

    /// ``HSM/listKeys(_:filter:)``: ``KeyFilter/limit`` 1 to 1000, an application identifier of at
    /// most 128 bytes.
    public static func keyList(_ filter: KeyFilter) throws {
        guard (1...maximumPageSize).contains(filter.limit) else { throw HSMError.invalid("limit must be 1 to \(maximumPageSize)") }
        try keyIdentifiers(applicationID: filter.applicationID, subject: nil)
    }

    /// An application identifier (CKA_ID) of at most 128 bytes and a subject of at most 1024;
    /// messages name the fields after `prefix` (a request's path to them, such as `spec.`).
    public static func keyIdentifiers(applicationID: Data?, subject: Data?, prefix: String = "") throws {
        if let id = applicationID, id.count > KeyFilter.maximumApplicationIDByteCount {
            throw HSMError.invalid("\(prefix)application_id is \(id.count) bytes; the limit is \(KeyFilter.maximumApplicationIDByteCount)")
        }
        if let subject, subject.count > KeySpec.maximumSubjectByteCount {
            throw HSMError.invalid("\(prefix)subject is \(subject.count) bytes; the limit is \(KeySpec.maximumSubjectByteCount)")
        }
    }

    /// Every call that creates a key from a ``KeySpec``: a label of 1 to 128 printable characters,
    /// and at least one usage (the proto reads an empty usage list as "all the algorithm can do").
    public static func keySpec(_ spec: KeySpec) throws {
        guard (1...128).contains(spec.label.count), !spec.label.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw HSMError.invalid("label must be 1 to 128 printable characters")
        }
        guard !spec.usage.isEmpty else { throw HSMError.invalid("usage must name at least one operation") }
        try keyIdentifiers(applicationID: spec.applicationID, subject: spec.subject)
    }

    /// ``HSM/random(_:count:)``: 1 byte to 1 MiB.
    public static func randomCount(_ count: Int) throws {
        guard (1...Random.maximumByteCount).contains(count) else {
            throw HSMError.invalid("length_bytes (count) must be 1 to \(Random.maximumByteCount), not \(count)")
        }
    }

    /// A key version a call names (nil: the latest): 1 to 2³¹ − 1.
    public static func keyVersion(_ version: Int?) throws {
        if let version, version < 1 || version > Int(Int32.max) {
            throw HSMError.invalid("version: \(version) is not a key version (1 to \(Int32.max), or none for the latest)")
        }
    }
}
