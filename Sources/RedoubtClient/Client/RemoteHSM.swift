import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import RedoubtCore
import RedoubtProto
import ServiceLifecycle
import Synchronization

/// The ``HSM`` protocol over a broker's gRPC API (`redoubt.v1`): the same calls, the
/// same results and the same ``HSMError`` codes and messages as the ``LocalHSM``
/// the broker serves, so an app moves from an embedded HSM to a remote one by changing one line:
///
/// ```swift
/// // let hsm = try await LocalHSM.open(store: store, unseal: .passphrase(passphrase))
/// let configuration = RemoteHSMConfiguration(endpoint: "hsm.example.net:8443",
///                                             tls: .init(trustRoots: .file("/etc/redoubt/ca.pem")))
/// try await withRemoteHSM(configuration: configuration) { hsm in
///     let session = try await hsm.openSession(partition: "payments", credential: .apiKey(apiKey))
///     let signature = try await hsm.sign(session.token, key: keyID, input: .message(data), scheme: .ecdsa(.sha256))
/// }
/// ```
///
/// Its connections live as long as ``run()`` runs: it is a swift-service-lifecycle `Service`, so
/// an app with a `ServiceGroup` lists it there (before the services that call it, so that they
/// shut down first); ``withRemoteHSM(configuration:eventLoopGroup:isolation:_:)`` runs it around a closure;
/// ``start()`` runs it in a background task for callers that have neither. Creating one starts
/// nothing. Calls made before ``run()`` starts wait for it, up to the call's deadline.
///
/// How each call travels:
/// - Every call but `openSession` sends the session token as `authorization: Bearer <token>`.
/// - ``openSession(partition:credential:)`` sends an API key as the bearer and a password in
///   the message. ``Credential/clientCertificate(sha256:)`` sends neither: the broker
///   takes the certificate of the mutual-TLS connection (``RemoteHSMConfiguration/TLS/clientIdentity``)
///   and ignores the fingerprint given here, which therefore cannot pick another certificate.
/// - Each call has a deadline of ``RemoteHSMConfiguration/callTimeout``; past it the call fails
///   with UNAVAILABLE "deadline exceeded: …" (see the client side of the status mapping): another
///   node may answer in time. When the caller set a sooner ``HSMCallContext/deadline``,
///   the call's gRPC timeout is what is left of it, and once it has passed the call fails with
///   ``HSMError/Code/deadlineExceeded`` (without a round trip if it passed before sending).
/// - `listPartitions` and `listUsers` read every page; `listKeys` reads the one page its filter
///   describes.
///
/// Where the wire reads 0 or an empty list as "the default" (audit `from` and `limit`, list
/// limits, random byte counts, a key spec's usages, with its label), arguments are checked here
/// with ``HSMArgumentChecks`` before sending, so such a value fails as on the HSM,
/// though before the session is checked. So do
/// session tokens and API keys that cannot travel in an HTTP/2 header (empty, longer than
/// 1024 bytes, or with bytes outside printable ASCII): no HSM issues such credentials, and they
/// fail as the HSM fails them ("invalid credentials", or an invalid session) without a round
/// trip — and without counting towards the lockout of a credential.
///
/// ``close()`` ends the connection; calls after it fail with UNAVAILABLE.
public final class RemoteHSM: HSM, Service {
    typealias Transport = HTTP2ClientTransport.Posix

    /// The settings it was made with.
    public let configuration: RemoteHSMConfiguration
    let client: GRPCClient<Transport>
    private let lifecycle = Mutex(Lifecycle())
    private let options: CallOptions

    /// Whether ``run()`` has begun, and the background task ``start()`` made.
    private struct Lifecycle {
        var running = false
        var closed = false
        var task: Task<Void, Never>?
    }

    let sessions: Redoubt_V1_SessionService.Client<Transport>
    let partitions: Redoubt_V1_PartitionService.Client<Transport>
    let users: Redoubt_V1_UserService.Client<Transport>
    let keys: Redoubt_V1_KeyService.Client<Transport>
    let crypto: Redoubt_V1_CryptoService.Client<Transport>
    let audit: Redoubt_V1_AuditService.Client<Transport>
    let approvals: Redoubt_V1_ApprovalService.Client<Transport>
    let backups: Redoubt_V1_BackupService.Client<Transport>
    /// The coalescing of concurrent single calls, when ``RemoteHSMConfiguration/coalescing`` asks for it.
    let coalescers: Coalescers?

