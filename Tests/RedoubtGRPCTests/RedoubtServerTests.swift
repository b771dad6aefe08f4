import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Redoubt
import RedoubtBroker
import RedoubtTesting
import ServiceLifecycle
import Synchronization
import Testing

/// ``RedoubtServer`` and ``withBroker(configuration:logger:clock:isolation:_:)``: the whole broker
/// as `redoubt serve` wires it, run in the test's process.
@Suite("RedoubtServer (in-process broker)")
struct RedoubtServerTests {
    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// A new, not yet existing directory under the temporary folder.
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-server-\(UUID().uuidString)").path
    }

    /// A development broker on a free loopback port over `directory`.
    static func development(_ directory: String, store: StoreLocation? = nil, schedule: BackupSchedule? = nil) -> RedoubtServer.Configuration {
        RedoubtServer.Configuration(
            broker: BrokerConfiguration(listen: "127.0.0.1:0", backupSchedule: schedule),
            backend: .development(directory: directory, store: store), backupDirectory: directory + "/backups")
    }

    /// Opens a session with `apiKey` through the broker at `endpoint`, signs with a new P-256 key
    /// (or `keyID`) and verifies; returns the key's id.
    @discardableResult
    static func sign(endpoint: HostAndPort, partition: String = "dev", apiKey: String, keyID: String? = nil) async throws -> String {
        try await withRemoteHSM(configuration: .init(endpoint: "\(endpoint)")) { hsm in
            let session = try await hsm.openSession(partition: partition, credential: .apiKey(apiKey)).token
            var key = keyID ?? ""
            if keyID == nil { key = try await hsm.generateKey(session, spec: KeySpec(algorithm: .p256, label: "server-test")).id }
            let message = Data("pay 100 to bob".utf8)
            let signed = try await hsm.sign(session, key: key, input: .message(message), scheme: .ecdsa(.sha256))
            #expect(
                try await hsm.verify(session, key: key, input: .message(message), signature: signed.signature, scheme: .ecdsa(.sha256), version: signed.version)
            )
            try await hsm.closeSession(session)
            return key
        }
    }

    /// The broker's Prometheus text.
    static func metrics(port: Int) async throws -> String {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/metrics"))
        let (data, _) = try await URLSession.shared.data(from: url)
        return String(decoding: data, as: UTF8.self)
    }

    /// A logger whose lines a test can read.
    final class CapturedLog: Sendable {
        private let lines = Mutex<[String]>([])
        var text: String { lines.withLock { $0.joined(separator: "\n") } }
        func append(_ line: String) { lines.withLock { $0.append(line) } }

        func logger(_ label: String = "redoubt.broker.test") -> Logger {
            Logger(label: label) { _ in Handler(log: self) }
        }

        struct Handler: LogHandler {
            let log: CapturedLog
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) {
                log.append("\(event.level) \(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })")
            }
        }
    }

    @Test("development mode: credentials (0600) with the endpoint, a RemoteHSM signs with the dev API key; a second run keeps the keys")
    func developmentMode() async throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = DevCredentials.file(in: dir)

        let (first, keyID) = try await withBroker(configuration: Self.development(dir)) { listening in
            let credentials = try #require(listening.devCredentials)
            #expect(listening.endpoint.host == "127.0.0.1" && listening.port != 0)
            #expect(credentials.endpoint == "\(listening.endpoint)")
            #expect(credentials.partition == "dev" && credentials.user == "dev-app")
            #expect(credentials.apiKey.hasPrefix("rdk1.") && credentials.operatorAPIKey.hasPrefix("rdk1."))
            #expect(credentials.path == file)
            #expect(try DevCredentials.load(directory: dir) == credentials, "the file holds what listening() says")
            #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600)
            #expect(try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? Int == 0o700)
            #expect(FileManager.default.fileExists(atPath: dir + "/dev-unseal.key"))
            #expect(FileManager.default.fileExists(atPath: dir + "/backups"))
            #expect(listening.metricsPort == nil)
            return (credentials, try await Self.sign(endpoint: listening.endpoint, apiKey: credentials.apiKey))
        }

        // The store is closed: a second broker over the same directory opens it with the same keys.
        try await withBroker(configuration: Self.development(dir)) { listening in
            let credentials = try #require(listening.devCredentials)
            #expect(credentials.apiKey == first.apiKey && credentials.operatorAPIKey == first.operatorAPIKey)
            #expect(credentials.endpoint == "\(listening.endpoint)")
            #expect(try DevCredentials.load(directory: dir).endpoint == "\(listening.endpoint)")
            try await Self.sign(endpoint: listening.endpoint, apiKey: credentials.apiKey, keyID: keyID)
        }
    }

    @Test("a store made by `redoubt init` (passphrase) is served, and its backup directory receives CreateBackup")
    func passphraseStore() async throws {
        let dir = Self.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let location = StoreLocation.sqlite(path: dir + "/redoubt.sqlite")
        let passphrase = "server test passphrase"
        let store = try await location.open()
        let created = try await LocalHSM.initialize(store: store, passphrase: passphrase)
        try await created.hsm.close()
        try await store.close()

        let configuration = RedoubtServer.Configuration(
            broker: BrokerConfiguration(listen: "127.0.0.1:0", metrics: "127.0.0.1:0"),
            backend: .store(location, unseal: .passphrase(passphrase)), backupDirectory: dir + "/backups")
        try await withBroker(configuration: configuration) { listening in
            #expect(listening.devCredentials == nil)
            #expect(listening.metricsPort != nil && listening.metricsPort != 0)
            try await withRemoteHSM(configuration: .init(endpoint: "\(listening.endpoint)")) { hsm in
                let session = try await hsm.openSession(partition: "", credential: .apiKey(created.operatorAPIKey)).token
                _ = try await hsm.createBackup(session, path: "drill.rdbk")
            }
            #expect(FileManager.default.fileExists(atPath: dir + "/backups/drill.rdbk"))
        }

        // The wrong passphrase: the HSM's error, and nothing runs.
        let wrong = RedoubtServer.Configuration(
            broker: BrokerConfiguration(listen: "127.0.0.1:0"), backend: .store(location, unseal: .passphrase("not the passphrase")))
        await #expect(throws: HSMError.self) { try await withBroker(configuration: wrong) { _ in Issue.record("it must not listen") } }
    }

    @Test("scheduled backups run on the server's clock and land in the schedule's directory")
    func scheduledBackups() async throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/scheduled"
        let clock = ManualClock()
        let configuration = Self.development(dir, schedule: BackupSchedule(directory: target, interval: 3600, retain: 2))
        try await withBroker(configuration: configuration, clock: clock) { _ in
            try await clock.waitForSleepers(1)  // the scheduler waits for its interval
            for expected in 1...3 {
                clock.advance(by: .seconds(3600))
                // It sleeps again only once the backup is written (and old ones pruned).
                try await clock.waitForSleepers(1)
                #expect((try? BackupScheduler.backups(in: target).count) == min(expected, 2), "after \(expected) intervals")
            }
        }
        #expect(try BackupScheduler.latest(in: target) != nil)
    }

    @Test("router mode over a node started by another withBroker: calls reach the node, node states reach the metrics")
    func routerOverNode() async throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withBroker(configuration: Self.development(dir)) { node in
            let credentials = try #require(node.devCredentials)
            let nodes = RouterConfiguration(nodes: [.init(name: "node-1", site: "here", endpoint: "\(node.endpoint)")])
            let router = RedoubtServer.Configuration(
                broker: BrokerConfiguration(listen: "127.0.0.1:0", metrics: "127.0.0.1:0"), backend: .router(nodes))
            try await withBroker(configuration: router) { listening in
                #expect(listening.port != node.port)
                let keyID = try await Self.sign(endpoint: listening.endpoint, apiKey: credentials.apiKey)
                // The key made through the router is on the node.
                try await Self.sign(endpoint: node.endpoint, apiKey: credentials.apiKey, keyID: keyID)
                // A scrape reads the router's node states as they are at that moment. Among every
                // other test a health probe can time out (the node then shows down until the next
                // probe answers): scrape again, for up to 60 s, until the node shows up.
                let port = try #require(listening.metricsPort)
                var text = try await Self.metrics(port: port)
                for _ in 0..<120 where !text.contains(#"redoubt_router_node_up{node="node-1",site="here"} 1"#) {
                    try await Task.sleep(for: .milliseconds(500))
                    text = try await Self.metrics(port: port)
                }
                let requests = text.split(separator: "\n").first { $0.hasPrefix(#"redoubt_router_node_requests{node="node-1",site="here"} "#) }
                #expect((requests?.split(separator: " ").last).flatMap { Double($0) } ?? 0 >= 2, "the calls above went to node-1: \(text)")
                #expect(text.contains(#"redoubt_router_node_up{node="node-1",site="here"} 1"#), "\(text)")
            }
        }
    }

    @Test("configuration problems name the setting, and plaintext off loopback is refused before the store is touched")
    func configurationErrors() async throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        var offLoopback = Self.development(dir)
        offLoopback.broker.listen = "0.0.0.0:0"
        let refused = await #expect(throws: BrokerConfigurationError.self) {
            try await withBroker(configuration: offLoopback) { _ in Issue.record("it must not listen") }
        }
        #expect(
            refused?.message.contains("0.0.0.0:0 without TLS") == true && refused?.message.contains("--tls-cert") == true, "\(refused.map(\.message) ?? "")")
        #expect(!FileManager.default.fileExists(atPath: dir), "the data directory is untouched")

        var badLimit = Self.development(dir)
        badLimit.broker.limits.maximumBatchItems = 0
        let limit = await #expect(throws: BrokerConfigurationError.self) { try await withBroker(configuration: badLimit) { _ in } }
        #expect(limit?.message.contains("limits.maximumBatchItems") == true)
        var badMetrics = Self.development(dir)
        badMetrics.broker.metrics = "nowhere"
        let metrics = await #expect(throws: BrokerConfigurationError.self) { try await withBroker(configuration: badMetrics) { _ in } }
        #expect(metrics?.message.hasPrefix("metrics must be HOST:PORT") == true)
        #expect(!FileManager.default.fileExists(atPath: dir))

        let scheduledRouter = RedoubtServer.Configuration(
            broker: BrokerConfiguration(listen: "127.0.0.1:0", backupSchedule: BackupSchedule(directory: dir, interval: 60, retain: 1)),
            backend: .router(RouterConfiguration(nodes: [.init(name: "n", site: "s", endpoint: "127.0.0.1:1")])))
        let schedule = await #expect(throws: BrokerConfigurationError.self) { try await withBroker(configuration: scheduledRouter) { _ in } }
        #expect(schedule?.message.contains("scheduled backups") == true)

        let missing = RedoubtServer.Configuration(
            broker: BrokerConfiguration(listen: "127.0.0.1:0"),
            backend: .store(.sqlite(path: dir + "/redoubt.sqlite"), unseal: .passphrase("whatever it is")))
        let noStore = await #expect(throws: BrokerConfigurationError.self) { try await withBroker(configuration: missing) { _ in } }
        #expect(noStore?.message.hasPrefix("no store at \(dir)/redoubt.sqlite") == true)
        #expect(!FileManager.default.fileExists(atPath: dir), "no SQLite file is created for a missing store")

        #expect(throws: BrokerConfigurationError.self) { try StoreLocation(argument: "mysql://root:hunter2@db/x", directory: dir) }
        #expect("\(StoreLocation.postgres(url: "postgres://u:hunter2@db:5432/x?sslmode=require"))" == "postgres://u@db:5432/x")
    }

    @Test("init starts nothing; the graceful shutdown of its service group ends run(), which runs once")
    func gracefulShutdownEndsRun() async throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = CapturedLog()
        let server = RedoubtServer(configuration: Self.development(dir), logger: log.logger())
        #expect(!FileManager.default.fileExists(atPath: dir), "init touches nothing")

        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: log.logger("group")))
        let running = Task { try await group.run() }
        let listening = try await server.listening()
        #expect(try await server.listening() == listening, "every caller learns the same")
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(log.text.contains("shutting down"), "\(log.text)")

        // Ended: the store is closed (a new server opens it), and this one neither listens nor runs again.
        await #expect(throws: CancellationError.self) { try await server.listening() }
        await #expect(throws: BrokerConfigurationError.self) { try await server.run() }
        try await withBroker(configuration: Self.development(dir)) { again in
            #expect(again.devCredentials?.apiKey == listening.devCredentials?.apiKey)
        }

        // A caller waiting for a server that never runs is released by cancellation.
        let idle = RedoubtServer(configuration: Self.development(dir), logger: log.logger())
        let waiting = Task { try await idle.listening() }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }
}
