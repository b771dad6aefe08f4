import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import Redoubt
import RedoubtBroker

extension ServeCommand {
    /// `redoubt serve --nodes FILE`: the broker in front of HSM nodes, through a ``FailoverHSM``
    /// over a ``RemoteHSM`` per node. No local store: the nodes share theirs.
    func serveRouter(nodesFile: String, configuration: BrokerConfiguration, logger: Logger) async throws {
        if store.dev { throw ValidationError("--dev initialises a local store; a broker with --nodes has none (start the nodes with --dev)") }
        if configuration.backupSchedule != nil {
            throw ValidationError("scheduled backups run on a node over its store, not on a broker with --nodes")
        }
        let nodes = try Self.checked { () throws(BrokerConfigurationError) in try RouterConfiguration.load(path: nodesFile) }
        var routerLogger = Logger(label: "redoubt.router")
        routerLogger.logLevel = logger.logLevel
        let (router, clients) = try nodes.makeRouter(logger: routerLogger)
        let services = BrokerServices(hsm: router, limits: configuration.limits.serviceLimits, backups: .nodes, logger: logger)
        let broker = try Self.checked { () throws(BrokerConfigurationError) in
            try Broker(services: services.services, configuration: configuration, logger: logger)
        }
        // The router's health checks and the broker in one service group (the broker shuts down
        // first); SIGTERM/SIGINT begin a graceful shutdown, a second signal exits at once.
        let group = ServiceGroup(configuration: .init(services: [.init(service: router), .init(service: broker)], logger: logger))
        let signals = Self.onTerminationSignals { Task { await group.triggerGracefulShutdown() } }
        defer { signals.forEach { $0.cancel() } }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                // Node states into the broker's metrics, twice a second.
                while !Task.isCancelled {
                    broker.metrics.recordRouter(router.endpointStatus())
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
            tasks.addTask {
                let port = try await broker.listeningPort()
                let endpoint = HostAndPort(host: (try? HostAndPort(parsing: configuration.listen, what: "listen").host) ?? "127.0.0.1", port: port)
                Self.announce(endpoint: endpoint, configuration: configuration, dev: nil)
                print("routing (\(nodes.mode.rawValue)) over \(nodes.nodes.map { "\($0.name)@\($0.site)" }.joined(separator: ", "))")
                fflush(nil)
            }
            try await group.run()
            tasks.cancelAll()
            while let result = await tasks.nextResult() {
                if case .failure(let error) = result, !(error is CancellationError) { throw error }
            }
        }
        await router.close()
        for client in clients { await client.close() }
        logger.info("stopped")
    }
}
