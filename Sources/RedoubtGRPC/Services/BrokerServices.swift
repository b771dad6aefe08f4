import Foundation
import GRPCCore
import Logging
import Redoubt

/// Writes backups for the BackupService (``LocalHSM`` is one).
public protocol BackupRunner: Sendable {
    /// Writes a backup of `partition` (`nil`: the whole store) to `path`, reporting progress;
    /// needs an operator session. `path` is already resolved and confined by the broker.
    func writeBackup(_ session: SessionToken, to path: String, partition: String?, overwrite: Bool,
                     progress: @escaping @Sendable (BackupProgress) -> Void) async throws -> BackupSummary
}

/// The gRPC services of `redoubt.v1` over any ``HSM``: register ``services`` with a `GRPCServer`.
///
/// ```swift
/// let broker = BrokerServices(hsm: hsm, logger: logger)
/// let server = GRPCServer(transport: .http2NIOPosix(address: .ipv4(host: "0.0.0.0", port: 8443),
///                                                    transportSecurity: .plaintext),
///                         services: broker.services)
/// try await server.serve()
/// ```
///
/// The services translate between messages and the HSM and add nothing the HSM decides:
/// roles, partitions, sessions and validation are the HSM's. They read the session token from
/// `authorization: Bearer <token>`, pass the caller's address to the HSM, enforce the limits,
/// and map every error to a status in one place.
public struct BrokerServices: Sendable {
    /// The services, one per `redoubt.v1` service.
    public let services: [any RegistrableRPCService]

    /// Services over `hsm`.
    /// - Parameters:
    ///   - limits: Batch, payload and stream limits.
    ///   - backups: What writes backups; `nil`: BackupService answers UNIMPLEMENTED.
    ///   - backupDirectory: The folder backup paths are confined to (relative paths only, no
    ///     `..`); backups need it as well as `backups`.
    ///   - logger: Where unexpected errors are logged (never with secrets).
    public init(hsm: any HSM, limits: BrokerLimits = .defaults, backups: (any BackupRunner)? = nil,
                backupDirectory: URL? = nil, logger: Logger) {
        let core = BrokerCore(hsm: hsm, limits: limits, logger: logger)
        var backupTarget: BackupTarget?
        if let backups, let backupDirectory {
            backupTarget = BackupTarget(runner: backups, directory: backupDirectory)
        } else if backups != nil {
            logger.warning("broker.backups_disabled", metadata: ["reason": "no backup directory configured"])
        }
        services = [
            SessionService(core: core),
            PartitionService(core: core),
            UserService(core: core),
            KeyService(core: core),
            CryptoService(core: core),
            AuditService(core: core),
            ApprovalService(core: core),
            BackupService(core: core, target: backupTarget),
        ]
    }
}
