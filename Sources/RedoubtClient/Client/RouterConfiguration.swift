import Foundation
import Logging
import RedoubtCore

/// The HSM nodes a router (``FailoverHSM``) spreads calls over, from a JSON file —
/// what `redoubt serve --nodes FILE` reads to run a broker in front of nodes in several sites:
///
/// ```json
/// {
///   "mode": "priority",
///   "healthCheckInterval": 0.5,
///   "callTimeout": 10,
///   "nodes": [
///     { "name": "east-1", "site": "east", "priority": 0, "endpoint": "10.0.1.10:8443",
///       "tls": { "trustRoots": "/etc/redoubt/nodes-ca.pem", "certificateChain": "/etc/redoubt/broker.pem",
///                "privateKey": "/etc/redoubt/broker.key", "serverHostname": "east-1.hsm.internal" } },
///     { "name": "east-2", "site": "east", "priority": 0, "endpoint": "10.0.1.11:8443", "tls": { … } },
///     { "name": "west-1", "site": "west", "priority": 1, "endpoint": "10.0.2.10:8443", "tls": { … } }
///   ]
/// }
/// ```
///
/// `mode` is `random`, `priority` (lowest number first, failing over in order) or `latency`.
/// Plaintext (no `tls`) is allowed only to loopback addresses, as for ``RemoteHSM``.
public struct RouterConfiguration: Sendable, Codable, Hashable {
    /// One node: where it is, which site it is in, and how much it is preferred.
    public struct Node: Sendable, Codable, Hashable {
        /// A name unique among the nodes (logs and metrics use it).
        public var name: String
        /// The site (data centre) the node is in.
        public var site: String
        /// Lower is preferred in `priority` mode.
        public var priority: Int
        /// `HOST:PORT` of the node's gRPC endpoint.
        public var endpoint: String
        /// TLS to the node; unset: plaintext (loopback only).
        public var tls: TLSFiles?

        /// A node.
        public init(name: String, site: String, priority: Int = 0, endpoint: String, tls: TLSFiles? = nil) {
            self.name = name
            self.site = site
            self.priority = priority
            self.endpoint = endpoint
            self.tls = tls
        }

        /// Decodes a node; `priority` defaults to 0.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            site = try c.decode(String.self, forKey: .site)
            priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? 0
            endpoint = try c.decode(String.self, forKey: .endpoint)
            tls = try c.decodeIfPresent(TLSFiles.self, forKey: .tls)
        }

