import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Redoubt
import RedoubtGRPC

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
        let services = BrokerServices(hsm: router, limits: configuration.limits.serviceLimits, logger: logger)
        let broker = try Self.checked { () throws(BrokerConfigurationError) in
            try Broker(services: services.services, configuration: configuration, logger: logger)
        }
        let signals = Self.onTerminationSignals { broker.beginGracefulShutdown() }
        defer { signals.forEach { $0.cancel() } }
        router.start()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Node states into the broker's metrics, twice a second.
                while !Task.isCancelled {
                    broker.metrics.recordRouter(router.endpointStatus())
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
            group.addTask {
                let port = try await broker.listeningPort()
                let endpoint = HostAndPort(host: (try? HostAndPort(parsing: configuration.listen, what: "listen").host) ?? "127.0.0.1", port: port)
                Self.announce(endpoint: endpoint, configuration: configuration, dev: nil)
                print("routing (\(nodes.mode.rawValue)) over \(nodes.nodes.map { "\($0.name)@\($0.site)" }.joined(separator: ", "))")
                fflush(nil)
            }
            try await broker.run()
            group.cancelAll()
            while let result = await group.nextResult() {
                if case .failure(let error) = result, !(error is CancellationError) { throw error }
            }
        }
        await router.close()
        for client in clients { await client.close() }
        logger.info("stopped")
    }
}
