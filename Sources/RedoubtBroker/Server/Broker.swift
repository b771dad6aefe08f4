import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RedoubtProto
import RedoubtStore
import ServiceLifecycle
import Synchronization

/// The transaction-security broker: serves `redoubt.v1` services (see ``BrokerServices``) and
/// the standard health and server reflection services over real gRPC (HTTP/2, TLS or mutual TLS), with one interceptor
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
    /// The HTTP/JSON listener, when ``BrokerConfiguration/httpListen`` is set.
    private let http: HTTPDoor?
    private let address: HostAndPort
    private let logger: Logger
    private let metricsEndpoint = AsyncBox<MetricsEndpoint>()
    /// The port bound, or why the broker never listened.
    private let bound = Settlement<Int>()
    private let phase = Mutex(BrokerPhase.idle)

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
            services: services + [HealthService(status: health)] + Self.reflection(serving: names),
            interceptors: [observer])
        http = try configuration.validatedHTTPAddress().map { (address) throws(BrokerConfigurationError) in
            try HTTPDoor(
                address: address, tls: configuration.tls, services: services, interceptors: [observer],
                maximumBodyBytes: limits.maximumMessageBytes, logger: logger)
        }
    }

    /// The reflection services (v1 and v1alpha), telling of `serving`, the health service and themselves.
    private static func reflection(serving: Set<String>) -> [any RegistrableRPCService] {
        let index = ReflectionIndex(
            services: Array(serving) + [
                Grpc_Health_V1_Health.descriptor.fullyQualifiedService,
                Grpc_Reflection_V1_ServerReflection.descriptor.fullyQualifiedService,
                Grpc_Reflection_V1alpha_ServerReflection.descriptor.fullyQualifiedService,
            ])
        return [ReflectionService(index: index), ReflectionServiceV1Alpha(index: index)]
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
    /// A broker runs once; one shut down before it ran returns at once.
    public func run() async throws {
        let start = phase.withLock { phase -> Bool in
            guard case .idle = phase else { return false }
            phase = .starting(shutdownRequested: false)
            return true
        }
        guard start else {
            bound.settle(.failure(BrokerConfigurationError("the broker was shut down before it listened, or it ran already")))
            return
        }
        try await withGracefulShutdownHandler {
            try await serve()
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
    }

    private func serve() async throws {
        var endpoint: MetricsEndpoint?
        do {
            if let metricsAddress = configuration.metrics {
                let m = try HostAndPort(parsing: metricsAddress, what: "metrics")
                let started = try await MetricsEndpoint.start(host: m.host, port: m.port, metrics: metrics)
                endpoint = started
                metricsEndpoint.set(started)
                logger.info("metrics endpoint listening", metadata: ["net.address": "\(m.host):\(started.port ?? m.port)"])
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.server.serve() }
                group.addTask { await self.awaitListening() }
                if let http = self.http { group.addTask { try await http.run() } }
                try await group.waitForAll()
            }
        } catch {
            phase.withLock { $0 = .stopped }
            bound.settle(.failure(error))
            await endpoint?.close()
            throw error
        }
        phase.withLock { $0 = .stopped }
        bound.settle(.failure(BrokerConfigurationError("the broker stopped before it listened")))
        await endpoint?.close()
    }

    /// Waits for the transport to bind (or to give up), then reports SERVING and publishes the port
    /// — or, when a graceful shutdown came while it was binding, begins it now.
    ///
    /// The transport's address resolves when it binds or when its `listen` ends, never on
    /// cancellation: the server is therefore only told to shut down once it has entered `serve()`
    /// and bound, since a gRPC server told before `serve()` refuses to listen and leaves that
    /// address unresolved.
    private func awaitListening() async {
        let result: Result<Int, any Error>
        do {
            let address = try await server.listeningAddress
            if let port = address?.ipv4?.port ?? address?.ipv6?.port {
                result = .success(port)
            } else {
                result = .failure(BrokerConfigurationError("the broker is not listening on an IP address"))
            }
        } catch {
            result = .failure(error)
        }
        let shutDown = phase.withLock { phase -> Bool in
            guard case .starting(let requested) = phase else { return false }
            phase = .listening
            return requested
        }
        guard case .success(let port) = result else {
            bound.settle(result)
            return
        }
        if shutDown {
            bound.settle(.failure(BrokerConfigurationError("the broker was shut down before it listened")))
            server.beginGracefulShutdown()
            return
        }
        health.setServing(true)
        bound.settle(.success(port))
        logger.info(
            "broker listening",
            metadata: [
                "net.address": "\(HostAndPort(host: address.host, port: port))",
                "tls": "\(configuration.tls == nil ? "off" : (configuration.tls?.clientCA == nil ? "on" : "mutual"))",
            ])
    }

    /// The port it listens on, once listening (useful with port 0).
    ///
    /// - Throws: why it never listened — the transport's error (the port is taken, say), or
    ///   ``BrokerConfigurationError`` when it was shut down before it listened; `CancellationError`
    ///   when the calling task is cancelled first (a broker nobody runs never listens).
    public func listeningPort() async throws -> Int {
        try await bound.value()
    }

    /// The port of the HTTP/JSON listener (``BrokerConfiguration/httpListen``), once it listens.
    ///
    /// - Throws: why it never listened; ``BrokerConfigurationError`` when the broker has no
    ///   HTTP/JSON listener.
    public func httpListeningPort() async throws -> Int {
        guard let http else { throw BrokerConfigurationError("the broker has no HTTP listener (set httpListen, --http-listen)") }
        return try await http.bound.value()
    }

    /// The port of the metrics endpoint, once it listens.
    public var metricsPort: Int? { metricsEndpoint.value?.port }

    /// Stops accepting connections and calls, reports NOT_SERVING, lets calls in flight finish;
    /// ``run()`` then returns. Before ``run()``, it makes `run()` return at once; while the
    /// transport binds, it takes effect as soon as it has bound.
    public func beginGracefulShutdown() {
        logger.info("shutting down: no new calls; finishing calls in flight")
        health.setServing(false)
        health.finishWatches()
        enum Next { case nothing, stopServer, neverListens }
        let next = phase.withLock { phase -> Next in
            switch phase {
            case .idle:
                phase = .stopped
                return .neverListens
            case .starting:
                phase = .starting(shutdownRequested: true)
                return .nothing
            case .listening:
                return .stopServer
            case .stopped:
                return .nothing
            }
        }
        switch next {
        case .nothing: break
        case .neverListens: bound.settle(.failure(BrokerConfigurationError("the broker was shut down before it listened")))
        case .stopServer: server.beginGracefulShutdown()
        }
        http?.beginGracefulShutdown()
    }
}

/// Where a ``Broker`` stands between `init` and the end of ``Broker/run()``.
private enum BrokerPhase {
    case idle
    /// `run()` has begun and the transport is binding; a graceful shutdown asked for meanwhile
    /// waits for the bind (see `Broker.awaitListening`).
    case starting(shutdownRequested: Bool)
    case listening
    case stopped
}

/// A value set once, read from anywhere.
final class AsyncBox<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)
    var value: Value? { storage.withLock { $0 } }
    func set(_ value: Value) { storage.withLock { $0 = value } }
}

extension Broker: Service {}
