import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Redoubt
import RedoubtCrypto
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtProto
import RedoubtStore
import Testing

/// The battlefield of the adversarial suites: the deployed ``Broker`` (interceptor, rate
/// limiter, transport limits) with every service — backups included — over a real LocalHSM on
/// a SQLite file, on 127.0.0.1 over HTTP/2, called as an attacker would: through the generated
/// clients on as many separate connections as it likes, or with raw bytes. Optionally a second
/// node (another LocalHSM and broker over the same store file), for what caches may delay.
struct AdversarialArena: Sendable {
    typealias Transport = HTTP2ClientTransport.Posix
    typealias Client = GRPCClient<Transport>

    /// How long any node may keep serving from caches after another node's change
    /// (``LocalHSM/Configuration/cacheRefreshInterval``, the documented bound).
    static let cacheRefreshInterval: TimeInterval = 0.25

    let hsm: LocalHSM
    let operatorAPIKey: String
    let backupDirectory: URL
    let port: Int
    /// The second node's port, when asked for.
    let secondPort: Int?
    /// The attacker's (and everyone's) default connection.
    let grpc: Client

    /// Limits with the rate limiter off, unless a test turns it on.
    static var unlimited: BrokerConfiguration.Limits {
        var limits = BrokerConfiguration.Limits()
        limits.requestsPerSecond = 0
        return limits
    }

