import Foundation

/// What one commit changed: the objects it inserted, updated or deleted. A commit that only
/// appended audit records, claimed request ids or checked preconditions changed no object.
public struct StoreChange: Sendable, Hashable {
    /// The change counter the commit produced.
    public var counter: Int64
    /// The objects it inserted, updated or deleted, in the batch's order (possibly repeated).
    public var objects: [ObjectKey]

    /// A change (for store implementations and tests).
    public init(counter: Int64, objects: [ObjectKey]) {
        self.counter = counter
        self.objects = objects
    }
}

/// The change log both stores keep beside the change counter: one row per commit, so a node that
/// caches objects drops only what other nodes changed (and nothing for their audit flushes).
enum ChangeLog {
    /// How many of the latest commits the log keeps; a reader further behind drops everything.
    static let retained: Int64 = 10_000

    /// A reader's `limit`: 1 to ``retained``.
    static func check(limit: Int) throws {
        guard (1...Int(retained)).contains(limit) else {
            throw StoreError(code: .invalidArgument, message: "limit must be 1 to \(retained), not \(limit)")
        }
    }

    /// The objects a batch changes.
    static func objects(of batch: WriteBatch) -> [ObjectKey] {
        batch.operations.compactMap {
            switch $0 {
            case .insert(let key, _, _), .update(let key, _, _, _), .delete(let key, _): key
            case .require, .appendAudit, .claimRequestID: nil
            }
        }
    }

    /// `objects` as stored: per key, partition, kind and id, each a 2-byte big-endian length and
    /// UTF-8 bytes (empty for a commit that changed no object).
    static func encode(_ objects: [ObjectKey]) -> Data {
        var out = Data()
        for key in objects {
            for part in [key.partition, key.kind, key.id] {
                let bytes = Array(part.utf8.prefix(Int(UInt16.max)))
                out.append(UInt8(bytes.count >> 8))
                out.append(UInt8(bytes.count & 0xff))
                out.append(contentsOf: bytes)
            }
        }
        return out
    }

    /// The keys of an encoded row; `nil` if it does not parse.
    static func decode(_ data: Data) -> [ObjectKey]? {
        let bytes = [UInt8](data)
        var at = 0
        func part() -> String? {
            guard at + 2 <= bytes.count else { return nil }
            let count = Int(bytes[at]) << 8 | Int(bytes[at + 1])
            at += 2
            guard at + count <= bytes.count else { return nil }
            defer { at += count }
            return String(validating: bytes[at..<at + count], as: UTF8.self)
        }
        var keys: [ObjectKey] = []
        while at < bytes.count {
            guard let partition = part(), let kind = part(), let id = part() else { return nil }
            keys.append(ObjectKey(partition: partition, kind: kind, id: id))
        }
        return keys
    }

    /// The changes after `counter` from rows read in counter order, or `nil` unless they are every
    /// commit from `counter + 1` on (`current` is the store's counter when the rows were read).
    static func contiguous(_ rows: [(counter: Int64, objects: Data)], after counter: Int64, current: Int64, limit: Int) -> [StoreChange]? {
        var expected = counter + 1
        var changes: [StoreChange] = []
        for row in rows {
            guard row.counter == expected, let objects = decode(row.objects) else { return nil }
            changes.append(StoreChange(counter: row.counter, objects: objects))
            expected += 1
        }
        // Fewer rows than asked for, yet the counter is further on: commits without a row.
        if rows.count < limit && expected - 1 < current { return nil }
        return changes
    }
}
