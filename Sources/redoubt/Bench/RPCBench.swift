import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Redoubt
import RedoubtBroker
import RedoubtClient
import RedoubtProto
import RedoubtStore
import Synchronization

/// `redoubt bench rpc`: P-256 signing through the broker over loopback HTTP/2, beside
/// LocalHSM in the same process and run.
struct RPCBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "P-256 sign through the broker on loopback, in eleven modes, against LocalHSM in the same run.",
        discussion: """
            Starts a LocalHSM on a temporary store, measures its sign rate with one caller (embedded), then \
            serves it with a broker on 127.0.0.1 (plaintext, port 0) in the same process and drives it with \
            grpc-swift clients: unary-1 (one call in flight), unary-64 (64 in flight), batch-100 (SignBatch \
            of 100, 4 batches in flight) and stream (one SignStream, 256 requests in flight); noop-1 and noop-64, \
            the transport's own latency and ceiling on the same server (grpc.health.v1 Check; unary-1 and \
            unary-64 show their ratio to them); remote-64 and coalesced-64, 64 concurrent RemoteHSM.sign \
            callers without and with coalescing (.after(inFlight: 2), or --coalesce-after), and \
            remote-stream-64, 64 concurrent callers of one RemoteHSM.withSignStream, with their ratio to \
            stream; then the same broker's HTTP/JSON API (POST /redoubt.v1.CryptoService/Sign, a JSON \
            body, over HTTP/1.1 keep-alive connections with Foundation's URLSession): http-1 and http-64, with their ratio to unary-1 and \
            unary-64 of the same run in the table's last column. Client and server share this machine's cores. \
            Latency is per call (per batch for batch-100, per request for stream).
            """
    )

    @Option(help: "Seconds per mode (0.5 to 60).") var seconds: Double = 3
    @Option(
        help:
            "Only these modes (comma-separated: unary-1, unary-64, batch-100, stream, noop-1, noop-64, remote-64, coalesced-64, remote-stream-64, http-1, http-64)."
    )
    var only: String?
    @Option(help: "coalesced-64: calls of the session in flight before the others wait for a batch (1 to 64).") var coalesceAfter = 2
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    /// The modes that call through RemoteHSM.
    static let remoteModes: Set = ["remote-64", "coalesced-64", "remote-stream-64"]

    func validate() throws {
        guard (0.5...60).contains(seconds) else { throw ValidationError("--seconds must be between 0.5 and 60") }
        guard (1...64).contains(coalesceAfter) else { throw ValidationError("--coalesce-after must be between 1 and 64") }
    }

    struct Result: Encodable {
        var mode: String
        var ops: Double
        var p50_ms: Double
        var p99_ms: Double
        var ratio: Double
        /// HTTP/JSON modes: ops over the gRPC unary mode with as many calls in flight, in this run.
        var vs_grpc: Double?
        /// unary-1 and unary-64: ops over noop-1's and noop-64's calls per second, in this run.
        var vs_noop: Double?
        /// The RemoteHSM modes: ops over the stream mode's, in this run.
        var vs_stream: Double?
    }

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-bench-rpc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/redoubt.sqlite")
        var logger = Logger(label: "redoubt.bench")
        logger.logLevel = .error
        let created = try await LocalHSM.initialize(store: store, passphrase: "benchmark passphrase, not secret", logger: logger)
        let hsm = created.hsm
        let flusher = Task { try await hsm.run() }
        defer { flusher.cancel() }
        let op = try await hsm.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
        let partition = try await hsm.createPartition(op.token, id: "bench", settings: .defaults)
        let so = try await hsm.openSession(partition: "bench", credential: .apiKey(partition.securityOfficerAPIKey))
        let user = try await hsm.addUser(so.token, name: "bench", role: .cryptoUser, password: nil)
        let session = try await hsm.openSession(partition: "bench", credential: .apiKey(user.apiKey)).token
        let key = try await hsm.generateKey(session, spec: KeySpec(algorithm: .p256, label: "bench-p256"))
        let digest = Data(repeating: 0x5a, count: 32)

        func note(_ s: String) { if !json { FileHandle.standardError.write(Data("measuring \(s)…\n".utf8)) } }
        note("embedded (LocalHSM, one caller)")
        let embedded = try await HSMBenchCommand.rate(seconds: seconds) {
            _ = try await hsm.sign(session, key: key.id, input: .digest(digest), scheme: .ecdsa(.sha256))
        }

        var limits = BrokerConfiguration.Limits()
        limits.requestsPerSecond = 0
        let configuration = BrokerConfiguration(listen: "127.0.0.1:0", httpListen: "127.0.0.1:0", limits: limits)
        let services = BrokerServices(hsm: hsm, limits: configuration.limits.serviceLimits, logger: logger)
        let broker = try Broker(services: services.services, configuration: configuration, logger: logger)
        let serving = Task { try await broker.run() }
        let port = try await broker.listeningPort()

        let request: Redoubt_V1_SignRequest = {
            var r = Redoubt_V1_SignRequest()
            r.keyID = key.id
            r.input.digest = digest
            r.scheme.ecdsa.hash = .sha256
            return r
        }()
        let metadata: Metadata = ["authorization": "Bearer \(session.value)"]
        let modes = ["unary-1", "unary-64", "batch-100", "stream", "noop-1", "noop-64", "remote-64", "coalesced-64", "remote-stream-64", "http-1", "http-64"]
            .filter { m in
                only.map { $0.split(separator: ",").contains(Substring(m)) } ?? true
            }
        var results: [Result] = []
        let seconds = self.seconds
        let grpcModes = modes.filter { !$0.hasPrefix("http-") && !Self.remoteModes.contains($0) }
        if !grpcModes.isEmpty {
            try await withGRPCClient(
                transport: try HTTP2ClientTransport.Posix(
                    target: .ipv4(address: "127.0.0.1", port: port),
                    transportSecurity: .plaintext)
            ) { client in
                let crypto = Redoubt_V1_CryptoService.Client(wrapping: client)
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                for mode in grpcModes {
                    note(mode)
                    let sample: Sample
                    switch mode {
                    case "unary-1":
                        sample = try await Self.measure(seconds: seconds, workers: 1, opsPerCall: 1) {
                            _ = try await crypto.sign(request, metadata: metadata)
                        }
                    case "unary-64":
                        sample = try await Self.measure(seconds: seconds, workers: 64, opsPerCall: 1) {
                            _ = try await crypto.sign(request, metadata: metadata)
                        }
                    case "batch-100":
                        let batch = Redoubt_V1_SignBatchRequest.with { $0.items = Array(repeating: request, count: 100) }
                        sample = try await Self.measure(seconds: seconds, workers: 4, opsPerCall: 100) {
                            let response = try await crypto.signBatch(batch, metadata: metadata)
                            guard response.items.count == 100, response.items.allSatisfy({ $0.response.signature.count > 0 }) else {
                                throw ValidationError("a batch item failed")
                            }
                        }
                    case "noop-1", "noop-64":
                        sample = try await Self.measure(seconds: seconds, workers: mode == "noop-1" ? 1 : 64, opsPerCall: 1) {
                            _ = try await health.check(Grpc_Health_V1_HealthCheckRequest())
                        }
                    default:
                        sample = try await Self.measureStream(seconds: seconds, inFlight: 256, crypto: crypto, request: request, metadata: metadata)
                    }
                    results.append(
                        Result(
                            mode: mode, ops: sample.ops, p50_ms: sample.percentile(0.5), p99_ms: sample.percentile(0.99),
                            ratio: sample.ops / embedded))
                }
            }
        }
        for mode in modes where Self.remoteModes.contains(mode) {
            note(mode + " (RemoteHSM)")
            var remoteConfiguration = RemoteHSMConfiguration(endpoint: "127.0.0.1:\(port)")
            if mode == "coalesced-64" { remoteConfiguration.coalescing = .after(inFlight: coalesceAfter) }
            let remote = try RemoteHSM(configuration: remoteConfiguration).start()
            let sample: Sample
            do {
                if mode == "remote-stream-64" {
                    sample = try await remote.withSignStream(session) { stream in
                        try await Self.measure(seconds: seconds, workers: 64, opsPerCall: 1) {
                            _ = try await stream.sign(key: key.id, input: .digest(digest), scheme: .ecdsa(.sha256))
                        }
                    }
                } else {
                    sample = try await Self.measure(seconds: seconds, workers: 64, opsPerCall: 1) {
                        _ = try await remote.sign(session, key: key.id, input: .digest(digest), scheme: .ecdsa(.sha256))
                    }
                }
            } catch {
                await remote.close()
                throw error
            }
            await remote.close()
            let stream = results.first { $0.mode == "stream" }?.ops
            results.append(
                Result(
                    mode: mode, ops: sample.ops, p50_ms: sample.percentile(0.5), p99_ms: sample.percentile(0.99),
                    ratio: sample.ops / embedded, vs_stream: stream.map { sample.ops / $0 }))
        }
        for n in ["1", "64"] {
            if let noop = results.first(where: { $0.mode == "noop-" + n })?.ops, let i = results.firstIndex(where: { $0.mode == "unary-" + n }) {
                results[i].vs_noop = results[i].ops / noop
            }
        }
        let httpPort = try await broker.httpListeningPort()
        for mode in modes where mode.hasPrefix("http-") {
            note(mode + " (HTTP/JSON)")
            let workers = mode == "http-1" ? 1 : 64
            let sample = try await Self.measureHTTP(
                seconds: seconds, workers: workers, port: httpPort, body: try request.jsonUTF8Data(), token: session.value)
            let grpc = results.first { $0.mode == "unary-\(workers)" }?.ops
            results.append(
                Result(
                    mode: mode, ops: sample.ops, p50_ms: sample.percentile(0.5), p99_ms: sample.percentile(0.99),
                    ratio: sample.ops / embedded, vs_grpc: grpc.map { sample.ops / $0 }))
        }
        broker.beginGracefulShutdown()
        try await serving.value
        try await hsm.close()
        try await store.close()

        if json {
            struct Report: Encodable {
                var embedded_ops: Double
                var results: [Result]
            }
            func r3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
            let rounded = results.map {
                Result(
                    mode: $0.mode, ops: $0.ops.rounded(), p50_ms: r3($0.p50_ms), p99_ms: r3($0.p99_ms), ratio: r3($0.ratio),
                    vs_grpc: $0.vs_grpc.map(r3), vs_noop: $0.vs_noop.map(r3), vs_stream: $0.vs_stream.map(r3))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(Report(embedded_ops: embedded.rounded(), results: rounded)), as: UTF8.self))
        } else {
            print("embedded (LocalHSM, one caller): \(Int(embedded.rounded())) signs/s")
            print("mode                ops/s    p50 ms    p99 ms   ratio   beside")
            for r in results {
                let beside = [("gRPC", r.vs_grpc), ("no-op", r.vs_noop), ("stream", r.vs_stream)].compactMap { name, value in
                    value.map { String(format: "%.2f", $0) + " × \(name)" }
                }
                print(
                    r.mode.padding(toLength: 16, withPad: " ", startingAt: 0) + String(Int(r.ops.rounded())).leftPadded(9)
                        + String(format: "%.3f", r.p50_ms).leftPadded(10) + String(format: "%.3f", r.p99_ms).leftPadded(10)
                        + String(format: "%.2f", r.ratio).leftPadded(8) + (beside.first.map { "   " + $0 } ?? ""))
            }
        }
    }

    /// Operations per second and latencies (ms) of one mode.
    struct Sample {
        var ops: Double
        var latencies: [Double]
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let sorted = latencies.sorted()
            return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
        }
    }

    static func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }

    /// `workers` tasks calling `body` back to back for `seconds` after a short warm-up.
    static func measure(seconds: Double, workers: Int, opsPerCall: Int, _ body: @escaping @Sendable () async throws -> Void) async throws -> Sample {
        let clock = ContinuousClock()
        let warmEnd = clock.now + .milliseconds(300)
        let start = warmEnd
        let end = start + .seconds(seconds)
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var mine: [Double] = []
                    mine.reserveCapacity(4096)
                    while clock.now < end {
                        let t0 = clock.now
                        try await body()
                        if t0 >= start { mine.append(ms(clock.now - t0)) }
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        let elapsed = ms(clock.now - start) / 1000
        return Sample(ops: Double(latencies.count * opsPerCall) / elapsed, latencies: latencies)
    }

    /// `workers` callers of the HTTP/JSON Sign on `port`, each on its own keep-alive connection.
    static func measureHTTP(seconds: Double, workers: Int, port: Int, body: Data, token: String) async throws -> Sample {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = workers
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        guard let url = URL(string: "http://127.0.0.1:\(port)/redoubt.v1.CryptoService/Sign") else { throw ValidationError("no URL") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let call = request
        return try await measure(seconds: seconds, workers: workers, opsPerCall: 1) {
            let (data, response) = try await session.data(for: call)
            guard (response as? HTTPURLResponse)?.statusCode == 200, let signed = try? Redoubt_V1_SignResponse(jsonUTF8Data: data),
                !signed.signature.isEmpty
            else { throw ValidationError("an HTTP sign failed: \(String(decoding: data.prefix(300), as: UTF8.self))") }
        }
    }

    /// One SignStream with up to `inFlight` requests outstanding.
    static func measureStream(
        seconds: Double, inFlight: Int, crypto: Redoubt_V1_CryptoService.Client<HTTP2ClientTransport.Posix>,
        request: Redoubt_V1_SignRequest, metadata: Metadata
    ) async throws -> Sample {
        let clock = ContinuousClock()
        let start = clock.now + .milliseconds(300)
        let end = start + .seconds(seconds)
        let sent = Mutex<[UInt64: ContinuousClock.Instant]>([:])
        let window = AsyncStream<Void>.makeStream()
        for _ in 0..<inFlight { window.continuation.yield() }
        return try await crypto.signStream(
            metadata: metadata,
            requestProducer: { writer in
                var id: UInt64 = 0
                for await _ in window.stream {
                    if clock.now >= end { break }
                    id += 1
                    var message = Redoubt_V1_SignStreamRequest()
                    message.id = id
                    message.request = request
                    let now = clock.now
                    sent.withLock { $0[id] = now }
                    try await writer.write(message)
                }
            },
            onResponse: { response in
                var latencies: [Double] = []
                var count = 0
                for try await message in response.messages {
                    guard case .response = message.result else { throw ValidationError("a stream item failed: \(message.error.message)") }
                    let now = clock.now
                    if let t0 = sent.withLock({ $0.removeValue(forKey: message.id) }), t0 >= start, now <= end {
                        latencies.append(ms(now - t0))
                        count += 1
                    }
                    window.continuation.yield()
                    if now >= end, sent.withLock({ $0.isEmpty }) { window.continuation.finish() }
                }
                window.continuation.finish()
                return Sample(ops: Double(count) / seconds, latencies: latencies)
            })
    }
}