    /// Runs `body` against a fresh broker with `limits` (its rate limiter on `clock`); shuts
    /// everything down afterwards.
    static func run(
        limits: BrokerConfiguration.Limits = unlimited, secondNode: Bool = false, clock: any Clock<Duration> = ContinuousClock(),
        _ body: @Sendable (AdversarialArena) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-adversarial-\(UUID().uuidString)")
        let backups = directory.appendingPathComponent("backups")
        try FileManager.default.createDirectory(at: backups, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
        configuration.passphraseScrypt = ScryptParameters(n: 1 << 10)
        configuration.cacheRefreshInterval = cacheRefreshInterval
        let path = directory.appendingPathComponent("store.sqlite").path
        let store = try SQLiteStore(path: path)
        let created = try await LocalHSM.initialize(store: store, passphrase: "adversarial passphrase", configuration: configuration)
        // Quiet: the attacks make thousands of refusals, each logged.
        let logger = Logger(label: "redoubt.adversarial", factory: { _ in SwiftLogNoOpLogHandler() })
        var nodes: [(LocalHSM, SQLiteStore, Broker)] = []
        nodes.append((created.hsm, store, try Self.broker(created.hsm, backups: backups, limits: limits, clock: clock, logger: logger)))
        if secondNode {
            let store2 = try SQLiteStore(path: path)
            let hsm2 = try await LocalHSM.open(store: store2, unseal: .passphrase("adversarial passphrase"), configuration: configuration)
            nodes.append((hsm2, store2, try Self.broker(hsm2, backups: backups, limits: limits, clock: clock, logger: logger)))
        }
        let servers = nodes.map(\.2)
        let result: Result<Void, any Error>
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for server in servers { group.addTask { try await server.run() } }
                defer { for server in servers { server.beginGracefulShutdown() } }
                var ports: [Int] = []
                for server in servers { ports.append(try await server.listeningPort()) }
                try await withGRPCClient(transport: try Self.transport(ports[0])) { client in
                    try await body(
                        AdversarialArena(
                            hsm: created.hsm, operatorAPIKey: created.operatorAPIKey, backupDirectory: backups,
                            port: ports[0], secondPort: ports.count > 1 ? ports[1] : nil, grpc: client))
                }
            }
            result = .success(())
        } catch {
            result = .failure(error)
        }
        for (hsm, store, _) in nodes {
            try? await hsm.close()
            try? await store.close()
        }
        try result.get()
    }

    private static func broker(
        _ hsm: LocalHSM, backups: URL, limits: BrokerConfiguration.Limits, clock: any Clock<Duration>, logger: Logger
    ) throws -> Broker {
        let services = BrokerServices(hsm: hsm, limits: limits.serviceLimits, backups: .directory(backups), logger: logger)
        return try Broker(
            services: services.services, configuration: BrokerConfiguration(listen: "127.0.0.1:0", limits: limits), logger: logger,
            clock: clock)
    }

    static func transport(_ port: Int) throws -> Transport {
        try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
    }

    /// Runs `body` over a connection of its own (another client), to `port` (default: the first node).
    func connection<T: Sendable>(to port: Int? = nil, _ body: @Sendable (Client) async throws -> T) async throws -> T {
        try await withGRPCClient(transport: try Self.transport(port ?? self.port)) { try await body($0) }
    }

    // MARK: Clients of one connection

    static func sessions(_ c: Client) -> Redoubt_V1_SessionService.Client<Transport> { .init(wrapping: c) }
    static func partitions(_ c: Client) -> Redoubt_V1_PartitionService.Client<Transport> { .init(wrapping: c) }
    static func users(_ c: Client) -> Redoubt_V1_UserService.Client<Transport> { .init(wrapping: c) }
    static func keys(_ c: Client) -> Redoubt_V1_KeyService.Client<Transport> { .init(wrapping: c) }
    static func crypto(_ c: Client) -> Redoubt_V1_CryptoService.Client<Transport> { .init(wrapping: c) }
    static func audit(_ c: Client) -> Redoubt_V1_AuditService.Client<Transport> { .init(wrapping: c) }
    static func backups(_ c: Client) -> Redoubt_V1_BackupService.Client<Transport> { .init(wrapping: c) }
    static func health(_ c: Client) -> Grpc_Health_V1_Health.Client<Transport> { .init(wrapping: c) }

    var sessions: Redoubt_V1_SessionService.Client<Transport> { Self.sessions(grpc) }
    var partitions: Redoubt_V1_PartitionService.Client<Transport> { Self.partitions(grpc) }
    var users: Redoubt_V1_UserService.Client<Transport> { Self.users(grpc) }
    var keys: Redoubt_V1_KeyService.Client<Transport> { Self.keys(grpc) }
    var crypto: Redoubt_V1_CryptoService.Client<Transport> { Self.crypto(grpc) }
    var audit: Redoubt_V1_AuditService.Client<Transport> { Self.audit(grpc) }
    var backups: Redoubt_V1_BackupService.Client<Transport> { Self.backups(grpc) }

    // MARK: People

    /// `authorization: Bearer <value>`.
    static func bearer(_ value: String) -> Metadata { ["authorization": "Bearer \(value)"] }

    /// Opens a session with an API key through the broker (on `client`, default the main connection).
    func open(_ partition: String, apiKey: String, on client: Client? = nil) async throws -> Redoubt_V1_OpenSessionResponse {
        var request = Redoubt_V1_OpenSessionRequest()
        request.partitionID = partition
        return try await Self.sessions(client ?? grpc).openSession(request, metadata: Self.bearer(apiKey))
    }

    /// An operator session's bearer metadata.
    func operatorSession() async throws -> Metadata {
        Self.bearer(try await open("", apiKey: operatorAPIKey).token)
    }

    /// A partition and one person of every partition role, each with an API key and a session.
    struct Tenant: Sendable {
        struct Person: Sendable {
            let userID: String
            let apiKey: String
            let session: Redoubt_V1_OpenSessionResponse
            var token: String { session.token }
            var metadata: Metadata { AdversarialArena.bearer(session.token) }
        }

        let partition: String
        let officer: Person
        let user: Person
        let auditor: Person
        let approver: Person
        var everyone: [Person] { [officer, user, auditor, approver] }
    }

    /// Creates partition `id` (with `settings`) and its people through the broker.
    func tenant(_ id: String, settings: PartitionSettings = .defaults, operator op: Metadata) async throws -> Tenant {
        let created = try await partitions.createPartition(Redoubt_V1_CreatePartitionRequest(id: id, settings: settings), metadata: op)
        let officerSession = try await open(id, apiKey: created.securityOfficerApiKey)
        let officer = Tenant.Person(userID: created.securityOfficer.id, apiKey: created.securityOfficerApiKey, session: officerSession)
        func person(_ name: String, _ role: Role) async throws -> Tenant.Person {
            let added = try await users.addUser(
                Redoubt_V1_AddUserRequest(name: name, role: role, password: nil, clientCertificateSHA256: nil),
                metadata: officer.metadata)
            return Tenant.Person(userID: added.user.id, apiKey: added.apiKey, session: try await open(id, apiKey: added.apiKey))
        }
        return Tenant(
            partition: id, officer: officer, user: try await person("user", .cryptoUser),
            auditor: try await person("auditor", .auditor), approver: try await person("approver", .approver))
    }

    /// Creates a key through the broker as `person`.
    func key(
        _ person: Tenant.Person, _ algorithm: KeyAlgorithm, extractable: Bool = false, sensitive: Bool = true,
        requestID: String? = nil, label: String = "k"
    ) async throws -> KeyInfo {
        let spec = KeySpec(algorithm: algorithm, label: label, extractable: extractable, sensitive: sensitive, requestID: requestID)
        let created = try await keys.createKey(Redoubt_V1_CreateKeyRequest(spec: spec), metadata: person.metadata)
        return try KeyInfo(proto: created.key, at: .root)
    }

    // MARK: What a refused call must leave unchanged

    /// A partition's keys (every attribute and state) and audit log, read in-process with the
    /// tenant's officer (reading neither changes nor audits anything).
    struct Snapshot: Equatable {
        let keys: [KeyInfo]
        let users: [UserInfo]
        let audit: [AuditRecord]
    }

    func snapshot(_ tenant: Tenant) async throws -> Snapshot {
        let officer = SessionToken(tenant.officer.token)
        return Snapshot(
            keys: try await hsm.listKeys(officer, filter: KeyFilter(includeDestroyed: true, limit: 1000)),
            users: try await hsm.listUsers(officer),
            audit: try await hsm.auditRecords(officer, from: 1, limit: 1000))
    }
}