    /// Prepares a client of the broker at ``RemoteHSMConfiguration/endpoint``. Nothing connects
    /// and no task starts until ``run()`` (or ``start()``); it then connects on the first call
    /// and reconnects as needed.
    ///
    /// - Parameter eventLoopGroup: the NIO threads its connections run on; by default NIO's
    ///   shared singleton group. A host that must own its threads (a library loaded into another
    ///   program) passes its own group and shuts it down after ``close()``.
    /// - Throws: ``HSMError`` INVALID_ARGUMENT naming the setting that is unusable: an
    ///   endpoint that is not `HOST:PORT`, plaintext to a non-loopback address, unreadable or
    ///   unusable certificates or key, a timeout of zero.
    public init(configuration: RemoteHSMConfiguration, eventLoopGroup: (any EventLoopGroup)? = nil) throws {
        self.configuration = configuration
        let client = GRPCClient(transport: try configuration.makeTransport(eventLoopGroup: eventLoopGroup))
        self.client = client
        var options = CallOptions.defaults
        options.timeout = configuration.callTimeout
        self.options = options
        sessions = .init(wrapping: client)
        partitions = .init(wrapping: client)
        users = .init(wrapping: client)
        keys = .init(wrapping: client)
        crypto = .init(wrapping: client)
        audit = .init(wrapping: client)
        approvals = .init(wrapping: client)
        backups = .init(wrapping: client)
        if case .after(let inFlight) = configuration.coalescing {
            coalescers = Coalescers(limit: inFlight, batchItems: configuration.batchItems)
        } else {
            coalescers = nil
        }
    }

    deinit {
        client.beginGracefulShutdown()
    }

    // MARK: - Lifecycle

    /// Runs the client's connections until ``close()`` or the graceful shutdown of the service
    /// group it runs in; connection failures surface on the calls, not here. Runs once: a second
    /// call, or a call after ``close()``, returns at once.
    public func run() async throws {
        guard beginRunning() else { return }
        try await runConnections()
    }

    /// The body of ``run()`` once ``beginRunning()`` said yes.
    func runConnections() async throws {
        do {
            try await withGracefulShutdownHandler {
                try await client.runConnections()
            } onGracefulShutdown: {
                self.client.beginGracefulShutdown()
            }
        } catch  where lifecycle.withLock({ $0.closed }) {
            // Closed before its connections began (the gRPC client then refuses to run): nothing to run.
        }
    }

    /// Runs ``run()`` in a background task, for callers with neither a task group nor a service
    /// group at hand (a command-line tool, a C library's handle); ``close()`` ends it. Does nothing
    /// if it already runs or was closed.
    /// - Returns: the client itself, so that `try RemoteHSM(configuration: c).start()` reads as one step.
    @discardableResult
    public func start() -> RemoteHSM {
        lifecycle.withLock { state in
            guard !state.running, !state.closed else { return }
            state.running = true
            let client = self.client
            // Ends when close() (or deinit) shuts the client down; its errors surface on the calls.
            state.task = Task { try? await client.runConnections() }
        }
        return self
    }

    /// Marks it running (once); `false` if it already ran or was closed.
    func beginRunning() -> Bool {
        lifecycle.withLock { state in
            guard !state.running, !state.closed else { return false }
            state.running = true
            return true
        }
    }

    /// Stops accepting calls, lets calls in flight finish, and closes the connection; ``run()``
    /// then returns (the background task of ``start()`` is awaited).
    public func close() async {
        let task = lifecycle.withLock { state -> Task<Void, Never>? in
            state.closed = true
            return state.task
        }
        client.beginGracefulShutdown()
        await task?.value
    }

    /// Whether ``run()`` or ``start()`` has begun (for the error of a call that waited on a client nobody ran).
    var hasRun: Bool { lifecycle.withLock { $0.running } }

    // MARK: - Calls

    /// What authenticates a call.
    enum Bearer {
        /// A session token (every call but OpenSession).
        case session(SessionToken)
        /// OpenSession's credential: an API key as the bearer, or nothing (password, client certificate).
        case credential(String?)

