import Foundation

/// What a backup holds: the whole store, or one partition.
public enum BackupScope: Sendable, Hashable, CustomStringConvertible {
    /// Every record of the store.
    case store
    /// The records of one partition.
    case partition(String)

    /// `"store"` or `"partition:<id>"`, as written in the header.
    public var description: String {
        switch self {
        case .store: "store"
        case .partition(let id): "partition:\(id)"
        }
    }

    /// Parses ``description``; `nil` for anything else.
    public init?(_ text: String) {
        if text == "store" {
            self = .store
        } else if text.hasPrefix("partition:") {
            self = .partition(String(text.dropFirst("partition:".count)))
        } else {
            return nil
        }
    }
}

/// The header of a backup file: readable without the master key, authenticated by every chunk.
public struct BackupHeader: Sendable, Hashable {
    /// The file format version.
    public var formatVersion: UInt16
    /// When the backup was written (whole seconds).
    public var createdAt: Date
    /// What the backup holds.
    public var scope: BackupScope
    /// The id of the master key the backup key derives from.
    public var masterKeyID: String
    /// How many records the backup holds.
    public var recordCount: Int
    /// The random 32-byte HKDF salt of the backup key.
    public var salt: Data
    /// The sealed master key envelope (``MasterKeyEnvelope/serialized()``), so a restore into an
    /// empty store can unseal the key that reads the backup. Holds nothing in the clear.
    public var masterEnvelope: Data? = nil

    /// Creates a header (for ``HSM`` implementations and tests).
    public init(
        formatVersion: UInt16, createdAt: Date, scope: BackupScope, masterKeyID: String, recordCount: Int,
        salt: Data, masterEnvelope: Data? = nil
    ) {
        self.formatVersion = formatVersion
        self.createdAt = createdAt
        self.scope = scope
        self.masterKeyID = masterKeyID
        self.recordCount = recordCount
        self.salt = salt
        self.masterEnvelope = masterEnvelope
    }
}

/// How far a backup write, read or verification has come.
public struct BackupProgress: Sendable, Hashable {
    /// The stage of the work.
    public enum Phase: Sendable, Hashable {
        /// Records are being taken from the store (their total is not known yet).
        case exporting
        /// The backup file is being written.
        case writing
        /// The backup file is being read (restore or verify).
        case reading
    }

    /// The stage of the work.
    public var phase: Phase
    /// Records handled so far.
    public var recordsDone: Int
    /// All records, once known.
    public var recordsTotal: Int?
    /// Bytes written or read so far.
    public var bytesDone: Int64
    /// All bytes, once known.
    public var bytesTotal: Int64?

    /// Creates a progress value.
    public init(phase: Phase, recordsDone: Int, recordsTotal: Int?, bytesDone: Int64, bytesTotal: Int64?) {
        self.phase = phase
        self.recordsDone = recordsDone
        self.recordsTotal = recordsTotal
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
    }
}

/// What ``Backup/write(records:to:master:scope:overwrite:progress:)`` wrote
/// or ``Backup/verify(at:master:progress:)`` checked.
public struct BackupSummary: Sendable, Hashable {
    /// The file's header.
    public var header: BackupHeader
    /// How many chunks the file holds.
    public var chunkCount: Int
    /// The size of the file in bytes.
    public var byteCount: Int64

    /// Creates a summary (for ``HSM`` implementations and tests).
    public init(header: BackupHeader, chunkCount: Int, byteCount: Int64) {
        self.header = header
        self.chunkCount = chunkCount
        self.byteCount = byteCount
    }
}

/// A finished backup as the BackupService reports it: the summary of the backup writer plus where the
/// file went.
public struct BackupReport: Sendable, Hashable {
    /// The file written, as the server resolved it.
    public var path: String
    /// The file format version.
    public var formatVersion: Int
    /// When the backup was written (whole seconds).
    public var createdAt: Date
    /// The partition backed up, or `nil` for the whole store.
    public var partition: String?
    /// The id of the master key the backup is sealed under.
    public var masterKeyID: String
    /// How many records the file holds.
    public var recordCount: Int64
    /// How many chunks the file holds.
    public var chunkCount: Int64
    /// The size of the file in bytes.
    public var byteCount: Int64

    /// Creates a report.
    public init(
        path: String, formatVersion: Int, createdAt: Date, partition: String?, masterKeyID: String,
        recordCount: Int64, chunkCount: Int64, byteCount: Int64
    ) {
        self.path = path
        self.formatVersion = formatVersion
        self.createdAt = createdAt
        self.partition = partition
        self.masterKeyID = masterKeyID
        self.recordCount = recordCount
        self.chunkCount = chunkCount
        self.byteCount = byteCount
    }

    /// The report of a backup written at `path`.
    public init(_ summary: BackupSummary, path: String) {
        let partition: String?
        switch summary.header.scope {
        case .store: partition = nil
        case .partition(let id): partition = id
        }
        self.init(
            path: path, formatVersion: Int(summary.header.formatVersion), createdAt: summary.header.createdAt,
            partition: partition, masterKeyID: summary.header.masterKeyID,
            recordCount: Int64(summary.header.recordCount), chunkCount: Int64(summary.chunkCount),
            byteCount: summary.byteCount)
    }
}
