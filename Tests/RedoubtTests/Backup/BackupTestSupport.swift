import Foundation
import Redoubt
import RedoubtStore
import Synchronization
import Testing

/// A byte string stored inside one object's data: it must never appear in a backup file.
let backupMarker = Data("REDOUBT-PLAINTEXT-MARKER-7f3a9c1e5b".utf8)

/// A master key for backup tests (shares only, so no scrypt cost).
func makeMaster() throws -> MasterKey {
    try MasterKey.create(passphrase: nil, shares: (2, 2), dev: false).key
}

/// A temporary store filled through `commit` with objects, audit entries and request claims.
///
/// `objects` objects spread over three partitions, one audit entry per object,
/// and a request claim for every fifth object; one object holds ``backupMarker``.
func makeFilledStore(objects: Int) async throws -> SQLiteStore {
    let store = try SQLiteStore.temporary()
    var batch: [WriteOperation] = []
    for i in 0..<objects {
        let partition = "tenant-\(i % 3)"
        let key = ObjectKey(partition: partition, kind: i % 2 == 0 ? "key" : "user", id: "obj-\(i)")
        let data = i == objects / 2 ? backupMarker : try Random.bytes(count: 48 + i % 64)
        batch.append(.insert(key, label: i % 4 == 0 ? "label-\(i)" : nil, data: data))
        batch.append(.appendAudit(partition: partition, payload: Data("created \(key)".utf8)))
        if i % 5 == 0 {
            batch.append(.claimRequestID(partition: partition, requestID: "req-\(i)", object: key))
        }
        if batch.count >= 200 {
            try await store.commit(WriteBatch(batch))
            batch.removeAll()
        }
    }
    if !batch.isEmpty { try await store.commit(WriteBatch(batch)) }
    // Updates raise revisions, so restore must keep them.
    let first = ObjectKey(partition: "tenant-0", kind: "key", id: "obj-0")
    try await store.commit([.update(first, expectedRevision: 1, label: "updated", data: Data("v2".utf8))])
    return store
}

/// Every record of `store`, in export order.
func allRecords(_ store: some ObjectStore) async throws -> [StoreRecord] {
    var records: [StoreRecord] = []
    for try await record in store.exportAll() { records.append(record) }
    return records
}

/// Collects progress reports from any thread.
final class ProgressLog: Sendable {
    private let reports = Mutex<[BackupProgress]>([])

    var callback: @Sendable (BackupProgress) -> Void {
        { [self] progress in reports.withLock { $0.append(progress) } }
    }

    var all: [BackupProgress] { reports.withLock { $0 } }
}

/// The byte ranges of a backup file: preamble, then each chunk frame (length prefix included).
struct BackupLayout {
    var preamble: Range<Int>
    var chunks: [Range<Int>]

    init(_ file: Data) throws {
        let bytes = [UInt8](file)
        func uint32(at offset: Int) -> Int {
            bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        }
        let headerLength = uint32(at: 17)
        preamble = 0..<(21 + headerLength)
        chunks = []
        var offset = preamble.upperBound
        while offset < bytes.count {
            let end = offset + 4 + uint32(at: offset)
            try #require(end <= bytes.count)
            chunks.append(offset..<end)
            offset = end
        }
    }
}

/// Imports `path` into a fresh store; returns the error and how many records the store holds after.
func restoreFailure(_ path: String, master: MasterKey) async throws -> (error: (any Error)?, recordsAfter: Int) {
    let target = try SQLiteStore.temporary()
    var failure: (any Error)?
    do {
        try await target.importAll(Backup.read(from: path, master: master))
    } catch {
        failure = error
    }
    let after = try await allRecords(target).count
    try await target.close()
    return (failure, after)
}

/// The ``BackupError`` code of `error`, if it is one.
func backupCode(_ error: (any Error)?) -> BackupError.Code? {
    (error as? BackupError)?.code
}
