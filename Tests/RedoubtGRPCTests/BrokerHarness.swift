import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization
import Logging
import Redoubt
import RedoubtCrypto
import RedoubtBroker
@testable import RedoubtTesting
import RedoubtProto
import RedoubtStore
import Testing

/// The broker as deployed — ``Broker`` (interceptor, limits, health) with ``BrokerServices`` —
/// over a real LocalHSM on a temporary SQLite store, serving HTTP/2 on 127.0.0.1 (port 0),
/// called through the real generated clients. Optionally over TLS (``TLSFixtures``) and with a
/// hand-moved clock.
struct BrokerHarness: Sendable {
    typealias Transport = HTTP2ClientTransport.Posix

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
    var approvals: Redoubt_V1_ApprovalService.Client<Transport> { .init(wrapping: grpc) }

    /// Runs `body` against a fresh broker; shuts everything down afterwards.
    static func run(
        limits: BrokerLimits = .defaults, backups: Bool = true, clock: TestClock? = nil, tls: TLSFixtures? = nil,
        _ body: @Sendable (BrokerHarness) async throws -> Void
    ) async throws {
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
        configuration.passphraseScrypt = ScryptParameters(n: 1 << 10)
        if let clock { configuration.clock = { clock.now } }
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
        let broker = BrokerServices(
            hsm: created.hsm, limits: limits, backups: backups ? .directory(directory) : nil,
            logger: Logger(label: "redoubt.broker.test"))
        var serverLimits = BrokerConfiguration.Limits()
        serverLimits.maximumBatchItems = limits.maximumBatchItems
        serverLimits.maximumPayloadBytes = limits.maximumPayloadBytes
        serverLimits.maximumStreamInFlight = limits.maximumStreamInFlight
        serverLimits.requestsPerSecond = 0
        let server: Broker
        do {
            server = try Broker(
                services: broker.services,
                configuration: BrokerConfiguration(
                    listen: "127.0.0.1:0",
                    tls: tls.map { .init(certificateChain: $0.server.certificatePath, privateKey: $0.server.keyPath, clientCA: $0.caPath) },
                    limits: serverLimits),
                logger: Logger(label: "redoubt.broker.test"))
        } catch {
            try? await created.hsm.close()
            try? await store.close()
            throw error
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                defer { server.beginGracefulShutdown() }
                let port = try await server.listeningPort()
                let security: HTTP2ClientTransport.Posix.TransportSecurity =
                    tls.map { tls in
                        .mTLS(
                            certificateChain: [.bytes(Array(tls.client.certificatePEM.utf8), format: .pem)],
                            privateKey: .bytes(Array(tls.client.keyPEM.utf8), format: .pem)
                        ) {
                            $0.trustRoots = .certificates([.bytes(Array(tls.caPEM.utf8), format: .pem)])
                        }
                    } ?? .plaintext
                try await withGRPCClient(
                    transport: try HTTP2ClientTransport.Posix(
                        target: .ipv4(address: "127.0.0.1", port: port),
                        transportSecurity: security)
                ) { client in
                    try await body(
                        BrokerHarness(
                            hsm: created.hsm, operatorAPIKey: created.operatorAPIKey,
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
        try await hsm.generateKey(
            SessionToken(tenant.userToken),
            spec: KeySpec(algorithm: algorithm, label: "k", extractable: extractable, sensitive: sensitive))
    }

    // MARK: Observing the store

    /// What a refused request must leave unchanged: the partition's keys and audit records.
    struct Snapshot: Equatable {
        let keys: [String]
        let certificates: [String]
        let auditRecords: Int
    }

    func snapshot(_ tenant: Tenant) async throws -> Snapshot {
        let officer = SessionToken(tenant.officerToken)
        let keys = try await hsm.listKeys(officer, filter: KeyFilter(includeDestroyed: true, limit: 1000))
        let certificates = try await hsm.listCertificates(officer, filter: CertificateFilter(limit: 1000))
        let records = try await hsm.auditRecords(officer, from: 1, limit: 1000)
        return Snapshot(keys: keys.map(\.id), certificates: certificates.map(\.id), auditRecords: records.count)
    }
}

/// Expects `body` to fail with `code` and a message containing `fragment`.
func expectStatus(
    _ code: RPCError.Code, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
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
