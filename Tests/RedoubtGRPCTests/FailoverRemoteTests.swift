import Foundation
import Logging
import NIOPosix
import Redoubt
@testable import RedoubtTesting
import RedoubtBroker
import RedoubtStore
import Testing

/// FailoverHSM over RemoteHSMs to real brokers whose nodes share one store; and the broker passing
/// a caller's deadline on to the HSM it serves.
@Suite("FailoverHSM over brokers")
struct FailoverRemoteTests {
    /// A broker over `hsm` on 127.0.0.1 (port 0), running until `stop`.
    struct Served: Sendable {
        let broker: Broker
        let port: Int
        let stop: @Sendable () async -> Void
    }

    static let logger = Logger(label: "redoubt.failover.remote.test", factory: { _ in SwiftLogNoOpLogHandler() })

    static let passphrase = "failover passphrase"

    /// Nodes with cheap password hashing.
    static var nodeConfiguration: LocalHSM.Configuration {
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
        configuration.passphraseScrypt = ScryptParameters(n: 1 << 10)
        return configuration
    }

    /// A temporary store and its first node.
    static func initialized() async throws -> (SQLiteStore, InitializedHSM) {
        let store = try SQLiteStore.temporary()
        do {
            return (store, try await LocalHSM.initialize(store: store, passphrase: passphrase, configuration: nodeConfiguration))
        } catch {
            try? await store.close()
            throw error
        }
    }

    static func serve(_ hsm: any HSM, backups: BackupDestination? = nil) async throws -> Served {
        var limits = BrokerConfiguration.Limits()
        limits.requestsPerSecond = 0
        let broker = try Broker(
            services: BrokerServices(hsm: hsm, backups: backups, logger: logger).services,
            configuration: BrokerConfiguration(listen: "127.0.0.1:0", limits: limits), logger: logger)
        let serving = Task { try await broker.run() }
        let stop: @Sendable () async -> Void = {
            broker.beginGracefulShutdown()
            _ = await serving.result
        }
        do {
            return Served(broker: broker, port: try await broker.listeningPort(), stop: stop)
        } catch {
            serving.cancel()
            await stop()
            throw error
        }
    }

