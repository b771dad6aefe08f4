import Foundation
import RedoubtStore
import Synchronization

/// Reads a backup file chunk by chunk, authenticating each before decoding it.
final class BackupChunkReader {
    let header: BackupHeader
    let fileSize: Int64
    /// The index of the next chunk to read (so, the number of chunks read).
    private(set) var chunkIndex = 0
    private(set) var recordsRead = 0
    private var finished = false
    private let file: FileDescriptor
    private var offset: Int64
    private let headerHash: Data
    private let key: SecretKey
    private let progress: (@Sendable (BackupProgress) -> Void)?

    /// The parsed preamble of a file, before the master key is involved.
    struct Preamble {
        var file: FileDescriptor
        var fileSize: Int64
        var header: BackupHeader
        var headerHash: Data
        var offset: Int64
    }

    private init(preamble: Preamble, key: SecretKey, progress: (@Sendable (BackupProgress) -> Void)?) {
        self.file = preamble.file
        self.fileSize = preamble.fileSize
        self.header = preamble.header
        self.headerHash = preamble.headerHash
        self.offset = preamble.offset
        self.key = key
        self.progress = progress
    }

    /// Opens `path` for reading under `master`, checking magic, version, header and key id.
    static func open(_ path: String, master: MasterKey, progress: (@Sendable (BackupProgress) -> Void)?) throws -> BackupChunkReader {
        let preamble = try openFile(path)
        guard preamble.header.masterKeyID == master.keyID else {
            throw BackupError(
                .wrongCluster, "this backup was made by another cluster (master key \(preamble.header.masterKeyID)); this cluster's key is \(master.keyID)")
        }
        let key = try BackupFormat.backupKey(master: master, salt: preamble.header.salt)
        return BackupChunkReader(preamble: preamble, key: key, progress: progress)
    }

    /// Opens `path` and parses its preamble.
    static func openFile(_ path: String) throws -> Preamble {
        do {
            let file = try FileDescriptor.openForReading(path: path)
            let size = try file.status().size
            let magic = try file.read(upTo: BackupFormat.magic.count)
            guard magic == BackupFormat.magic else {
                throw BackupError(.notABackup, "\(path) is not a Redoubt backup: it does not start with the REDOUBT-BACKUP line")
            }
            let fixed = try file.read(upTo: 6)
            guard fixed.count == 6 else { throw BackupError.truncated("the backup was cut short inside its header") }
            let version = Bytes.readBigEndian(UInt16.self, from: fixed.prefix(2))
            guard version == BackupFormat.version else {
                throw BackupError(
                    .unsupportedVersion,
                    "backup format version \(version) is not supported (this build reads version \(BackupFormat.version)); use a newer Redoubt")
            }
            let length = Int(Bytes.readBigEndian(UInt32.self, from: fixed.dropFirst(2)))
            guard length >= 2, length <= BackupFormat.maximumHeaderByteCount else {
                throw BackupError.damaged("the backup header length (\(length) bytes) is impossible: the file is damaged")
            }
            let body = try file.read(upTo: length)
            guard body.count == length else { throw BackupError.truncated("the backup was cut short inside its header") }
            let header = try BackupFormat.decodeHeader(body)
            let preamble = magic + fixed + body
            return Preamble(
                file: file, fileSize: size, header: header, headerHash: BackupFormat.hash(preamble),
                offset: Int64(preamble.count))
        } catch let failure as SystemCallFailure {
            throw BackupError.fileAccess("cannot read the backup: \(failure.reason)")
        }
    }

