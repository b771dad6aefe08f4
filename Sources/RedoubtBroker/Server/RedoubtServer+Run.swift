import Foundation
import Logging
import Redoubt
import RedoubtStore
import ServiceLifecycle
import Synchronization

extension RedoubtServer {
    /// A broker over a `LocalHSM` on `location`; `development` is the dev data directory.
    func runStore(location: StoreLocation, development: String?, unseal: UnsealMethod) async throws {
        let (hsm, objectStore, credentials) = try await openOrInitialise(location: location, development: development, unseal: unseal)
        do {
            let broker = configuration.broker
            var backups: BackupDestination?
            if let directory = configuration.backupDirectory {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                backups = .directory(URL(fileURLWithPath: directory, isDirectory: true))
            }
            let services = BrokerServices(hsm: hsm, limits: broker.limits.serviceLimits, backups: backups, logger: logger)
            let server = try makeBroker(services.services, broker)
            // The HSM's audit flusher, the backup scheduler and the broker, shut down gracefully in
            // reverse order: the broker finishes its calls first, the last audit records are flushed last.
            var running: [any Service] = [hsm]
            if let schedule = broker.backupSchedule {
                running.append(BackupScheduler(writer: hsm, schedule: schedule, metrics: server.metrics, logger: logger, clock: clock))
                logger.notice(
                    "scheduled backups",
                    metadata: [
                        "directory": "\(schedule.directory)", "interval_s": "\(schedule.interval)", "retain": "\(schedule.retain)",
                    ])
            }
            running.append(server)
            try await serve(running, broker: server, credentials: credentials)
        } catch {
            try? await hsm.close()
            try? await objectStore.close()
            throw error
        }
        try await hsm.close()
        try await objectStore.close()
    }

    /// A broker in front of nodes: a `FailoverHSM` over a `RemoteHSM` per node.
    func runRouter(_ nodes: RouterConfiguration) async throws {
        var routerLogger = Logger(label: "redoubt.router")
        routerLogger.logLevel = logger.logLevel
        let (router, clients) = try nodes.makeRouter(logger: routerLogger)
        do {
            let services = BrokerServices(hsm: router, limits: configuration.broker.limits.serviceLimits, backups: .nodes, logger: logger)
            let broker = try makeBroker(services.services, configuration.broker)
            // Every scrape reads the node states as they are then.
            broker.metrics.refreshOnScrape { $0.recordRouter(router.endpointStatus()) }
            // The node clients' connections, the router's health checks and the broker (shut
            // down in reverse: the broker first, the connections last).
            let running: [any Service] = clients + [router, broker]
            try await serve(running, broker: broker, credentials: nil)
        } catch {
            await router.close()
            for client in clients { await client.close() }
            throw error
        }
        await router.close()
        for client in clients { await client.close() }
    }

    /// Runs `services` in one service group (which follows the graceful shutdown of the group this
    /// server runs in) and publishes where `broker` listens once it does.
    private func serve(_ services: [any Service], broker: Broker, credentials: DevCredentials?) async throws {
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        let listen = configuration.broker.listen
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                do {
                    let port = try await broker.listeningPort()
                    let host = (try? HostAndPort(parsing: listen, what: "listen").host) ?? "127.0.0.1"
                    let endpoint = HostAndPort(host: host, port: port)
                    var httpEndpoint: HostAndPort?
                    if let address = try self.configuration.broker.validatedHTTPAddress() {
                        httpEndpoint = HostAndPort(host: address.host, port: try await broker.httpListeningPort())
                    }
                    let written = try credentials?.writing(
                        endpoint: "\(endpoint)", httpEndpoint: httpEndpoint.map(self.configuration.broker.httpBaseURL))
                    self.published(
                        Listening(endpoint: endpoint, httpEndpoint: httpEndpoint, metricsPort: broker.metricsPort, devCredentials: written))
                } catch is CancellationError {
                    return
                } catch {
                    // Without its endpoint recorded, nobody can find the broker: stop it.
                    await group.triggerGracefulShutdown()
                    throw error
                }
            }
            let outcome: Result<Void, any Error>
            do {
                try await group.run()
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            tasks.cancelAll()
            var failure: (any Error)?
            while let result = await tasks.nextResult() {
                if case .failure(let error) = result, !(error is CancellationError) { failure = failure ?? error }
            }
            try outcome.get()
            if let failure { throw failure }
        }
    }

    /// Opens the store; in development mode, initialises it first if it is new.
    ///
    /// With PostgreSQL the development directory still holds the dev key and credentials: a
    /// directory without a dev key initialises the database, one with it opens the database (so
    /// several dev brokers given the same directory share one PostgreSQL store).
    private func openOrInitialise(
        location: StoreLocation, development directory: String?, unseal: UnsealMethod
    ) async throws -> (LocalHSM, any ObjectStore, DevCredentials?) {
        // The HSM's warnings (an issuer's keys that cannot be had, audit bookkeeping) go where
        // the server's logs go, through its handler, at warning and above.
        var hsmLogger = logger
        hsmLogger.logLevel = max(logger.logLevel, .warning)
        guard let directory else {
            guard location.mayExist else { throw BrokerConfigurationError("no store at \(location): initialise it first (`redoubt init`)") }
            let objectStore = try await location.open()
            do {
                let hsm = try await LocalHSM.open(
                    store: objectStore, unseal: unseal, configuration: configuration.localHSM, logger: hsmLogger)
                return (hsm, objectStore, nil)
            } catch {
                try? await objectStore.close()
                throw error
            }
        }
        let keyFile = directory + "/dev-unseal.key"
        let fresh =
            switch location {
            case .sqlite(let path): !FileManager.default.fileExists(atPath: path)
            case .postgres: !FileManager.default.fileExists(atPath: keyFile)
            }
        if fresh {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let objectStore = try await location.open()
        do {
            if fresh {
                let created: InitializedHSM
                do {
                    created = try await LocalHSM.initialize(
                        store: objectStore, passphrase: nil, devKeyFile: keyFile, configuration: configuration.localHSM, logger: hsmLogger)
                } catch let error as HSMError where error.code == .alreadyExists {
                    // A store initialised through another data directory: this one has no dev key for it.
                    throw BrokerConfigurationError(
                        "\(location) is already initialised, and \(directory) has no dev key for it: pass the --data directory it was initialised with")
                }
                let credentials = try await DevCredentials.create(hsm: created.hsm, operatorAPIKey: created.operatorAPIKey, directory: directory)
                logger.notice("initialised a development store", metadata: ["redoubt.data": "\(directory)", "redoubt.store": "\(location)"])
                return (created.hsm, objectStore, credentials)
            }
            let hsm = try await LocalHSM.open(
                store: objectStore, unseal: unseal, configuration: configuration.localHSM, logger: hsmLogger)
            do {
                // The endpoint is filled in once listening.
                let credentials = try DevCredentials.load(directory: directory).writing(endpoint: "")
                return (hsm, objectStore, credentials)
            } catch {
                try? await hsm.close()
                throw error
            }
        } catch {
            try? await objectStore.close()
            throw error
        }
    }
}
