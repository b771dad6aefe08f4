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
import Synchronization

/// `redoubt serve`: the transaction-security broker. Its flags and config file become a
/// `RedoubtServer.Configuration` (RedoubtBroker does all the wiring); this command runs the
/// `RedoubtServer` under SIGTERM/SIGINT and prints where it listens.
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

    @Option(
        name: .customLong("http-listen"),
        help:
            "HOST:PORT for the HTTP/JSON API (POST /redoubt.v1.<Service>/<Method>, GET /openapi.json), same TLS as --listen. With --dev: default 127.0.0.1:8444 beside the default --listen, else port 0 on the --listen host; `off` turns it off."
    )
    var httpListen: String?

    @Option(help: "JSON config file (keys: listen, httpListen, tls{certificateChain, privateKey, clientCA}, metrics, limits{…}).")
    var config: String?

    @Option(name: .customLong("tls-cert"), help: "Server certificate chain (PEM).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "Server private key (PEM).")
    var tlsKey: String?

    @Option(name: .customLong("client-ca"), help: "CA (PEM) that client certificates must chain to: turns on mutual TLS.")
    var clientCA: String?

    @Option(help: "HOST:PORT for Prometheus metrics (GET /metrics).")
    var metrics: String?

    @Option(
        name: .customLong("token-issuer-ca"),
        help: "CA certificates (PEM) trusted when fetching token issuers' keys over https:// (default: the system's).")
    var tokenIssuerCA: String?

    @Option(
        name: .customLong("key-cache"),
        help: "Unsealed keys kept in memory; past it the least recently used are unsealed again on use (default 100000).")
    var keyCache: Int?
    /// The sizes `--key-cache` takes (also `bench scale`'s, which passes it on).
    static let keyCacheRange = 1...10_000_000

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

    @Option(name: .customLong("burst"), help: "Calls a session may make at once (default twice --rate).")
    var burst: Double?

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
        let configuration = try serverConfiguration()
        // The library does the wiring (store, unseal, dev setup, scheduler, metrics, router); this
        // command runs it in a service group that SIGTERM/SIGINT shut down gracefully (a second
        // signal exits at once), and announces where it listens.
        let server = RedoubtServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
        let signals = Self.onTerminationSignals { Task { await group.triggerGracefulShutdown() } }
        defer { signals.forEach { $0.cancel() } }

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                let listening = try await server.listening()
                Self.announce(listening, configuration: configuration.broker)
                if case .router(let nodes) = configuration.backend { Self.announceRouting(nodes) }
            }
            let outcome: Result<Void, any Error>
            do {
                try await group.run()
                outcome = .success(())
            } catch let error as BrokerConfigurationError {
                outcome = .failure(ValidationError(error.message))
            } catch {
                outcome = .failure(error)
            }
            tasks.cancelAll()
            // The announcement fails only when the server did (or stopped before listening).
            while await tasks.nextResult() != nil {}
            try outcome.get()
        }
        logger.info("stopped")
    }

    /// What to run: the broker settings (config file, then flags), then the HSM behind it.
    ///
    /// Checked in the order a user meets the problems: flags, the listening address (a plaintext
    /// address off loopback is refused before the store is touched), then the store or the nodes.
    func serverConfiguration() throws -> RedoubtServer.Configuration {
        if let keyCache, !Self.keyCacheRange.contains(keyCache) {
            throw ValidationError("--key-cache must be between 1 and 10000000 (keys kept unsealed in memory)")
        }
        let broker = try brokerConfiguration()
        _ = try Self.checked { () throws(BrokerConfigurationError) in try broker.validatedAddress() }
        if let nodes {
            return RedoubtServer.Configuration(broker: broker, backend: try routerBackend(nodesFile: nodes, configuration: broker))
        }
        let backend: RedoubtServer.Backend
        if store.dev {
            FileHandle.standardError.write(
                Data(
                    """

                    ************************************************************************************
                    *** DEVELOPMENT MODE: the master key is in a plain file (\(store.devKeyPath)).
                    *** Anyone who can read it can unseal this HSM. Never use --dev in production.
                    ************************************************************************************

                    """.utf8))
            backend = .development(directory: store.directory, store: try store.location())
        } else {
            let location = try store.location()
            try store.requireExisting(location)
            backend = .store(location, unseal: try store.unsealMethod())
        }
        var hsm = LocalHSM.Configuration.defaults
        if let keyCache { hsm.keyCacheCapacity = keyCache }
        if let tokenIssuerCA {
            guard FileManager.default.isReadableFile(atPath: tokenIssuerCA) else { throw ValidationError("cannot read --token-issuer-ca \(tokenIssuerCA)") }
            hsm.tokenKeyTrustRoots = tokenIssuerCA
        }
        return RedoubtServer.Configuration(
            broker: broker, backend: backend, backupDirectory: backupDirectory ?? store.directory + "/backups", localHSM: hsm)
    }

    /// Runs `body`, turning a configuration error into a usage error (exit status 64, message shown).
    static func checked<T>(_ body: () throws(BrokerConfigurationError) -> T) throws -> T {
        do { return try body() } catch { throw ValidationError(error.message) }
    }

    /// Where the broker listens without `--listen` or a config file, and where `--dev` serves
    /// HTTP/JSON beside it.
    static let defaultListen = "127.0.0.1:8443"
    static let defaultDevHTTPListen = "127.0.0.1:8444"

    /// Settings from the config file, then flags on top.
    func brokerConfiguration() throws -> BrokerConfiguration {
        var c: BrokerConfiguration
        if let config {
            c = try Self.checked { () throws(BrokerConfigurationError) in try BrokerConfiguration.load(path: config) }
        } else {
            c = BrokerConfiguration(listen: Self.defaultListen)
        }
        if let listen { c.listen = listen }
        if let httpListen {
            c.httpListen = httpListen == "off" ? nil : httpListen
        } else if store.dev, c.httpListen == nil, nodes == nil {
            // A development broker serves HTTP/JSON too: beside the default address, or on a free port.
            if c.listen == Self.defaultListen {
                c.httpListen = Self.defaultDevHTTPListen
            } else if let listen = try? HostAndPort(parsing: c.listen, what: "listen") {
                c.httpListen = "\(HostAndPort(host: listen.host, port: 0))"
            }
        }
        if tlsCert != nil || tlsKey != nil || clientCA != nil {
            guard let tlsCert, let tlsKey else { throw ValidationError("TLS needs both --tls-cert and --tls-key") }
            c.tls = .init(certificateChain: tlsCert, privateKey: tlsKey, clientCA: clientCA ?? c.tls?.clientCA)
        }
        if let metrics { c.metrics = metrics }
        if let maximumMessageBytes { c.limits.maximumMessageBytes = maximumMessageBytes }
        if let maximumBatchItems { c.limits.maximumBatchItems = maximumBatchItems }
        if let requestsPerSecond { c.limits.requestsPerSecond = requestsPerSecond }
        if let burst { c.limits.burst = burst }
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

    /// The lines tests and docs read: where it listens, metrics, dev credentials, health.
    static func announce(_ listening: RedoubtServer.Listening, configuration: BrokerConfiguration) {
        let security = configuration.tls == nil ? "plaintext" : configuration.tls?.clientCA == nil ? "TLS" : "mutual TLS"
        var lines = ["redoubt broker listening on \(listening.endpoint) (\(security))"]
        if let http = listening.httpEndpoint {
            lines.append("HTTP/JSON API: \(configuration.httpBaseURL(http)) (\(security); GET /openapi.json)")
        }
        let dev = listening.devCredentials
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
