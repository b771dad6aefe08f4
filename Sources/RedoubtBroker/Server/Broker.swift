import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import Synchronization

/// The transaction-security broker: serves `redoubt.v1` services (see ``BrokerServices``) and
/// the standard health service over real gRPC (HTTP/2, TLS or mutual TLS), with one interceptor
/// that rate limits, counts and logs every call, and an optional Prometheus endpoint.
///
/// ```swift
/// let broker = try Broker(services: BrokerServices(hsm: hsm, logger: logger).services,
///                         configuration: BrokerConfiguration(listen: "127.0.0.1:0"), logger: logger)
/// async let serving: Void = broker.run()
/// let port = try await broker.listeningPort()
/// …
/// broker.beginGracefulShutdown()   // stop accepting, finish calls in flight
/// try await serving
/// ```
public final class Broker: Sendable {
    /// The settings it runs with.
    public let configuration: BrokerConfiguration
    /// Its metrics (also served on ``BrokerConfiguration/metrics`` when set).
    public let metrics: BrokerMetrics
    /// What the health service reports.
    public let health: HealthStatus
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let address: HostAndPort
    private let logger: Logger
    private let metricsEndpoint = AsyncBox<MetricsEndpoint>()

    /// Prepares a broker; nothing listens until ``run()``.
    ///
    /// - Parameters:
    ///   - services: The gRPC services to serve (the health service is added).
    ///   - configuration: Where it listens, TLS, limits and the metrics endpoint.
    ///   - logger: Where it logs.
    ///   - clock: The clock the rate limiter refills on and call latencies are measured on;
    ///     `ContinuousClock` unless a test passes one it moves by hand (`RedoubtTesting.ManualClock`).
    /// - Throws: ``BrokerConfigurationError`` when the address, TLS files or limits are unusable
    ///   (a non-loopback address without TLS, for one).
    public init(
        services: [any RegistrableRPCService], configuration: BrokerConfiguration, logger: Logger,
        clock: some Clock<Duration> = ContinuousClock()
    ) throws(BrokerConfigurationError) {
        let address = try configuration.validatedAddress()
        self.configuration = configuration
        self.address = address
        self.logger = logger
        self.metrics = BrokerMetrics()

        var names = Set<String>()
        var router = RPCRouter<HTTP2ServerTransport.Posix>()
        for service in services { service.registerMethods(with: &router) }
        for method in router.methods { names.insert(method.service.fullyQualifiedService) }
        let health = HealthStatus(services: names)
        self.health = health

        let security = try Self.transportSecurity(configuration.tls)
        let limits = configuration.limits
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.rpc.maxRequestPayloadSize = limits.maximumMessageBytes
        config.http2.maxConcurrentStreams = limits.maximumConcurrentStreams
        config.connection.maxIdleTime = .milliseconds(Int64(limits.connectionIdleTimeout * 1000))
        let socket: GRPCNIOTransportCore.SocketAddress =
            address.isIPv6
            ? .ipv6(host: address.host, port: address.port) : .ipv4(host: address.host, port: address.port)
        let observer = CallObserver(
            limiter: RateLimiter(rate: limits.requestsPerSecond, burst: limits.effectiveBurst, clock: clock),
            metrics: metrics, logger: logger)
        server = GRPCServer(
            transport: .http2NIOPosix(address: socket, transportSecurity: security, config: config),
            services: services + [HealthService(status: health)],
            interceptors: [observer])
    }

    private static func transportSecurity(_ tls: BrokerConfiguration.TLSFiles?) throws(BrokerConfigurationError) -> HTTP2ServerTransport.Posix.TransportSecurity
    {
        guard let tls else { return .plaintext }
        for (what, path) in [("--tls-cert", tls.certificateChain), ("--tls-key", tls.privateKey), ("--client-ca", tls.clientCA)] {
            guard let path else { continue }
            guard FileManager.default.isReadableFile(atPath: path) else { throw .init("\(what): cannot read \(path)") }
        }
        let chain: [TLSConfig.CertificateSource] = [.file(path: tls.certificateChain, format: .pem)]
        let key: TLSConfig.PrivateKeySource = .file(path: tls.privateKey, format: .pem)
        guard let ca = tls.clientCA else { return .tls(certificateChain: chain, privateKey: key) }
        return .mTLS(certificateChain: chain, privateKey: key) { config in
            config.trustRoots = .certificates([.file(path: ca, format: .pem)])
            // Clients are identified by their certificate, not by a host name.
            config.clientCertificateVerification = .noHostnameVerification
        }
    }

    /// Serves until ``beginGracefulShutdown()`` — or the graceful shutdown of the service group
    /// it runs in (it is a swift-service-lifecycle `Service`) — has let every call in flight finish.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await serve()
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
    }

    private func serve() async throws {
        if let metricsAddress = configuration.metrics {
            let m = try HostAndPort(parsing: metricsAddress, what: "metrics")
            let endpoint = try await MetricsEndpoint.start(host: m.host, port: m.port, metrics: metrics)
            metricsEndpoint.set(endpoint)
            logger.info("metrics endpoint listening", metadata: ["net.address": "\(m.host):\(endpoint.port ?? m.port)"])
        }
        defer {
            let endpoint = metricsEndpoint.value
            Task { await endpoint?.close() }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.server.serve() }
            group.addTask {
                if let port = try? await self.listeningPort() {
                    self.health.setServing(true)
                    self.logger.info(
                        "broker listening",
                        metadata: [
                            "net.address": "\(HostAndPort(host: self.address.host, port: port))",
                            "tls": "\(self.configuration.tls == nil ? "off" : (self.configuration.tls?.clientCA == nil ? "on" : "mutual"))",
                        ])
                }
            }
            try await group.waitForAll()
        }
    }

    /// The port it listens on, once listening (useful with port 0).
    public func listeningPort() async throws -> Int {
        let address = try await server.listeningAddress
        guard let port = address?.ipv4?.port ?? address?.ipv6?.port else {
            throw BrokerConfigurationError("the broker is not listening on an IP address")
        }
        return port
    }

    /// The port of the metrics endpoint, once it listens.
    public var metricsPort: Int? { metricsEndpoint.value?.port }

    /// Stops accepting connections and calls, reports NOT_SERVING, lets calls in flight finish;
    /// ``run()`` then returns.
    public func beginGracefulShutdown() {
        logger.info("shutting down: no new calls; finishing calls in flight")
        health.setServing(false)
        health.finishWatches()
        server.beginGracefulShutdown()
    }
}

/// A value set once, read from anywhere.
final class AsyncBox<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)
    var value: Value? { storage.withLock { $0 } }
    func set(_ value: Value) { storage.withLock { $0 = value } }
}

extension Broker: Service {}