    /// The records of the next chunk, or `nil` after the final chunk.
    ///
    /// Nothing is returned from a chunk unless all of it authenticated,
    /// decompressed and decoded.
    func nextChunk() throws -> [StoreRecord]? {
        guard !finished else { return nil }
        let index = chunkIndex
        let lengthBytes = try read(4)
        guard lengthBytes.count == 4 else {
            let which = index == 0 ? "after its header" : "after chunk \(index - 1)"
            throw BackupError.truncated("the backup was cut short \(which): its final chunk is missing", chunk: index)
        }
        let length = Int(Bytes.readBigEndian(UInt32.self, from: lengthBytes))
        guard length >= BackupFormat.minimumSealedByteCount, length <= BackupFormat.maximumChunkByteCount else {
            throw BackupError.damaged("chunk \(index) has an impossible length (\(length) bytes): the file is damaged", chunk: index)
        }
        let sealed = try read(length)
        guard sealed.count == length else {
            throw BackupError.truncated("the backup was cut short inside chunk \(index)", chunk: index)
        }
        let atEnd = offset == fileSize
        let compressed: Data
        if let plain = try? open(sealed, index: index, last: atEnd) {
            compressed = plain
        } else if (try? open(sealed, index: index, last: !atEnd)) != nil {
            if atEnd {
                throw BackupError.truncated("the backup was cut short after chunk \(index), which is not its final chunk", chunk: index)
            }
            throw BackupError.damaged("unexpected data follows the final chunk (\(index)): the file is damaged", chunk: index)
        } else {
            throw BackupError.damaged("chunk \(index) fails authentication: the file is damaged, was altered, or its chunks were reordered", chunk: index)
        }
        let json: Data
        do {
            json = try Zstd.decompress(compressed, limit: BackupFormat.maximumChunkPlaintextByteCount)
        } catch {
            throw BackupError.damaged("chunk \(index) does not decompress (\(error.reason))", chunk: index)
        }
        guard let records = try? JSONDecoder().decode([StoreRecord].self, from: json) else {
            throw BackupError.damaged("chunk \(index) does not decode as records", chunk: index)
        }
        guard records.count <= BackupFormat.maximumRecordsPerChunk, records.count <= header.recordCount - recordsRead else {
            throw BackupError.damaged("chunk \(index) holds more records than the backup declares", chunk: index)
        }
        recordsRead += records.count
        chunkIndex += 1
        if atEnd {
            finished = true
            guard recordsRead == header.recordCount else {
                throw BackupError.damaged("the backup holds \(recordsRead) records but declares \(header.recordCount)", chunk: index)
            }
        }
        progress?(BackupProgress(phase: .reading, recordsDone: recordsRead, recordsTotal: header.recordCount, bytesDone: offset, bytesTotal: fileSize))
        return records
    }

    private func open(_ sealed: Data, index: Int, last: Bool) throws -> Data {
        try key.decrypt(sealed, scheme: .aesGCM, aad: BackupFormat.chunkAAD(headerHash: headerHash, index: index, last: last))
    }

    private func read(_ count: Int) throws -> Data {
        do {
            let data = try file.read(upTo: count)
            offset += Int64(data.count)
            return data
        } catch let failure as SystemCallFailure {
            throw BackupError.fileAccess("cannot read the backup: \(failure.reason)")
        }
    }
}

/// The pull-driven state behind ``Backup/read(from:master:progress:)``.
///
/// `AsyncThrowingStream(unfolding:)` calls ``next()`` one call at a time; the
/// file opens on the first call and closes when the stream ends or is dropped.
final class BackupRecordSource: Sendable {
    private enum State {
        case unopened(path: String, master: MasterKey)
        case reading(BackupChunkReader, records: [StoreRecord], position: Int)
        case finished
    }

    private let state: Mutex<State>
    private let progress: (@Sendable (BackupProgress) -> Void)?

    init(path: String, master: MasterKey, progress: (@Sendable (BackupProgress) -> Void)?) {
        self.state = Mutex(.unopened(path: path, master: master))
        self.progress = progress
    }

    func next() async throws -> StoreRecord? {
        if Task.isCancelled {
            state.withLock { $0 = .finished }
            throw CancellationError()
        }
        let progress = self.progress
        return try state.withLock { state throws -> StoreRecord? in
            while true {
                switch state {
                case .finished:
                    return nil
                case .unopened(let path, let master):
                    do {
                        state = .reading(try BackupChunkReader.open(path, master: master, progress: progress), records: [], position: 0)
                    } catch {
                        state = .finished
                        throw error
                    }
                case .reading(let reader, let records, let position):
                    if position < records.count {
                        state = .reading(reader, records: records, position: position + 1)
                        return records[position]
                    }
                    do {
                        guard let next = try reader.nextChunk() else {
                            state = .finished
                            return nil
                        }
                        state = .reading(reader, records: next, position: 0)
                    } catch {
                        state = .finished
                        throw error
                    }
                }
            }
        }
    }
}
