import Foundation
import GRPCCore
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import RedoubtStore
import ServiceLifecycle

/// The HTTP/JSON listener of a ``Broker`` (``BrokerConfiguration/httpListen``): a Hummingbird
/// application running the ``HTTPGateway``, and the `GRPCServer` over an ``HTTPCallTransport``
/// that serves its calls with the broker's services and interceptor.
struct HTTPDoor: Sendable {
    let server: GRPCServer<HTTPCallTransport>
    let application: Application<RouterResponder<GatewayContext>>
    /// The port bound, once bound.
    let bound: Settlement<Int>
    private let logger: Logger

    init(
        address: HostAndPort, tls: BrokerConfiguration.TLSFiles?, services: [any RegistrableRPCService],
        interceptors: [any ServerInterceptor], maximumBodyBytes: Int, logger: Logger
    ) throws(BrokerConfigurationError) {
        let transport = HTTPCallTransport(localPeer: HTTPCallTransport.peer(host: address.host, port: address.port, isIPv6: address.isIPv6))
        server = GRPCServer(transport: transport, services: services, interceptors: interceptors)
        let gateway = HTTPGateway(transport: transport, maximumBodyBytes: maximumBodyBytes, readsClientCertificates: tls?.clientCA != nil)
        let bound = Settlement<Int>()
        self.logger = logger
        self.bound = bound
        let builder: HTTPServerBuilder
        if let tls {
            do {
                builder = try .tls(.http1(), tlsConfiguration: Self.tlsConfiguration(tls))
            } catch {
                throw BrokerConfigurationError("--http-listen: cannot use the TLS files: \(error)")
            }
        } else {
            builder = .http1()
        }
        var httpLogger = logger
        httpLogger.logLevel = max(logger.logLevel, .notice)
        application = Application(
            router: gateway.router(), server: builder,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                if let port = channel.localAddress?.port {
                    bound.settle(.success(port))
                } else {
                    bound.settle(.failure(BrokerConfigurationError("the HTTP listener is not on an IP address")))
                }
            },
            logger: httpLogger)
    }

    /// The server's TLS: the broker's certificate and key; with a client CA, client certificates
    /// are required and must chain to it (as on the gRPC listener).
    static func tlsConfiguration(_ files: BrokerConfiguration.TLSFiles) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        if let ca = files.clientCA {
            configuration.trustRoots = .file(ca)
            configuration.certificateVerification = .noHostnameVerification
        }
        return configuration
    }

    /// Serves until ``beginGracefulShutdown()`` has let the calls in flight finish; then the
    /// listener shuts down gracefully too. A listener that cannot bind ends the run with its error.
    func run() async throws {
        let listener = ServiceGroup(configuration: .init(services: [application], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await listener.run()
                } catch {
                    bound.settle(.failure(error))
                    server.beginGracefulShutdown()
                    throw error
                }
            }
            try await server.serve()
            // Calls in flight have finished: stop listening.
            await listener.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        bound.settle(.failure(BrokerConfigurationError("the HTTP listener stopped before it listened")))
    }

    func beginGracefulShutdown() {
        server.beginGracefulShutdown()
    }
}
