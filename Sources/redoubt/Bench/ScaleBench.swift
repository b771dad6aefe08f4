import ArgumentParser
import Foundation
import Logging
import Redoubt
import RedoubtBroker
import RedoubtClient
import RedoubtStore

/// `redoubt bench scale`: how cost grows with the number of keys in a store.
struct ScaleBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Grow one store to each --keys size and measure creation, store size, broker start and memory, signing, paging, backup and restore.",
        discussion: """
            One partition grows through the sizes in order (P-256 keys made by 16 tasks in this process). At \
            each size a `redoubt serve` child starts on the store (start time: until it listens), signs once \
            with each of --touch keys (64 calls in flight, as a busy node), has its resident memory read, \
            signs --samples digests one at a time, each with a key picked at random among all (beyond the \
            broker's key cache, a use unseals its key again), and walks ListKeys pages of 100. The broker \
            stops, and this process writes a whole-store backup and restores it into a new SQLite store. \
            bytes_per_key is the store's size on disk over the key count (SQLite: its files; PostgreSQL: pg_database_size). Goals: sign p99 at the \
            largest size at most 1.2x the smallest's, resident memory bounded (not growing with the key \
            count past the cache's size), start at most 2 s.

            --store postgres://… runs on PostgreSQL instead; the database must be empty (it is initialised).
            """)

    @Option(help: "Key counts to measure at, ascending, comma-separated (each 10 to 1000000).") var keys: String = "1000,10000"
    @Option(help: "Signatures per size (100 to 100000).") var samples: Int = 2000
    @Option(help: "Keys the broker signs with once before its memory is read (0 to 1000000).") var touch: Int = 200_000
    @Option(help: "A PostgreSQL URL (an empty database) instead of a SQLite file in a temporary directory.") var store: String?
    @Option(name: .customLong("key-cache"), help: "The broker's --key-cache (unsealed keys kept in memory; default its own, 100000).")
    var keyCache: Int?
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func sizes() throws -> [Int] {
        let sizes = keys.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 != nil && (10...1_000_000).contains($0!) }) else {
            throw ValidationError("--keys takes comma-separated counts between 10 and 1000000, e.g. 1000,100000")
        }
        let counts = sizes.map { $0! }
        guard counts == counts.sorted(), Set(counts).count == counts.count else { throw ValidationError("--keys must be ascending, without repeats") }
        return counts
    }

    func validate() throws {
        _ = try sizes()
        guard (100...100_000).contains(samples) else { throw ValidationError("--samples must be between 100 and 100000") }
        guard (0...1_000_000).contains(touch) else { throw ValidationError("--touch must be between 0 and 1000000") }
        do { _ = try StoreLocation(argument: store, directory: "/") } catch { throw ValidationError(error.message) }
        if let keyCache, !ServeCommand.keyCacheRange.contains(keyCache) { throw ValidationError("--key-cache must be between 1 and 10000000") }
    }

    struct Result: Encodable {
        var store: String
        var keys: Int
        var create_per_s: Double
        var bytes_per_key: Double?
        var start_s: Double
        var rss_mb: Double
        var sign_p50_ms: Double
        var sign_p99_ms: Double
        var list_page_p50_ms: Double
        var backup_s: Double
        var backup_bytes: Int
        var restore_s: Double
    }

    func run() async throws {
        let sizes = try sizes()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-bench-scale-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func note(_ s: String) { if !json { FileHandle.standardError.write(Data("\(s)\n".utf8)) } }
        let location = try StoreLocation(argument: store, directory: dir)
        let storeName = if case .postgres = location { "postgresql" } else { "sqlite" }
        var logger = Logger(label: "redoubt.bench")
        logger.logLevel = .error
        let passphrase = "benchmark passphrase, not secret"
        try Data(passphrase.utf8).write(to: URL(fileURLWithPath: dir + "/passphrase"))

        // The partition, its user and the operator, made once.
        var hsmStore = try await location.open()
        let created = try await LocalHSM.initialize(store: hsmStore, passphrase: passphrase, logger: logger)
        var hsm = created.hsm
        let op = try await hsm.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
        var settings = PartitionSettings.defaults
        settings.maximumObjects = min(10_000_000, max(settings.maximumObjects, 2 * sizes.last!))
        let partition = try await hsm.createPartition(op.token, id: "scale", settings: settings)
        let so = try await hsm.openSession(partition: "scale", credential: .apiKey(partition.securityOfficerAPIKey))
        let apiKey = try await hsm.addUser(so.token, name: "scale", role: .cryptoUser, password: nil).apiKey

        var ids: [String] = []
        var results: [Result] = []
        for size in sizes {
            // Grow to `size`, in this process.
            let session = try await hsm.openSession(partition: "scale", credential: .apiKey(apiKey)).token
            let growing = hsm
            let flusher = Task { try await growing.run() }
            note("creating keys \(ids.count + 1)–\(size)…")
            let clock = ContinuousClock()
            let createStart = clock.now
            ids += try await Self.createKeys(size - ids.count, hsm: growing, session: session)
            let createSeconds = RPCBenchCommand.ms(clock.now - createStart) / 1000
            let createRate = Double(size - (results.last?.keys ?? 0)) / createSeconds
            flusher.cancel()
            try await hsm.close()
            let storeBytes = try await Self.storeBytes(location, hsmStore)
            try await hsmStore.close()
            let bytesPerKey = storeBytes.map { Double($0) / Double(size) }

            // A broker on the store: start time, signing on random keys, memory, paging.
            var arguments = ["--data", dir, "--passphrase-file", dir + "/passphrase", "--rate", "0", "--log-level", "error"]
            if let store { arguments += ["--store", store] }
            if let keyCache { arguments += ["--key-cache", String(keyCache)] }
            let node = NodeProcess(name: "scale", arguments: arguments)
            defer { node.signalOnly(SIGKILL) }
            note("starting the broker on \(size) keys…")
            let startBegin = clock.now
            try await node.start(timeout: .seconds(120))
            let startSeconds = RPCBenchCommand.ms(clock.now - startBegin) / 1000
            let client = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(node.port ?? 0)", callTimeout: .seconds(30))).start()
            let remote = try await client.openSession(partition: "scale", credential: .apiKey(apiKey)).token
            let digest = Data(repeating: 0x5a, count: 32)
            // A busy node: every key (at most --touch) used once, 64 calls in flight, before memory is read.
            let touched = min(size, touch)
            note("signing once with each of \(touched) keys…")
            try await Self.touch(Array(ids.shuffled().prefix(touched)), client: client, session: remote, digest: digest)
            let rss = node.residentMegabytes() ?? 0
            note("signing \(samples) times on random keys…")
            var signs: [Double] = []
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<samples {
                let id = ids.randomElement(using: &generator)!
                let t = clock.now
                _ = try await client.sign(remote, key: id, input: .digest(digest), scheme: .ecdsa(.sha256))
                signs.append(RPCBenchCommand.ms(clock.now - t))
            }
            var pages: [Double] = []
            var after: String?
            for _ in 0..<min(20, (size + 99) / 100) {
                let t = clock.now
                let page = try await client.listKeys(remote, filter: KeyFilter(after: after, limit: 100))
                pages.append(RPCBenchCommand.ms(clock.now - t))
                after = page.last?.id
            }
            await client.close()
            await node.stop()

            // Backup and restore, in this process.
            hsmStore = try await location.open()
            hsm = try await LocalHSM.open(store: hsmStore, unseal: .passphrase(passphrase), logger: logger)
            let operatorSession = try await hsm.openSession(partition: "", credential: .apiKey(created.operatorAPIKey)).token
            note("backing up \(size) keys…")
            let backupPath = dir + "/backup-\(size).rdb"
            let backupStart = clock.now
            _ = try await hsm.createBackup(operatorSession, path: backupPath)
            let backupSeconds = RPCBenchCommand.ms(clock.now - backupStart) / 1000
            let backupBytes = (try? FileManager.default.attributesOfItem(atPath: backupPath)[.size] as? Int) ?? 0
            note("restoring it…")
            let restoredPath = dir + "/restored-\(size).sqlite"
            let restoreStart = clock.now
            let restoredStore = try SQLiteStore(path: restoredPath)
            let restored = try await LocalHSM.restore(from: backupPath, into: restoredStore, unseal: .passphrase(passphrase))
            let restoreSeconds = RPCBenchCommand.ms(clock.now - restoreStart) / 1000
            try await restored.close()
            try await restoredStore.close()
            for path in [backupPath, restoredPath, restoredPath + "-wal", restoredPath + "-shm"] { try? FileManager.default.removeItem(atPath: path) }

            results.append(
                Result(
                    store: storeName, keys: size, create_per_s: createRate.rounded(), bytes_per_key: bytesPerKey.map { $0.rounded() },
                    start_s: Self.round(startSeconds, 3), rss_mb: Self.round(rss, 1),
                    sign_p50_ms: ClusterBenchCommand.percentile(signs, 0.5),
                    sign_p99_ms: ClusterBenchCommand.percentile(signs, 0.99),
                    list_page_p50_ms: ClusterBenchCommand.percentile(pages, 0.5), backup_s: Self.round(backupSeconds, 3),
                    backup_bytes: backupBytes, restore_s: Self.round(restoreSeconds, 3)))
        }
        try await hsm.close()
        try await hsmStore.close()
        try report(results)
    }

    private func report(_ results: [Result]) throws {
        let first = results.first!
        let last = results.last!
        let p99Ratio = first.sign_p99_ms > 0 ? Self.round(last.sign_p99_ms / first.sign_p99_ms, 2) : 0
        let rssRatio = first.rss_mb > 0 ? Self.round(last.rss_mb / first.rss_mb, 2) : 0
        if json {
            struct Report: Encodable {
                var results: [Result]
                var sign_p99_ratio: Double
                var rss_ratio: Double
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(Report(results: results, sign_p99_ratio: p99Ratio, rss_ratio: rssRatio)), as: UTF8.self))
            return
        }
        let header = ["store", "keys", "create/s", "B/key", "start s", "RSS MB", "sign p50", "sign p99", "page p50", "backup s", "restore s"]
        print(header.map { $0.leftPadded(10) }.joined())
        for r in results {
            let cells = [
                r.store, String(r.keys), String(Int(r.create_per_s)), r.bytes_per_key.map { String(Int($0)) } ?? "-",
                String(format: "%.3f", r.start_s), String(format: "%.1f", r.rss_mb), String(format: "%.2f", r.sign_p50_ms),
                String(format: "%.2f", r.sign_p99_ms), String(format: "%.2f", r.list_page_p50_ms), String(format: "%.2f", r.backup_s),
                String(format: "%.2f", r.restore_s),
            ]
            print(cells.map { $0.leftPadded(10) }.joined())
        }
        print("sign p99 at \(last.keys) keys / at \(first.keys): \(p99Ratio) (goal <= 1.2); broker RSS ratio: \(rssRatio)")
    }

    /// Signs once with each of `ids`, 64 calls in flight.
    static func touch(_ ids: [String], client: RemoteHSM, session: SessionToken, digest: Data) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<64 {
                group.addTask {
                    for i in stride(from: worker, to: ids.count, by: 64) {
                        _ = try await client.sign(session, key: ids[i], input: .digest(digest), scheme: .ecdsa(.sha256))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// `count` P-256 keys labelled `label`, made by 16 tasks; their ids.
    static func createKeys(_ count: Int, hsm: LocalHSM, session: SessionToken, label: String = "scale") async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var made: [String] = []
                    for _ in stride(from: worker, to: count, by: 16) {
                        made.append(try await hsm.generateKey(session, spec: KeySpec(algorithm: .p256, label: label)).id)
                    }
                    return made
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// The store's size on disk: its files on SQLite (the database, its write-ahead log and index),
    /// `pg_database_size` on PostgreSQL.
    static func storeBytes(_ location: StoreLocation, _ store: any ObjectStore) async throws -> Int? {
        if let postgres = store as? PostgresStore {
            return Int(try await postgres.databaseSize())
        }
        guard case .sqlite(let path) = location else { return nil }
        return [path, path + "-wal", path + "-shm"].reduce(0) { sum, file in
            sum + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        }
    }

    static func round(_ value: Double, _ places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (value * scale).rounded() / scale
    }
}