        /// The `authorization` metadata. A value no HSM issues that cannot travel as a header
        /// fails here as the HSM would fail it.
        func metadata() throws -> Metadata {
            switch self {
            case .session(let token):
                guard Self.canTravel(token.value) else { throw HSMError.invalidSession }
                return ["authorization": "Bearer \(token.value)"]
            case .credential(let key?):
                guard Self.canTravel(key) else { throw HSMError.invalidCredentials }
                return ["authorization": "Bearer \(key)"]
            case .credential(nil):
                return [:]
            }
        }

        /// 1 to 1024 bytes of printable ASCII without spaces (what the broker accepts as a bearer).
        private static func canTravel(_ value: String) -> Bool {
            !value.isEmpty && value.utf8.count <= 1024 && value.utf8.allSatisfy { (0x21...0x7E).contains($0) }
        }
    }

    /// Sends one unary call and decodes its response: the metadata from `bearer`, the deadline of
    /// the configuration, every failure mapped to the model by ``StatusMapping`` (the one place).
    func call<Response: Sendable, Result>(
        _ bearer: Bearer,
        _ send: (Metadata, CallOptions) async throws -> Response,
        decode: (Response) throws -> Result
    ) async throws -> Result {
        let metadata = try bearer.metadata()
        let (options, deadline) = try callOptions()
        let response: Response
        do {
            response = try await send(metadata, options)
        } catch {
            guard hasRun else {
                throw HSMError(
                    .unavailable,
                    "this RemoteHSM is not running: call run() in a task or service group, use withRemoteHSM, or call start()")
            }
            throw Self.modelError(forCall: error, deadline: deadline)
        }
        do {
            return try decode(response)
        } catch {
            throw StatusMapping.malformedResponse(error)
        }
    }

    /// ``call(_:_:decode:)`` for an operation that a key's policy may turn into a request: a
    /// response with `pending_request` set throws ``HSMError/approvalPending(_:)``, as the HSM
    /// itself would, instead of decoding a result.
    func governedCall<Response: PendingRequestCarrier, Result>(
        _ bearer: Bearer,
        _ send: (Metadata, CallOptions) async throws -> Response,
        decode: (Response) throws -> Result
    ) async throws -> Result {
        let outcome: Swift.Result<Result, HSMError> = try await call(bearer, send) { response in
            if let pending = try StatusMapping.pendingError(for: response) { return .failure(pending) }
            return .success(try decode(response))
        }
        return try outcome.get()
    }

    /// The options of a call: the configured timeout, or what is left of the caller's
    /// ``HSMCallContext/deadline`` when that is sooner (then also returned).
    func callOptions() throws -> (CallOptions, Date?) {
        guard let deadline = HSMCallContext.deadline else { return (options, nil) }
        let remaining = deadline.timeIntervalSinceNow
        guard remaining > 0 else {
            throw HSMError(.deadlineExceeded, "the caller's deadline passed before the call was sent")
        }
        let left = Duration.nanoseconds(Int64(min(remaining, 1e9) * 1e9))
        guard left < configuration.callTimeout else { return (options, nil) }
        var options = self.options
        options.timeout = left
        return (options, deadline)
    }

    /// The model error of a failed call; DEADLINE_EXCEEDED when the caller's deadline (if it set
    /// the call's timeout) ran out, rather than the UNAVAILABLE of this client's own timeout.
    static func modelError(forCall error: any Error, deadline: Date?) -> any Error {
        let mapped = StatusMapping.modelError(forCall: error)
        guard let deadline, let model = mapped as? HSMError, model.code == .unavailable else { return mapped }
        if (error as? RPCError)?.code == .deadlineExceeded || Date() >= deadline {
            return HSMError(.deadlineExceeded, model.message)
        }
        return mapped
    }

    /// Every item of a paged List RPC: asks for the largest pages and follows `next_page_token`.
    func allPages<Item>(_ fetch: (_ pageToken: String) async throws -> (items: [Item], next: String)) async throws -> [Item] {
        var all: [Item] = []
        var token = ""
        while true {
            let page = try await fetch(token)
            all += page.items
            guard !page.next.isEmpty else { return all }
            guard page.next != token else {
                throw StatusMapping.malformedResponse(HSMError(.internalError, "next_page_token repeats the page just read"))
            }
            token = page.next
        }
    }

    // MARK: - Sessions

