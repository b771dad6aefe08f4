import Foundation
import Logging
import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// Three (or more) LocalHSM nodes on one temporary SQLite store, each behind a ``FaultyHSM``.
///
/// The nodes read the store's change counter on every call and commit key-use audit records at
/// once, so that a call routed to any node sees what another node just wrote (the suite reads its
/// writes back through whichever node the router picks).
struct FailoverCluster: Sendable {
    let store: SQLiteStore
    let locals: [LocalHSM]
    let nodes: [FaultyHSM]
    let operatorAPIKey: String

    static func make(nodes count: Int = 3) async throws -> FailoverCluster {
        let configuration = LocalHSMSupport.configuration {
            $0.cacheRefreshInterval = 0
            $0.auditBatchSize = 1
        }
        let store = try SQLiteStore.temporary()
        do {
            let created = try await LocalHSM.initialize(store: store, passphrase: LocalHSMSupport.passphrase, configuration: configuration)
            var locals = [created.hsm]
            for _ in 1..<count {
                locals.append(try await LocalHSM.open(store: store, unseal: .passphrase(LocalHSMSupport.passphrase), configuration: configuration))
            }
            let nodes = locals.enumerated().map { FaultyHSM($0.element, name: "node-\($0.offset)") }
            return FailoverCluster(store: store, locals: locals, nodes: nodes, operatorAPIKey: created.operatorAPIKey)
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// Endpoints over the nodes: `site(i)` and `priority(i)` by index; every node its own probe.
    func endpoints(site: (Int) -> String = { _ in "local" }, priority: (Int) -> Int = { _ in 0 }) -> [FailoverEndpoint] {
        nodes.enumerated().map { i, node in
            FailoverEndpoint(name: node.name, site: site(i), priority: priority(i), hsm: node, probe: node)
        }
    }

    func shutdown() async {
        for hsm in locals { try? await hsm.close() }
        try? await store.close()
    }

    /// Runs `body` with a cluster and a fixture made through `router(cluster)`, shutting down after.
    static func withFixture(
        nodes count: Int = 3, router: (FailoverCluster) throws -> FailoverHSM,
        _ body: (FailoverCluster, FailoverHSM, HSMFixture) async throws -> Void
    ) async throws {
        let cluster = try await make(nodes: count)
        do {
            let failover = try router(cluster)
            let fixture = try await HSMFixture.make(failover, operatorAPIKey: cluster.operatorAPIKey)
            for node in cluster.nodes { node.resetCounts() }
            try await body(cluster, failover, fixture)
            await failover.close()
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
    }
}

/// A logger that says nothing (routing tests fail nodes on purpose).
let quietLogger = Logger(label: "redoubt.failover.test", factory: { _ in SwiftLogNoOpLogHandler() })