// MARK: - Refusals

/// How a failed call ended, for comparing refusals.
struct Refusal: Sendable, Equatable, CustomStringConvertible {
    let code: RPCError.Code
    let message: String

    /// The message with `ids` replaced by `<id>`: what an attacker can compare between an
    /// existing-but-foreign object and a non-existent one.
    func shape(hiding ids: [String]) -> Refusal {
        Refusal(code: code, message: ids.reduce(message) { $0.replacingOccurrences(of: $1, with: "<id>") })
    }

    var description: String { "\(code): \(message)" }
}

/// The refusal of `body`; records an issue (and returns nil) if it succeeds or fails otherwise.
@discardableResult
func refusal(
    _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> Refusal? {
    do {
        try await body()
        Issue.record("\(what): the call succeeded; it must be refused", sourceLocation: sourceLocation)
        return nil
    } catch let error as RPCError {
        return Refusal(code: error.code, message: error.message)
    } catch {
        Issue.record("\(what): expected an RPCError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Expects `body` to be refused with one of `codes`.
func expectRefused(
    _ codes: Set<RPCError.Code>, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    guard let r = await refusal(what, sourceLocation: sourceLocation, body) else { return }
    #expect(codes.contains(r.code), "\(what): \(r)", sourceLocation: sourceLocation)
}

/// A well-formed key id no partition holds.
func phantomKeyID() -> String {
    "k" + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
}

/// The resident set size of this process (which runs the broker and its clients), in bytes.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// How long `body` takes.
func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let start = ContinuousClock.now
    let value = try await body()
    return (value, ContinuousClock.now - start)
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
