import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RedoubtBroker
import RedoubtProto
import Testing

/// The server shell over real HTTP/2 on loopback: addresses, TLS and mutual TLS, health,
/// metrics, graceful shutdown. (The redoubt.v1 services over it are tested elsewhere.)
@Suite("Broker server")
struct BrokerServerTests {
    static let logger = Logger(label: "test.broker")

    /// Runs a broker with `services` while `body` runs, then shuts it down gracefully.
    static func withBroker<T: Sendable>(
        _ configuration: BrokerConfiguration, services: [any RegistrableRPCService] = [],
        _ body: @Sendable (Broker, Int) async throws -> T
    ) async throws -> T {
        let broker = try Broker(services: services, configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await broker.run()
                return nil
            }
            let port = try await broker.listeningPort()
            do {
                let result = try await body(broker, port)
                broker.beginGracefulShutdown()
                while let next = try await group.next() { _ = next }
                return result
            } catch {
                broker.beginGracefulShutdown()
                group.cancelAll()
                throw error
            }
        }
    }

    static func check<Transport: ClientTransport>(_ transport: Transport, service: String = "") async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus
    {
        try await withGRPCClient(transport: transport) { client in
            var request = Grpc_Health_V1_HealthCheckRequest()
            request.service = service
            return try await Grpc_Health_V1_Health.Client(wrapping: client)
                .check(
                    request,
                    options: {
                        var o = CallOptions.defaults
                        o.timeout = .seconds(30)
                        return o
                    }()
                ).status  // generous: CI machines are busy
        }
    }

    @Test("plaintext is refused off loopback; bad addresses and limits are named")
    func addressChecks() throws {
        let refusals: [(BrokerConfiguration, String)] = [
            (BrokerConfiguration(listen: "0.0.0.0:8443"), "without TLS"),
            (BrokerConfiguration(listen: "10.1.2.3:8443"), "without TLS"),
            (BrokerConfiguration(listen: "127.0.0.1"), "HOST:PORT"),
            (BrokerConfiguration(listen: "127.0.0.1:70000"), "port of 0 to 65535"),
            (
                BrokerConfiguration(
                    listen: "127.0.0.1:1",
                    limits: {
                        var l = BrokerConfiguration.Limits()
                        l.maximumBatchItems = 0
                        return l
                    }()), "maximumBatchItems"
            ),
            (
                BrokerConfiguration(listen: "[::1]:1", tls: .init(certificateChain: "/nonexistent.pem", privateKey: "/nonexistent.key")),
                "cannot read /nonexistent.pem"
            ),
        ]
        for (configuration, expected) in refusals {
            let error = #expect(throws: BrokerConfigurationError.self) {
                _ = try Broker(services: [], configuration: configuration, logger: Self.logger)
            }
            #expect(error?.message.contains(expected) == true, "\(configuration.listen): \(error?.message ?? "no error")")
        }
        #expect(try BrokerConfiguration(listen: "[::1]:0").validatedAddress() == HostAndPort(host: "::1", port: 0))
        #expect(try BrokerConfiguration(listen: "localhost:0").validatedAddress().isLoopback)
    }

    @Test("a config file gives the same settings as flags; missing keys keep defaults; errors name the problem")
    func configFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.json").path
        try
            #"{"listen": "127.0.0.1:9000", "metrics": "127.0.0.1:9100", "tls": {"certificateChain": "a.pem", "privateKey": "a.key", "clientCA": "ca.pem"}, "limits": {"maximumBatchItems": 50}}"#
            .write(toFile: good, atomically: true, encoding: .utf8)
        let c = try BrokerConfiguration.load(path: good)
        #expect(c.listen == "127.0.0.1:9000")
        #expect(c.metrics == "127.0.0.1:9100")
        #expect(c.tls == .init(certificateChain: "a.pem", privateKey: "a.key", clientCA: "ca.pem"))
        #expect(c.limits.maximumBatchItems == 50)
        #expect(c.limits.maximumMessageBytes == BrokerConfiguration.Limits.defaults.maximumMessageBytes)
        #expect(c.limits.effectiveBurst == 2 * BrokerConfiguration.Limits.defaults.requestsPerSecond)

        // A rate alone sizes the bucket (twice the rate); an explicit burst is kept.
        for (limits, rate, burst) in [(#"{"requestsPerSecond": 20}"#, 20.0, 40.0), (#"{"requestsPerSecond": 20, "burst": 5}"#, 20, 5)] {
            try #"{"listen": "127.0.0.1:9000", "limits": \#(limits)}"#.write(toFile: good, atomically: true, encoding: .utf8)
            let limited = try BrokerConfiguration.load(path: good).limits
            #expect(limited.requestsPerSecond == rate && limited.effectiveBurst == burst, "\(limits)")
        }

        let bad = dir.appendingPathComponent("bad.json").path
        for (text, expected) in [(#"{"metrics": "x"}"#, "missing \"listen\""), (#"{"listen": 5}"#, "wrong type at listen"), ("not json", "not valid JSON")] {
            try text.write(toFile: bad, atomically: true, encoding: .utf8)
            let error = #expect(throws: BrokerConfigurationError.self) { _ = try BrokerConfiguration.load(path: bad) }
            #expect(error?.message.contains(expected) == true, "\(text): \(error?.message ?? "")")
        }
        let missing = #expect(throws: BrokerConfigurationError.self) { _ = try BrokerConfiguration.load(path: dir.appendingPathComponent("none.json").path) }
        #expect(missing?.message.contains("cannot read config file") == true)
    }

    @Test("health answers over plaintext loopback, for the server and known services only; metrics count it")
    func healthAndMetrics() async throws {
        let configuration = BrokerConfiguration(listen: "127.0.0.1:0", metrics: "127.0.0.1:0")
        try await Self.withBroker(configuration) { broker, port in
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            #expect(try await Self.check(transport) == .serving)
            #expect(broker.health.isServing)
            let unknown = await #expect(throws: RPCError.self) {
                _ = try await Self.check(
                    try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext),
                    service: "no.such.Service")
            }
            #expect(unknown?.code == .notFound)

            let metricsPort = try #require(broker.metricsPort)
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.contains(#"redoubt_rpc_calls_total{method="grpc.health.v1.Health/Check",code="ok"} 1"#), "\(text)")
            #expect(text.contains(#"redoubt_rpc_calls_total{method="grpc.health.v1.Health/Check",code="notFound"} 1"#), "\(text)")
            #expect(text.contains("redoubt_rpc_duration_seconds_bucket"))
            let (_, notFound) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/other")!)
            #expect((notFound as? HTTPURLResponse)?.statusCode == 404)
        }
    }

    @Test("TLS: a client trusting the CA connects; one trusting another CA does not")
    func serverTLS() async throws {
        let tls = try TLSFixtures.make()
        defer { tls.remove() }
        let configuration = BrokerConfiguration(listen: "127.0.0.1:0", tls: .init(certificateChain: tls.server.certificatePath, privateKey: tls.server.keyPath))
        try await Self.withBroker(configuration) { _, port in
            let trusting = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: "127.0.0.1", port: port),
                transportSecurity: .tls { $0.trustRoots = .certificates([.bytes(Array(tls.caPEM.utf8), format: .pem)]) })
            #expect(try await Self.check(trusting) == .serving)

            let distrusting = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: "127.0.0.1", port: port),
                transportSecurity: .tls { $0.trustRoots = .certificates([.bytes(Array(tls.rogueClient.certificatePEM.utf8), format: .pem)]) })
            let error = await #expect(throws: RPCError.self) { _ = try await Self.check(distrusting) }
            #expect(error?.code == .unavailable)

            let plaintext = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            let plainError = await #expect(throws: RPCError.self) { _ = try await Self.check(plaintext) }
            #expect(plainError?.code == .unavailable)
        }
    }

    @Test("mutual TLS: the CA's client certificate connects; none, a rogue CA's or an expired one is refused")
    func mutualTLS() async throws {
        let tls = try TLSFixtures.make()
        defer { tls.remove() }
        let configuration = BrokerConfiguration(
            listen: "127.0.0.1:0",
            tls: .init(
                certificateChain: tls.server.certificatePath,
                privateKey: tls.server.keyPath, clientCA: tls.caPath))
        try await Self.withBroker(configuration) { (_: Broker, port: Int) async throws -> Void in
            func transport(_ identity: TLSFixtures.Identity?) throws -> HTTP2ClientTransport.Posix {
                let trust: TLSConfig.TrustRootsSource = .certificates([.bytes(Array(tls.caPEM.utf8), format: .pem)])
                guard let identity else {
                    return try HTTP2ClientTransport.Posix(
                        target: .ipv4(address: "127.0.0.1", port: port),
                        transportSecurity: .tls { $0.trustRoots = trust })
                }
                return try HTTP2ClientTransport.Posix(
                    target: .ipv4(address: "127.0.0.1", port: port),
                    transportSecurity: .mTLS(
                        certificateChain: [.bytes(Array(identity.certificatePEM.utf8), format: .pem)],
                        privateKey: .bytes(Array(identity.keyPEM.utf8), format: .pem)
                    ) { $0.trustRoots = trust })
            }
            #expect(try await Self.check(try transport(tls.client)) == .serving)
            for (name, identity) in [("no certificate", nil), ("rogue CA", tls.rogueClient), ("expired", tls.expiredClient)]
                as [(String, TLSFixtures.Identity?)]
            {
                let error = await #expect(throws: RPCError.self, "\(name)") { _ = try await Self.check(try transport(identity)) }
                #expect(error?.code == .unavailable, "\(name)")
            }
        }
    }

    @Test("graceful shutdown: health reports NOT_SERVING to watchers, then run() returns")
    func gracefulShutdown() async throws {
        let broker = try Broker(services: [], configuration: BrokerConfiguration(listen: "127.0.0.1:0"), logger: Self.logger)
        async let serving: Void = broker.run()
        let port = try await broker.listeningPort()
        let statuses = try await withGRPCClient(
            transport: try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        ) { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).watch(Grpc_Health_V1_HealthCheckRequest()) { response in
                var seen: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
                for try await message in response.messages {
                    seen.append(message.status)
                    if seen.count == 1 { broker.beginGracefulShutdown() }
                }
                return seen
            }
        }
        #expect(statuses == [.serving, .notServing])
        try await serving
        #expect(!broker.health.isServing)
    }

    @Test("listeningPort() always ends: shut down before run, the port taken, or the waiter cancelled")
    func listeningPortEnds() async throws {
        // Shut down before it ran: run() returns at once and the port never comes.
        let early = try Broker(services: [], configuration: BrokerConfiguration(listen: "127.0.0.1:0"), logger: Self.logger)
        early.beginGracefulShutdown()
        try await early.run()
        await #expect(throws: BrokerConfigurationError.self) { try await early.listeningPort() }

        // The port is taken: run() and listeningPort() both fail with the transport's error.
        try await Self.withBroker(BrokerConfiguration(listen: "127.0.0.1:0")) { _, port in
            let second = try Broker(services: [], configuration: BrokerConfiguration(listen: "127.0.0.1:\(port)"), logger: Self.logger)
            await #expect(throws: (any Error).self) { try await second.run() }
            await #expect(throws: (any Error).self) { try await second.listeningPort() }
        }

        // Nobody runs it: a waiter is released by its own cancellation.
        let idle = try Broker(services: [], configuration: BrokerConfiguration(listen: "127.0.0.1:0"), logger: Self.logger)
        let waiting = Task { try await idle.listeningPort() }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }

        // Shut down while binding: it binds, then stops; run() returns.
        let racing = try Broker(services: [], configuration: BrokerConfiguration(listen: "127.0.0.1:0"), logger: Self.logger)
        async let served: Void = racing.run()
        racing.beginGracefulShutdown()
        try await served
        #expect(!racing.health.isServing)
    }

    @Test("a request over the message-size limit resets the stream; the broker counts it as resourceExhausted, never internalError")
    func oversizedRequest() async throws {
        var limits = BrokerConfiguration.Limits()
        limits.maximumMessageBytes = 64 * 1024
        limits.maximumPayloadBytes = 32 * 1024
        let configuration = BrokerConfiguration(listen: "127.0.0.1:0", limits: limits)
        try await Self.withBroker(configuration) { broker, port in
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            // grpc-swift's transport refuses the message before any handler and resets the stream
            // (RST_STREAM CANCEL): what the client sees is that reset, not a status
            // (OperatingTheBroker.md, "Limits").
            let refused = await #expect(throws: RPCError.self) {
                _ = try await Self.check(transport, service: String(repeating: "x", count: 200 * 1024))
            }
            #expect(refused?.message.contains("RST_STREAM") == true, "\(String(describing: refused))")
            // The broker still answers, and counted the refusal as the client's, not as its own fault.
            #expect(
                try await Self.check(try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) == .serving
            )
            let text = broker.metrics.prometheusText()
            #expect(text.contains(#"redoubt_rpc_calls_total{method="grpc.health.v1.Health/Check",code="resourceExhausted"} 1"#), "\(text)")
            #expect(!text.contains(#"code="internalError""#) && !text.contains(#"code="unknown""#), "\(text)")
        }
    }
}
