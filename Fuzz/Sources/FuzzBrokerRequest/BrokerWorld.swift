// FuzzBrokerRequest's world: LocalHSM over a recorded SQLite store, the prepared partition, users,
// sessions and keys, the snapshot a rejected request must leave as it was, and the repair after a
// successful call (the header of FuzzBrokerRequest.swift describes all of it).
import Foundation
import FuzzSupport
import GRPCCore
import GRPCInProcessTransport
import Logging
import Redoubt
import RedoubtCrypto
import RedoubtBroker
import RedoubtProto
import RedoubtStore
import Synchronization

// MARK: The store, recorded

/// An ObjectStore that forwards to SQLite and records every committed batch, so the target can
/// tell exactly what a call wrote.
final class RecordingStore: ObjectStore, Sendable {
    let base: SQLiteStore
    /// The store's own directory, removed when the world is discarded.
    let directory: URL
    let committed = Mutex<[WriteBatch]>([])

    init(_ base: SQLiteStore, directory: URL) {
        self.base = base
        self.directory = directory
    }

    func take() -> [WriteBatch] {
        committed.withLock { batches in
            let out = batches
            batches.removeAll()
            return out
        }
    }

    func get(_ key: ObjectKey) async throws -> StoredObject? { try await base.get(key) }
    func list(partition: String, kind: String, label: String?, after id: String?, limit: Int) async throws -> [StoredObject] {
        try await base.list(partition: partition, kind: kind, label: label, after: id, limit: limit)
    }
    func count(partition: String, kind: String) async throws -> Int { try await base.count(partition: partition, kind: kind) }
    @discardableResult
    func commit(_ batch: WriteBatch) async throws -> CommitResult {
        let result = try await base.commit(batch)
        committed.withLock { $0.append(batch) }
        return result
    }
    func audit(partition: String, from sequence: Int64, limit: Int) async throws -> [AuditEntry] {
        try await base.audit(partition: partition, from: sequence, limit: limit)
    }
    func auditHead(partition: String) async throws -> AuditEntry? { try await base.auditHead(partition: partition) }
    func auditPartitions() async throws -> [String] { try await base.auditPartitions() }
    func requestClaim(partition: String, requestID: String) async throws -> ObjectKey? {
        try await base.requestClaim(partition: partition, requestID: requestID)
    }
    func changeCounter() async throws -> Int64 { try await base.changeCounter() }
    func changes(after counter: Int64, limit: Int) async throws -> [StoreChange]? { try await base.changes(after: counter, limit: limit) }
    func exportAll() -> AsyncThrowingStream<StoreRecord, Error> { base.exportAll() }
    func importAll(_ records: some AsyncSequence<StoreRecord, Error> & Sendable) async throws { try await base.importAll(records) }
    func close() async throws { try await base.close() }
}

// MARK: The broker's log

/// Keeps what the broker logged about the last unexpected error (the cause of an INTERNAL).
struct CapturingLogHandler: LogHandler {
    static let last = Mutex<String?>(nil)
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        guard event.level >= .warning else { return }
        let text = "\(event.message) \(event.metadata.map { "\($0)" } ?? "")"
        Self.last.withLock { $0 = text }
    }
}

// MARK: The world

/// A prepared key: its id (replaced when the fuzzer changes it for good) and how to make it again.
struct FixtureKey: Sendable {
    var id: String
    var info: KeyInfo
    let make: @Sendable (LocalHSM, SessionToken) async throws -> KeyInfo
}

/// Everything one input needs; rebuilt when it has grown (`grown`).
struct World: Sendable {
    var store: RecordingStore
    var hsm: LocalHSM
    var handlers: Handlers
    var inProcess: InProcessBroker?
    var operatorAPIKey: String
    var officerAPIKey: String
    var aliceAPIKey: String
    var operatorToken: SessionToken
    var officerToken: SessionToken
    var aliceToken: SessionToken
    var garbageToken: SessionToken
    var officerID: String
    var aliceID: String
    var bobID: String
    var keys: [FixtureKey]
    var settings: PartitionSettings
    var inputs = 0
    /// The view after the last call, valid while the change counter has not moved.
    var snapshot: Snapshot?

