import Foundation
import Logging
import RedoubtStore

extension LocalHSM {
    /// Writes a sealed backup (``backup(_:to:partition:overwrite:progress:)``) and reports it;
    /// the ``HSM`` protocol's form, which a broker serves.
    public func createBackup(
        _ session: SessionToken, path: String, partition: String?, overwrite: Bool,
        progress: @escaping @Sendable (BackupProgress) -> Void
    ) async throws -> BackupReport {
        BackupReport(try await backup(session, to: path, partition: partition, overwrite: overwrite, progress: progress), path: path)
    }

    /// Writes a backup to one file (operator only): compressed, sealed under a key derived from
    /// the master key, integrity-checked, versioned. Pending audit records are committed first, so
    /// the backup holds them.
    ///
    /// - Parameter partition: back up only this partition (its keys, users, audit log and its
    ///   record at cluster level); `nil` backs up the whole store. Either restores into an empty
    ///   store of the same cluster (same master key).
    @discardableResult
    public func backup(
        _ session: SessionToken, to path: String, partition: String? = nil, overwrite: Bool = false,
        progress: (@Sendable (BackupProgress) -> Void)? = nil
    ) async throws -> BackupSummary {
        let caller = try await authorize(session, [.operator], "backups")
        return try await writeBackup(by: caller, .backupCreate, to: path, partition: partition, overwrite: overwrite, progress: progress)
    }

    /// Writes a backup of the whole store on the node's own authority (no session): what a
    /// broker's backup schedule runs. Audited at cluster level as `backup.create_scheduled` by the
    /// user `scheduler`; otherwise the same file as ``backup(_:to:partition:overwrite:progress:)``.
    @discardableResult
    public func scheduledBackup(to path: String, overwrite: Bool = false) async throws -> BackupSummary {
        let caller = Caller(session: "scheduler", partition: "", user: "scheduler", role: .operator)
        return try await writeBackup(by: caller, .backupCreateScheduled, to: path, partition: nil, overwrite: overwrite, progress: nil)
    }

    private func writeBackup(
        by caller: Caller, _ operation: AuditOperation, to path: String, partition: String?, overwrite: Bool,
        progress: (@Sendable (BackupProgress) -> Void)?
    ) async throws -> BackupSummary {
        if let partition { _ = try await partitionRecord(partition) }
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw HSMError(.alreadyExists, "\(path) exists: choose another file or allow overwriting")
        }
        try await flushAudit(force: true)
        guard let object = try await Self.storeCall({ try await store.get(Self.envelopeKey) }) else {
            throw HSMError(.internalError, "the master key envelope is missing")
        }
        let envelope = try RecordCoding.decode(MasterKeyEnvelope.self, object.data)
        // The record of this backup goes in first, so the file holds it.
        try await commitManaged([], audit: caller, operation, object: (path as NSString).lastPathComponent)
        do {
            guard let partition else {
                return try await Backup.write(
                    records: store.exportAll(), to: path, master: master, scope: .store,
                    envelope: envelope, overwrite: overwrite, progress: progress)
            }
            // The partition's own records, its record at cluster level, and the master envelope.
            let records = store.exportAll().filter { record in
                switch record {
                case .object(let o):
                    return o.key.partition == partition
                        || (o.key.partition == "" && o.key.kind == ObjectKind.partition && o.key.id == partition)
                        || o.key == Self.envelopeKey
                case .audit(let e): return e.partition == partition
                case .requestClaim(let p, _, _): return p == partition
                }
            }
            return try await Backup.write(
                records: records, to: path, master: master, scope: .partition(partition),
                envelope: envelope, overwrite: overwrite, progress: progress)
        } catch let error as BackupError {
            throw HSMError(error.code == .invalidArgument ? .invalidArgument : .unavailable, error.message)
        }
    }

    /// Restores a backup file into an empty store: checks the whole file first, then imports every
    /// record in one transaction. A damaged, truncated or foreign file is refused and nothing is restored.
    /// - Returns: the HSM over the restored store, unsealed with `unseal`.
    public static func restore(
        from path: String, into store: any ObjectStore, unseal: UnsealMethod,
        configuration: Configuration = .defaults,
        progress: (@Sendable (BackupProgress) -> Void)? = nil
    ) async throws -> LocalHSM {
        let header: BackupHeader
        do { header = try Backup.readHeader(from: path) } catch let error as BackupError {
            throw HSMError.invalid(error.message)
        }
        guard let sealed = header.masterEnvelope, let envelope = try? MasterKeyEnvelope(serialized: sealed) else {
            throw HSMError.invalid("this backup carries no master key envelope; it cannot be restored into an empty store")
        }
        let logger = Logger(label: "redoubt")
        let master = try unsealMaster(envelope, unseal, logger: logger)
        do {
            try await Backup.verify(at: path, master: master, progress: progress)
            try await store.importAll(Backup.read(from: path, master: master, progress: progress))
        } catch let error as BackupError {
            throw HSMError.invalid("backup refused, nothing restored: \(error.message)")
        } catch let error as StoreError {
            throw HSMError.precondition("restore refused, nothing restored: \(error.message)")
        }
        return try await LocalHSM(store: store, master: master, configuration: configuration, logger: logger)
    }
}
