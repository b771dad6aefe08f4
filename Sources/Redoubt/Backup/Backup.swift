import Foundation
import RedoubtStore

/// Backup files of the store: encrypted, compressed, authenticated, all-or-nothing on restore.
///
/// A backup is one file: a magic line, a format version, a JSON header
/// (creation time, scope, master key id, record count, random salt), then
/// chunks of up to 1,000 records, each JSON-encoded, zstd-compressed and
/// AES-256-GCM-sealed under a key derived from the master key and the salt.
/// Each chunk's associated data binds the header, its index, and whether it
/// is the last chunk: altered, reordered, dropped or missing chunks are all
/// detected. Records are already sealed blobs; the file adds a second layer,
/// so it never holds plaintext key material.
///
/// ```swift
/// let summary = try await Backup.write(records: store.exportAll(), to: path, master: master, scope: .store)
/// try await Backup.verify(at: path, master: master)
/// try await freshStore.importAll(Backup.read(from: path, master: master))   // rolls back on any error
/// ```
public enum Backup {
    /// Writes `records` to a new backup file at `path`.
    ///
    /// Records are first spooled, compressed and encrypted under a one-time
    /// key that never leaves memory, to a hidden file beside `path`; once
    /// their count is known the header is written and every chunk is re-sealed
    /// under the backup key. The file appears at `path` only when complete and
    /// flushed (mode 0600); on any error nothing is left behind, and what an earlier writer killed
    /// mid-way left in the same directory is removed first (``removeLeftovers(in:olderThan:)``).
    ///
    /// - Parameters:
    ///   - records: The records, typically ``ObjectStore/exportAll()``.
    ///   - scope: What the backup holds, recorded in the header (not enforced on `records`).
    ///   - envelope: The sealed master key envelope to carry in the header, for restores into an empty store.
    ///   - overwrite: Replace an existing file at `path`; otherwise an existing file is an error.
    ///   - progress: Called after each chunk: `.exporting` while reading `records`, then `.writing`
    ///     up to `recordsDone == recordsTotal`.
    /// - Returns: The header, chunk count and file size.
    /// - Throws: ``BackupError`` (``BackupError/Code/fileAccess``, ``BackupError/Code/invalidArgument``
    ///   for a record too large), or whatever `records` throws, or `CancellationError`.
    @discardableResult
    public static func write(
        records: some AsyncSequence<StoreRecord, Error>,
        to path: String,
        master: MasterKey,
        scope: BackupScope,
        envelope: MasterKeyEnvelope? = nil,
        overwrite: Bool = false,
        progress: (@Sendable (BackupProgress) -> Void)? = nil
    ) async throws -> BackupSummary {
        // What a killed writer left beside it goes first (never a live writer's files).
        removeLeftovers(in: (path as NSString).deletingLastPathComponent)
        let spoolPath = FileDescriptor.temporarySibling(of: path, purpose: "spool")
        let outputPath = FileDescriptor.temporarySibling(of: path, purpose: "tmp")
        defer {
            FileDescriptor.removeQuietly(spoolPath)
            FileDescriptor.removeQuietly(outputPath)
        }
        do {
            let spool = try await BackupSpool.fill(path: spoolPath, records: records, progress: progress)
            let header = BackupHeader(
                formatVersion: BackupFormat.version,
                createdAt: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)),
                scope: scope, masterKeyID: master.keyID, recordCount: spool.recordCount,
                salt: try BackupFormat.randomSalt(), masterEnvelope: try envelope?.serialized())
            let byteCount = try spool.transcribe(to: outputPath, header: header, master: master, progress: progress)
            try FileDescriptor.move(outputPath, to: path, replace: overwrite)
            return BackupSummary(header: header, chunkCount: spool.chunks.count, byteCount: byteCount)
        } catch let failure as SystemCallFailure {
            let hint = failure.errno == EEXIST ? " (the file exists: remove it or pass overwrite: true)" : ""
            throw BackupError.fileAccess("cannot write the backup: \(failure.reason)\(hint)")
        }
    }

    /// Reads the header of a backup file without the master key.
    ///
    /// Use it to show what a file is before unsealing; the header is only
    /// authenticated when chunks are read (``read(from:master:progress:)``,
    /// ``verify(at:master:progress:)``), so do not trust it on its own.
    /// - Throws: ``BackupError`` (not a backup, unsupported version, damaged, truncated, file access).
    public static func readHeader(from path: String) throws -> BackupHeader {
        try BackupChunkReader.openFile(path).header
    }

    /// Streams the records of a backup file, one authenticated chunk at a time.
    ///
    /// A chunk's records are produced only after the whole chunk authenticated,
    /// decompressed and decoded; the stream throws at the first bad chunk, and
    /// at the end if the final chunk is missing. Feed it to
    /// ``ObjectStore/importAll(_:)``, which then rolls back: a restore is all
    /// or nothing.
    ///
    /// - Throws (from the stream): ``BackupError`` — not a backup, unsupported
    ///   version, made by another cluster, damaged (naming the chunk), truncated.
    public static func read(
        from path: String,
        master: MasterKey,
        progress: (@Sendable (BackupProgress) -> Void)? = nil
    ) -> AsyncThrowingStream<StoreRecord, Error> {
        let source = BackupRecordSource(path: path, master: master, progress: progress)
        return AsyncThrowingStream(unfolding: { try await source.next() })
    }

    /// Checks a whole backup file without importing it.
    ///
    /// Authenticates and decodes every chunk, checks the record count, each
    /// partition's audit chain, and what a restore refuses (an object or a
    /// request id twice, a revision below 1), so a restore of a file that
    /// verifies will not be refused for its content. Holds every object key
    /// and request id in memory while it runs.
    /// - Throws: the errors of ``read(from:master:progress:)``.
    @discardableResult
    public static func verify(
        at path: String,
        master: MasterKey,
        progress: (@Sendable (BackupProgress) -> Void)? = nil
    ) async throws -> BackupSummary {
        let reader = try BackupChunkReader.open(path, master: master, progress: progress)
        var heads: [String: AuditEntry] = [:]
        var objects = Set<ObjectKey>()
        var claims = Set<[String]>()
        while let records = try reader.nextChunk() {
            try Task.checkCancellation()
            for record in records {
                switch record {
                case .object(let object):
                    guard object.revision >= 1, objects.insert(object.key).inserted else {
                        throw BackupError.damaged(
                            "object \(object.key) appears twice or has revision \(object.revision): a restore would be refused",
                            chunk: reader.chunkIndex - 1)
                    }
                case .audit(let entry):
                    let verdict = verifyAuditChain([entry], previous: heads[entry.partition])
                    if case .broken(let sequence, let reason) = verdict {
                        throw BackupError.damaged(
                            "the audit chain of partition \"\(entry.partition)\" is broken at entry \(sequence) (\(reason)): a restore would be refused",
                            chunk: reader.chunkIndex - 1)
                    }
                    heads[entry.partition] = entry
                case .requestClaim(let partition, let requestID, _):
                    guard claims.insert([partition, requestID]).inserted else {
                        throw BackupError.damaged(
                            "request id \"\(requestID)\" of partition \"\(partition)\" appears twice: a restore would be refused",
                            chunk: reader.chunkIndex - 1)
                    }
                }
            }
        }
        return BackupSummary(header: reader.header, chunkCount: reader.chunkIndex, byteCount: reader.fileSize)
    }
}
