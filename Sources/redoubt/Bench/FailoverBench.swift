import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Redoubt
import RedoubtBroker
import Synchronization

/// `redoubt bench failover`: three nodes in two sites on loopback, a router in this process,
/// signs and key creations under load, one node killed with SIGKILL.
struct FailoverBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover",
        abstract: "Kill an HSM node under load and measure what the router's clients see.",
        discussion: """
            Starts three `redoubt serve --dev` nodes on 127.0.0.1 sharing one store (east-1 and east-2 in site \
            east, priority 0; west-1 in site west, priority 1), routes to them with a FailoverHSM in this process \
            (priority mode), and drives P-256 signs and key creations (each with a request id) from --workers \
            callers. After --seconds it kills east-1 with SIGKILL and keeps going for 2 × --seconds. Then it lists \
            every key: a key whose creation was acknowledged but is missing is lost; two keys for one request id \
            are duplicates. Reports throughput and p99 before, during (the first 2 s after the kill) and after, \
            and the time until throughput is back to 80% of before for 1 s (recovery). Goals: 0 failed \
            requests, 0 lost, 0 duplicate keys, p99 during failover ≤ 250 ms, recovery ≤ 2 s.
            """
    )

    @Option(help: "Seconds before the kill (the run lasts 3 × this; 1 to 60).") var seconds: Double = 3
    @Option(help: "Concurrent callers (1 to 256).") var workers: Int = 16
    @Option(name: .customLong("create-percent"), help: "Share of calls that create a key (0 to 100).") var createPercent: Int = 10
    @Option(help: "Store for the nodes: a postgres:// URL; default: one SQLite file all three share.") var store: String?
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard (1...60).contains(seconds) else { throw ValidationError("--seconds must be between 1 and 60") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256") }
        guard (0...100).contains(createPercent) else { throw ValidationError("--create-percent must be between 0 and 100") }
    }

    /// What the callers share: acknowledged creations (request id → key id) and the first errors.
    final class Tally: Sendable {
        let created = Mutex<[String: String]>([:])
        let errors = Mutex<[String]>([])
    }

    /// One finished call.
    struct Call: Sendable {
        var at: Double  // seconds since the start, when it finished
        var ms: Double
        var ok: Bool
    }

    struct Phase: Encodable {
        var ops_per_s: Double
        var p99_ms: Double
        var failed: Int
    }

    struct Report: Encodable {
        var failed_requests: Int
        var lost_keys: Int
        var duplicate_keys: Int
        var p99_ms_during_failover: Double
        var recovery_seconds: Double
        var keys_created: Int
        var before: Phase
        var during: Phase
        var after: Phase
        var during_ratio: Double
        var after_ratio: Double
        var goals_met: Bool
        var first_errors: [String]
    }

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-bench-failover-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func note(_ s: String) { if !json { FileHandle.standardError.write(Data("\(s)\n".utf8)) } }

        var common = ["--dev", "--data", dir, "--rate", "0", "--log-level", "error"]
        if let store { common += ["--store", store] }
        let nodes = [
            NodeProcess(name: "east-1", arguments: common), NodeProcess(name: "east-2", arguments: common),
            NodeProcess(name: "west-1", arguments: common),
        ]
        defer { nodes.forEach { $0.signalOnly(SIGKILL) } }
        note("starting 3 nodes…")
        try await nodes[0].start()  // initialises the shared dev store
        try await nodes[1].start()
        try await nodes[2].start()
        let credentials = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/dev-credentials.json"))) as? [String: Any]
        guard let apiKey = credentials?["api_key"] as? String, let partition = credentials?["partition"] as? String else {
            throw BenchError("the first node wrote no dev credentials")
        }

        let sites = [("east", 0), ("east", 0), ("west", 1)]
        var clients: [RemoteHSM] = []
        var endpoints: [FailoverEndpoint] = []
        for (node, site) in zip(nodes, sites) {
            let client = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(node.port ?? 0)", callTimeout: .seconds(5))).start()
            clients.append(client)
            endpoints.append(FailoverEndpoint(name: node.name, site: site.0, priority: site.1, hsm: client, probe: client))
        }
        defer { for c in clients { Task { await c.close() } } }
        var routerConfiguration = FailoverHSM.Configuration.defaults
        routerConfiguration.mode = .priority
        var logger = Logger(label: "redoubt.bench.router")
        logger.logLevel = .error
        let router = try FailoverHSM(endpoints: endpoints, configuration: routerConfiguration, logger: logger)
        router.start()

        let session = try await router.openSession(partition: partition, credential: .apiKey(apiKey)).token
        let key = try await router.generateKey(session, spec: KeySpec(algorithm: .p256, label: "bench-failover-signer"))
        let digest = Data(repeating: 0x42, count: 32)
        let runID = UUID().uuidString.prefix(8).lowercased()

        note("load: \(workers) callers, \(createPercent)% creates; SIGKILL east-1 after \(seconds) s")
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + .seconds(seconds * 3)
        let killAt = start + .seconds(seconds)
        let tally = Tally()
        let killer = Task {
            try await clock.sleep(until: killAt)
            await nodes[0].stop(SIGKILL)
        }
        let calls = try await withThrowingTaskGroup(of: [Call].self) { group in
            for w in 0..<workers {
                let createPercent = self.createPercent
                group.addTask {
                    var mine: [Call] = []
                    var n = 0
                    while clock.now < end {
                        n += 1
                        let create = createPercent > 0 && (n * 7919 + w * 104_729) % 100 < createPercent
                        let requestID = "bench-\(runID)-\(w)-\(n)"
                        let t0 = clock.now
                        var ok = true
                        do {
                            if create {
                                let k = try await router.generateKey(session, spec: KeySpec(algorithm: .p256, label: requestID, requestID: requestID))
                                tally.created.withLock { $0[requestID] = k.id }
                            } else {
                                _ = try await router.sign(session, key: key.id, input: .digest(digest), scheme: .ecdsa(.sha256))
                            }
                        } catch {
                            ok = false
                            tally.errors.withLock { if $0.count < 5 { $0.append("\(error)") } }
                        }
                        let t1 = clock.now
                        mine.append(Call(at: RPCBenchCommand.ms(t1 - start) / 1000, ms: RPCBenchCommand.ms(t1 - t0), ok: ok))
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [Call]()) { $0 += $1 }
        }
        _ = try? await killer.value

        note("checking keys…")
        var labels: [String: [String]] = [:]
        var after: String?
        repeat {
            let page = try await router.listKeys(session, filter: KeyFilter(after: after, limit: 1000))
            for k in page where k.label.hasPrefix("bench-\(runID)-") { labels[k.label, default: []].append(k.id) }
            after = page.count == 1000 ? page.last?.id : nil
        } while after != nil
        let acknowledged = tally.created.withLock { $0 }
        let lost = acknowledged.filter { labels[$0.key]?.contains($0.value) != true }.count
        let duplicates = labels.values.filter { $0.count > 1 }.count
        await router.close()

        let report = Self.report(
            calls: calls, killAt: seconds, total: seconds * 3, lost: lost, duplicates: duplicates,
            created: acknowledged.count, errors: tally.errors.withLock { $0 })
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.table(report))
        }
    }

    /// Splits the calls into before / during (2 s after the kill) / after and finds the recovery time.
    static func report(calls: [Call], killAt: Double, total: Double, lost: Int, duplicates: Int, created: Int, errors: [String]) -> Report {
        let duringEnd = min(total, killAt + 2)
        func phase(_ from: Double, _ to: Double) -> Phase {
            let inside = calls.filter { $0.at >= from && $0.at < to }
            let sample = RPCBenchCommand.Sample(ops: 0, latencies: inside.map(\.ms))
            return Phase(
                ops_per_s: to > from ? Double(inside.filter(\.ok).count) / (to - from) : 0,
                p99_ms: sample.percentile(0.99), failed: inside.filter { !$0.ok }.count)
        }
        let before = phase(0.5, killAt)  // skip connection warm-up
        let during = phase(killAt, duringEnd)
        let afterPhase = phase(duringEnd, total)
        // Recovery: the first 100 ms window after the kill that starts 10 windows in a row each
        // at ≥ 80% of the before rate.
        let window = 0.1
        let target = before.ops_per_s * window * 0.8
        var recovery = total - killAt
        var t = killAt
        while t + window * 10 <= total {
            let good = (0..<10).allSatisfy { i in
                let from = t + Double(i) * window
                return Double(calls.filter { $0.ok && $0.at >= from && $0.at < from + window }.count) >= target
            }
            if good {
                recovery = t - killAt
                break
            }
            t += window
        }
        let failed = calls.filter { !$0.ok }.count
        let met = failed == 0 && lost == 0 && duplicates == 0 && during.p99_ms <= 250 && recovery <= 2
        func r(_ x: Double) -> Double { (x * 100).rounded() / 100 }
        func rp(_ p: Phase) -> Phase { Phase(ops_per_s: r(p.ops_per_s), p99_ms: r(p.p99_ms), failed: p.failed) }
        return Report(
            failed_requests: failed, lost_keys: lost, duplicate_keys: duplicates, p99_ms_during_failover: r(during.p99_ms),
            recovery_seconds: r(recovery), keys_created: created, before: rp(before), during: rp(during), after: rp(afterPhase),
            during_ratio: r(before.ops_per_s > 0 ? during.ops_per_s / before.ops_per_s : 0),
            after_ratio: r(before.ops_per_s > 0 ? afterPhase.ops_per_s / before.ops_per_s : 0),
            goals_met: met, first_errors: errors)
    }

    static func table(_ r: Report) -> String {
        func row(_ name: String, _ p: Phase, _ ratio: String) -> String {
            "\(name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(format: "%10.0f", p.ops_per_s)) \(String(format: "%9.2f", p.p99_ms)) \(String(format: "%7d", p.failed))  \(ratio)"
        }
        var lines = ["phase       ops/s    p99 ms  failed  ratio vs before"]
        lines.append(row("before", r.before, "1.00"))
        lines.append(row("during", r.during, String(format: "%.2f", r.during_ratio)))
        lines.append(row("after", r.after, String(format: "%.2f", r.after_ratio)))
        lines.append("")
        lines.append(
            "failed requests \(r.failed_requests) (goal 0), lost keys \(r.lost_keys) (goal 0), duplicate keys \(r.duplicate_keys) (goal 0) of \(r.keys_created) created"
        )
        lines.append(
            "p99 during failover \(r.p99_ms_during_failover) ms (goal ≤ 250), recovery \(r.recovery_seconds) s (goal ≤ 2): \(r.goals_met ? "all goals met" : "GOALS NOT MET")"
        )
        for e in r.first_errors { lines.append("error: \(e)") }
        return lines.joined(separator: "\n")
    }
}