    @Test("two brokers on one store: one stops mid-run, signing goes on with no failed call; its probe says so")
    func brokerStops() async throws {
        let (store, created) = try await Self.initialized()
        let second = try await LocalHSM.open(store: store, unseal: .passphrase(Self.passphrase), configuration: Self.nodeConfiguration)
        let brokers = [try await Self.serve(created.hsm), try await Self.serve(second)]
        let remotes = try brokers.map { try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\($0.port)", callTimeout: .seconds(60))).start() }
        let hsm = try FailoverHSM(
            endpoints: remotes.enumerated().map {
                FailoverEndpoint(name: "broker-\($0.offset)", site: "loopback", hsm: $0.element, probe: $0.element)
            },
            configuration: .init(
                mode: .random, healthCheckInterval: .milliseconds(50), callTimeout: .seconds(120),
                attemptTimeout: .seconds(10)), logger: Self.logger)
        hsm.start()
        do {
            // The first probe also connects, which on a busy machine may take longer than a probe may;
            // these waits are for readiness, not bounds (among every other test, once over 10 s).
            #expect(await eventually(within: 60) { await remotes[0].isServing() })
            #expect(await eventually(within: 60) { await remotes[1].isServing() })
            let fixture = try await HSMFixture.make(hsm, operatorAPIKey: created.operatorAPIKey)
            let token = fixture.alpha.user.token
            let key = try await fixture.generate(KeySpec(algorithm: .p256, label: "through two brokers"))

            var signed = 0
            var failed: [String] = []
            for i in 0..<120 {
                // Broker 0 goes away without warning (the router learns it from failed attempts and its
                // probe); later broker 1 drains (NOT_SERVING) and, the least bad, still gets the calls.
                if i == 40 { await brokers[0].stop() }
                if i == 80 {
                    brokers[1].broker.health.setServing(false)
                    #expect(await remotes[1].isServing() == false)
                }
                do {
                    let signature = try await hsm.sign(token, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
                    #expect(signature.signature.isEmpty == false)
                    signed += 1
                } catch {
                    failed.append("\(error)")
                }
            }
            #expect(signed == 120)
            #expect(failed.isEmpty, "\(failed.prefix(3))")
            #expect(await remotes[0].isServing() == false)
            #expect(await eventually(within: 60) { hsm.endpointStatus().allSatisfy { !$0.healthy } })
            brokers[1].broker.health.setServing(true)
            #expect(await eventually(within: 60) { await remotes[1].isServing() })
            #expect(await eventually(within: 60) { hsm.endpointStatus()[1].healthy })
            // The surviving node verifies what was signed through the router.
            let signature = try await hsm.sign(token, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
            #expect(
                try await remotes[1].verify(
                    token, key: key.id, input: .message(message), signature: signature.signature,
                    scheme: .ecdsa(.sha256), version: nil))
        } catch {
            Issue.record("\(error)")
        }
        await hsm.close()
        for remote in remotes { await remote.close() }
        for broker in brokers { await broker.stop() }
        try await created.hsm.close()
        try await second.close()
        try await store.close()
    }

    @Test("the caller's deadline travels: RemoteHSM sends what is left, the broker hands it to the HSM, expiry is DEADLINE_EXCEEDED")
    func deadlinePropagation() async throws {
        let (store, created) = try await Self.initialized()
        let node = FaultyHSM(created.hsm, name: "node")
        let served = try await Self.serve(node)
        let remote = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(served.port)", callTimeout: .seconds(120))).start()
        do {
            let session = try await remote.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
            // No deadline of the caller's: the broker sees RemoteHSM's own call timeout (120 s; long, for busy machines).
            let own = try #require(node.deadlinesSeen.last ?? nil).timeIntervalSinceNow
            #expect(own > 60 && own <= 120.5, "deadline seen \(own) s away")

            // Far enough that a loaded machine answers in time (a 5 s one expired among every other test).
            let deadline = Date().addingTimeInterval(30)
            _ = try await HSMCallContext.$deadline.withValue(deadline) { try await remote.listPartitions(session.token) }
            let seen = try #require(node.deadlinesSeen.last ?? nil)
            // The broker computes it from grpc-timeout on arrival, so it is late by the transit time.
            #expect(
                seen.timeIntervalSince(deadline) > -0.5 && seen.timeIntervalSince(deadline) < 3,
                "the broker saw \(seen), the caller set \(deadline)")

            node.fault = .slow(.seconds(6))
            let started = Date()
            await expectHSMError(.deadlineExceeded, "deadline exceeded") {
                try await HSMCallContext.$deadline.withValue(Date().addingTimeInterval(0.3)) { try await remote.listPartitions(session.token) }
            }
            #expect(Date().timeIntervalSince(started) < 4, "the node answers only after 6 s")
            // Its own timeout is still UNAVAILABLE (another node may answer in time).
            let hurried = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(served.port)", callTimeout: .milliseconds(300))).start()
            await expectHSMError(.unavailable, "deadline exceeded") { try await hurried.listPartitions(session.token) }
            await hurried.close()
            // A deadline already passed: not sent at all.
            let calls = node.calls()
            await expectHSMError(.deadlineExceeded) {
                try await HSMCallContext.$deadline.withValue(Date().addingTimeInterval(-1)) { try await remote.listPartitions(session.token) }
            }
            #expect(node.calls() == calls)
            node.fault = .none
        } catch {
            Issue.record("\(error)")
        }
        await remote.close()
        await served.stop()
        try await created.hsm.close()
        try await store.close()
    }

    @Test("a broker in front of a node serves CreateBackup: the node writes the file in its own backup folder; bad paths stop at the front")
    func backupThroughRouterBroker() async throws {
        let (store, created) = try await Self.initialized()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-node-backups-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let node = FaultyHSM(created.hsm, name: "node")
        let nodeBroker = try await Self.serve(node, backups: .directory(folder))
        let toNode = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(nodeBroker.port)", callTimeout: .seconds(60))).start()
        let router = try FailoverHSM(
            endpoints: [FailoverEndpoint(name: "node", site: "loopback", hsm: toNode, probe: toNode)],
            logger: Self.logger)
        let front = try await Self.serve(router, backups: .nodes)
        let client = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(front.port)", callTimeout: .seconds(60))).start()
        do {
            let session = try await client.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
            let report = try await client.createBackup(session.token, path: "via-front.rdbk")
            let expected = folder.resolvingSymlinksInPath().appendingPathComponent("via-front.rdbk").path
            #expect(report.path == expected)
            #expect(report.recordCount > 0 && report.byteCount > 0 && report.partition == nil)
            #expect(FileManager.default.fileExists(atPath: expected))
            #expect(node.calls("createBackup") == 1)
            for bad in ["/tmp/escape.rdbk", "../escape.rdbk", "a/../../escape.rdbk"] {
                await expectHSMError(.invalidArgument, "path") { _ = try await client.createBackup(session.token, path: bad) }
            }
            #expect(node.calls("createBackup") == 1, "a refused path never reaches the node")
        } catch {
            Issue.record("\(error)")
        }
        await client.close()
        await front.stop()
        await router.close()
        await toNode.close()
        await nodeBroker.stop()
        try await created.hsm.close()
        try await store.close()
        try? FileManager.default.removeItem(at: folder)
    }

    @Test("a RemoteHSM on its own event-loop group: calls run on it, close() ends them, then the group shuts down")
    func ownEventLoopGroup() async throws {
        let (store, created) = try await Self.initialized()
        let served = try await Self.serve(created.hsm)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let remote = try RemoteHSM(
            configuration: .init(endpoint: "127.0.0.1:\(served.port)", callTimeout: .seconds(60)),
            eventLoopGroup: group
        ).start()
        do {
            let session = try await remote.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
            #expect(try await remote.listPartitions(session.token).isEmpty)
        } catch {
            Issue.record("\(error)")
        }
        await remote.close()
        await expectHSMError(.unavailable) { try await remote.listPartitions(SessionToken("closed")) }
        try await group.shutdownGracefully()
        await served.stop()
        try await created.hsm.close()
        try await store.close()
    }
}
