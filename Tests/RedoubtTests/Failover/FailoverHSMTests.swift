import Foundation
import Redoubt
@testable import RedoubtTesting
import Testing

/// FailoverHSM over three LocalHSMs sharing one store, each behind a fault-injecting wrapper.
@Suite("FailoverHSM routing")
struct FailoverHSMTests {
    static let signing = SignatureScheme.ecdsa(.sha256)

    @Test("no endpoints, repeated or empty names, unusable settings are refused")
    func refusals() async throws {
        let cluster = try await FailoverCluster.make(nodes: 1)
        defer { Task { await cluster.shutdown() } }
        let node = cluster.nodes[0]
        #expect(throws: HSMError(.invalidArgument, "a FailoverHSM needs at least one endpoint")) { _ = try FailoverHSM(endpoints: []) }
        let twice = [FailoverEndpoint(name: "a", site: "x", hsm: node), FailoverEndpoint(name: "a", site: "y", hsm: node)]
        let repeated = #expect(throws: HSMError.self) { _ = try FailoverHSM(endpoints: twice) }
        #expect(repeated?.message.contains("'a' appears twice") == true)
        #expect(throws: HSMError.self) { _ = try FailoverHSM(endpoints: [FailoverEndpoint(name: "", site: "x", hsm: node)]) }
        for (configuration, setting) in [
            (FailoverHSM.Configuration(maxAttempts: 0), "maxAttempts"),
            (FailoverHSM.Configuration(callTimeout: .zero), "callTimeout"),
            (FailoverHSM.Configuration(retryBudgetRatio: -1), "retryBudgetRatio"),
            (FailoverHSM.Configuration(ejectionBaseDuration: .seconds(60)), "maxEjection"),
        ] {
            let error = #expect(throws: HSMError.self) {
                _ = try FailoverHSM(endpoints: [FailoverEndpoint(name: "a", site: "x", hsm: node)], configuration: configuration)
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(setting) == true, "\(error?.message ?? "no error")")
        }
    }

    @Test("a safe operation fails over: a node down costs the caller no error")
    func safeFailover() async throws {
        let configuration = FailoverHSM.Configuration(mode: .priority, ejectionBaseDuration: .seconds(60), maxEjection: .seconds(60))
        try await FailoverCluster.withFixture(router: {
            try FailoverHSM(endpoints: $0.endpoints(priority: { $0 }), configuration: configuration, logger: quietLogger)
        }) { cluster, hsm, f in
            let key = try await f.generate(KeySpec(algorithm: .p256, label: "failover"))
            for node in cluster.nodes { node.resetCounts() }
            cluster.nodes[0].fault = .down
            for _ in 0..<30 {
                let signature = try await hsm.sign(f.alpha.user.token, key: key.id, input: .message(message), scheme: Self.signing)
                #expect(
                    try await hsm.verify(
                        f.alpha.user.token, key: key.id, input: .message(message), signature: signature.signature,
                        scheme: Self.signing, version: nil))
            }
            // The preferred node was tried (sign, verify, sign) until ejected; the next in priority answered.
            #expect(cluster.nodes[0].calls() == 3)
            #expect(cluster.nodes[1].calls("sign") == 30 && cluster.nodes[1].calls("verify") == 30)
            #expect(cluster.nodes[2].calls() == 0)
            let status = hsm.endpointStatus()
            #expect(status[0].ejected && status[0].failures == 3 && status[0].consecutiveFailures == 3)
            #expect(!status[1].ejected && status[1].failures == 0 && status[1].requests == 60)
        }
    }

    @Test("an unsafe operation is attempted exactly once and its error surfaces; answers are never retried")
    func unsafeOnce() async throws {
        let configuration = FailoverHSM.Configuration(mode: .priority, ejectAfterConsecutiveFailures: 1000)
        try await FailoverCluster.withFixture(router: {
            try FailoverHSM(endpoints: $0.endpoints(priority: { $0 }), configuration: configuration, logger: quietLogger)
        }) { cluster, hsm, f in
            let key = try await f.generate(KeySpec(algorithm: .p256, label: "unsafe"))
            for node in cluster.nodes { node.resetCounts() }
            cluster.nodes[0].fault = .down
            let blocked = await expectHSMError(.unavailable, "node-0 is down") { try await hsm.blockKey(f.alpha.officer.token, id: key.id) }
            #expect(blocked != nil)
            await expectHSMError(.unavailable, "node-0 is down") {
                try await hsm.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .p256, label: "no request id"))
            }
            await expectHSMError(.unavailable) { try await hsm.addUser(f.alpha.officer.token, name: "dave", role: .cryptoUser, password: nil) }
            #expect(cluster.nodes.map { $0.calls("blockKey") } == [1, 0, 0])
            #expect(cluster.nodes.map { $0.calls("generateKey") } == [1, 0, 0])
            #expect(cluster.nodes.map { $0.calls("addUser") } == [1, 0, 0])
            #expect(try await hsm.getKey(f.alpha.user.token, id: key.id).state == .active)

            // An answer (here NOT_FOUND and PERMISSION_DENIED) is the endpoint's word: not retried.
            cluster.nodes[0].fault = .none
            for node in cluster.nodes { node.resetCounts() }
            await expectHSMError(.notFound) { try await hsm.getKey(f.alpha.user.token, id: unknownKeyID()) }
            await expectHSMError(.permissionDenied) { try await hsm.listPartitions(f.alpha.user.token) }
            #expect(cluster.nodes.map { $0.calls() } == [2, 0, 0])
        }
    }

    @Test("a create with a request id whose first answer is lost is retried and makes exactly one key")
    func lostResponse() async throws {
        try await FailoverCluster.withFixture(router: {
            try FailoverHSM(endpoints: $0.endpoints(priority: { $0 }), configuration: .init(mode: .priority), logger: quietLogger)
        }) { cluster, hsm, f in
            let before = try await f.listedIDs()
            cluster.nodes[0].fault = .responseLost
            let key = try await hsm.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .p256, label: "once", requestID: "req-42"))
            #expect(cluster.nodes.map { $0.calls("generateKey") } == [1, 1, 0])
            cluster.nodes[0].fault = .none
            let after = try await f.listedIDs()
            #expect(after.subtracting(before) == [key.id])
            #expect(try await hsm.listKeys(f.alpha.user.token, filter: KeyFilter(limit: 1000)).filter { $0.label == "once" }.count == 1)

            // Without a request id the create is not repeated: the error surfaces, the one key exists.
            cluster.nodes[0].fault = .responseLost
            await expectHSMError(.unavailable, "lost the response") {
                try await hsm.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .p256, label: "unacknowledged"))
            }
            cluster.nodes[0].fault = .none
            #expect(try await hsm.listKeys(f.alpha.user.token, filter: KeyFilter(limit: 1000)).filter { $0.label == "unacknowledged" }.count == 1)
            #expect(cluster.nodes.map { $0.calls("generateKey") } == [2, 1, 0])
        }
    }

    @Test("N transport failures eject a node; it is re-admitted after the backoff once its probe serves again")
    func ejectionAndReadmission() async throws {
        let clock = TestClock()
        var configuration = FailoverHSM.Configuration(
            mode: .priority, healthCheckInterval: .milliseconds(20),
            ejectAfterConsecutiveFailures: 3, ejectionBaseDuration: .milliseconds(800),
            maxEjection: .seconds(5))
        configuration.clock = { clock.now }
        try await FailoverCluster.withFixture(router: {
            try FailoverHSM(endpoints: $0.endpoints(priority: { $0 }), configuration: configuration, logger: quietLogger)
        }) { cluster, hsm, f in
            hsm.start()
            hsm.start()  // idempotent
            let token = f.alpha.user.token
            let node = cluster.nodes[0]
            node.fault = .down  // the probe still says serving: passive detection must catch it
            for i in 1...2 {
                _ = try await hsm.random(token, count: 8)
                #expect(hsm.endpointStatus()[0].consecutiveFailures == i)
                #expect(!hsm.endpointStatus()[0].ejected)
            }
            var before = clock.now
            _ = try await hsm.random(token, count: 8)
            let ejected = hsm.endpointStatus()[0]
            #expect(ejected.ejected && abs((ejected.ejectedUntil?.timeIntervalSince(before) ?? 0) - 0.8) < 0.001)
            // Recovered, but the probe says not serving: the backoff passes and it stays out.
            node.serving = false
            node.fault = .none
            for _ in 0..<5 { _ = try await hsm.random(token, count: 8) }
            #expect(node.calls("random") == 3)
            #expect(await eventually { !hsm.endpointStatus()[0].healthy })
            clock.advance(by: 1)  // the backoff (0.8 s) has passed
            _ = try await hsm.random(token, count: 8)
            #expect(node.calls("random") == 3)
            #expect(hsm.endpointStatus()[0].ejected)

            // The probe serves again: re-admitted, and preferred again.
            node.serving = true
            #expect(await eventually { !hsm.endpointStatus()[0].ejected && hsm.endpointStatus()[0].healthy })
            _ = try await hsm.random(token, count: 8)
            #expect(node.calls("random") == 4)
            #expect(hsm.endpointStatus()[0].consecutiveFailures == 0)

            // A second ejection lasts twice as long.
            node.fault = .down
            before = clock.now
            for _ in 0..<3 { _ = try await hsm.random(token, count: 8) }
            let again = hsm.endpointStatus()[0]
            let until = try #require(again.ejectedUntil)
            #expect(
                again.ejected && abs(until.timeIntervalSince(before) - 1.6) < 0.001, "second ejection ends \(until.timeIntervalSince(before)) s after it began")
            await hsm.close()
        }
    }

    @Test("without a probe an ejected node is re-admitted on trial after the backoff; a failed trial ejects it again")
    func trialReadmission() async throws {
        let clock = TestClock()
        var configuration = FailoverHSM.Configuration(
            mode: .priority, ejectAfterConsecutiveFailures: 2,
            ejectionBaseDuration: .milliseconds(100), maxEjection: .seconds(5))
        configuration.clock = { clock.now }
        try await FailoverCluster.withFixture(router: { cluster in
            let endpoints = cluster.nodes.enumerated().map { FailoverEndpoint(name: $1.name, site: "s", priority: $0, hsm: $1) }
            return try FailoverHSM(endpoints: endpoints, configuration: configuration, logger: quietLogger)
        }) { cluster, hsm, f in
            let token = f.alpha.user.token
            cluster.nodes[0].fault = .down
            for _ in 0..<2 { _ = try await hsm.random(token, count: 8) }
            #expect(hsm.endpointStatus()[0].ejected)
            #expect(cluster.nodes[0].calls("random") == 2)
            _ = try await hsm.random(token, count: 8)  // still ejected: the next node answers
            #expect(cluster.nodes[0].calls("random") == 2)
            clock.advance(by: 0.15)  // the backoff (0.1 s) has passed
            let before = clock.now
            _ = try await hsm.random(token, count: 8)  // the trial fails: ejected again, for twice as long
            #expect(cluster.nodes[0].calls("random") == 3)
            let until = try #require(hsm.endpointStatus()[0].ejectedUntil)
            #expect(abs(until.timeIntervalSince(before) - 0.2) < 0.001, "ends \(until.timeIntervalSince(before)) s after the trial")
            cluster.nodes[0].fault = .none
            clock.advance(by: 0.25)
            _ = try await hsm.random(token, count: 8)  // the trial succeeds: back in rotation
            #expect(cluster.nodes[0].calls("random") == 4)
            #expect(!hsm.endpointStatus()[0].ejected)
        }
    }

    @Test("priority mode: the lowest number first; on failure, the next priority, another site first")
    func priorityAndSites() async throws {
        // a: site A, priority 0; b: site A, priority 1; c: site B, priority 1; d: site C, priority 2.
        let sites = ["A", "A", "B", "C"], priorities = [0, 1, 1, 2]
        let configuration = FailoverHSM.Configuration(mode: .priority, ejectAfterConsecutiveFailures: 1000, maxAttempts: 4)
        try await FailoverCluster.withFixture(
            nodes: 4,
            router: {
                try FailoverHSM(
                    endpoints: $0.endpoints(site: { sites[$0] }, priority: { priorities[$0] }),
                    configuration: configuration, logger: quietLogger)
            }
        ) { cluster, hsm, f in
            let token = f.alpha.user.token
            let nodes = cluster.nodes
            func count() -> [Int] { nodes.map { $0.calls("random") } }
            for _ in 0..<10 { _ = try await hsm.random(token, count: 8) }
            #expect(count() == [10, 0, 0, 0])
            nodes[0].fault = .down
            for _ in 0..<10 { _ = try await hsm.random(token, count: 8) }
            #expect(count() == [20, 0, 10, 0], "after a (site A) fails, c (site B) before b (site A)")
            nodes[2].fault = .down
            for _ in 0..<10 { _ = try await hsm.random(token, count: 8) }
            #expect(count() == [30, 10, 20, 0])
            nodes[1].fault = .down
            for _ in 0..<10 { _ = try await hsm.random(token, count: 8) }
            #expect(count() == [40, 20, 30, 10])
        }
    }

    @Test("latency mode prefers the fast endpoint")
    func latencyMode() async throws {
        try await FailoverCluster.withFixture(router: {
            try FailoverHSM(endpoints: $0.endpoints(), logger: quietLogger)
        }) { cluster, _, f in
            // A fresh router: nothing measured yet.
            let hsm = try FailoverHSM(endpoints: cluster.endpoints(), configuration: .init(mode: .latency), logger: quietLogger)
            // Far slower than a loaded machine makes the fast one look.
            cluster.nodes[0].fault = .slow(.milliseconds(400))
            cluster.nodes[1].fault = .slow(.milliseconds(400))
            for _ in 0..<60 { _ = try await hsm.random(f.alpha.user.token, count: 8) }
            let counts = cluster.nodes.map { $0.calls("random") }
            #expect(counts[2] >= 40, "calls per node: \(counts)")
            #expect(counts[0] >= 1 && counts[1] >= 1, "every node measured: \(counts)")
            let status = hsm.endpointStatus()
            let fast = try #require(status[2].latency), slow = try #require(status[0].latency)
            #expect(fast < slow)
        }
    }

    @Test("random mode spreads calls over the healthy nodes and skips one whose probe says not serving")
    func randomMode() async throws {
        try await FailoverCluster.withFixture(router: {
            try FailoverHSM(
                endpoints: $0.endpoints(), configuration: .init(mode: .random, healthCheckInterval: .milliseconds(20)),
                logger: quietLogger)
        }) { cluster, hsm, f in
            for _ in 0..<60 { _ = try await hsm.random(f.alpha.user.token, count: 8) }
            #expect(cluster.nodes.allSatisfy { $0.calls("random") >= 5 }, "\(cluster.nodes.map { $0.calls("random") })")
            hsm.start()
            cluster.nodes[1].serving = false
            #expect(await eventually { !hsm.endpointStatus()[1].healthy })
            cluster.nodes[1].resetCounts()
            for _ in 0..<30 { _ = try await hsm.random(f.alpha.user.token, count: 8) }
            #expect(cluster.nodes[1].calls() == 0)
            // Every node out of rotation: the least bad is still tried, rather than failing.
            for node in cluster.nodes { node.serving = false }
            #expect(await eventually { hsm.endpointStatus().allSatisfy { !$0.healthy } })
            #expect(try await hsm.random(f.alpha.user.token, count: 8).count == 8)
            await hsm.close()
        }
    }

    @Test("the retry budget stops a retry storm")
    func retryBudget() async throws {
        try await FailoverCluster.withFixture(router: {
            try FailoverHSM(endpoints: $0.endpoints(), logger: quietLogger)
        }) { cluster, _, f in
            // A fresh router (no requests in its window yet): 20 % of 100 requests + 1 per second over 10 s.
            let configuration = FailoverHSM.Configuration(
                mode: .random, ejectAfterConsecutiveFailures: 1000,
                retryBudgetRatio: 0.2, minRetriesPerSecond: 1, maxAttempts: 3)
            let hsm = try FailoverHSM(endpoints: cluster.endpoints(), configuration: configuration, logger: quietLogger)
            for node in cluster.nodes { node.fault = .down }
            var exhausted = 0
            for _ in 0..<100 {
                let error = await expectHSMError(.unavailable) { try await hsm.random(f.alpha.user.token, count: 8) }
                if error?.message.hasPrefix("retry budget exhausted; last error: UNAVAILABLE: node-") == true { exhausted += 1 }
            }
            let attempts = cluster.nodes.map { $0.calls() }.reduce(0, +)
            // Without a budget: 300 attempts. With it: 100 first attempts and at most 20 + 10 retries.
            #expect(attempts >= 100 && attempts <= 131, "attempts: \(attempts)")
            #expect(exhausted >= 60, "calls refused a retry: \(exhausted)")
        }
    }

    @Test("deadlines: the caller's or the call timeout; no attempt after it; a slow node does not hold the caller")
    func deadlines() async throws {
        try await FailoverCluster.withFixture(router: { try FailoverHSM(endpoints: $0.endpoints(), logger: quietLogger) }) { cluster, _, f in
            // Set up with the defaults; now a router with short calls.
            let hsm = try FailoverHSM(
                endpoints: cluster.endpoints(priority: { $0 }),
                configuration: .init(mode: .priority, callTimeout: .milliseconds(300)), logger: quietLogger)
            let token = f.alpha.user.token
            for node in cluster.nodes { node.fault = .slow(.seconds(20)) }
            var started = Date()
            await expectHSMError(.deadlineExceeded, "random did not finish within its deadline of 300 ms") {
                try await hsm.random(token, count: 8)
            }
            #expect(Date().timeIntervalSince(started) < 5)
            // The caller's sooner deadline wins, and reaches the endpoint.
            started = Date()
            let callers = started.addingTimeInterval(0.1)
            await expectHSMError(.deadlineExceeded) {
                try await HSMCallContext.$deadline.withValue(callers) { try await hsm.random(token, count: 8) }
            }
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(cluster.nodes[0].deadlinesSeen.last == callers)
            // A deadline already passed: no attempt at all.
            for node in cluster.nodes { node.resetCounts() }
            await expectHSMError(.deadlineExceeded) {
                try await HSMCallContext.$deadline.withValue(Date().addingTimeInterval(-1)) { try await hsm.random(token, count: 8) }
            }
            #expect(cluster.nodes.map { $0.calls() } == [0, 0, 0])
        }
    }

    @Test("an attempt timeout moves a call from a slow node to the next, within the call's deadline")
    func attemptTimeout() async throws {
        try await FailoverCluster.withFixture(router: { try FailoverHSM(endpoints: $0.endpoints(), logger: quietLogger) }) { cluster, _, f in
            let hsm = try FailoverHSM(
                endpoints: cluster.endpoints(priority: { $0 }),
                configuration: .init(mode: .priority, callTimeout: .seconds(120), attemptTimeout: .seconds(5)),
                logger: quietLogger)
            // 5 s per attempt: long enough for a healthy node on a busy machine, far short of the slow one.
            cluster.nodes[0].fault = .slow(.seconds(100))
            let started = Date()
            let bytes = try await hsm.random(f.alpha.user.token, count: 8)
            #expect(bytes.count == 8)
            #expect(Date().timeIntervalSince(started) < 60)
            #expect(cluster.nodes.map { $0.calls("random") } == [1, 1, 0])
            #expect(hsm.endpointStatus()[0].failures == 1)
        }
    }

    @Test("a session that owns session objects sticks to the node that holds them")
    func sessionAffinity() async throws {
        try await FailoverCluster.withFixture(router: {
            try FailoverHSM(endpoints: $0.endpoints(), configuration: .init(mode: .random), logger: quietLogger)
        }) { cluster, hsm, f in
            let token = try await f.newSession(f.alpha.user)
            let ephemeral = try await hsm.generateKey(token, spec: KeySpec(algorithm: .p256, label: "ephemeral", persistent: false))
            let holder = try #require(cluster.nodes.firstIndex { $0.calls("generateKey") == 1 })
            for _ in 0..<20 {
                _ = try await hsm.sign(token, key: ephemeral.id, input: .message(message), scheme: Self.signing)
            }
            #expect(cluster.nodes[holder].calls("sign") == 20)
            try await hsm.closeSession(token)
            #expect(cluster.nodes[holder].calls("closeSession") == 1)
        }
    }
}
