import Foundation
import GRPCCore
import Logging
import Redoubt
import RedoubtClient

/// Where the BackupService's backups go.
public enum BackupDestination: Sendable, Hashable {
    /// The HSM served holds its store in this process: a request's path is relative to
    /// `directory`, which it may not leave (no absolute paths, no `..`, no escaping symbolic link).
    case directory(URL)
    /// The HSM served is a router in front of nodes (`redoubt serve --nodes`): a request's path
    /// is checked the same way (relative, no `..`) and passed on to one node, whose broker
    /// resolves it inside its own backup folder.
    case nodes
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
    ///   - backups: Where backups go (``HSM/createBackup(_:path:partition:overwrite:progress:)``
    ///     writes them); `nil`: BackupService answers UNIMPLEMENTED.
    ///   - logger: Where unexpected errors are logged (never with secrets).
    public init(hsm: any HSM, limits: BrokerLimits = .defaults, backups: BackupDestination? = nil, logger: Logger) {
        let core = BrokerCore(hsm: hsm, limits: limits, logger: logger)
        let backupTarget = backups.map(BackupTarget.init(destination:))
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
