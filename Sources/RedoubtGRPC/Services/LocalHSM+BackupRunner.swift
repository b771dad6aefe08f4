import Redoubt

extension LocalHSM: BackupRunner {
    /// Writes the backup with ``LocalHSM/backup(_:to:partition:overwrite:progress:)``.
    public func writeBackup(_ session: SessionToken, to path: String, partition: String?, overwrite: Bool,
                            progress: @escaping @Sendable (BackupProgress) -> Void) async throws -> BackupSummary {
        try await backup(session, to: path, partition: partition, overwrite: overwrite, progress: progress)
    }
}
