import ArgumentParser
import Foundation
import RedoubtBroker

extension ServeCommand {
    /// `redoubt serve --nodes FILE`: the broker in front of HSM nodes, through a ``FailoverHSM``
    /// over a ``RemoteHSM`` per node. No local store: the nodes share theirs.
    func routerBackend(nodesFile: String, configuration: BrokerConfiguration) throws -> RedoubtServer.Backend {
        if store.dev { throw ValidationError("--dev initialises a local store; a broker with --nodes has none (start the nodes with --dev)") }
        if configuration.backupSchedule != nil {
            throw ValidationError("scheduled backups run on a node over its store, not on a broker with --nodes")
        }
        return .router(try Self.checked { () throws(BrokerConfigurationError) in try RouterConfiguration.load(path: nodesFile) })
    }

    /// The line after the announcement in router mode: the mode and the nodes.
    static func announceRouting(_ nodes: RouterConfiguration) {
        print("routing (\(nodes.mode.rawValue)) over \(nodes.nodes.map { "\($0.name)@\($0.site)" }.joined(separator: ", "))")
        fflush(nil)
    }
}
