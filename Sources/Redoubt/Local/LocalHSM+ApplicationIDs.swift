import Foundation
import RedoubtCore
import RedoubtStore

// Keys and certificates by application identifier (PKCS#11 CKA_ID): an index kept in the store
// beside them, so finding the objects with one identifier reads those objects, not the partition.

extension LocalHSM {
    /// The index's label for an identifier: lowercase hex (labels are text).
    static func applicationIDLabel(_ applicationID: Data) -> String { Hex.encode(applicationID) }

    /// The writes that move object `id`'s entry in index `kind` (``ObjectKind/keyApplicationID`` or
    /// ``ObjectKind/certificateApplicationID``) from identifier `old` to `new` (nil or empty:
    /// none), in the commit that changes the object. Index objects are never updated, only deleted
    /// and inserted, so they are always at revision 1.
    func applicationIDIndexWrites(
        _ kind: String, _ partition: String, _ id: String, from old: Data?, to new: Data?
    ) -> [WriteOperation] {
        let before = old ?? Data()
        let after = new ?? Data()
        guard before != after else { return [] }
        let entry = ObjectKey(partition: partition, kind: kind, id: id)
        var writes: [WriteOperation] = []
        if !before.isEmpty { writes.append(.delete(entry, expectedRevision: 1)) }
        if !after.isEmpty { writes.append(.insert(entry, label: Self.applicationIDLabel(after), data: Data())) }
        return writes
    }

    /// A page of the stored keys whose identifier is `filter.applicationID`, ordered by key id,
    /// with the filter's label and trash rules.
    func listKeys(_ caller: Caller, byApplicationID applicationID: Data, _ filter: KeyFilter) async throws -> [KeyInfo] {
        try await indexed(ObjectKind.keyApplicationID, ObjectKind.key, caller, applicationID, after: filter.after, limit: filter.limit) {
            let record = try RecordCoding.decode(KeyRecord.self, $0)
            guard record.state != .destroyed || filter.includeDestroyed, filter.label.map({ record.label == $0 }) ?? true,
                record.applicationID == applicationID
            else { return nil }
            return record.info(persistent: true)
        }
    }

    /// Up to `limit` objects of `kind` whose entry in index `indexKind` is `applicationID`, after
    /// id `after`, in id order, each decoded by `keep` (nil: left out).
    func indexed<T>(
        _ indexKind: String, _ kind: String, _ caller: Caller, _ applicationID: Data, after start: String?, limit: Int,
        _ keep: (Data) throws -> T?
    ) async throws -> [T] {
        let label = Self.applicationIDLabel(applicationID)
        var out: [T] = []
        var after = start
        while out.count < limit {
            let page = try await Self.storeCall {
                try await store.list(partition: caller.partition, kind: indexKind, label: label, after: after, limit: limit)
            }
            for entry in page {
                // An entry whose object is gone (deleted by a commit this read raced with) is skipped.
                let key = ObjectKey(partition: caller.partition, kind: kind, id: entry.key.id)
                guard let object = try await Self.storeCall({ try await store.get(key) }), let item = try keep(object.data) else {
                    continue
                }
                out.append(item)
                if out.count == limit { break }
            }
            guard page.count == limit, let last = page.last else { break }
            after = last.key.id
        }
        return out
    }
}
