import Foundation
import GRPCCore
import Logging
import Redoubt
@testable import RedoubtTesting
import RedoubtBroker
import RedoubtStore
import ServiceLifecycle
import Testing

/// ``RemoteHSM`` through the broker as deployed: ``Broker`` over ``BrokerServices`` over a
/// LocalHSM on a temporary SQLite store, HTTP/2 on 127.0.0.1 (port 0).
enum RemoteHSMSupport {
    /// A broker over a fresh LocalHSM, listening; `tls` adds TLS (mutual when `mutual`).
    struct Served: Sendable {
        let hsm: LocalHSM
        let operatorAPIKey: String
        let port: Int
        let stop: @Sendable () async -> Void
    }

    static func serve(tls: TLSFixtures? = nil, mutual: Bool = false) async throws -> Served {
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
        configuration.passphraseScrypt = ScryptParameters(n: 1 << 10)
        let store = try SQLiteStore.temporary()
        let created: InitializedHSM
        do {
            created = try await LocalHSM.initialize(store: store, passphrase: "remote behaviour passphrase", configuration: configuration)
        } catch {
            try? await store.close()
            throw error
        }
        let logger = Logger(label: "redoubt.remote.test")
        var limits = BrokerConfiguration.Limits()
        limits.requestsPerSecond = 0
        let broker: Broker
        do {
            broker = try Broker(
                services: BrokerServices(hsm: created.hsm, logger: logger).services,
                configuration: BrokerConfiguration(
                    listen: "127.0.0.1:0",
                    tls: tls.map {
                        .init(
                            certificateChain: $0.server.certificatePath, privateKey: $0.server.keyPath,
                            clientCA: mutual ? $0.caPath : nil)
                    },
                    limits: limits),
                logger: logger)
        } catch {
            try? await created.hsm.close()
            try? await store.close()
            throw error
        }
        let serving = Task { try await broker.run() }
        let stop: @Sendable () async -> Void = {
            broker.beginGracefulShutdown()
            _ = await serving.result
            try? await created.hsm.close()
            try? await store.close()
        }
        do {
            let port = try await broker.listeningPort()
            return Served(hsm: created.hsm, operatorAPIKey: created.operatorAPIKey, port: port, stop: stop)
        } catch {
            serving.cancel()
            await stop()
            throw error
        }
    }

    /// The behaviour suite's environment: a RemoteHSM (plaintext, loopback) to a fresh broker.
    static func environment() async throws -> HSMBehaviour.Environment {
        let served = try await serve()
        let remote: RemoteHSM
        do {
            remote = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(served.port)")).start()
        } catch {
            await served.stop()
            throw error
        }
        return HSMBehaviour.Environment(hsm: remote, operatorAPIKey: served.operatorAPIKey) {
            await remote.close()
            await served.stop()
        }
    }
}

/// The implementation-independent suite against ``RemoteHSM``: every case must pass as it does
/// on LocalHSM, errors (codes and messages) included.
@Suite("RemoteHSM behaviour")
struct RemoteHSMBehaviourTests {
    /// Cases where RemoteHSM still answers otherwise than LocalHSM, by case name, with the one
    /// issue expected (any other issue in the case still fails it, and so does the difference
    /// going away, so this list cannot go stale).
    static let knownDifferences: [String: (reason: String, issue: @Sendable (Issue) -> Bool)] = [:]

    @Test(arguments: HSMBehaviour.cases)
    func behaviour(_ testCase: HSMBehaviour.Case) async throws {
        let suite = HSMBehaviour { try await RemoteHSMSupport.environment() }
        if let known = Self.knownDifferences[testCase.name] {
            try await withKnownIssue(Comment(rawValue: known.reason)) {
                try await testCase.run(suite)
            } matching: {
                known.issue($0)
            }
        } else {
            try await testCase.run(suite)
        }
    }
}

