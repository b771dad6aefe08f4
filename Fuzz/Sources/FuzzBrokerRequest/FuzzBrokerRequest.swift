// The broker's request path: bytes decoded as each unary redoubt.v1 request message and dispatched
// to the broker's services (RedoubtBroker's BrokerServices) over an in-process LocalHSM and a
// throwaway SQLite store: decode → validate → HSM dispatch → error mapping.
//
// Dispatch: a GRPCServer with the broker's services and a GRPCClient over grpc-swift-2's in-process
// transport: the message is serialised, routed, decoded by the server's ProtobufDeserializer,
// handled, and its status travels back as a client sees it (an error other than RPCError in a
// handler would arrive as UNKNOWN). With FUZZ_BROKER_DIRECT=1 the services' handler methods are
// called directly instead, with a ServerRequest and ServerContext built here: the same decode →
// validate → HSM → error-mapping code, about 20 % faster; Fuzz/README.md ("FuzzBrokerRequest") has
// the numbers.
//
// World (built lazily, rebuilt when it has grown — see `maximumInputsPerWorld` and `grown`):
// LocalHSM over a SQLite store in a temporary directory (unsealed by 2-of-2 shares: no scrypt), behind a store
// wrapper that records every committed batch; a frozen clock (no idle-timeout bookkeeping, no
// time-driven audit flushes, no cache refreshes: every commit is caused by a call); partition
// "p1" with a security officer, crypto user "alice" and a spare crypto user "bob", open sessions
// for the operator, the officer and alice; keys P-256, Ed25519, AES-256 (extractable) and
// ML-KEM-768 generated, an HMAC generic secret (not sensitive, known bytes) and RSA-2048 imported.
//
// Input layout:
//   byte 0 (mod 41): the RPC, in the order of `rpcs` below (every unary RPC; CreateBackup and
//                    SignStream are streaming and not here)
//   byte 1: bits 0–2 (mod 6) the `authorization` bearer: alice's session, the officer's, the
//           operator's, a garbage token (alice's live session id, wrong secret), none, or alice's
//           API key (what OpenSession takes);
//           bit 3: put the id of a prepared key into the message's key id fields (every item of a
//           batch; Unwrap's and ImportKey's wrapping key id; RemoveUser's user id gets bob's id);
//           bits 4–6 (mod 6): which prepared key;
//           bit 7: put a second prepared key into the wrapping key id of Wrap and ExportWrapped
//           (AES-256, or RSA-2048 when the first is AES-256)
//   the rest: the request message (swift-protobuf); inputs that do not decode are skipped
//
// Invariants:
//   - every call succeeds, or fails with an RPCError whose code is one the broker documents
//     (StatusMapping: the nine HSMError codes); never UNKNOWN; INTERNAL only with the message
//     "internal error" (its cause, which the broker logs, is printed to stderr on every INTERNAL);
//     the ErrorDetails of batch items obey the same rules;
//   - no error message (nor batch item error) contains a prepared secret: the API keys, the session
//     tokens and their secret parts, the HMAC key's bytes (hex, base64); no successful response
//     contains an API key or a session token of the fixture;
//   - a rejected request changed nothing: the HSM's view (the partition's keys with state and
//     latest version, its users, every partition's settings, read as the officer and the operator)
//     is equal before and after (it is read from the store, so it is re-read only when the call
//     committed something; otherwise the unchanged change counter stands for it), and every batch the store committed during the call (and the audit
//     flush after it) holds only `appendAudit` operations — LocalHSM audits every key use, refused
//     ones too ("probing leaves a trace"), in group commits; the change counter moved by exactly
//     the number of those batches.
//
// Successful calls may change the fixture; after one, `repair` puts it back: a blocked prepared key
// is unblocked, a destroyed one restored, one whose attributes changed (UpdateKey) or that is gone
// is replaced by a new key of the same kind, a closed fixture session is reopened, the partition's
// changed settings are reset, a removed bob is added again. Excluded before dispatch (documented,
// not fuzzed here): generating RSA keys (CreateKey of RSA algorithms, RotateKey of the RSA
// fixture) — seconds per key under ASan. Growth (created keys, users, partitions, sessions, the
// audit chain) is bounded by rebuilding the world; see `grown`.
import Foundation
#if REDOUBT_FUZZ_TARGET
import FuzzSupport
#endif
import GRPCCore
import GRPCInProcessTransport
import GRPCProtobuf
import Logging
import Redoubt
import RedoubtCrypto
import RedoubtBroker
import RedoubtProto
import RedoubtStore
import Synchronization
import SwiftProtobuf

// MARK: The store, recorded

/// An ObjectStore that forwards to SQLite and records every committed batch, so the target can
/// tell exactly what a call wrote.
private final class RecordingStore: ObjectStore, Sendable {
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
    func exportAll() -> AsyncThrowingStream<StoreRecord, Error> { base.exportAll() }
    func importAll(_ records: some AsyncSequence<StoreRecord, Error> & Sendable) async throws { try await base.importAll(records) }
    func close() async throws { try await base.close() }
}

// MARK: The broker's log

