import ArgumentParser
import CPKCS11
import Foundation
import GRPCCore
import Logging
import Redoubt
import RedoubtBroker
import RedoubtClient
import RedoubtStore

/// `redoubt bench pkcs11`: P-256 signing through `libredoubt-pkcs11.so` (loaded with `dlopen`,
/// driven through `C_GetFunctionList` only) beside the Swift API in the same run, and beside
/// SoftHSM2 through the very same C-ABI loop.
struct PKCS11BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pkcs11",
        abstract: "P-256 sign through the PKCS #11 module beside LocalHSM, RemoteHSM and SoftHSM2 in the same run; cold start and find.",
        discussion: """
            Makes a temporary store (dev key file) with one partition, a crypto user and keys, serves it with \
            a broker on 127.0.0.1 in this process, and loads the module with a configuration of two slots: \
            `embedded` (its own LocalHSM on the same store file) and `remote` (that broker). CKM_ECDSA over a \
            32-byte digest (C_SignInit + C_Sign) runs on threads of its own against LocalHSM.sign (1 task; the \
            two take turns in four rounds, so the machine's drift meets both alike), \
            RemoteHSM.sign (1 and 64 in flight, taking turns with the module in the same way) and SoftHSM2 (a session key, when \
            /usr/lib/softhsm/libsofthsm2.so exists). Also: `pkcs11-tool --module LIB -L` as a child (median \
            of 5), C_Initialize + C_GetSlotList in this process (median of 5) and find by CKA_ID (200 runs). \
            Every key use is audited one record each unless --key-use-audit aggregated.
            """
    )

    @Option(help: "Seconds per measurement (0.5 to 60).") var seconds: Double = 3
    @Option(help: "The module (default: libredoubt-pkcs11.so beside this executable).") var module: String?
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: ArgumentHelp("The bench partition's key-use audit: every-use (the default) or aggregated.", valueName: "mode"))
    var keyUseAudit: KeyUseAudit = .everyUse

    func validate() throws {
        guard (0.5...60).contains(seconds) else { throw ValidationError("--seconds must be between 0.5 and 60") }
    }

    /// One measured row; `baseline` names another row (`mode/threads`), `ratio` is this row's ops/s
    /// (or, without one, its p50) over the baseline's.
    struct Row: Encodable {
        var op: String
        var mode: String
        var threads: Int
        var ops: Int
        var seconds: Double
        var ops_per_s: Double?
        var p50_us: Double?
        var p99_us: Double?
        var baseline: String?
        var ratio: Double?
        var note: String?

        var key: String { "\(op) \(mode)/\(threads)" }

        func encode(to encoder: any Encoder) throws {
            enum K: String, CodingKey { case op, mode, threads, ops, seconds, ops_per_s, p50_us, p99_us, baseline, ratio, note }
            var c = encoder.container(keyedBy: K.self)
            func r(_ x: Double?, _ scale: Double) -> Double? { x.map { ($0 * scale).rounded() / scale } }
            try c.encode(op, forKey: .op)
            try c.encode(mode, forKey: .mode)
            try c.encode(threads, forKey: .threads)
            try c.encode(ops, forKey: .ops)
            try c.encode(r(seconds, 1000), forKey: .seconds)
            try c.encode(r(ops_per_s, 1), forKey: .ops_per_s)
            try c.encode(r(p50_us, 10), forKey: .p50_us)
            try c.encode(r(p99_us, 10), forKey: .p99_us)
            try c.encode(baseline, forKey: .baseline)
            try c.encode(r(ratio, 1000), forKey: .ratio)
            try c.encodeIfPresent(note, forKey: .note)
        }
    }

    /// A goal from the issue, and whether this run met it.
    struct Goal: Encodable {
        var goal: String
        var value: Double
        /// `x` (a ratio), `ms` or `us`.
        var unit: String
        var met: Bool
    }

    /// How many turns the Swift API and the module take at each comparison (see `run`).
    static let rounds = 4

    static func percentile(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.down)))]
    }

    static func row(_ op: String, _ mode: String, threads: Int, latencies: [Double], seconds: Double, baseline: String? = nil) -> Row {
        Row(
            op: op, mode: mode, threads: threads, ops: latencies.count, seconds: seconds,
            ops_per_s: seconds > 0 ? Double(latencies.count) / seconds : nil,
            p50_us: percentile(latencies, 0.5), p99_us: percentile(latencies, 0.99), baseline: baseline)
    }

    /// `libredoubt-pkcs11.so` beside the running executable.
    static func defaultModulePath() -> String {
        var executable = CommandLine.arguments.first ?? "redoubt"
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { executable = resolved }
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("libredoubt-pkcs11.so").path
    }

    func run() async throws {
        let modulePath = module ?? Self.defaultModulePath()
        guard FileManager.default.fileExists(atPath: modulePath) else {
            throw BenchError("\(modulePath) is missing: build it (swift build -c release --product redoubt-pkcs11) or pass --module PATH")
        }
        func note(_ s: String) { if !json { FileHandle.standardError.write(Data("measuring \(s)…\n".utf8)) } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-bench-pkcs11-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // The store, a partition, a crypto user and the Swift side's key (as `bench hsm` makes them).
        var logger = Logger(label: "redoubt.bench")
        logger.logLevel = .error
        let storePath = dir + "/redoubt.sqlite"
        let devKey = dir + "/dev.key"
        let store = try SQLiteStore(path: storePath)
        let created = try await LocalHSM.initialize(store: store, passphrase: nil, devKeyFile: devKey, logger: logger)
        let hsm = created.hsm
        let flusher = Task { try await hsm.run() }
        defer { flusher.cancel() }
        let op = try await hsm.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
        var settings = PartitionSettings.defaults
        settings.keyUseAudit = keyUseAudit
        let partition = try await hsm.createPartition(op.token, id: "bench", settings: settings)
        let so = try await hsm.openSession(partition: "bench", credential: .apiKey(partition.securityOfficerAPIKey))
        let user = try await hsm.addUser(so.token, name: "bench", role: .cryptoUser, password: nil)
        let session = try await hsm.openSession(partition: "bench", credential: .apiKey(user.apiKey)).token
        let key = try await hsm.generateKey(session, spec: KeySpec(algorithm: .p256, label: "bench-p256"))
        let digest = Data(repeating: 0x5a, count: 32)

        // The broker over that LocalHSM, as `bench rpc` starts it, and a RemoteHSM client of it.
        var limits = BrokerConfiguration.Limits()
        limits.requestsPerSecond = 0
        let brokerConfiguration = BrokerConfiguration(listen: "127.0.0.1:0", limits: limits)
        let services = BrokerServices(hsm: hsm, limits: brokerConfiguration.limits.serviceLimits, logger: logger)
        let broker = try Broker(services: services.services, configuration: brokerConfiguration, logger: logger)
        let serving = Task { try await broker.run() }
        let port = try await broker.listeningPort()
        let remote = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(port)", callTimeout: .seconds(30))).start()
        let remoteSession = try await remote.openSession(partition: "bench", credential: .apiKey(user.apiKey)).token

        // The module's configuration: slot 0 embedded on the same store file, slot 1 the broker.
        let slots: [[String: Any]] = [
            ["label": "embedded", "partition": "bench", "backend": ["embedded": ["store": storePath, "devKeyFile": devKey]]],
            ["label": "remote", "partition": "bench", "backend": ["endpoint": "127.0.0.1:\(port)"]],
        ]
        let configPath = dir + "/pkcs11.json"
        let configData = try JSONSerialization.data(withJSONObject: ["slots": slots], options: [.sortedKeys])
        guard FileManager.default.createFile(atPath: configPath, contents: configData, attributes: [.posixPermissions: 0o600]) else {
            throw BenchError("cannot write \(configPath)")
        }

        var rows: [Row] = []
        let clock = ContinuousClock()
        let loadStart = clock.now
        let p11 = try P11Module.load(modulePath)
        let dlopenMs = PKCS11Driver.microseconds(clock.now - loadStart) / 1000
        note("C_Initialize + C_GetSlotList in this process")
        let initTimes = try await PKCS11Driver.onThread { try PKCS11Driver.initCycles(p11, config: configPath, cycles: 5) }
        rows.append(
            Row(
                op: "init-in-process", mode: "pkcs11", threads: 1, ops: 5, seconds: initTimes.reduce(0, +) / 1e6,
                p50_us: Self.percentile(initTimes, 0.5), baseline: "init-in-process softhsm2/1"))

        // Sessions (1 embedded, 64 remote), one C_Login per slot, a token key pair in each slot.
        let embeddedID = Array("bench-embedded".utf8)
        let remoteID = Array("bench-remote".utf8)
        let pin = user.apiKey
        let (embeddedSession, embeddedKey, remoteSessions, remoteKey) = try await PKCS11Driver.onThread {
            try p11.initialize(config: configPath)
            let e = try p11.openSession(slot: 0)
            try p11.login(e, pin: pin)
            let ek = try p11.generateP256(e, token: true, label: "bench-embedded", id: embeddedID)
            let r = try (0..<64).map { _ in try p11.openSession(slot: 1) }
            try p11.login(r[0], pin: pin)
            let rk = try p11.generateP256(r[0], token: true, label: "bench-remote", id: remoteID)
            return (e, ek, r, rk)
        }

        let seconds = self.seconds
        /// A symmetric op's C loop on one thread, after 300 ms of warm-up.
        func moduleSymmetric(
            _ p11: P11Module, session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE, op: PKCS11Driver.SymmetricOp
        ) async throws -> ([Double], Double) {
            let start = clock.now + .milliseconds(300)
            let end = start + .seconds(seconds)
            let latencies = try await PKCS11Driver.onThread {
                try PKCS11Driver.symmetricLoop(p11, session: session, key: key, op: op, start: start, end: end)
            }
            return (latencies, PKCS11Driver.microseconds(clock.now - start) / 1e6)
        }
        /// The module's C loop on `threads` threads (thread i uses `sessions[i]`), after 300 ms of warm-up.
        func moduleSign(
            _ p11: P11Module, sessions: [CK_SESSION_HANDLE], key: CK_OBJECT_HANDLE, threads: Int, seconds: Double = seconds
        ) async throws -> ([Double], Double) {
            let start = clock.now + .milliseconds(300)
            let end = start + .seconds(seconds)
            let latencies = try await PKCS11Driver.onThreads(threads) { i in
                try PKCS11Driver.signLoop(p11, session: sessions[i], key: key, start: start, end: end)
            }
            return (latencies.flatMap { $0 }, PKCS11Driver.microseconds(clock.now - start) / 1e6)
        }
        /// The Swift API with `workers` calls in flight (`bench rpc`'s loop); latencies in µs.
        func swiftSign(workers: Int, seconds: Double = seconds, _ body: @escaping @Sendable () async throws -> Void) async throws -> ([Double], Double) {
            let sample = try await RPCBenchCommand.measure(seconds: seconds, workers: workers, opsPerCall: 1, body)
            return (sample.latencies.map { $0 * 1000 }, sample.ops > 0 ? Double(sample.latencies.count) / sample.ops : seconds)
        }

        /// Commits every record `hsm` (the Swift side's and the broker's LocalHSM) holds queued (a
        /// read of the log does): its background flush would otherwise run through the module's
        /// next turn on the same cores, and interleave its records with the embedded slot's in the
        /// partition's chain, so that the slot re-reads them to sign its audit head.
        func settle() async throws {
            _ = try await hsm.auditRecords(so.token, from: 1, limit: 1)
        }

        /// The Swift API (`swift`) and the module (`module`) take turns, `rounds` rounds of an equal
        /// share of the time each, so that a change in the (shared, virtual) machine's speed meets
        /// both alike; each side's latencies and seconds, summed over the rounds.
        func paired(
            _ swiftName: String, _ moduleName: String, swift: (Double) async throws -> ([Double], Double),
            module: (Double) async throws -> ([Double], Double)
        ) async throws -> (swift: ([Double], Double), module: ([Double], Double)) {
            var (swiftSide, moduleSide) = (([Double](), 0.0), ([Double](), 0.0))
            let turn = seconds / Double(Self.rounds)
            for round in 1...Self.rounds {
                note("\(swiftName) (round \(round) of \(Self.rounds))")
                let (l, s) = try await swift(turn)
                swiftSide = (swiftSide.0 + l, swiftSide.1 + s)
                try await settle()
                note("\(moduleName) (round \(round) of \(Self.rounds))")
                let (m, t) = try await module(turn)
                moduleSide = (moduleSide.0 + m, moduleSide.1 + t)
            }
            return (swiftSide, moduleSide)
        }

        // 1. Embedded: LocalHSM and the module, in turns.
        let embedded = try await paired("LocalHSM.sign, 1 task", "module embedded C_Sign, 1 thread") { turn in
            try await swiftSign(workers: 1, seconds: turn) {
                _ = try await hsm.sign(session, key: key.id, input: .digest(digest), scheme: .ecdsa(.sha256, encoding: .raw))
            }
        } module: { turn in
            try await moduleSign(p11, sessions: [embeddedSession], key: embeddedKey, threads: 1, seconds: turn)
        }
        rows.append(Self.row("p256-sign", "localhsm", threads: 1, latencies: embedded.swift.0, seconds: embedded.swift.1))
        rows.append(
            Self.row("p256-sign", "pkcs11-embedded", threads: 1, latencies: embedded.module.0, seconds: embedded.module.1, baseline: "p256-sign localhsm/1"))

        // AES-256-GCM and HMAC-SHA-256 of 1 KiB through the embedded module (session keys).
        let (aesKey, macKey) = try await PKCS11Driver.onThread {
            (try p11.generateSecret(embeddedSession, aes: true), try p11.generateSecret(embeddedSession, aes: false))
        }
        for (op, symmetricKey) in [(PKCS11Driver.SymmetricOp.aesGCM, aesKey), (.hmac, macKey)] {
            note("module embedded \(op.rawValue), 1 thread")
            let (l, s) = try await moduleSymmetric(p11, session: embeddedSession, key: symmetricKey, op: op)
            rows.append(Self.row(op.rawValue, "pkcs11-embedded", threads: 1, latencies: l, seconds: s))
        }

        // 2. Remote: RemoteHSM and the module in the same way, at 1 and at 64 in flight.
        for n in [1, 64] {
            let remoteRun = try await paired("RemoteHSM.sign, \(n) in flight", "module remote C_Sign, \(n) threads") { turn in
                try await swiftSign(workers: n, seconds: turn) {
                    _ = try await remote.sign(remoteSession, key: key.id, input: .digest(digest), scheme: .ecdsa(.sha256, encoding: .raw))
                }
            } module: { turn in
                try await moduleSign(p11, sessions: remoteSessions, key: remoteKey, threads: n, seconds: turn)
            }
            rows.append(Self.row("p256-sign", "remotehsm", threads: n, latencies: remoteRun.swift.0, seconds: remoteRun.swift.1))
            rows.append(
                Self.row(
                    "p256-sign", "pkcs11-remote", threads: n, latencies: remoteRun.module.0, seconds: remoteRun.module.1,
                    baseline: "p256-sign remotehsm/\(n)"))
        }

        // 5. Find by CKA_ID.
        for (mode, s, id) in [("pkcs11-embedded", embeddedSession, embeddedID), ("pkcs11-remote", remoteSessions[0], remoteID)] {
            note("find by CKA_ID, \(mode)")
            let (l, secs) = try await PKCS11Driver.onThread { try PKCS11Driver.findLoop(p11, session: s, id: id, runs: 200) }
            rows.append(Self.row("find-by-id", mode, threads: 1, latencies: l, seconds: secs))
        }

        // 3. SoftHSM2: a session key, the same C loop. Last, after every figure of the module: with
        // SoftHSM2 initialised in this process, the embedded module signs about 12% slower
        // (measured: 0.88x LocalHSM against 1.01x without it), so it takes no turn in the rounds.
        var softHSM: P11Module?
        if FileManager.default.fileExists(atPath: PKCS11Driver.softHSMPath) {
            note("SoftHSM2 C_Sign, 1 thread")
            _ = try PKCS11Driver.prepareSoftHSM(dir: dir + "/softhsm")
            let soft = try P11Module.load(PKCS11Driver.softHSMPath)
            softHSM = soft
            let softInit = try await PKCS11Driver.onThread { try PKCS11Driver.initCycles(soft, config: nil, cycles: 5) }
            rows.append(
                Row(op: "init-in-process", mode: "softhsm2", threads: 1, ops: 5, seconds: softInit.reduce(0, +) / 1e6, p50_us: Self.percentile(softInit, 0.5)))
            let (softSession, softKey) = try await PKCS11Driver.onThread {
                try soft.initialize(config: nil)
                let s = try soft.openSession(slot: try soft.slot(label: "bench"))
                try soft.login(s, pin: "1234")
                return (s, try soft.generateP256(s, token: false, label: "bench-session", id: [0x01]))
            }
            let (l, s) = try await moduleSign(soft, sessions: [softSession], key: softKey, threads: 1)
            rows.append(Self.row("p256-sign", "softhsm2", threads: 1, latencies: l, seconds: s, baseline: "p256-sign pkcs11-embedded/1"))
            let (softAES, softMAC) = try await PKCS11Driver.onThread {
                (try soft.generateSecret(softSession, aes: true), try soft.generateSecret(softSession, aes: false))
            }
            for (op, symmetricKey) in [(PKCS11Driver.SymmetricOp.aesGCM, softAES), (.hmac, softMAC)] {
                note("SoftHSM2 \(op.rawValue), 1 thread")
                let (l, s) = try await moduleSymmetric(soft, session: softSession, key: symmetricKey, op: op)
                rows.append(Self.row(op.rawValue, "softhsm2", threads: 1, latencies: l, seconds: s, baseline: "\(op.rawValue) pkcs11-embedded/1"))
            }
            try await PKCS11Driver.onThread { try soft.finalize() }
        } else {
            rows.append(
                Row(
                    op: "p256-sign", mode: "softhsm2", threads: 1, ops: 0, seconds: 0,
                    note: "skipped: \(PKCS11Driver.softHSMPath) is missing (apt-get install -y softhsm2)"))
        }

        // 4. Cold start: pkcs11-tool -L as a child process, 5 times each.
        if let tool = PKCS11Driver.which("pkcs11-tool") {
            var targets = [("pkcs11", modulePath, ["REDOUBT_PKCS11_CONFIG": configPath])]
            if softHSM != nil, let conf = ProcessInfo.processInfo.environment["SOFTHSM2_CONF"] {
                targets.append(("softhsm2", PKCS11Driver.softHSMPath, ["SOFTHSM2_CONF": conf]))
            }
            for (mode, lib, environment) in targets {
                note("pkcs11-tool --module \(lib) -L (5 runs)")
                let times = try await PKCS11Driver.onThread {
                    try (0..<5).map { _ in try PKCS11Driver.runChild(tool, ["--module", lib, "-L"], environment: environment) }
                }
                rows.append(
                    Row(
                        op: "cold-start-pkcs11-tool-L", mode: mode, threads: 1, ops: 5, seconds: times.reduce(0, +) / 1e6,
                        p50_us: Self.percentile(times, 0.5), baseline: mode == "pkcs11" && softHSM != nil ? "cold-start-pkcs11-tool-L softhsm2/1" : nil))
            }
        } else {
            rows.append(
                Row(
                    op: "cold-start-pkcs11-tool-L", mode: "pkcs11", threads: 1, ops: 0, seconds: 0,
                    note: "skipped: pkcs11-tool is missing (apt-get install -y opensc)"))
        }

        try await PKCS11Driver.onThread { try p11.finalize() }
        await remote.close()
        broker.beginGracefulShutdown()
        try await serving.value
        try await hsm.close()
        try await store.close()

        // Ratios: ops/s over the baseline's, or (rows without ops/s) p50 over the baseline's.
        let byKey = Dictionary(rows.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for i in rows.indices {
            guard let name = rows[i].baseline, let base = byKey[name] else {
                rows[i].baseline = nil
                continue
            }
            if let mine = rows[i].ops_per_s, let theirs = base.ops_per_s, theirs > 0 {
                rows[i].ratio = mine / theirs
            } else if let mine = rows[i].p50_us, let theirs = base.p50_us, theirs > 0 {
                rows[i].ratio = mine / theirs
            }
        }
        let report = Self.report(rows: rows, byKey: byKey)
        if json {
            struct Report: Encodable {
                var module: String
                var key_use_audit: String
                var dlopen_ms: Double
                var embedded_overhead_us: Double?
                var results: [Row]
                var goals: [Goal]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
            let out = Report(
                module: modulePath, key_use_audit: keyUseAudit.rawValue, dlopen_ms: (dlopenMs * 1000).rounded() / 1000,
                embedded_overhead_us: report.overhead.map { ($0 * 100).rounded() / 100 },
                results: rows, goals: report.goals.map { g in Goal(goal: g.goal, value: (g.value * 1000).rounded() / 1000, unit: g.unit, met: g.met) })
            print(String(decoding: try encoder.encode(out), as: UTF8.self))
        } else {
            print("key-use audit: \(keyUseAudit.rawValue)")
            Self.printTable(rows: rows, report: report, modulePath: modulePath, dlopenMs: dlopenMs)
        }
    }

    /// The module's per-call overhead (µs) and the issue's goals, from the rows.
    static func report(rows: [Row], byKey: [String: Row]) -> (overhead: Double?, goals: [Goal]) {
        func rate(_ key: String) -> Double? { byKey[key]?.ops_per_s.flatMap { $0 > 0 ? $0 : nil } }
        var overhead: Double?
        var goals: [Goal] = []
        if let module = rate("p256-sign pkcs11-embedded/1"), let swift = rate("p256-sign localhsm/1") {
            overhead = 1e6 / module - 1e6 / swift
            goals.append(Goal(goal: "embedded >= 0.9x LocalHSM", value: module / swift, unit: "x", met: module / swift >= 0.9))
            if let soft = rate("p256-sign softhsm2/1") {
                goals.append(Goal(goal: "embedded >= 1.5x SoftHSM2", value: module / soft, unit: "x", met: module / soft >= 1.5))
            }
        }
        for op in ["aes256gcm-1k", "hmac-sha256-1k"] {
            if let module = rate("\(op) pkcs11-embedded/1"), let soft = rate("\(op) softhsm2/1") {
                goals.append(Goal(goal: "\(op) embedded >= 2x SoftHSM2", value: module / soft, unit: "x", met: module / soft >= 2))
            }
        }
        for n in [1, 64] {
            if let module = rate("p256-sign pkcs11-remote/\(n)"), let swift = rate("p256-sign remotehsm/\(n)") {
                goals.append(Goal(goal: "remote \(n) thread(s) >= 0.9x RemoteHSM \(n) in flight", value: module / swift, unit: "x", met: module / swift >= 0.9))
            }
        }
        if let cold = byKey["cold-start-pkcs11-tool-L pkcs11/1"]?.p50_us {
            goals.append(Goal(goal: "cold start (pkcs11-tool -L) <= 300 ms", value: cold / 1000, unit: "ms", met: cold <= 300_000))
        }
        for mode in ["pkcs11-embedded", "pkcs11-remote"] {
            if let p50 = byKey["find-by-id \(mode)/1"]?.p50_us {
                goals.append(Goal(goal: "find by CKA_ID \(mode) p50 <= 50 us", value: p50, unit: "us", met: p50 <= 50))
            }
        }
        return (overhead, goals)
    }

    static func printTable(rows: [Row], report: (overhead: Double?, goals: [Goal]), modulePath: String, dlopenMs: Double) {
        func us(_ v: Double?) -> String { v.map { $0 >= 10_000 ? String(Int($0.rounded())) : String(format: "%.1f", $0) } ?? "-" }
        print("module: \(modulePath) (dlopen \(String(format: "%.1f", dlopenMs)) ms)")
        print(
            "op".padding(toLength: 25, withPad: " ", startingAt: 0) + "mode".padding(toLength: 16, withPad: " ", startingAt: 0) + "threads"
                + "ops/s".leftPadded(9) + "p50 us".leftPadded(10) + "p99 us".leftPadded(10) + "  "
                + "baseline".padding(toLength: 37, withPad: " ", startingAt: 0)
                + "ratio".leftPadded(6))
        for r in rows {
            var line = r.op.padding(toLength: 25, withPad: " ", startingAt: 0) + r.mode.padding(toLength: 16, withPad: " ", startingAt: 0)
            line += String(r.threads).leftPadded(7) + (r.ops_per_s.map { String(Int($0.rounded())) } ?? "-").leftPadded(9)
            line += us(r.p50_us).leftPadded(10) + us(r.p99_us).leftPadded(10) + "  " + (r.baseline ?? "-").padding(toLength: 37, withPad: " ", startingAt: 0)
            line += (r.ratio.map { String(format: "%.2f", $0) } ?? "-").leftPadded(6)
            if let note = r.note { line += "  " + note }
            print(line)
        }
        if let overhead = report.overhead {
            print("module per-call overhead (embedded, 1 thread): \(String(format: "%.2f", overhead)) us (1/module rate - 1/LocalHSM rate)")
        }
        print("goals:")
        for g in report.goals {
            print("  [\(g.met ? "met" : "MISSED")] \(g.goal): \(String(format: "%.2f", g.value)) \(g.unit)")
        }
    }
}