/// RemoteHSM's own concerns: configuration, deadlines, TLS and mutual TLS.
@Suite("RemoteHSM transport")
struct RemoteHSMTransportTests {
    @Test("unusable configurations are refused with the setting named")
    func configuration() throws {
        let refusals: [(RemoteHSMConfiguration, String)] = [
            (.init(endpoint: "10.1.2.3:8443"), "without TLS"),
            (.init(endpoint: "hsm.example.net:8443"), "without TLS"),
            (.init(endpoint: "127.0.0.1"), "HOST:PORT"),
            (.init(endpoint: "127.0.0.1:0"), "port"),
            (.init(endpoint: "127.0.0.1:8443", callTimeout: .zero), "callTimeout"),
            (.init(endpoint: "10.1.2.3:8443", tls: .init(trustRoots: .file("/nonexistent/ca.pem"))), "cannot read /nonexistent/ca.pem"),
            (.init(endpoint: "10.1.2.3:8443", tls: .init(trustRoots: .bytes(Data("not PEM".utf8)))), "tls"),
        ]
        for (configuration, fragment) in refusals {
            let error = #expect(throws: HSMError.self) { _ = try RemoteHSM(configuration: configuration) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(fragment) == true, "\(configuration.endpoint): \(error?.message ?? "no error")")
        }
    }