/// Keeps what the broker logged about the last unexpected error (the cause of an INTERNAL).
private struct CapturingLogHandler: LogHandler {
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
private struct FixtureKey: Sendable {
    var id: String
    var info: KeyInfo
    let make: @Sendable (LocalHSM, SessionToken) async throws -> KeyInfo
}

/// Everything one input needs; rebuilt when it has grown (`grown`).
private struct World: Sendable {
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
private let partitionID = "p1"
/// A fixed instant: the HSM's clock never moves (see the header).
private let frozenNow = Date(timeIntervalSince1970: 1_900_000_000)

/// The service handlers of one BrokerServices, by service.
private struct Handlers: Sendable {
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
private struct InProcessBroker: Sendable {
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
private let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] == "1"
private let useInProcessTransport = ProcessInfo.processInfo.environment["FUZZ_BROKER_DIRECT"] != "1"

private func makeWorld() -> World {
    runBlockingOrDie("broker world") {
        let directory = worldsDirectory.appendingPathComponent(UUID().uuidString, isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = RecordingStore(try SQLiteStore(path: directory.appendingPathComponent("store.sqlite").path), directory: directory)
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
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

private var world: World {
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
private struct Snapshot: Sendable, Equatable {
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

private func takeSnapshot(_ w: World) throws -> Snapshot {
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
private func flushAudit(_ w: World) {
    let hsm = w.hsm
    if case .failure(let error) = runBlocking({ try await hsm.close() }) { fuzzFail("flushing the audit queue failed: \(error)") }
}

// MARK: Selectors

private enum Bearer: Int, CaseIterable { case alice, officer, operatorSession, garbage, none, aliceAPIKey }

/// What byte 1 selects.
private struct Selector {
    var bearer: Bearer
    var substitute: Bool
    var keyIndex: Int
    var substituteWrapping: Bool

    init(_ byte: UInt8) {
        bearer = Bearer(rawValue: Int(byte & 7) % Bearer.allCases.count)!
        substitute = byte & 8 != 0
        keyIndex = Int((byte >> 4) & 7) % 6
        substituteWrapping = byte & 0x80 != 0
    }
}

/// The ids the selector puts into a message.
private struct Substitution {
    var key: String?
    var wrappingKey: String?
    var user: String?
}

// MARK: The RPCs

private enum Outcome {
    case success(any SwiftProtobuf.Message, errorDetails: [Redoubt_V1_ErrorDetail])
    case failure(RPCError)
}

/// One unary RPC: decodes the message, substitutes ids, and calls the broker.
private struct RPC: @unchecked Sendable {
    let name: String
    /// Whether a success may change the fixture (then `repair` runs).
    let mutating: Bool
    let run: (_ bytes: [UInt8], _ substitution: Substitution, _ metadata: Metadata, _ world: World) -> Outcome?
}

private typealias Message = SwiftProtobuf.Message

private func rpc<Req: Message & Sendable, Res: Message & Sendable>(
    _ method: MethodDescriptor, _: Req.Type, _: Res.Type, mutating: Bool,
    substitute: @escaping (inout Req, Substitution) -> Void = { _, _ in },
    excluded: @escaping (Req, World) -> Bool = { _, _ in false },
    details: @escaping @Sendable (Res) -> [Redoubt_V1_ErrorDetail] = { _ in [] },
    _ direct: @escaping @Sendable (Handlers, ServerRequest<Req>, ServerContext) async throws -> ServerResponse<Res>
) -> RPC {
    RPC(name: method.method, mutating: mutating) { bytes, substitution, metadata, world in
        guard var message = try? Req(serializedBytes: bytes) else { return nil }
        substitute(&message, substitution)
        if excluded(message, world) { return nil }
        let request = message
        let result: Result<Res, any Error>
        if let broker = world.inProcess {
            let client = broker.client
            result = runBlocking {
                try await client.unary(
                    request: ClientRequest(message: request, metadata: metadata), descriptor: method,
                    serializer: ProtobufSerializer<Req>(), deserializer: ProtobufDeserializer<Res>(),
                    options: .defaults
                ) { try $0.message }
            }
        } else {
            let handlers = world.handlers
            result = runBlocking {
                try await withServerContextRPCCancellationHandle { cancellation in
                    let context = ServerContext(
                        descriptor: method, remotePeer: "in-process:fuzz", localPeer: "in-process:broker",
                        cancellation: cancellation)
                    return try await direct(handlers, ServerRequest(metadata: metadata, message: request), context).message
                }
            }
        }
        switch result {
        case .success(let response): return .success(response, errorDetails: details(response))
        case .failure(let error as RPCError): return .failure(error)
        case .failure(let error):
            fuzzFail("\(method.method) threw \(String(reflecting: type(of: error))): \(error); only RPCError may leave a handler")
        }
    }
}

private func setKey(_ id: inout String, _ s: Substitution) { if let key = s.key { id = key } }

private func batchDetails<Item>(_ items: [Item], _ error: (Item) -> Redoubt_V1_ErrorDetail?) -> [Redoubt_V1_ErrorDetail] {
    items.compactMap(error)
}

private func isRSA(_ algorithm: Redoubt_V1_KeyAlgorithm) -> Bool {
    [.rsa2048, .rsa3072, .rsa4096].contains(algorithm)
}

private typealias KS = Redoubt_V1_KeyService.Method
private typealias CS = Redoubt_V1_CryptoService.Method

private let rpcs: [RPC] = [
    // SessionService
    rpc(
        Redoubt_V1_SessionService.Method.OpenSession.descriptor, Redoubt_V1_OpenSessionRequest.self, Redoubt_V1_OpenSessionResponse.self,
        mutating: true
    ) { try await $0.session.openSession(request: $1, context: $2) },
    rpc(
        Redoubt_V1_SessionService.Method.CloseSession.descriptor, Redoubt_V1_CloseSessionRequest.self, Redoubt_V1_CloseSessionResponse.self,
        mutating: true
    ) { try await $0.session.closeSession(request: $1, context: $2) },
    // PartitionService
    rpc(
        Redoubt_V1_PartitionService.Method.CreatePartition.descriptor, Redoubt_V1_CreatePartitionRequest.self,
        Redoubt_V1_CreatePartitionResponse.self, mutating: true
    ) { try await $0.partition.createPartition(request: $1, context: $2) },
    rpc(
        Redoubt_V1_PartitionService.Method.ListPartitions.descriptor, Redoubt_V1_ListPartitionsRequest.self,
        Redoubt_V1_ListPartitionsResponse.self, mutating: false
    ) { try await $0.partition.listPartitions(request: $1, context: $2) },
    rpc(
        Redoubt_V1_PartitionService.Method.UpdatePartition.descriptor, Redoubt_V1_UpdatePartitionRequest.self,
        Redoubt_V1_UpdatePartitionResponse.self, mutating: true
    ) { try await $0.partition.updatePartition(request: $1, context: $2) },
    // UserService
    rpc(
        Redoubt_V1_UserService.Method.AddUser.descriptor, Redoubt_V1_AddUserRequest.self, Redoubt_V1_AddUserResponse.self,
        mutating: true
    ) { try await $0.user.addUser(request: $1, context: $2) },
    rpc(
        Redoubt_V1_UserService.Method.ListUsers.descriptor, Redoubt_V1_ListUsersRequest.self, Redoubt_V1_ListUsersResponse.self,
        mutating: false
    ) { try await $0.user.listUsers(request: $1, context: $2) },
    rpc(
        Redoubt_V1_UserService.Method.RemoveUser.descriptor, Redoubt_V1_RemoveUserRequest.self, Redoubt_V1_RemoveUserResponse.self,
        mutating: true, substitute: { m, s in if let user = s.user { m.userID = user } }
    ) { try await $0.user.removeUser(request: $1, context: $2) },
    // KeyService
    rpc(
        KS.CreateKey.descriptor, Redoubt_V1_CreateKeyRequest.self, Redoubt_V1_CreateKeyResponse.self, mutating: true,
        excluded: { m, _ in isRSA(m.spec.algorithm) }
    ) { try await $0.key.createKey(request: $1, context: $2) },
    rpc(
        KS.ImportKey.descriptor, Redoubt_V1_ImportKeyRequest.self, Redoubt_V1_ImportKeyResponse.self, mutating: true,
        substitute: { m, s in if case .wrapped = m.material, let key = s.key { m.wrapped.wrappingKeyID = key } }
    ) {
        try await $0.key.importKey(request: $1, context: $2)
    },
    rpc(
        KS.GetKey.descriptor, Redoubt_V1_GetKeyRequest.self, Redoubt_V1_GetKeyResponse.self, mutating: false,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.key.getKey(request: $1, context: $2) },
    rpc(KS.ListKeys.descriptor, Redoubt_V1_ListKeysRequest.self, Redoubt_V1_ListKeysResponse.self, mutating: false) {
        try await $0.key.listKeys(request: $1, context: $2)
    },
    rpc(
        KS.UpdateKey.descriptor, Redoubt_V1_UpdateKeyRequest.self, Redoubt_V1_UpdateKeyResponse.self, mutating: true,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.key.updateKey(request: $1, context: $2) },
    rpc(
        KS.RotateKey.descriptor, Redoubt_V1_RotateKeyRequest.self, Redoubt_V1_RotateKeyResponse.self, mutating: true,
        substitute: { setKey(&$0.keyID, $1) },
        excluded: { m, w in w.keys.contains { $0.id == m.keyID && $0.info.algorithm.isRSA } }
    ) {
        try await $0.key.rotateKey(request: $1, context: $2)
    },
    rpc(
        KS.BlockKey.descriptor, Redoubt_V1_BlockKeyRequest.self, Redoubt_V1_BlockKeyResponse.self, mutating: true,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.key.blockKey(request: $1, context: $2) },
    rpc(
        KS.UnblockKey.descriptor, Redoubt_V1_UnblockKeyRequest.self, Redoubt_V1_UnblockKeyResponse.self, mutating: true,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.key.unblockKey(request: $1, context: $2) },
    rpc(
        KS.DestroyKey.descriptor, Redoubt_V1_DestroyKeyRequest.self, Redoubt_V1_DestroyKeyResponse.self, mutating: true,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.key.destroyKey(request: $1, context: $2) },
    rpc(
        KS.RestoreKey.descriptor, Redoubt_V1_RestoreKeyRequest.self, Redoubt_V1_RestoreKeyResponse.self, mutating: true,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.key.restoreKey(request: $1, context: $2) },
    rpc(
        KS.PurgeKey.descriptor, Redoubt_V1_PurgeKeyRequest.self, Redoubt_V1_PurgeKeyResponse.self, mutating: true,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.key.purgeKey(request: $1, context: $2) },
    rpc(
        KS.ExportPublicKey.descriptor, Redoubt_V1_ExportPublicKeyRequest.self, Redoubt_V1_ExportPublicKeyResponse.self, mutating: false,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.key.exportPublicKey(request: $1, context: $2) },
    rpc(
        KS.ExportWrapped.descriptor, Redoubt_V1_ExportWrappedRequest.self, Redoubt_V1_ExportWrappedResponse.self, mutating: false,
        substitute: { m, s in
            setKey(&m.keyID, s)
            if let w = s.wrappingKey { m.wrappingKeyID = w }
        }
    ) {
        try await $0.key.exportWrapped(request: $1, context: $2)
    },
    rpc(
        KS.ExportPlaintext.descriptor, Redoubt_V1_ExportPlaintextRequest.self, Redoubt_V1_ExportPlaintextResponse.self, mutating: false,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.key.exportPlaintext(request: $1, context: $2) },
    // CryptoService
    rpc(
        CS.Sign.descriptor, Redoubt_V1_SignRequest.self, Redoubt_V1_SignResponse.self, mutating: false,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.crypto.sign(request: $1, context: $2) },
    rpc(
        CS.Verify.descriptor, Redoubt_V1_VerifyRequest.self, Redoubt_V1_VerifyResponse.self, mutating: false,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.crypto.verify(request: $1, context: $2) },
    rpc(
        CS.Encrypt.descriptor, Redoubt_V1_EncryptRequest.self, Redoubt_V1_EncryptResponse.self, mutating: false,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.crypto.encrypt(request: $1, context: $2) },
    rpc(
        CS.Decrypt.descriptor, Redoubt_V1_DecryptRequest.self, Redoubt_V1_DecryptResponse.self, mutating: false,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.crypto.decrypt(request: $1, context: $2) },
    rpc(
        CS.Mac.descriptor, Redoubt_V1_MacRequest.self, Redoubt_V1_MacResponse.self, mutating: false,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.crypto.mac(request: $1, context: $2) },
    rpc(
        CS.VerifyMac.descriptor, Redoubt_V1_VerifyMacRequest.self, Redoubt_V1_VerifyMacResponse.self, mutating: false,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.crypto.verifyMac(request: $1, context: $2) },
    rpc(
        CS.Wrap.descriptor, Redoubt_V1_WrapRequest.self, Redoubt_V1_WrapResponse.self, mutating: false,
        substitute: { m, s in
            setKey(&m.keyID, s)
            if let w = s.wrappingKey { m.wrappingKeyID = w }
        }
    ) {
        try await $0.crypto.wrap(request: $1, context: $2)
    },
    rpc(
        CS.Unwrap.descriptor, Redoubt_V1_UnwrapRequest.self, Redoubt_V1_UnwrapResponse.self, mutating: true,
        substitute: { setKey(&$0.wrappingKeyID, $1) }
    ) { try await $0.crypto.unwrap(request: $1, context: $2) },
    rpc(
        CS.DeriveKey.descriptor, Redoubt_V1_DeriveKeyRequest.self, Redoubt_V1_DeriveKeyResponse.self, mutating: true,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.crypto.deriveKey(request: $1, context: $2) },
    rpc(CS.Random.descriptor, Redoubt_V1_RandomRequest.self, Redoubt_V1_RandomResponse.self, mutating: false) {
        try await $0.crypto.random(request: $1, context: $2)
    },
    rpc(
        CS.Encapsulate.descriptor, Redoubt_V1_EncapsulateRequest.self, Redoubt_V1_EncapsulateResponse.self, mutating: true,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.crypto.encapsulate(request: $1, context: $2) },
    rpc(
        CS.Decapsulate.descriptor, Redoubt_V1_DecapsulateRequest.self, Redoubt_V1_DecapsulateResponse.self, mutating: true,
        substitute: { setKey(&$0.keyID, $1) }
    ) { try await $0.crypto.decapsulate(request: $1, context: $2) },
    rpc(
        CS.SignBatch.descriptor, Redoubt_V1_SignBatchRequest.self, Redoubt_V1_SignBatchResponse.self, mutating: false,
        substitute: { m, s in for i in m.items.indices { setKey(&m.items[i].keyID, s) } },
        details: { r in batchDetails(r.items) { if case .error(let e) = $0.result { e } else { nil } } }
    ) {
        try await $0.crypto.signBatch(request: $1, context: $2)
    },
    rpc(
        CS.VerifyBatch.descriptor, Redoubt_V1_VerifyBatchRequest.self, Redoubt_V1_VerifyBatchResponse.self, mutating: false,
        substitute: { m, s in for i in m.items.indices { setKey(&m.items[i].keyID, s) } },
        details: { r in batchDetails(r.items) { if case .error(let e) = $0.result { e } else { nil } } }
    ) {
        try await $0.crypto.verifyBatch(request: $1, context: $2)
    },
    rpc(
        CS.EncryptBatch.descriptor, Redoubt_V1_EncryptBatchRequest.self, Redoubt_V1_EncryptBatchResponse.self, mutating: false,
        substitute: { m, s in for i in m.items.indices { setKey(&m.items[i].keyID, s) } },
        details: { r in batchDetails(r.items) { if case .error(let e) = $0.result { e } else { nil } } }
    ) {
        try await $0.crypto.encryptBatch(request: $1, context: $2)
    },
    rpc(
        CS.DecryptBatch.descriptor, Redoubt_V1_DecryptBatchRequest.self, Redoubt_V1_DecryptBatchResponse.self, mutating: false,
        substitute: { m, s in for i in m.items.indices { setKey(&m.items[i].keyID, s) } },
        details: { r in batchDetails(r.items) { if case .error(let e) = $0.result { e } else { nil } } }
    ) {
        try await $0.crypto.decryptBatch(request: $1, context: $2)
    },
    rpc(
        CS.MacBatch.descriptor, Redoubt_V1_MacBatchRequest.self, Redoubt_V1_MacBatchResponse.self, mutating: false,
        substitute: { m, s in for i in m.items.indices { setKey(&m.items[i].keyID, s) } },
        details: { r in batchDetails(r.items) { if case .error(let e) = $0.result { e } else { nil } } }
    ) {
        try await $0.crypto.macBatch(request: $1, context: $2)
    },
    // AuditService
    rpc(
        Redoubt_V1_AuditService.Method.ListAuditRecords.descriptor, Redoubt_V1_ListAuditRecordsRequest.self,
        Redoubt_V1_ListAuditRecordsResponse.self, mutating: false
    ) { try await $0.audit.listAuditRecords(request: $1, context: $2) },
    rpc(
        Redoubt_V1_AuditService.Method.VerifyAudit.descriptor, Redoubt_V1_VerifyAuditRequest.self,
        Redoubt_V1_VerifyAuditResponse.self, mutating: false
    ) { try await $0.audit.verifyAudit(request: $1, context: $2) },
]

extension KeyAlgorithm {
    fileprivate var isRSA: Bool { [.rsa2048, .rsa3072, .rsa4096].contains(self) }
}

// The libFuzzer entry points. Not compiled in the main package's FuzzFailCaseTests, which
// compiles this file too (a symlink) and replays FailCases/FuzzBrokerRequest/ through fuzzBrokerRequest(_:_:).
#if REDOUBT_FUZZ_TARGET
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.preferMemoryTemporaryDirectory()
    Warmup.prepare(target: "FuzzBrokerRequest", build: { _ = world.inputs }, entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzBrokerRequest(data, size)
}
#endif

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzBrokerRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let call = input.pick(rpcs)
    let selector = Selector(input.byte())
    let bytes = input.rest()

    var w = world
    w.inputs += 1
    world = w

    let key = w.keys[selector.keyIndex]
    let wrapping = key.info.algorithm == .aes256 ? w.keys[4].id : w.keys[2].id
    let substitution = Substitution(
        key: selector.substitute ? key.id : nil,
        wrappingKey: selector.substituteWrapping ? wrapping : nil,
        user: selector.substitute ? w.bobID : nil)
    var metadata: Metadata = [:]
    switch selector.bearer {
    case .alice: metadata.addString("Bearer \(w.aliceToken.value)", forKey: "authorization")
    case .officer: metadata.addString("Bearer \(w.officerToken.value)", forKey: "authorization")
    case .operatorSession: metadata.addString("Bearer \(w.operatorToken.value)", forKey: "authorization")
    case .garbage: metadata.addString("Bearer \(w.garbageToken.value)", forKey: "authorization")
    case .none: break
    case .aliceAPIKey: metadata.addString("Bearer \(w.aliceAPIKey)", forKey: "authorization")
    }

    // Before: no queued audit records, a current view of the fixture. The view stays valid while
    // the store commits nothing (every commit passes through the recording wrapper).
    flushAudit(w)
    let before: Snapshot
    if let cached = w.snapshot, w.store.take().isEmpty {
        before = cached
    } else {
        do { before = try takeSnapshot(w) } catch { fuzzFail("the fixture cannot be read before the call: \(error)") }
    }
    CapturingLogHandler.last.withLock { $0 = nil }

    guard let outcome = call.run(bytes, substitution, metadata, w) else {  // undecodable or excluded
        w.snapshot = before
        world = w
        return 0
    }
    if verbose {
        switch outcome {
        case .success(_, let details): writeToStandardError("\(call.name) [\(selector.bearer)]: ok, \(details.count) item errors\n")
        case .failure(let error): writeToStandardError("\(call.name) [\(selector.bearer)]: \(error.code): \(error.message)\n")
        }
    }
    flushAudit(w)
    let batches = w.store.take()
    let auditOnly = batches.allSatisfy { $0.operations.allSatisfy { if case .appendAudit = $0 { true } else { false } } }

    switch outcome {
    case .failure(let error):
        check(error.code, error.message, call.name, w)
        for batch in batches {
            for operation in batch.operations {
                guard case .appendAudit = operation else {
                    fuzzFail("\(call.name) was rejected (\(error.code): \(error.message)) but committed \(describe(operation))")
                }
            }
        }
        // The view is read from the store; when nothing was committed it cannot have changed, and
        // only the change counter is read. Otherwise (audit batches) the whole view is compared.
        var after = before
        if batches.isEmpty {
            let store = w.store
            guard case .success(let counter) = runBlocking({ try await store.changeCounter() }) else {
                fuzzFail("\(call.name) was rejected (\(error.code)) and the store's change counter can no longer be read")
            }
            after.counter = counter
        } else {
            do { after = try takeSnapshot(w) } catch let failure {
                fuzzFail("\(call.name) was rejected (\(error.code)) and the fixture can no longer be read: \(failure)")
            }
        }
        fuzzCheck(
            after.counter == before.counter + Int64(batches.count),
            "\(call.name) was rejected, and the change counter moved by \(after.counter - before.counter) for \(batches.count) audit batches")
        fuzzCheck(after.keys == before.keys, "\(call.name) was rejected (\(error.code): \(error.message)) but the partition's keys changed")
        fuzzCheck(after.users == before.users, "\(call.name) was rejected (\(error.code): \(error.message)) but the users changed")
        fuzzCheck(after.partitions == before.partitions, "\(call.name) was rejected (\(error.code): \(error.message)) but partition settings changed")
        w.snapshot = after
        world = w
        if w.inputs > maximumInputsPerWorld { rebuild(w) }
    case .success(let response, let details):
        for detail in details {
            guard let code = rpcCode(detail.code) else {
                fuzzFail("\(call.name): a batch item failed with error code \(detail.code) (\(detail.code.rawValue)), not one the broker documents")
            }
            check(code, detail.message, "\(call.name) (batch item)", w)
        }
        if call.name != "OpenSession", let encoded: [UInt8] = try? response.serializedBytes() {
            for secret in w.credentialSecrets where contains(encoded, secret) {
                fuzzFail("\(call.name)'s response contains a fixture credential")
            }
        }
        if call.mutating || !auditOnly {
            repair(after: call.name, selector: selector)
        } else {
            // Only key-use audit records: the view is the same, the counter moved by the batches.
            w.snapshot = before
            w.snapshot?.counter += Int64(batches.count)
            world = w
            if w.inputs > maximumInputsPerWorld { rebuild(w) }
        }
    }
    return 0
}

/// The RPC code of a batch item's ErrorDetail code, if it is one of the documented ones.
private func rpcCode(_ code: Redoubt_V1_ErrorCode) -> RPCError.Code? {
    switch code {
    case .invalidArgument: .invalidArgument
    case .notFound: .notFound
    case .alreadyExists: .alreadyExists
    case .permissionDenied: .permissionDenied
    case .resourceExhausted: .resourceExhausted
    case .failedPrecondition: .failedPrecondition
    case .internal: .internalError
    case .unavailable: .unavailable
    case .unauthenticated: .unauthenticated
    default: nil
    }
}

/// The documented codes (StatusMapping), INTERNAL only as "internal error", no secret in the message.
private func check(_ code: RPCError.Code, _ message: String, _ what: String, _ w: World) {
    let documented: [RPCError.Code] = [
        .invalidArgument, .unauthenticated, .permissionDenied, .notFound, .alreadyExists,
        .failedPrecondition, .resourceExhausted, .unavailable, .internalError,
    ]
    fuzzCheck(documented.contains(code), "\(what) failed with \(code) (\(message)), not a code the broker documents")
    if code == .internalError {
        // Allowed as the broker documents it; its cause (what the broker logged) goes to stderr.
        let cause = CapturingLogHandler.last.withLock { $0 } ?? "nothing logged"
        fuzzCheck(message == "internal error", "\(what) failed with INTERNAL \"\(message)\"; only \"internal error\" may be shown (logged: \(cause))")
        writeToStandardError("note: \(what) failed with INTERNAL \"internal error\"; the broker logged: \(cause)\n")
    }
    for secret in w.secrets where message.contains(secret) {
        fuzzFail("\(what) failed with \(code) and a message that shows a fixture secret")
    }
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
    }
    return false
}

private func describe(_ operation: WriteOperation) -> String {
    switch operation {
    case .insert(let key, _, _): return "an insert of \(key.kind) \(key.id)"
    case .update(let key, _, _, _): return "an update of \(key.kind) \(key.id)"
    case .delete(let key, _): return "a delete of \(key.kind) \(key.id)"
    case .require(let key, _): return "a precondition on \(key.kind) \(key.id)"
    case .appendAudit: return "an audit record"
    case .claimRequestID(_, let id, _): return "a request-id claim \(id)"
    }
}

// MARK: Keeping the fixture usable

/// Inputs per world, bounding the store (audit chain, sessions) and the cost of VerifyAudit.
private let maximumInputsPerWorld = 20_000

private func grown(_ s: Snapshot, _ w: World) -> Bool {
    w.inputs > maximumInputsPerWorld || s.keys.count > 64 || s.users.count > 16 || s.partitions.count > 8
}

/// Replaces the world with a new one.
private func rebuild(_ w: World) {
    discard(w)
    currentWorld = nil
    _ = world.inputs
}

/// After a successful call that may have changed the fixture: puts it back (or rebuilds it).
private func repair(after name: String, selector: Selector) {
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

// MARK: Seeds

/// One valid request per RPC, with the selector set to the caller and prepared key it needs.
private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    func sel(_ bearer: Bearer, key: Int? = nil, wrapping: Bool = false) -> UInt8 {
        var b = UInt8(bearer.rawValue)
        if let key { b |= 8 | UInt8(key) << 4 }
        if wrapping { b |= 0x80 }
        return b
    }
    let (p256, ed25519, aes, hmac, rsa, mlkem) = (0, 1, 2, 3, 4, 5)
    _ = (ed25519, rsa)
    var seeds: [(String, UInt8, any Message)] = []
    func add(_ name: String, _ selector: UInt8, _ message: any Message) { seeds.append((name, selector, message)) }
    func spec(_ algorithm: Redoubt_V1_KeyAlgorithm, _ label: String, persistent: Bool = true) -> Redoubt_V1_KeySpec {
        var s = Redoubt_V1_KeySpec()
        s.algorithm = algorithm
        s.label = label
        if !persistent { s.persistent = false }
        return s
    }
    let k = "k_placeholder"
    /// Redoubt's versioned ciphertext/tag format: 0x01, a 4-byte key version, the body.
    func versioned(_ body: Data) -> Data { Data([1, 0, 0, 0, 1]) + body }

    add("OpenSession", sel(.aliceAPIKey), Redoubt_V1_OpenSessionRequest.with { $0.partitionID = partitionID })
    add(
        "OpenSession-password", sel(.none),
        Redoubt_V1_OpenSessionRequest.with {
            $0.partitionID = partitionID
            $0.password = .with {
                $0.username = "alice"
                $0.password = "a long enough password"
            }
        })
    add("CloseSession", sel(.garbage), Redoubt_V1_CloseSessionRequest())
    add(
        "CreatePartition", sel(.operatorSession),
        Redoubt_V1_CreatePartitionRequest.with {
            $0.partitionID = "p2"
            $0.settings.readOnly = false
            $0.settings.maximumObjects = 10
            $0.settings.maximumSessionLifetime = .init(seconds: 3600)
            $0.settings.sessionIdleTimeout = .init(seconds: 600)
            $0.settings.allowedSources.cidrs = ["10.0.0.0/8", "2001:db8::/32"]
        })
    add("ListPartitions", sel(.operatorSession), Redoubt_V1_ListPartitionsRequest.with { $0.pageSize = 10 })
    add(
        "UpdatePartition", sel(.operatorSession),
        Redoubt_V1_UpdatePartitionRequest.with {
            $0.partitionID = partitionID
            $0.settings.exportAllowed = false
            $0.settings.sessionIdleTimeout = .init(seconds: 900)
        })
    add(
        "AddUser", sel(.officer),
        Redoubt_V1_AddUserRequest.with {
            $0.name = "carol"
            $0.role = .auditor
            $0.password = "a long enough password"
        })
    add(
        "AddUser-certificate", sel(.officer),
        Redoubt_V1_AddUserRequest.with {
            $0.name = "dave"
            $0.role = .cryptoUser
            $0.clientCertificateSha256 = Data(repeating: 0xCE, count: 32)
        })
    add("ListUsers", sel(.officer), Redoubt_V1_ListUsersRequest.with { $0.pageSize = 5 })
    add("RemoveUser", sel(.officer, key: 0), Redoubt_V1_RemoveUserRequest.with { $0.userID = "u_placeholder" })
    add(
        "CreateKey", sel(.alice),
        Redoubt_V1_CreateKeyRequest.with {
            $0.spec = spec(.ecP256, "created", persistent: false)
            $0.spec.usages = [.sign, .verify]
            $0.requestID = "req-1"
        })
    add(
        "ImportKey", sel(.alice),
        Redoubt_V1_ImportKeyRequest.with {
            $0.spec = spec(.genericSecret, "imported", persistent: false)
            $0.secret = Data(repeating: 0x42, count: 32)
        })
    add(
        "ImportKey-wrapped", sel(.alice, key: aes),
        Redoubt_V1_ImportKeyRequest.with {
            $0.spec = spec(.aes128, "unwrapped", persistent: false)
            $0.wrapped = .with {
                $0.wrappingKeyID = k
                $0.scheme = .aesKw
                $0.blob = versioned(Data(repeating: 0xA6, count: 24))
            }
        })
    add(
        "ImportKey-spki", sel(.alice),
        Redoubt_V1_ImportKeyRequest.with {
            $0.spec = spec(.ecP256, "public", persistent: false)
            $0.spkiDer = FixedKeys.privateKey(.p256).publicKey.spkiDER
        })
    add(
        "ImportKey-pkcs8", sel(.alice),
        Redoubt_V1_ImportKeyRequest.with {
            $0.spec = spec(.ed25519, "private", persistent: false)
            $0.pkcs8Der = (try? FixedKeys.privateKey(.ed25519).pkcs8Representation().exportedBytes()) ?? Data()
        })
    add("GetKey", sel(.alice, key: p256), Redoubt_V1_GetKeyRequest.with { $0.keyID = k })
    add(
        "ListKeys", sel(.alice),
        Redoubt_V1_ListKeysRequest.with {
            $0.pageSize = 3
            $0.includeDestroyed = true
        })
    add(
        "ListKeys-page", sel(.officer),
        Redoubt_V1_ListKeysRequest.with {
            $0.pageSize = 2
            $0.pageToken = "a2V5OmsxMjM"
            $0.label = "fixture-aes"
        })
    add(
        "UpdateKey", sel(.officer, key: hmac),
        Redoubt_V1_UpdateKeyRequest.with {
            $0.keyID = k
            $0.label = "renamed"
            $0.usages.usages = [.mac]
            $0.modifiable = true
        })
    add("RotateKey", sel(.officer, key: p256), Redoubt_V1_RotateKeyRequest.with { $0.keyID = k })
    add("BlockKey", sel(.officer, key: ed25519), Redoubt_V1_BlockKeyRequest.with { $0.keyID = k })
    add("UnblockKey", sel(.officer, key: ed25519), Redoubt_V1_UnblockKeyRequest.with { $0.keyID = k })
    add("DestroyKey", sel(.officer, key: mlkem), Redoubt_V1_DestroyKeyRequest.with { $0.keyID = k })
    add("RestoreKey", sel(.officer, key: mlkem), Redoubt_V1_RestoreKeyRequest.with { $0.keyID = k })
    add("PurgeKey", sel(.officer, key: p256), Redoubt_V1_PurgeKeyRequest.with { $0.keyID = k })
    add(
        "ExportPublicKey", sel(.alice, key: rsa),
        Redoubt_V1_ExportPublicKeyRequest.with {
            $0.keyID = k
            $0.keyVersion = 1
        })
    add(
        "ExportWrapped", sel(.alice, key: hmac, wrapping: true),
        Redoubt_V1_ExportWrappedRequest.with {
            $0.keyID = k
            $0.wrappingKeyID = k
            $0.scheme = .aesKwp
        })
    add("ExportPlaintext", sel(.alice, key: hmac), Redoubt_V1_ExportPlaintextRequest.with { $0.keyID = k })
    func signing(_ key: String) -> Redoubt_V1_SignRequest {
        .with {
            $0.keyID = key
            $0.input.message = Data("hello".utf8)
            $0.scheme.ecdsa = .with {
                $0.hash = .sha256
                $0.encoding = .der
                $0.lowS = .standard
            }
        }
    }
    add("Sign", sel(.alice, key: p256), signing(k))
    add(
        "Sign-ed25519", sel(.alice, key: ed25519),
        Redoubt_V1_SignRequest.with {
            $0.keyID = k
            $0.input.message = Data("hello".utf8)
            $0.scheme.ed25519 = .init()
        })
    add(
        "Sign-rsa-pss", sel(.alice, key: rsa),
        Redoubt_V1_SignRequest.with {
            $0.keyID = k
            $0.input.digest = Data(repeating: 1, count: 32)
            $0.scheme.rsaPss = .with { $0.hash = .sha256 }
        })
    add(
        "Verify", sel(.alice, key: p256),
        Redoubt_V1_VerifyRequest.with {
            $0.keyID = k
            $0.input.message = Data("hello".utf8)
            $0.signature = Data(MiniDER.ecdsaDER(fromRaw: [UInt8](repeating: 1, count: 64)))
            $0.scheme.ecdsa = .with {
                $0.hash = .sha256
                $0.encoding = .der
            }
            $0.keyVersion = 1
        })
    add(
        "Encrypt", sel(.alice, key: aes),
        Redoubt_V1_EncryptRequest.with {
            $0.keyID = k
            $0.plaintext = Data("secret message".utf8)
            $0.scheme = .aesGcm
            $0.aad = Data("aad".utf8)
        })
    add(
        "Decrypt", sel(.alice, key: aes),
        Redoubt_V1_DecryptRequest.with {
            $0.keyID = k
            $0.ciphertext = versioned(Data(repeating: 7, count: 40))
            $0.scheme = .aesGcm
        })
    add(
        "Decrypt-rsa", sel(.alice, key: rsa),
        Redoubt_V1_DecryptRequest.with {
            $0.keyID = k
            $0.ciphertext = versioned(Data(repeating: 7, count: 256))
            $0.scheme = .rsaOaepSha256
        })
    add(
        "Mac", sel(.alice, key: hmac),
        Redoubt_V1_MacRequest.with {
            $0.keyID = k
            $0.data = Data("data".utf8)
            $0.hash = .sha256
        })
    add(
        "VerifyMac", sel(.alice, key: hmac),
        Redoubt_V1_VerifyMacRequest.with {
            $0.keyID = k
            $0.data = Data("data".utf8)
            $0.tag = versioned(Data(repeating: 0, count: 32))
            $0.hash = .sha256
        })
    add(
        "Wrap", sel(.alice, key: hmac, wrapping: true),
        Redoubt_V1_WrapRequest.with {
            $0.keyID = k
            $0.wrappingKeyID = k
            $0.scheme = .aesGcm
        })
    add(
        "Unwrap", sel(.alice, key: aes),
        Redoubt_V1_UnwrapRequest.with {
            $0.wrappingKeyID = k
            $0.scheme = .aesKw
            $0.wrappedKey = versioned(Data(repeating: 0xA6, count: 40))
            $0.spec = spec(.aes256, "unwrapped", persistent: false)
        })
    add(
        "DeriveKey", sel(.alice, key: p256),
        Redoubt_V1_DeriveKeyRequest.with {
            $0.keyID = k
            $0.peerPublicKey.algorithm = .ecP256
            $0.peerPublicKey.spkiDer = FixedKeys.privateKey(.p256).publicKey.spkiDER
            $0.derivation.hkdf = .with {
                $0.hash = .sha256
                $0.info = Data("info".utf8)
                $0.outputLengthBytes = 32
            }
            $0.spec = spec(.aes256, "derived", persistent: false)
        })
    add("Random", sel(.alice), Redoubt_V1_RandomRequest.with { $0.lengthBytes = 32 })
    add(
        "Encapsulate", sel(.alice, key: mlkem),
        Redoubt_V1_EncapsulateRequest.with {
            $0.keyID = k
            $0.spec = spec(.aes256, "shared", persistent: false)
        })
    add(
        "Decapsulate", sel(.alice, key: mlkem),
        Redoubt_V1_DecapsulateRequest.with {
            $0.keyID = k
            $0.encapsulatedKey = Data(repeating: 3, count: 1088)
            $0.spec = spec(.aes256, "shared", persistent: false)
        })
    add("SignBatch", sel(.alice, key: p256), Redoubt_V1_SignBatchRequest.with { $0.items = [signing(k), signing("missing")] })
    add(
        "VerifyBatch", sel(.alice, key: ed25519),
        Redoubt_V1_VerifyBatchRequest.with {
            $0.items = [
                .with {
                    $0.keyID = k
                    $0.input.message = Data("m".utf8)
                    $0.signature = Data(repeating: 0, count: 64)
                    $0.scheme.ed25519 = .init()
                }
            ]
        })
    add(
        "EncryptBatch", sel(.alice, key: aes),
        Redoubt_V1_EncryptBatchRequest.with {
            $0.items = [
                .with {
                    $0.keyID = k
                    $0.plaintext = Data("a".utf8)
                    $0.scheme = .aesGcm
                },
                .with {
                    $0.keyID = k
                    $0.plaintext = Data(repeating: 0, count: 16)
                    $0.scheme = .aesCbcPkcs7
                },
            ]
        })
    add(
        "DecryptBatch", sel(.alice, key: aes),
        Redoubt_V1_DecryptBatchRequest.with {
            $0.items = [
                .with {
                    $0.keyID = k
                    $0.ciphertext = versioned(Data(repeating: 9, count: 32))
                    $0.scheme = .aesCbcPkcs7
                }
            ]
        })
    add(
        "MacBatch", sel(.alice, key: hmac),
        Redoubt_V1_MacBatchRequest.with {
            $0.items = [
                .with {
                    $0.keyID = k
                    $0.data = Data("x".utf8)
                    $0.hash = .sha512
                }
            ]
        })
    add(
        "ListAuditRecords", sel(.officer),
        Redoubt_V1_ListAuditRecordsRequest.with {
            $0.fromSequence = 1
            $0.limit = 10
        })
    add("VerifyAudit", sel(.officer), Redoubt_V1_VerifyAuditRequest())

    return try seeds.map { name, selector, message in
        let base = name.split(separator: "-").first.map(String.init) ?? name
        guard let index = rpcs.firstIndex(where: { $0.name == base }) else { fuzzFail("seed \(name): no RPC \(base)") }
        return (name, [UInt8(index), selector] + (try message.serializedBytes() as [UInt8]))
    }
}
