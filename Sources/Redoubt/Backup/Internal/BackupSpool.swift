import Foundation
import RedoubtStore

/// The first pass of a backup write: records gathered into chunks, compressed,
/// and sealed under a one-time key (never stored) in a hidden spool file.
///
/// The spool lets the writer learn the record count, which the header holds
/// and every chunk's AAD binds, without holding the store in memory.
struct BackupSpool {
    let path: String
    /// The one-time key of the spool; dies with this value.
    let key: SecretKey
    /// The record count and sealed size of each chunk, in order.
    private(set) var chunks: [(recordCount: Int, byteCount: Int)] = []
    /// All records spooled.
    private(set) var recordCount = 0
    private var spooledBytes: Int64 = 0

    /// Reads `records` into a new spool file at `path`.
    static func fill(
        path: String,
        records: some AsyncSequence<StoreRecord, Error>,
        progress: (@Sendable (BackupProgress) -> Void)?
    ) async throws -> BackupSpool {
        let key: SecretKey
        do {
            key = try SecretKey.generate(.aes256)
        } catch {
            throw BackupError.internalFailure("cannot generate the spool key: \(error)")
        }
        var spool = BackupSpool(path: path, key: key)
        let file = try FileDescriptor.createExclusive(path: path)
        // Held while the spool fills: Backup.removeLeftovers never takes a file a writer holds.
        file.lockExclusively()
        let encoder = JSONEncoder()
        var json = Data("[".utf8)
        var pending = 0
        for try await record in records {
            try Task.checkCancellation()
            let encoded: Data
            do {
                encoded = try encoder.encode(record)
            } catch {
                throw BackupError.internalFailure("cannot encode a record: \(error)")
            }
            guard encoded.count <= BackupFormat.maximumRecordByteCount else {
                throw BackupError(
                    .invalidArgument,
                    "\(describe(record)) is \(encoded.count) bytes once encoded; a backup record may be at most \(BackupFormat.maximumRecordByteCount) bytes")
            }
            if pending > 0 { json.append(UInt8(ascii: ",")) }
            json.append(encoded)
            pending += 1
            if pending == BackupFormat.maximumRecordsPerChunk || json.count >= BackupFormat.chunkFlushByteCount {
                try spool.flush(&json, records: &pending, to: file)
                progress?(BackupProgress(phase: .exporting, recordsDone: spool.recordCount, recordsTotal: nil, bytesDone: spool.spooledBytes, bytesTotal: nil))
            }
        }
        // Always at least one chunk, so even an empty backup has a final chunk.
        if pending > 0 || spool.chunks.isEmpty {
            try spool.flush(&json, records: &pending, to: file)
            progress?(BackupProgress(phase: .exporting, recordsDone: spool.recordCount, recordsTotal: nil, bytesDone: spool.spooledBytes, bytesTotal: nil))
        }
        try file.close()
        return spool
    }

    /// Closes the JSON array in `json`, compresses and seals it as the next spool chunk.
    private mutating func flush(_ json: inout Data, records pending: inout Int, to file: FileDescriptor) throws {
        json.append(UInt8(ascii: "]"))
        let compressed: Data
        do {
            compressed = try Zstd.compress(json)
        } catch {
            throw BackupError.internalFailure("zstd compression failed: \(error.reason)")
        }
        let sealed: Data
        do {
            sealed = try key.encrypt(compressed, scheme: .aesGCM, aad: Self.aad(chunks.count))
        } catch {
            throw BackupError.internalFailure("cannot seal a spool chunk: \(error)")
        }
        try file.write(sealed)
        chunks.append((pending, sealed.count))
        recordCount += pending
        spooledBytes += Int64(sealed.count)
        json = Data("[".utf8)
        pending = 0
    }

    /// Writes the backup file at `outputPath`: the preamble, then every spool
    /// chunk re-sealed under the backup key. Returns the file size.
    func transcribe(
        to outputPath: String,
        header: BackupHeader,
        master: MasterKey,
        progress: (@Sendable (BackupProgress) -> Void)?
    ) throws -> Int64 {
        let preamble = try BackupFormat.preamble(header)
        let headerHash = BackupFormat.hash(preamble)
        let backupKey = try BackupFormat.backupKey(master: master, salt: header.salt)
        let input = try FileDescriptor.openForReading(path: path)
        input.lockExclusively()
        let output = try FileDescriptor.createExclusive(path: outputPath)
        output.lockExclusively()
        // Re-sealing keeps each chunk's size: same nonce and tag overhead.
        let total = Int64(preamble.count) + chunks.reduce(Int64(0)) { $0 + 4 + Int64($1.byteCount) }
        try output.write(preamble)
        var written = Int64(preamble.count)
        var recordsDone = 0
        for (index, chunk) in chunks.enumerated() {
            let sealed = try input.read(upTo: chunk.byteCount)
            guard sealed.count == chunk.byteCount, let compressed = try? key.decrypt(sealed, scheme: .aesGCM, aad: Self.aad(index)) else {
                throw BackupError.internalFailure("the spool file changed while the backup was written")
            }
            let last = index == chunks.count - 1
            let body: Data
            do {
                body = try backupKey.encrypt(compressed, scheme: .aesGCM, aad: BackupFormat.chunkAAD(headerHash: headerHash, index: index, last: last))
            } catch {
                throw BackupError.internalFailure("cannot seal backup chunk \(index): \(error)")
            }
            guard body.count <= BackupFormat.maximumChunkByteCount else {
                throw BackupError.internalFailure("backup chunk \(index) exceeds \(BackupFormat.maximumChunkByteCount) bytes")
            }
            var frame = Data()
            Bytes.append(UInt32(body.count), to: &frame)
            frame.append(body)
            try output.write(frame)
            written += Int64(frame.count)
            recordsDone += chunk.recordCount
            progress?(BackupProgress(phase: .writing, recordsDone: recordsDone, recordsTotal: recordCount, bytesDone: written, bytesTotal: total))
        }
        try output.sync()
        try output.close()
        return written
    }

    private static func aad(_ index: Int) -> Data {
        var aad = Data("redoubt/backup-spool/v1".utf8)
        Bytes.append(UInt32(truncatingIfNeeded: index), to: &aad)
        return aad
    }

    /// A description of a record for an error message: its address, never its bytes.
    private static func describe(_ record: StoreRecord) -> String {
        switch record {
        case .object(let object): "object \(object.key)"
        case .audit(let entry): "audit entry \(entry.partition)#\(entry.sequence)"
        case .requestClaim(let partition, let requestID, _): "request claim \(partition)/\(requestID)"
        }
    }
}
