import Foundation
import Redoubt

extension RedoubtServer {
    /// Everything `redoubt serve` decides from its flags and config file: how the broker listens
    /// and what it allows (``BrokerConfiguration``), which HSM it serves (``Backend``), and where
    /// `BackupService.CreateBackup` writes.
    ///
    /// ```swift
    /// // A development broker on a free port, as `redoubt serve --dev --data DIR --listen 127.0.0.1:0`:
    /// let configuration = RedoubtServer.Configuration(
    ///     broker: BrokerConfiguration(listen: "127.0.0.1:0"),
    ///     backend: .development(directory: dir),
    ///     backupDirectory: dir + "/backups")
    /// ```
    public struct Configuration: Sendable {
        /// Where it listens, TLS, metrics, limits and scheduled backups.
        public var broker: BrokerConfiguration
        /// The HSM behind the broker.
        public var backend: Backend
        /// The folder `BackupService.CreateBackup` writes into (created, mode 0700, when the server
        /// starts); `nil`: the broker answers it UNIMPLEMENTED. Not used in router mode, where a
        /// node writes the backup in its own folder.
        public var backupDirectory: String?
        /// The settings of the `LocalHSM` over the store (not used in router mode).
        public var localHSM: LocalHSM.Configuration

        /// A configuration.
        public init(
            broker: BrokerConfiguration, backend: Backend, backupDirectory: String? = nil,
            localHSM: LocalHSM.Configuration = .defaults
        ) {
            self.broker = broker
            self.backend = backend
            self.backupDirectory = backupDirectory
            self.localHSM = localHSM
        }

        /// Checks what can be checked without touching the store or the network: the listening
        /// address (plaintext only on loopback), the metrics address, the limits, the backup
        /// schedule, and in router mode the node list (and that there is no schedule).
        /// ``RedoubtServer/run()`` checks this first.
        ///
        /// - Throws: ``BrokerConfigurationError`` naming the flag or setting.
        public func validate() throws(BrokerConfigurationError) {
            _ = try broker.validatedAddress()
            if let metrics = broker.metrics { _ = try HostAndPort(parsing: metrics, what: "metrics") }
            if case .router(let nodes) = backend {
                if broker.backupSchedule != nil {
                    throw BrokerConfigurationError("scheduled backups run on a node over its store, not on a broker with --nodes")
                }
                try nodes.validate()
            }
        }
    }

    /// The HSM a ``RedoubtServer`` serves.
    public enum Backend: Sendable {
        /// A `LocalHSM` over an initialised store (`redoubt init`), unsealed by `unseal`: a
        /// passphrase, key-ceremony shares, or a dev key file.
        case store(StoreLocation, unseal: UnsealMethod)
        /// Development mode (`redoubt serve --dev`; never for production): a `LocalHSM` over
        /// `store` (default: `directory/redoubt.sqlite`), unsealed by the key file
        /// `directory/dev-unseal.key`.
        ///
        /// On the first run — no SQLite file yet, or for PostgreSQL no dev key file in `directory` —
        /// it creates `directory` (mode 0700), initialises the store with that key file, creates a
        /// partition `dev` with a security officer and a crypto user `dev-app`, and writes
        /// ``DevCredentials`` to `directory/dev-credentials.json` (mode 0600). Later runs open the
        /// same store and read the same credentials, so several dev brokers given one `directory`
        /// and one PostgreSQL `store` share it. The file's endpoint is filled in once the broker
        /// listens (``RedoubtServer/Listening/devCredentials``).
        case development(directory: String, store: StoreLocation? = nil)
        /// A router over HSM nodes (`redoubt serve --nodes FILE`): a `FailoverHSM` over a
        /// `RemoteHSM` per node. No store of its own, so no scheduled backups.
        case router(RouterConfiguration)
    }
}