    /// Every secret of the fixture that no error message may show.
    var secrets: [String] {
        var out: [String] = []
        for text in [operatorAPIKey, officerAPIKey, aliceAPIKey, operatorToken.value, officerToken.value, aliceToken.value] {
            out.append(text)
            if let secret = text.split(separator: ".").last, secret.count >= 16 { out.append(String(secret)) }
        }
        return out + [hmacSecretHex, hmacSecretBase64]
    }

    /// The secrets no successful response may contain (API keys and session tokens: the fuzzer
    /// cannot know them, so they cannot be echoes of the request).
    var credentialSecrets: [[UInt8]] {
        [operatorAPIKey, officerAPIKey, aliceAPIKey, operatorToken.value, officerToken.value, aliceToken.value]
            .compactMap { $0.split(separator: ".").last.map { Array($0.utf8) } }
    }
}

/// The HMAC fixture key's bytes (known, so the secret check can look for them).
private let hmacSecret = FixedKeys.bytes("broker-hmac", count: 32)
private let hmacSecretHex = hexPrefix(hmacSecret, limit: 64)
private let hmacSecretBase64 = Data(hmacSecret).base64EncodedString()
let partitionID = "p1"
/// A fixed instant: the HSM's clock never moves (see the header).
private let frozenNow = Date(timeIntervalSince1970: 1_900_000_000)

/// The service handlers of one BrokerServices, by service.
struct Handlers: Sendable {
    var session: any Redoubt_V1_SessionService.ServiceProtocol
    var partition: any Redoubt_V1_PartitionService.ServiceProtocol
    var user: any Redoubt_V1_UserService.ServiceProtocol
    var key: any Redoubt_V1_KeyService.ServiceProtocol
    var crypto: any Redoubt_V1_CryptoService.ServiceProtocol
    var audit: any Redoubt_V1_AuditService.ServiceProtocol

    init(_ services: [any RegistrableRPCService]) {
        func find<T>(_: T.Type) -> T {
            guard let found = services.lazy.compactMap({ $0 as? T }).first else { fuzzFail("BrokerServices has no \(T.self)") }
            return found
        }
        session = find((any Redoubt_V1_SessionService.ServiceProtocol).self)
        partition = find((any Redoubt_V1_PartitionService.ServiceProtocol).self)
        user = find((any Redoubt_V1_UserService.ServiceProtocol).self)
        key = find((any Redoubt_V1_KeyService.ServiceProtocol).self)
        crypto = find((any Redoubt_V1_CryptoService.ServiceProtocol).self)
        audit = find((any Redoubt_V1_AuditService.ServiceProtocol).self)
    }
}

/// A GRPCServer and GRPCClient over the in-process transport, running until the process ends.
struct InProcessBroker: Sendable {
    let server: GRPCServer<InProcessTransport.Server>
    let client: GRPCClient<InProcessTransport.Client>

    init(services: [any RegistrableRPCService]) {
        let transport = InProcessTransport()
        let server = GRPCServer(transport: transport.server, services: services)
        let client = GRPCClient(transport: transport.client)
        Task { try? await server.serve() }
        Task { try? await client.runConnections() }
        self.server = server
        self.client = client
    }

    /// Ends both, so a discarded world's broker does not keep running.
    func shutDown() {
        client.beginGracefulShutdown()
        server.beginGracefulShutdown()
    }
}

/// FUZZ_VERBOSE=1 prints each call's outcome (to see what the seeds reach).
let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] == "1"
private let useInProcessTransport = ProcessInfo.processInfo.environment["FUZZ_BROKER_DIRECT"] != "1"

