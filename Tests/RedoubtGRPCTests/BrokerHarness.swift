import Foundation
import GRPCCore
import GRPCInProcessTransport
import Logging
import Redoubt
import RedoubtCrypto
import RedoubtGRPC
import RedoubtProto
import RedoubtStore
import Testing

/// The broker's services over a real LocalHSM on a temporary SQLite store, called through the
/// real generated clients. The transport is chosen here only (in-process for now): switch
/// ``BrokerHarness/Transport`` and ``BrokerHarness/run(limits:_:)`` to HTTP/2 loopback and
/// every test runs over the network.
struct BrokerHarness: Sendable {
    typealias Transport = InProcessTransport.Client

    let hsm: LocalHSM
    let operatorAPIKey: String
    let backupDirectory: URL
    let grpc: GRPCClient<Transport>

    var sessions: Redoubt_V1_SessionService.Client<Transport> { .init(wrapping: grpc) }
    var partitions: Redoubt_V1_PartitionService.Client<Transport> { .init(wrapping: grpc) }
    var users: Redoubt_V1_UserService.Client<Transport> { .init(wrapping: grpc) }
    var keys: Redoubt_V1_KeyService.Client<Transport> { .init(wrapping: grpc) }
    var crypto: Redoubt_V1_CryptoService.Client<Transport> { .init(wrapping: grpc) }
    var audit: Redoubt_V1_AuditService.Client<Transport> { .init(wrapping: grpc) }
    var backups: Redoubt_V1_BackupService.Client<Transport> { .init(wrapping: grpc) }

    /// Runs `body` against a fresh broker; shuts everything down afterwards.
    static func run(limits: BrokerLimits = .defaults, backups: Bool = true,
                    _ body: @Sendable (BrokerHarness) async throws -> Void) async throws {
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
        let store = try SQLiteStore.temporary()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-broker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let created: InitializedHSM
        do {
            created = try await LocalHSM.initialize(store: store, passphrase: "broker harness passphrase", configuration: configuration)
        } catch {
            try? await store.close()
            throw error
        }
        let broker = BrokerServices(hsm: created.hsm, limits: limits, backups: backups ? created.hsm : nil,
                                    backupDirectory: backups ? directory : nil, logger: Logger(label: "redoubt.broker.test"))
        let transport = InProcessTransport()
        do {
            try await withGRPCServer(transport: transport.server, services: broker.services) { _ in
                try await withGRPCClient(transport: transport.client) { client in
                    try await body(BrokerHarness(hsm: created.hsm, operatorAPIKey: created.operatorAPIKey,
                                                 backupDirectory: directory, grpc: client))
                }
            }
        } catch {
            try? await created.hsm.close()
            try? await store.close()
            throw error
        }
        try await created.hsm.close()
        try await store.close()
    }

    // MARK: Sessions and a tenant

    /// `authorization: Bearer <token>`.
    static func bearer(_ token: String) -> Metadata { ["authorization": "Bearer \(token)"] }

    /// Opens a session with an API key, through the broker.
    func openSession(partition: String, apiKey: String) async throws -> String {
        var request = Redoubt_V1_OpenSessionRequest()
        request.partitionID = partition
        return try await sessions.openSession(request, metadata: Self.bearer(apiKey)).token
    }

    /// A partition with an operator, a security officer and a crypto user, each with a session.
    struct Tenant: Sendable {
        let partition: String
        let operatorToken: String
        let officerToken: String
        let userToken: String
        var officer: Metadata { BrokerHarness.bearer(officerToken) }
        var user: Metadata { BrokerHarness.bearer(userToken) }
        var operatorMetadata: Metadata { BrokerHarness.bearer(operatorToken) }
    }

    /// Creates partition `partition` and its people through the broker.
    func tenant(_ partition: String = "tenant") async throws -> Tenant {
        let op = try await openSession(partition: "", apiKey: operatorAPIKey)
        var create = Redoubt_V1_CreatePartitionRequest()
        create.partitionID = partition
        let created = try await partitions.createPartition(create, metadata: Self.bearer(op))
        let officer = try await openSession(partition: partition, apiKey: created.securityOfficerApiKey)
        var add = Redoubt_V1_AddUserRequest()
        add.name = "alice"
        add.role = .cryptoUser
        let user = try await users.addUser(add, metadata: Self.bearer(officer))
        let userToken = try await openSession(partition: partition, apiKey: user.apiKey)
        return Tenant(partition: partition, operatorToken: op, officerToken: officer, userToken: userToken)
    }

    /// Generates a key in-process (quick setup for crypto tests).
    func key(_ tenant: Tenant, _ algorithm: KeyAlgorithm, extractable: Bool = false, sensitive: Bool = true) async throws -> KeyInfo {
        try await hsm.generateKey(SessionToken(tenant.userToken),
                                  spec: KeySpec(algorithm: algorithm, label: "k", extractable: extractable, sensitive: sensitive))
    }

    // MARK: Observing the store

    /// What a refused request must leave unchanged: the partition's keys and audit records.
    struct Snapshot: Equatable {
        let keys: [String]
        let auditRecords: Int
    }

    func snapshot(_ tenant: Tenant) async throws -> Snapshot {
        let officer = SessionToken(tenant.officerToken)
        let keys = try await hsm.listKeys(officer, filter: KeyFilter(includeDestroyed: true, limit: 1000))
        let records = try await hsm.auditRecords(officer, from: 1, limit: 1000)
        return Snapshot(keys: keys.map(\.id), auditRecords: records.count)
    }
}

/// Expects `body` to fail with `code` and a message containing `fragment`.
func expectStatus(_ code: RPCError.Code, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation,
                  _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected \(code), but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as RPCError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(fragment.isEmpty || error.message.contains(fragment), "message '\(error.message)' lacks '\(fragment)'", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected RPCError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
