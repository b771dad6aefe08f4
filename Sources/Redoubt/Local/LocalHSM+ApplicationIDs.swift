import Foundation
import RedoubtCore
import RedoubtStore

// Keys by application identifier (PKCS#11 CKA_ID): an index kept in the store beside the keys, so
// finding the keys with one identifier reads those keys, not the partition.

extension LocalHSM {
    /// The index object of key `id` in `partition`.
    func applicationIDIndexKey(_ partition: String, _ id: String) -> ObjectKey {
        ObjectKey(partition: partition, kind: ObjectKind.keyApplicationID, id: id)
    }

    /// The index's label for an identifier: lowercase hex (labels are text).
    static func applicationIDLabel(_ applicationID: Data) -> String { Bytes.hex(applicationID) }

    /// The writes that move key `id`'s index entry from identifier `old` to `new` (nil or empty:
    /// none), in the commit that changes the key. Index objects are never updated, only deleted
    /// and inserted, so they are always at revision 1.
    func applicationIDIndexWrites(_ partition: String, _ id: String, from old: Data?, to new: Data?) -> [WriteOperation] {
        let before = old ?? Data()
        let after = new ?? Data()
        guard before != after else { return [] }
        var writes: [WriteOperation] = []
        if !before.isEmpty { writes.append(.delete(applicationIDIndexKey(partition, id), expectedRevision: 1)) }
        if !after.isEmpty {
            writes.append(.insert(applicationIDIndexKey(partition, id), label: Self.applicationIDLabel(after), data: Data()))
        }
        return writes
    }

    /// A page of the stored keys whose identifier is `filter.applicationID`, ordered by key id,
    /// with the filter's label and trash rules.
    func listKeys(_ caller: Caller, byApplicationID applicationID: Data, _ filter: KeyFilter) async throws -> [KeyInfo] {
        let label = Self.applicationIDLabel(applicationID)
        var out: [KeyInfo] = []
        var after = filter.after
        while out.count < filter.limit {
            let page = try await Self.storeCall {
                try await store.list(
                    partition: caller.partition, kind: ObjectKind.keyApplicationID, label: label, after: after, limit: filter.limit)
            }
            for entry in page {
                // An entry whose key is gone (purged by a commit this read raced with) is skipped.
                guard let object = try await Self.storeCall({ try await store.get(objectKey(caller.partition, entry.key.id)) }) else {
                    continue
                }
                let record = try RecordCoding.decode(KeyRecord.self, object.data)
                if record.state == .destroyed && !filter.includeDestroyed { continue }
                if let wanted = filter.label, record.label != wanted { continue }
                guard record.applicationID == applicationID else { continue }
                out.append(record.info(persistent: true))
                if out.count == filter.limit { break }
            }
            guard page.count == filter.limit, let last = page.last else { break }
            after = last.key.id
        }
        return out
    }
}