private func makeWorld() -> World {
    runBlockingOrDie("broker world") {
        let directory = worldsDirectory.appendingPathComponent(UUID().uuidString, isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = RecordingStore(try SQLiteStore(path: directory.appendingPathComponent("store.sqlite").path), directory: directory)
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
        configuration.failedSignInMinimum = 0  // refused sign-ins would each wait 20 ms
        configuration.clock = { frozenNow }
        let initialized = try await LocalHSM.initialize(
            store: store, passphrase: nil, shares: (threshold: 2, count: 2),
            configuration: configuration)
        let hsm = initialized.hsm
        let operatorSession = try await hsm.openSession(partition: "", credential: .apiKey(initialized.operatorAPIKey))
        let created = try await hsm.createPartition(operatorSession.token, id: partitionID, settings: .defaults)
        let officer = try await hsm.openSession(partition: partitionID, credential: .apiKey(created.securityOfficerAPIKey))
        let alice = try await hsm.addUser(officer.token, name: "alice", role: .cryptoUser, password: nil)
        let bob = try await hsm.addUser(officer.token, name: "bob", role: .cryptoUser, password: nil)
        let aliceSession = try await hsm.openSession(partition: partitionID, credential: .apiKey(alice.apiKey))

        let makers: [@Sendable (LocalHSM, SessionToken) async throws -> KeyInfo] = [
            { try await $0.generateKey($1, spec: KeySpec(algorithm: .p256, label: "fixture-p256")) },
            { try await $0.generateKey($1, spec: KeySpec(algorithm: .ed25519, label: "fixture-ed25519")) },
            { try await $0.generateKey($1, spec: KeySpec(algorithm: .aes256, label: "fixture-aes", extractable: true)) },
            {
                try await $0.importKey(
                    $1, spec: KeySpec(algorithm: .genericSecret, label: "fixture-hmac", extractable: true, sensitive: false),
                    material: .secret(SecretBytes(hmacSecret)))
            },
            {
                try await $0.importKey(
                    $1, spec: KeySpec(algorithm: .rsa2048, label: "fixture-rsa", extractable: true),
                    material: .pkcs8(Data(try FixedKeys.privateKey(.rsa2048).pkcs8Representation().exportedBytes())))
            },
            { try await $0.generateKey($1, spec: KeySpec(algorithm: .mlkem768, label: "fixture-mlkem")) },
        ]
        var keys: [FixtureKey] = []
        for make in makers {
            let info = try await make(hsm, officer.token)
            keys.append(FixtureKey(id: info.id, info: info, make: make))
        }
        let logger = Logger(label: "fuzz-broker") { _ in CapturingLogHandler() }
        let broker = BrokerServices(hsm: hsm, limits: .defaults, backups: nil, logger: logger)
        try await hsm.close()  // commits queued audit records now, not during the first input
        _ = store.take()
        let aliceSessionID = aliceSession.id
        return World(
            store: store, hsm: hsm, handlers: Handlers(broker.services),
            inProcess: useInProcessTransport ? InProcessBroker(services: broker.services) : nil,
            operatorAPIKey: initialized.operatorAPIKey, officerAPIKey: created.securityOfficerAPIKey,
            aliceAPIKey: alice.apiKey, operatorToken: operatorSession.token, officerToken: officer.token,
            aliceToken: aliceSession.token, garbageToken: SessionToken("rds1.\(aliceSessionID).bm90LXRoZS1zZWNyZXQtYXQtYWxs"),
            officerID: created.securityOfficer.id, aliceID: alice.user.id, bobID: bob.user.id, keys: keys,
            settings: created.partition.settings)
    }
}

/// Releases a world's store (its temporary directory goes with it).
private func discard(_ world: World) {
    world.inProcess?.shutDown()
    let store = world.store
    _ = runBlocking { try await store.close() }
    try? FileManager.default.removeItem(at: store.directory)
}

/// Where this process keeps its worlds' stores (under TMPDIR, /dev/shm when fuzzing), removed at
/// exit: the live world's store is never closed, and would otherwise stay behind.
private let worldsDirectory: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-fuzz-broker-\(getpid())", isDirectory: true)
    atexit { try? FileManager.default.removeItem(at: worldsDirectory) }
    return url
}()

nonisolated(unsafe) private var currentWorld: World?

var world: World {
    get {
        if let w = currentWorld { return w }
        let w = makeWorld()
        currentWorld = w
        return w
    }
    set { currentWorld = newValue }
}

// MARK: The snapshot

/// What a rejected request must leave as it was.
struct Snapshot: Sendable, Equatable {
    struct Key: Sendable, Equatable {
        var id: String
        var state: KeyState
        var latestVersion: Int
    }
    struct User: Sendable, Equatable {
        var id: String
        var name: String
        var role: Role
    }
    var keys: [Key]
    var users: [User]
    var partitions: [String: PartitionSettings]
    var counter: Int64
}

