import ArgumentParser
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import Redoubt
import RedoubtBroker
import RedoubtStore
import Synchronization

/// `redoubt serve`: the transaction-security broker over a LocalHSM on the embedded store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the broker: the redoubt.v1 gRPC API over the HSM in --data (or --store postgres://…).",
        discussion: """
            Production: `redoubt init` first, then `redoubt serve --data DIR --listen 0.0.0.0:8443 \
            --tls-cert server.pem --tls-key server.key [--client-ca clients.pem]` with the unseal passphrase \
            in --passphrase-file or REDOUBT_PASSPHRASE (or --shares-file). Settings may also come from a JSON \
            file (--config); flags override it.

            Development: `redoubt serve --dev --data DIR --listen 127.0.0.1:PORT` initialises DIR on first run \
            (unsealed by a key file: never for production), creates a partition `dev` with a crypto user, and \
            writes DIR/dev-credentials.json with the endpoint, partition and API key.

            Several nodes: `--store postgres://user:password@host:5432/db?sslmode=verify-full` (or env \
            REDOUBT_STORE) keeps the store in PostgreSQL instead of DATA/redoubt.sqlite; --data still holds \
            the dev key, dev credentials and backups. A change made through one node reaches the others \
            within about a quarter of a second.

            Plaintext is refused on anything but a loopback address. SIGTERM or SIGINT shut down gracefully: \
            no new calls, calls in flight finish, then exit.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(help: "A JSON file listing HSM nodes (name, site, priority, endpoint, tls): serve a router over them instead of a local store.")
    var nodes: String?

    @Option(help: "HOST:PORT to listen on (default 127.0.0.1:8443; port 0 picks a free one).")
    var listen: String?

    @Option(help: "JSON config file (keys: listen, tls{certificateChain, privateKey, clientCA}, metrics, limits{…}).")
    var config: String?

    @Option(name: .customLong("tls-cert"), help: "Server certificate chain (PEM).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "Server private key (PEM).")
    var tlsKey: String?

    @Option(name: .customLong("client-ca"), help: "CA (PEM) that client certificates must chain to: turns on mutual TLS.")
    var clientCA: String?

    @Option(help: "HOST:PORT for Prometheus metrics (GET /metrics).")
    var metrics: String?

    @Option(name: .customLong("backup-dir"), help: "Directory BackupService.CreateBackup writes into (default DATA/backups).")
    var backupDirectory: String?

    @Option(name: .customLong("backup-every"), help: "Write a whole-store backup every SECONDS (into --backup-target).")
    var backupEvery: Double?

    @Option(name: .customLong("backup-target"), help: "Directory for scheduled backups, e.g. the recovery site's mount (default DATA/scheduled-backups).")
    var backupTarget: String?

    @Option(name: .customLong("backup-retain"), help: "How many scheduled backups to keep (default 24).")
    var backupRetain: Int?

    @Option(name: .customLong("max-message-bytes"), help: "Largest request message (default 4 MiB).")
    var maximumMessageBytes: Int?

    @Option(name: .customLong("max-batch"), help: "Most items in one batch (default 1000).")
    var maximumBatchItems: Int?

    @Option(name: .customLong("rate"), help: "Calls per second per session (default 50000; 0 = unlimited).")
    var requestsPerSecond: Double?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (default info).")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        let baseLevel = level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = baseLevel
            return handler
        }
        let logger = Logger(label: "redoubt.broker")
        let configuration = try brokerConfiguration()
        // Refuse a bad address before touching the store.
        _ = try Self.checked { () throws(BrokerConfigurationError) in try configuration.validatedAddress() }

        if let nodes {
            try await serveRouter(nodesFile: nodes, configuration: configuration, logger: logger)
            return
        }
        let (hsm, objectStore, dev) = try await openOrInitialise(logger: logger)
        let backups = backupDirectory ?? store.directory + "/backups"
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let services = BrokerServices(
            hsm: hsm, limits: configuration.limits.serviceLimits,
            backups: .directory(URL(fileURLWithPath: backups, isDirectory: true)), logger: logger)
        let broker = try Self.checked { () throws(BrokerConfigurationError) in
            try Broker(services: services.services, configuration: configuration, logger: logger)
        }
        // One service group: the HSM's audit flusher, the backup scheduler and the broker, shut down
        // gracefully in reverse order (the broker finishes its calls first, the last audit records
        // are flushed last). SIGTERM/SIGINT begin it; a second signal exits at once.
        var running: [any Service] = [hsm]
        if let schedule = configuration.backupSchedule {
            running.append(BackupScheduler(writer: hsm, schedule: schedule, metrics: broker.metrics, logger: logger))
            logger.notice(
                "scheduled backups",
                metadata: [
                    "directory": "\(schedule.directory)", "interval_s": "\(schedule.interval)",
                    "retain": "\(schedule.retain)",
                ])
        }
        running.append(broker)
        let group = ServiceGroup(configuration: .init(services: running.map { .init(service: $0) }, logger: logger))
        let signals = Self.onTerminationSignals { Task { await group.triggerGracefulShutdown() } }
        defer { signals.forEach { $0.cancel() } }

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                let port = try await broker.listeningPort()
                let endpoint = HostAndPort(host: (try? HostAndPort(parsing: configuration.listen, what: "listen").host) ?? "127.0.0.1", port: port)
                if let dev { try dev.writeCredentials(endpoint: "\(endpoint)") }
                Self.announce(endpoint: endpoint, configuration: configuration, dev: dev)
            }
            try await group.run()
            tasks.cancelAll()
            while let result = await tasks.nextResult() {
                if case .failure(let error) = result, !(error is CancellationError) { throw error }
            }
        }
        try await hsm.close()
        try await objectStore.close()
        logger.info("stopped")
    }

    /// Runs `body`, turning a configuration error into a usage error (exit status 64, message shown).
    static func checked<T>(_ body: () throws(BrokerConfigurationError) -> T) throws -> T {
        do { return try body() } catch { throw ValidationError(error.message) }
    }

    /// Settings from the config file, then flags on top.
    func brokerConfiguration() throws -> BrokerConfiguration {
        var c: BrokerConfiguration
        if let config {
            c = try Self.checked { () throws(BrokerConfigurationError) in try BrokerConfiguration.load(path: config) }
        } else {
            c = BrokerConfiguration(listen: "127.0.0.1:8443")
        }
        if let listen { c.listen = listen }
        if tlsCert != nil || tlsKey != nil || clientCA != nil {
            guard let tlsCert, let tlsKey else { throw ValidationError("TLS needs both --tls-cert and --tls-key") }
            c.tls = .init(certificateChain: tlsCert, privateKey: tlsKey, clientCA: clientCA ?? c.tls?.clientCA)
        }
        if let metrics { c.metrics = metrics }
        if let maximumMessageBytes { c.limits.maximumMessageBytes = maximumMessageBytes }
        if let maximumBatchItems { c.limits.maximumBatchItems = maximumBatchItems }
        if let requestsPerSecond { c.limits.requestsPerSecond = requestsPerSecond }
        if backupEvery != nil || backupTarget != nil || backupRetain != nil {
            let base = c.backupSchedule
            guard let interval = backupEvery ?? base?.interval else {
                throw ValidationError("--backup-target and --backup-retain need --backup-every SECONDS (or backupSchedule in --config)")
            }
            c.backupSchedule = BackupSchedule(
                directory: backupTarget ?? base?.directory ?? store.directory + "/scheduled-backups",
                interval: interval, retain: backupRetain ?? base?.retain ?? 24)
        }
        return c
    }

    /// Opens the store; with --dev, initialises it first if it is new.
    ///
    /// With `--store postgres://…` the data directory still holds the dev key and credentials:
    /// a directory without a dev key initialises the database, one with it opens the database
    /// (so several dev brokers given the same --data share one PostgreSQL store).
    private func openOrInitialise(logger: Logger) async throws -> (LocalHSM, any ObjectStore, DevSetup?) {
        var hsmLogger = Logger(label: "redoubt.hsm")
        hsmLogger.logLevel = .warning
        guard store.dev else {
            let objectStore = try await store.openStore()
            do { return (try await LocalHSM.open(store: objectStore, unseal: try store.unsealMethod(), logger: hsmLogger), objectStore, nil) } catch {
                try? await objectStore.close()
                throw error
            }
        }
        FileHandle.standardError.write(
            Data(
                """

                ************************************************************************************
                *** DEVELOPMENT MODE: the master key is in a plain file (\(store.devKeyPath)).
                *** Anyone who can read it can unseal this HSM. Never use --dev in production.
                ************************************************************************************

                """.utf8))
        let location = try store.location()
        let fresh =
            switch location {
            case .sqlite(let path): !FileManager.default.fileExists(atPath: path)
            case .postgres: !FileManager.default.fileExists(atPath: store.devKeyPath)
            }
        let objectStore = try await store.openStore(create: fresh)
        do {
            if fresh {
                let created: InitializedHSM
                do {
                    created = try await LocalHSM.initialize(store: objectStore, passphrase: nil, devKeyFile: store.devKeyPath, logger: hsmLogger)
                } catch {
                    throw Self.devInitialisationError(error, location: location, directory: store.directory)
                }
                let setup = try await DevSetup.create(hsm: created.hsm, operatorAPIKey: created.operatorAPIKey, directory: store.directory)
                logger.notice("initialised a development store", metadata: ["redoubt.data": "\(store.directory)", "redoubt.store": "\(location)"])
                return (created.hsm, objectStore, setup)
            }
            let hsm = try await LocalHSM.open(store: objectStore, unseal: .devKeyFile(store.devKeyPath), logger: hsmLogger)
            let setup = try DevSetup.load(directory: store.directory)
            try setup.writeCredentials(endpoint: "")  // filled in once listening
            return (hsm, objectStore, setup)
        } catch {
            try? await objectStore.close()
            throw error
        }
    }

    /// A store initialised through another data directory cannot be unsealed with this one's dev key.
    static func devInitialisationError(_ error: any Error, location: StoreLocation, directory: String) -> any Error {
        guard let error = error as? HSMError, error.code == .alreadyExists else { return error }
        return ValidationError(
            "\(location) is already initialised, and \(directory) has no dev key for it: "
                + "pass the --data directory it was initialised with")
    }

    static func announce(endpoint: HostAndPort, configuration: BrokerConfiguration, dev: DevSetup?) {
        var lines = [
            "redoubt broker listening on \(endpoint) (\(configuration.tls == nil ? "plaintext" : configuration.tls?.clientCA == nil ? "TLS" : "mutual TLS"))"
        ]
        if let metrics = configuration.metrics { lines.append("metrics: http://\(metrics)/metrics") }
        if let dev {
            lines.append("dev credentials: \(dev.path) (partition \"dev\", a crypto user's API key)")
            lines.append("try it:  python3 Examples/python/sign_verify.py \(dev.path)   (see Examples/python/README.md)")
        }
        lines.append("health:  grpc.health.v1.Health/Check; stop with Ctrl-C or SIGTERM")
        print(lines.joined(separator: "\n"))
        fflush(nil)
    }

    /// SIGTERM and SIGINT run `handler` once (graceful shutdown); a second signal exits at once.
    static func onTerminationSignals(_ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        let fired = Mutex(false)
        return [SIGTERM, SIGINT].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                let again = fired.withLock { f -> Bool in
                    defer { f = true }
                    return f
                }
                if again { Glibc.exit(130) }
                handler()
            }
            source.resume()
            return source
        }
    }
}