    @Test("a call past its deadline fails UNAVAILABLE; nothing reachable fails UNAVAILABLE; a closed client too")
    func deadlinesAndFailures() async throws {
        let served = try await RemoteHSMSupport.serve()
        do {
            let hurried = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(served.port)", callTimeout: .nanoseconds(1))).start()
            await expectHSMError(.unavailable, "deadline exceeded") {
                try await hurried.openSession(partition: "", credential: .apiKey(served.operatorAPIKey))
            }
            await hurried.close()

            let remote = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(served.port)")).start()
            let session = try await remote.openSession(partition: "", credential: .apiKey(served.operatorAPIKey))
            #expect(session.role == .operator)
            await remote.close()
            await expectHSMError(.unavailable) { try await remote.listPartitions(session.token) }
        } catch {
            await served.stop()
            throw error
        }
        let port = served.port
        await served.stop()
        try await withRemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(port)", callTimeout: .seconds(2))) { orphan in
            await expectHSMError(.unavailable) { try await orphan.openSession(partition: "", credential: .apiKey("rdk1.c.s")) }
        }
    }

    @Test("its lifecycle: withRemoteHSM scopes the connection, run() is a Service that graceful shutdown ends, and nobody running it is named")
    func lifecycle() async throws {
        let served = try await RemoteHSMSupport.serve()
        do {
            let configuration = RemoteHSMConfiguration(endpoint: "127.0.0.1:\(served.port)")
            // Scoped: the connection runs for the closure, and the closure's result comes back.
            let role = try await withRemoteHSM(configuration: configuration) { hsm in
                try await hsm.openSession(partition: "", credential: .apiKey(served.operatorAPIKey)).role
            }
            #expect(role == .operator)

            // A Service in a service group: calls work while it runs; graceful shutdown ends run().
            let remote = try RemoteHSM(configuration: configuration)
            let group = ServiceGroup(configuration: .init(services: [.init(service: remote)], logger: Logger(label: "test")))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let session = try await remote.openSession(partition: "", credential: .apiKey(served.operatorAPIKey))
                #expect(session.role == .operator)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await expectHSMError(.unavailable) { try await remote.openSession(partition: "", credential: .apiKey(served.operatorAPIKey)) }

            // Creating one starts nothing: a call on a client nobody runs waits out its deadline and says why.
            var hurried = configuration
            hurried.callTimeout = .milliseconds(200)
            let idle = try RemoteHSM(configuration: hurried)
            await expectHSMError(.unavailable, "not running") { try await idle.openSession(partition: "", credential: .apiKey(served.operatorAPIKey)) }
            await idle.close()
        } catch {
            await served.stop()
            throw error
        }
        await served.stop()
    }

    @Test("over TLS: the broker's certificate is checked against the trust roots given")
    func tls() async throws {
        let tls = try TLSFixtures.make()
        defer { tls.remove() }
        let served = try await RemoteHSMSupport.serve(tls: tls)
        do {
            let remote = try RemoteHSM(
                configuration: .init(
                    endpoint: "127.0.0.1:\(served.port)",
                    tls: .init(trustRoots: .bytes(Data(tls.caPEM.utf8))))
            ).start()
            let op = try await remote.openSession(partition: "", credential: .apiKey(served.operatorAPIKey))
            let created = try await remote.createPartition(op.token, id: "tls", settings: .defaults)
            let officer = try await remote.openSession(partition: "tls", credential: .apiKey(created.securityOfficerAPIKey))
            let user = try await remote.addUser(officer.token, name: "signer", role: .cryptoUser, password: nil)
            let session = try await remote.openSession(partition: "tls", credential: .apiKey(user.apiKey))
            let key = try await remote.generateKey(session.token, spec: KeySpec(algorithm: .p256, label: "over tls"))
            let signature = try await remote.sign(session.token, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
            #expect(
                try await remote.verify(
                    session.token, key: key.id, input: .message(message), signature: signature.signature,
                    scheme: .ecdsa(.sha256), version: signature.version))
            await remote.close()

            // Another CA's roots (here, the system's) do not trust the broker; plaintext cannot talk to it.
            for configuration in [
                RemoteHSMConfiguration(endpoint: "127.0.0.1:\(served.port)", tls: .init(), callTimeout: .seconds(5)),
                RemoteHSMConfiguration(endpoint: "127.0.0.1:\(served.port)", callTimeout: .seconds(5)),
            ] {
                let stranger = try RemoteHSM(configuration: configuration).start()
                await expectHSMError(.unavailable) { try await stranger.openSession(partition: "", credential: .apiKey(served.operatorAPIKey)) }
                await stranger.close()
            }
        } catch {
            await served.stop()
            throw error
        }
        await served.stop()
    }

    @Test("over mutual TLS: a registered client certificate opens its user's session; an unregistered one is UNAUTHENTICATED")
    func mutualTLS() async throws {
        let tls = try TLSFixtures.make()
        defer { tls.remove() }
        let served = try await RemoteHSMSupport.serve(tls: tls, mutual: true)
        do {
            let remote = try RemoteHSM(
                configuration: .init(
                    endpoint: "127.0.0.1:\(served.port)",
                    tls: .init(
                        trustRoots: .file(tls.caPath),
                        clientIdentity: .init(certificateChain: .file(tls.client.certificatePath), privateKey: .file(tls.client.keyPath)),
                        serverHostname: "localhost"))
            ).start()
            let op = try await remote.openSession(partition: "", credential: .apiKey(served.operatorAPIKey))
            let created = try await remote.createPartition(op.token, id: "mtls", settings: .defaults)
            _ = try await remote.createPartition(op.token, id: "other", settings: .defaults)
            let officer = try await remote.openSession(partition: "mtls", credential: .apiKey(created.securityOfficerAPIKey))

            // No user has this certificate yet.
            await expectHSMError(.unauthenticated, "invalid credentials") {
                try await remote.openSession(partition: "mtls", credential: .clientCertificate(sha256: tls.client.sha256))
            }
            let plain = try await remote.addUser(officer.token, name: "no-certificate", role: .cryptoUser, password: nil)
            #expect(plain.user.hasClientCertificate == false)
            await expectHSMError(.unauthenticated, "invalid credentials") {
                try await remote.openSession(partition: "mtls", credential: .clientCertificate(sha256: tls.client.sha256))
            }

            let service = try await remote.addUser(
                officer.token, name: "payments-service", role: .cryptoUser, password: nil,
                clientCertificateSHA256: tls.client.sha256)
            #expect(service.user.hasClientCertificate)
            let session = try await remote.openSession(partition: "mtls", credential: .clientCertificate(sha256: tls.client.sha256))
            #expect(session.user == service.user.id)
            #expect(session.role == .cryptoUser)
            #expect(session.partition == "mtls")
            #expect(try await remote.random(session.token, count: 16).count == 16)
            // The certificate belongs to a user of one partition only.
            await expectHSMError(.unauthenticated, "invalid credentials") {
                try await remote.openSession(partition: "other", credential: .clientCertificate(sha256: tls.client.sha256))
            }
            await remote.close()
        } catch {
            await served.stop()
            throw error
        }
        await served.stop()
    }
}