    public func openSession(partition: String, credential: Credential) async throws -> SessionInfo {
        let (request, bearer) = Redoubt_V1_OpenSessionRequest.opening(partition: partition, credential: credential)
        return try await call(.credential(bearer)) {
            try await sessions.openSession(request, metadata: $0, options: $1)
        } decode: {
            try SessionInfo(proto: $0)
        }
    }

    public func closeSession(_ session: SessionToken) async throws {
        try await call(.session(session)) {
            try await sessions.closeSession(Redoubt_V1_CloseSessionRequest(), metadata: $0, options: $1)
        } decode: { _ in
        }
    }

    // MARK: - Partitions

    public func createPartition(_ session: SessionToken, id: String, settings: PartitionSettings) async throws -> CreatedPartition {
        let request = Redoubt_V1_CreatePartitionRequest(id: id, settings: settings)
        return try await call(.session(session)) {
            try await partitions.createPartition(request, metadata: $0, options: $1)
        } decode: {
            try CreatedPartition(proto: $0)
        }
    }

    public func listPartitions(_ session: SessionToken) async throws -> [PartitionInfo] {
        try await allPages { token in
            let request = Redoubt_V1_ListPartitionsRequest(pageSize: HSMArgumentChecks.maximumPageSize, pageToken: token)
            return try await call(.session(session)) {
                try await partitions.listPartitions(request, metadata: $0, options: $1)
            } decode: {
                (try $0.decoded(), $0.nextPageToken)
            }
        }
    }

    public func updatePartition(_ session: SessionToken, id: String, settings: PartitionSettings) async throws -> PartitionInfo {
        let request = Redoubt_V1_UpdatePartitionRequest(id: id, settings: settings)
        return try await call(.session(session)) {
            try await partitions.updatePartition(request, metadata: $0, options: $1)
        } decode: {
            try $0.decoded()
        }
    }

    // MARK: - Users

    public func addUser(
        _ session: SessionToken, name: String, role: Role, password: String?,
        clientCertificateSHA256: Data?
    ) async throws -> NewUser {
        let request = Redoubt_V1_AddUserRequest(name: name, role: role, password: password, clientCertificateSHA256: clientCertificateSHA256)
        return try await call(.session(session)) {
            try await users.addUser(request, metadata: $0, options: $1)
        } decode: {
            try NewUser(proto: $0)
        }
    }

    public func listUsers(_ session: SessionToken) async throws -> [UserInfo] {
        try await allPages { token in
            let request = Redoubt_V1_ListUsersRequest(pageSize: HSMArgumentChecks.maximumPageSize, pageToken: token)
            return try await call(.session(session)) {
                try await users.listUsers(request, metadata: $0, options: $1)
            } decode: {
                (try $0.decoded(), $0.nextPageToken)
            }
        }
    }

    public func removeUser(_ session: SessionToken, id: String) async throws {
        let request = Redoubt_V1_RemoveUserRequest(id: id)
        try await call(.session(session)) {
            try await users.removeUser(request, metadata: $0, options: $1)
        } decode: { _ in
        }
    }

    // MARK: - Audit

    public func auditRecords(_ session: SessionToken, from sequence: Int64, limit: Int) async throws -> [AuditRecord] {
        try HSMArgumentChecks.auditRead(from: sequence, limit: limit)
        let request = Redoubt_V1_ListAuditRecordsRequest(from: sequence, limit: limit)
        return try await call(.session(session)) {
            try await audit.listAuditRecords(request, metadata: $0, options: $1)
        } decode: {
            try $0.decoded()
        }
    }

    public func verifyAudit(_ session: SessionToken, against checkpoint: AuditCheckpoint?) async throws -> AuditVerification {
        var request = Redoubt_V1_VerifyAuditRequest()
        if let checkpoint { request.checkpoint = checkpoint.proto }
        return try await call(.session(session)) { [request] in
            try await audit.verifyAudit(request, metadata: $0, options: $1)
        } decode: {
            AuditVerification(proto: $0)
        }
    }

    public func auditCheckpoint(_ session: SessionToken) async throws -> AuditCheckpoint {
        try await call(.session(session)) {
            try await audit.exportAuditCheckpoint(Redoubt_V1_ExportAuditCheckpointRequest(), metadata: $0, options: $1)
        } decode: {
            try AuditCheckpoint(proto: $0.checkpoint, at: FieldPath.root + "checkpoint")
        }
    }
}
