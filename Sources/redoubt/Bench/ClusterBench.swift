import ArgumentParser
import Foundation
import Logging
import Redoubt
import RedoubtBroker
import RedoubtStore

/// `redoubt bench cluster`: two nodes on one store, one signing while the other writes.
struct ClusterBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Two nodes on one store: B signs over many keys while A is idle, creates 10 keys/s, then creates at full speed.",
        discussion: """
            Both nodes are LocalHSMs in this process, each with its own store object on one SQLite file or \
            one PostgreSQL database (--store; as two `redoubt serve` on one store, without the RPC layer), \
            each running its audit flusher. B signs \
            (P-256, a digest) round-robin over --keys keys with --clients tasks in every phase; A is idle, then \
            creates a key every 100 ms, then creates keys with 8 tasks. Prints B's ops/s and latency per phase \
            and A's creation latency; `trickle_ratio` is B's ops/s with A's trickle over its idle figure.
            """)

    @Option(help: "Keys B signs over (10 to 100000).") var keys: Int = 2000
    @Option(help: "Seconds per phase (0.5 to 60).") var seconds: Double = 3
    @Option(help: "B's concurrent signing tasks (1 to 256).") var clients: Int = 64
    @Option(help: "A PostgreSQL URL (an empty database) instead of a SQLite file in a temporary directory.") var store: String?
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard (10...100_000).contains(keys) else { throw ValidationError("--keys must be between 10 and 100000") }
        guard (0.5...60).contains(seconds) else { throw ValidationError("--seconds must be between 0.5 and 60") }
        guard (1...256).contains(clients) else { throw ValidationError("--clients must be between 1 and 256") }
        do { _ = try StoreLocation(argument: store, directory: "/") } catch { throw ValidationError(error.message) }
    }

    struct Phase: Encodable {
        var phase: String
        var b_ops: Double
        var b_p50_ms: Double
        var b_p99_ms: Double
        var a_creates: Int
        var a_create_p50_ms: Double?
        var a_create_p99_ms: Double?
    }

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-bench-cluster-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var logger = Logger(label: "redoubt.bench")
        logger.logLevel = .error
        let passphrase = "benchmark passphrase, not secret"
        let location = try StoreLocation(argument: store, directory: dir)
        let storeA = try await location.open()
        let created = try await LocalHSM.initialize(store: storeA, passphrase: passphrase, logger: logger)
        let a = created.hsm
        let storeB = try await location.open()
        let b = try await LocalHSM.open(store: storeB, unseal: .passphrase(passphrase), logger: logger)
        let flushers = [Task { try await a.run() }, Task { try await b.run() }]
        defer { for f in flushers { f.cancel() } }

        let op = try await a.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
        // Room for the keys B signs with and every key A makes on top (the default quota is 100,000).
        var settings = PartitionSettings.defaults
        settings.maximumObjects = max(settings.maximumObjects, keys + 1_000_000)
        let partition = try await a.createPartition(op.token, id: "bench", settings: settings)
        let so = try await a.openSession(partition: "bench", credential: .apiKey(partition.securityOfficerAPIKey))
        let user = try await a.addUser(so.token, name: "bench", role: .cryptoUser, password: nil)
        let session = try await a.openSession(partition: "bench", credential: .apiKey(user.apiKey)).token
        if !json { FileHandle.standardError.write(Data("creating \(keys) keys…\n".utf8)) }
        let clientCount = clients
        let keyIDs = try await ScaleBenchCommand.createKeys(keys, hsm: a, session: session, label: "bench")
        let digest = Data(repeating: 0x5a, count: 32)
        // B reads every key once (as a node that has been serving them), then the phases.
        for id in keyIDs { _ = try await b.sign(session, key: id, input: .digest(digest), scheme: .ecdsa(.sha256)) }

        var phases: [Phase] = []
        for (name, creators, interval) in [("idle", 0, nil), ("trickle-10-per-s", 1, Duration.milliseconds(100)), ("a-full-speed", 8, nil)]
            as [(String, Int, Duration?)]
        {
            if !json { FileHandle.standardError.write(Data("phase \(name)…\n".utf8)) }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(seconds)
            let start = clock.now
            // Each task returns its latencies, tagged: true for B's signatures, false for A's creations.
            let measured = try await withThrowingTaskGroup(of: (Bool, [Double]).self) { group in
                for client in 0..<clientCount {
                    group.addTask {
                        var local: [Double] = []
                        var i = client
                        while clock.now < deadline {
                            let t = clock.now
                            _ = try await b.sign(session, key: keyIDs[i % keyIDs.count], input: .digest(digest), scheme: .ecdsa(.sha256))
                            local.append(Self.milliseconds(clock.now - t))
                            i += clientCount
                            // A cached signature never suspends: let A's tasks (one process, shared threads) run.
                            await Task.yield()
                        }
                        return (true, local)
                    }
                }
                let pause = interval
                for _ in 0..<creators {
                    group.addTask {
                        var local: [Double] = []
                        while clock.now < deadline {
                            let t = clock.now
                            _ = try await a.generateKey(session, spec: KeySpec(algorithm: .p256, label: "trickle"))
                            local.append(Self.milliseconds(clock.now - t))
                            if let pause { try await Task.sleep(until: t + pause, clock: clock) }
                        }
                        return (false, local)
                    }
                }
                return try await group.reduce(into: [(Bool, [Double])]()) { $0.append($1) }
            }
            let signs = measured.filter(\.0).flatMap(\.1).sorted()
            let creates = measured.filter { !$0.0 }.flatMap(\.1).sorted()
            let elapsed = Self.milliseconds(clock.now - start) / 1000
            phases.append(
                Phase(
                    phase: name, b_ops: (Double(signs.count) / elapsed).rounded(), b_p50_ms: Self.percentile(signs, 0.5),
                    b_p99_ms: Self.percentile(signs, 0.99), a_creates: creates.count,
                    a_create_p50_ms: creates.isEmpty ? nil : Self.percentile(creates, 0.5),
                    a_create_p99_ms: creates.isEmpty ? nil : Self.percentile(creates, 0.99)))
        }
        try await a.close()
        try await b.close()
        try await storeA.close()
        try await storeB.close()

        let ratio = phases.count == 3 && phases[0].b_ops > 0 ? ((phases[1].b_ops / phases[0].b_ops) * 1000).rounded() / 1000 : 0
        if json {
            struct Report: Encodable {
                var store: String
                var keys: Int
                var clients: Int
                var phases: [Phase]
                var trickle_ratio: Double
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let storeName = if case .postgres = location { "postgresql" } else { "sqlite" }
            let report = Report(store: storeName, keys: keys, clients: clients, phases: phases, trickle_ratio: ratio)
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("phase               B ops/s   B p50 ms   B p99 ms   A creates   A p50 ms   A p99 ms")
            for p in phases {
                func f(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "-" }
                print(
                    p.phase.padding(toLength: 18, withPad: " ", startingAt: 0) + String(Int(p.b_ops)).leftPadded(9)
                        + f(p.b_p50_ms).leftPadded(11) + f(p.b_p99_ms).leftPadded(11) + String(p.a_creates).leftPadded(12)
                        + f(p.a_create_p50_ms).leftPadded(11) + f(p.a_create_p99_ms).leftPadded(11))
            }
            print("B with A's trickle / B idle: \(String(format: "%.2f", ratio))")
        }
    }

    static func milliseconds(_ d: Duration) -> Double { RPCBenchCommand.ms(d) }

    /// The `q` quantile of `values`, rounded to 0.01 ms.
    static func percentile(_ values: [Double], _ q: Double) -> Double {
        (RPCBenchCommand.Sample(ops: 0, latencies: values).percentile(q) * 100).rounded() / 100
    }
}