        private enum CodingKeys: String, CodingKey { case name, site, priority, endpoint, tls }
    }

    /// PEM files for TLS to a node.
    public struct TLSFiles: Sendable, Codable, Hashable {
        /// CA certificates that the node's certificate must chain to; unset: the system's roots.
        public var trustRoots: String?
        /// This broker's certificate chain, for nodes that require mutual TLS.
        public var certificateChain: String?
        /// This broker's private key, with `certificateChain`.
        public var privateKey: String?
        /// The name to verify in the node's certificate; unset: the endpoint's host.
        public var serverHostname: String?

        /// TLS files.
        public init(trustRoots: String? = nil, certificateChain: String? = nil, privateKey: String? = nil, serverHostname: String? = nil) {
            self.trustRoots = trustRoots
            self.certificateChain = certificateChain
            self.privateKey = privateKey
            self.serverHostname = serverHostname
        }
    }

    /// How the router picks a node.
    public var mode: FailoverHSM.Mode
    /// Seconds between health checks of each node.
    public var healthCheckInterval: Double
    /// The longest a call may take, retries included, in seconds.
    public var callTimeout: Double
    /// The nodes.
    public var nodes: [Node]

    /// A configuration; the defaults are `priority` mode, health checks every 0.5 s, 10 s calls.
    public init(mode: FailoverHSM.Mode = .priority, healthCheckInterval: Double = 0.5, callTimeout: Double = 10, nodes: [Node]) {
        self.mode = mode
        self.healthCheckInterval = healthCheckInterval
        self.callTimeout = callTimeout
        self.nodes = nodes
    }

    /// Decodes a configuration; only `nodes` is required.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decodeIfPresent(FailoverHSM.Mode.self, forKey: .mode) ?? .priority
        healthCheckInterval = try c.decodeIfPresent(Double.self, forKey: .healthCheckInterval) ?? 0.5
        callTimeout = try c.decodeIfPresent(Double.self, forKey: .callTimeout) ?? 10
        nodes = try c.decode([Node].self, forKey: .nodes)
    }

    private enum CodingKeys: String, CodingKey { case mode, healthCheckInterval, callTimeout, nodes }

    /// Reads a JSON file; the error names the file and what is wrong.
    public static func load(path: String) throws(BrokerConfigurationError) -> RouterConfiguration {
        let decoded = try JSONSettingsFile.decode(
            RouterConfiguration.self, path: path, kind: "nodes file", what: "a node list",
            badValueHint: " (mode is random, priority or latency)")
        try decoded.validate()
        return decoded
    }

    /// Checks the settings; the message names what is wrong.
    public func validate() throws(BrokerConfigurationError) {
        guard !nodes.isEmpty else { throw .init("nodes must list at least one node") }
        guard nodes.count <= 64 else { throw .init("nodes lists more than 64 nodes") }
        guard healthCheckInterval >= 0.05, healthCheckInterval <= 3600 else { throw .init("healthCheckInterval must be 0.05 to 3600 seconds") }
        guard callTimeout >= 0.01, callTimeout <= 3600 else { throw .init("callTimeout must be 0.01 to 3600 seconds") }
        var names = Set<String>()
        for (i, node) in nodes.enumerated() {
            guard !node.name.isEmpty, node.name.utf8.count <= 64 else { throw .init("nodes[\(i)].name must be 1 to 64 characters") }
            guard names.insert(node.name).inserted else { throw .init("nodes[\(i)].name '\(node.name)' is used twice") }
            guard !node.site.isEmpty, node.site.utf8.count <= 64 else { throw .init("nodes[\(i)].site must be 1 to 64 characters") }
            let address = try HostAndPort(parsing: node.endpoint, what: "nodes[\(i)].endpoint")
            guard address.port != 0 else { throw .init("nodes[\(i)].endpoint needs a port other than 0") }
            if node.tls == nil, !address.isLoopback {
                throw .init("nodes[\(i)] (\(node.name)) has no tls: plaintext to a node is allowed only on a loopback address")
            }
            if let tls = node.tls, (tls.certificateChain == nil) != (tls.privateKey == nil) {
                throw .init("nodes[\(i)].tls needs both certificateChain and privateKey, or neither")
            }
        }
    }

    /// Runs `body` with the router over a ``RemoteHSM`` per node, the clients' connections and
    /// the router's health checks running for exactly as long as `body` does: the scoped form of
    /// ``makeRouter(logger:)`` for tests and apps without a service group.
    @discardableResult
    public func withRouter<Result: Sendable>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation, _ body: (FailoverHSM) async throws -> Result
    ) async throws -> Result {
        let (router, clients) = try makeRouter(logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self, isolation: isolation) { group in
            for client in clients where client.beginRunning() { group.addTask { try await client.runConnections() } }
            // Health checks in the router's own task, which close() ends and awaits, so that no
            // probe is left waiting on a client that has stopped.
            router.start()
            let result: Swift.Result<Result, any Error>
            do { result = .success(try await body(router)) } catch { result = .failure(error) }
            await router.close()
            for client in clients { await client.close() }
            try await group.waitForAll()
            return try result.get()
        }
    }

    /// The router over a ``RemoteHSM`` per node. Nothing runs yet: run the clients and then the
    /// router (all swift-service-lifecycle `Service`s) in a service group, clients first so that
    /// they shut down last — or call each client's ``RemoteHSM/start()`` and the router's
    /// ``FailoverHSM/start()`` — and close them all when done. ``withRouter(logger:isolation:_:)`` does all that.
    public func makeRouter(logger: Logger) throws -> (router: FailoverHSM, clients: [RemoteHSM]) {
        var clients: [RemoteHSM] = []
        var endpoints: [FailoverEndpoint] = []
        for node in nodes {
            let tls = node.tls.map { files in
                RemoteHSMConfiguration.TLS(
                    trustRoots: files.trustRoots.map { .file($0) },
                    clientIdentity: files.certificateChain.flatMap { chain in
                        files.privateKey.map { .init(certificateChain: .file(chain), privateKey: .file($0)) }
                    },
                    serverHostname: files.serverHostname)
            }
            let client = try RemoteHSM(
                configuration: RemoteHSMConfiguration(
                    endpoint: node.endpoint, tls: tls,
                    callTimeout: .milliseconds(Int64(callTimeout * 1000))))
            clients.append(client)
            endpoints.append(FailoverEndpoint(name: node.name, site: node.site, priority: node.priority, hsm: client, probe: client))
        }
        var configuration = FailoverHSM.Configuration.defaults
        configuration.mode = mode
        configuration.healthCheckInterval = .milliseconds(Int64(healthCheckInterval * 1000))
        configuration.callTimeout = .milliseconds(Int64(callTimeout * 1000))
        return (try FailoverHSM(endpoints: endpoints, configuration: configuration, logger: logger), clients)
    }
}