func takeSnapshot(_ w: World) throws -> Snapshot {
    let (hsm, store, officer, op) = (w.hsm, w.store, w.officerToken, w.operatorToken)
    return try runBlocking {
        let keys = try await hsm.listKeys(officer, filter: KeyFilter(includeDestroyed: true, limit: 1000))
        let users = try await hsm.listUsers(officer)
        let partitions = try await hsm.listPartitions(op)
        return Snapshot(
            keys: keys.map { .init(id: $0.id, state: $0.state, latestVersion: $0.latestVersion) },
            users: users.map { .init(id: $0.id, name: $0.name, role: $0.role) }.sorted { $0.id < $1.id },
            partitions: Dictionary(partitions.map { ($0.id, $0.settings) }, uniquingKeysWith: { a, _ in a }),
            counter: try await store.changeCounter())
    }.get()
}

/// Commits queued key-use audit records (LocalHSM.close flushes them, and nothing else).
func flushAudit(_ w: World) {
    let hsm = w.hsm
    if case .failure(let error) = runBlocking({ try await hsm.close() }) { fuzzFail("flushing the audit queue failed: \(error)") }
}

// MARK: Keeping the fixture usable

/// Inputs per world, bounding the store (audit chain, sessions) and the cost of VerifyAudit.
let maximumInputsPerWorld = 20_000

private func grown(_ s: Snapshot, _ w: World) -> Bool {
    w.inputs > maximumInputsPerWorld || s.keys.count > 64 || s.users.count > 16 || s.partitions.count > 8
}

/// Replaces the world with a new one.
func rebuild(_ w: World) {
    discard(w)
    currentWorld = nil
    _ = world.inputs
}

/// After a successful call that may have changed the fixture: puts it back (or rebuilds it).
func repair(after name: String, selector: Selector) {
    var w = world
    let hsm = w.hsm
    let repaired: Result<World, any Error> = runBlocking { [w] in
        var w = w
        // Sessions: a fixture session the call closed opens again.
        if name == "CloseSession" {
            switch selector.bearer {
            case .alice: w.aliceToken = try await hsm.openSession(partition: partitionID, credential: .apiKey(w.aliceAPIKey)).token
            case .officer: w.officerToken = try await hsm.openSession(partition: partitionID, credential: .apiKey(w.officerAPIKey)).token
            case .operatorSession: w.operatorToken = try await hsm.openSession(partition: "", credential: .apiKey(w.operatorAPIKey)).token
            default: break
            }
        }
        let officer = w.officerToken
        // Keys: unblock, restore, or replace what the call changed for good.
        for i in w.keys.indices {
            let key = w.keys[i]
            let info: KeyInfo? = try? await hsm.getKey(officer, id: key.id)
            guard let info, KeyInfo.sameAttributes(info, key.info) else {
                let made = try await key.make(hsm, officer)
                w.keys[i].id = made.id
                w.keys[i].info = made
                continue
            }
            if info.state == .blocked { _ = try await hsm.unblockKey(officer, id: key.id) }
            if info.state == .destroyed { _ = try await hsm.restoreKey(officer, id: key.id) }
        }
        // The partition's settings.
        let partitions = try await hsm.listPartitions(w.operatorToken)
        if let p = partitions.first(where: { $0.id == partitionID }), p.settings != w.settings {
            _ = try await hsm.updatePartition(w.operatorToken, id: partitionID, settings: w.settings)
        }
        // Users: bob comes back; without alice or the officer the world is rebuilt.
        let users = try await hsm.listUsers(officer)
        guard users.contains(where: { $0.id == w.aliceID }), users.contains(where: { $0.id == w.officerID }) else {
            throw RebuildWorld()
        }
        if !users.contains(where: { $0.id == w.bobID }) {
            w.bobID = try await hsm.addUser(officer, name: "bob", role: .cryptoUser, password: nil).user.id
        }
        return w
    }
    switch repaired {
    case .success(let fixed):
        w = fixed
        flushAudit(w)
        _ = w.store.take()
        if let s = try? takeSnapshot(w), !grown(s, w) {
            w.snapshot = s
            world = w
            return
        }
    case .failure:
        break
    }
    // Grown, or not repairable: a new world.
    rebuild(w)
}

private struct RebuildWorld: Error {}

extension KeyInfo {
    /// Whether the attributes a successful UpdateKey may change are as prepared (label aside).
    fileprivate static func sameAttributes(_ a: KeyInfo, _ b: KeyInfo) -> Bool {
        a.usage == b.usage && a.extractable == b.extractable && a.sensitive == b.sensitive && a.modifiable == b.modifiable
            && a.destroyable == b.destroyable && a.notBefore == b.notBefore && a.expiresAt == b.expiresAt
            && a.minimumVersion == b.minimumVersion
    }
}
