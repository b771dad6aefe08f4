import ArgumentParser
import Foundation
import Logging
import Redoubt
import RedoubtStore

/// `redoubt bench hsm`: LocalHSM (with audit) against the bare engine, in one run.
struct HSMBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hsm",
        abstract: "Ops/s through LocalHSM (sessions, checks, audit) beside the bare engine, and durable key generation.",
        discussion: """
            Uses a fresh store in a temporary directory (or --data). p256-sign and aes256gcm-1k run on one \
            task each side, every use audited; aes256gcm-1k-aggregated is the same in a partition that \
            aggregates key-use audit records (--key-use-audit aggregated). The AES rows also give SoftHSM2's \
            rate through the same C loop as `bench pkcs11` (when /usr/lib/softhsm/libsofthsm2.so exists), \
            measured last. p256-keygen-persisted runs --clients tasks at once, every key sealed and durably \
            committed (group commit) before it counts.
            """
    )

    @Option(help: "Seconds per measurement (0.2 to 60).") var seconds: Double = 2
    @Option(help: "Concurrent clients for key generation (1 to 256).") var clients: Int = 32
    @Option(help: "Directory for the benchmark store (default: a new temporary one, removed afterwards).") var data: String?
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "Only these operations (comma-separated: p256-sign, aes256gcm-1k, aes256gcm-1k-aggregated, p256-keygen-persisted).")
    var only: String?

    func selected(_ op: String) -> Bool { only.map { $0.split(separator: ",").contains(Substring(op)) } ?? true }

    func validate() throws {
        guard (0.2...60).contains(seconds) else { throw ValidationError("--seconds must be between 0.2 and 60") }
        guard (1...256).contains(clients) else { throw ValidationError("--clients must be between 1 and 256") }
    }

    func run() async throws {
        let dir = data ?? FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if data == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let store = try SQLiteStore(path: dir + "/redoubt.sqlite")
        var logger = Logger(label: "redoubt.bench")
        logger.logLevel = .error
        let created = try await LocalHSM.initialize(store: store, passphrase: "benchmark passphrase, not secret", logger: logger)
        let hsm = created.hsm
        // The audit flusher runs beside the callers, as in `redoubt serve`.
        let flusher = Task { try await hsm.run() }
        defer { flusher.cancel() }
        let op = try await hsm.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
        var auditors: [SessionToken] = []
        func userSession(partition id: String, settings: PartitionSettings) async throws -> SessionToken {
            let partition = try await hsm.createPartition(op.token, id: id, settings: settings)
            let so = try await hsm.openSession(partition: id, credential: .apiKey(partition.securityOfficerAPIKey))
            let user = try await hsm.addUser(so.token, name: "bench", role: .cryptoUser, password: nil)
            let auditor = try await hsm.addUser(so.token, name: "bench-auditor", role: .auditor, password: nil)
            auditors.append(try await hsm.openSession(partition: id, credential: .apiKey(auditor.apiKey)).token)
            return try await hsm.openSession(partition: id, credential: .apiKey(user.apiKey)).token
        }
        let session = try await userSession(partition: "bench", settings: .defaults)
        var aggregating = PartitionSettings.defaults
        aggregating.keyUseAudit = .aggregated
        let aggregatedSession = try await userSession(partition: "bench-aggregated", settings: aggregating)
        /// Commits every queued audit record (a read of the log does), so no measurement starts
        /// with the one before's records still to commit.
        func settle() async throws {
            for auditor in auditors { _ = try await hsm.auditRecords(auditor, from: 1, limit: 1) }
        }

        let digest = Data(repeating: 0x5a, count: 32)
        let kib = Data(repeating: 0x42, count: 1024)
        let p256 = try await hsm.generateKey(session, spec: KeySpec(algorithm: .p256, label: "bench-p256"))
        let aes = try await hsm.generateKey(session, spec: KeySpec(algorithm: .aes256, label: "bench-aes"))
        let aggregatedAES = try await hsm.generateKey(aggregatedSession, spec: KeySpec(algorithm: .aes256, label: "bench-aes"))
        let engineSigner = try SigningKey(try PrivateKey.generate(.p256))
        let engineAES = try SecretKey.generate(.aes256)

        struct Row: Encodable {
            var op: String
            var hsm_ops: Double
            var engine_ops: Double?
            var ratio: Double?
            var softhsm2_ops: Double? = nil
            var vs_softhsm2: Double? = nil
        }
        var rows: [Row] = []
        func note(_ s: String) { if !json { FileHandle.standardError.write(Data("measuring \(s)…\n".utf8)) } }

        if selected("p256-sign") {
            note("p256-sign")
            try await settle()
            let hsmSign = try await Self.rate(seconds: seconds) {
                _ = try await hsm.sign(session, key: p256.id, input: .digest(digest), scheme: .ecdsa(.sha256))
            }
            let engineSign = try await Self.rate(seconds: seconds) {
                _ = try engineSigner.signature(for: .digest(digest), scheme: .ecdsa(.sha256))
            }
            rows.append(Row(op: "p256-sign", hsm_ops: hsmSign, engine_ops: engineSign, ratio: hsmSign / engineSign))
        }
        var engineAESRate: Double?
        for (op, token, key) in [("aes256gcm-1k", session, aes.id), ("aes256gcm-1k-aggregated", aggregatedSession, aggregatedAES.id)] where selected(op) {
            note(op)
            try await settle()
            let hsmAES = try await Self.rate(seconds: seconds) {
                _ = try await hsm.encrypt(token, key: key, plaintext: kib, scheme: .aesGCM, aad: Data())
            }
            if engineAESRate == nil {
                engineAESRate = try await Self.rate(seconds: seconds) { _ = try engineAES.encrypt(kib, scheme: .aesGCM) }
            }
            let engine = engineAESRate ?? 1
            rows.append(Row(op: op, hsm_ops: hsmAES, engine_ops: engine, ratio: hsmAES / engine))
        }
        if selected("p256-keygen-persisted") {
            note("p256-keygen-persisted (\(clients) clients)")
            let keygen = try await Self.concurrentRate(seconds: seconds, clients: clients) {
                _ = try await hsm.generateKey(session, spec: KeySpec(algorithm: .p256, label: "bench-keygen"))
            }
            rows.append(Row(op: "p256-keygen-persisted", hsm_ops: keygen, engine_ops: nil, ratio: nil))
        }

        try await hsm.close()
        try await store.close()

        // SoftHSM2 last, once LocalHSM is closed: AES-GCM on 1 KiB through its C interface.
        if rows.contains(where: { $0.op.hasPrefix("aes256gcm-1k") }) {
            note("aes256gcm-1k through SoftHSM2")
            if let soft = try await PKCS11Driver.softHSMSymmetricRate(.aesGCM, seconds: seconds, dir: dir + "/softhsm") {
                for i in rows.indices where rows[i].op.hasPrefix("aes256gcm-1k") {
                    rows[i].softhsm2_ops = soft
                    rows[i].vs_softhsm2 = rows[i].hsm_ops / soft
                }
            }
        }

        if json {
            struct Report: Encodable { var results: [Row] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let rounded = rows.map {
                Row(
                    op: $0.op, hsm_ops: $0.hsm_ops.rounded(), engine_ops: $0.engine_ops?.rounded(),
                    ratio: $0.ratio.map { ($0 * 1000).rounded() / 1000 }, softhsm2_ops: $0.softhsm2_ops?.rounded(),
                    vs_softhsm2: $0.vs_softhsm2.map { ($0 * 1000).rounded() / 1000 })
            }
            print(String(decoding: try encoder.encode(Report(results: rounded)), as: UTF8.self))
        } else {
            print("op                        hsm ops/s   engine ops/s   ratio   SoftHSM2 ops/s   vs SoftHSM2")
            for r in rows {
                func int(_ v: Double?) -> String { v.map { String(Int($0.rounded())) } ?? "-" }
                func two(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "-" }
                print(
                    r.op.padding(toLength: 24, withPad: " ", startingAt: 0) + int(r.hsm_ops).leftPadded(11) + int(r.engine_ops).leftPadded(15)
                        + two(r.ratio).leftPadded(8) + int(r.softhsm2_ops).leftPadded(17) + two(r.vs_softhsm2).leftPadded(14))
            }
        }
    }

    /// Runs `body` back to back for `seconds`; ops/s.
    static func rate(seconds: Double, _ body: () async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let warm = clock.now
        while clock.now - warm < .milliseconds(100) { try await body() }
        let start = clock.now
        var n = 0
        while clock.now - start < .seconds(seconds) {
            for _ in 0..<16 { try await body() }
            n += 16
        }
        let e = clock.now - start
        return Double(n) / (Double(e.components.seconds) + Double(e.components.attoseconds) / 1e18)
    }

    /// `clients` tasks running `body` back to back for `seconds`; total ops/s.
    static func concurrentRate(seconds: Double, clients: Int, _ body: @escaping @Sendable () async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(seconds)
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var n = 0
                    while clock.now < deadline {
                        try await body()
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        let e = clock.now - start
        return Double(total) / (Double(e.components.seconds) + Double(e.components.attoseconds) / 1e18)
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
