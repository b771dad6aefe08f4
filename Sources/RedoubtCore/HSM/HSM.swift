import Foundation

/// How a key encrypts: a symmetric cipher, or RSA-OAEP for RSA keys.
public enum EncryptionScheme: String, Sendable, Hashable, Codable, CaseIterable {
    /// AES-GCM (AES keys), with AAD.
    case aesGCM = "AES-GCM"
    /// ChaCha20-Poly1305 (32-byte generic secrets), with AAD.
    case chaCha20Poly1305 = "CHACHA20-POLY1305"
    /// AES-CBC with PKCS#7 padding (AES keys), no AAD.
    case aesCBCPKCS7 = "AES-CBC-PKCS7"
    /// RSA-OAEP with SHA-256 (RSA keys), no AAD.
    case rsaOAEPSHA256 = "RSA-OAEP-SHA256"
}

/// A user just added, with its API key (shown once).
public struct NewUser: Sendable {
    /// The user.
    public var user: UserInfo
    /// The user's API key; stored only as a hash.
    public var apiKey: String

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(user: UserInfo, apiKey: String) {
        self.user = user
        self.apiKey = apiKey
    }
}

/// The result of encapsulating: the new shared-secret key object and the ciphertext to send.
public struct EncapsulationResult: Sendable {
    /// The shared secret, stored as a generic-secret key object.
    public var key: KeyInfo
    /// The encapsulated key for the holder of the private key.
    public var encapsulated: Data

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(key: KeyInfo, encapsulated: Data) {
        self.key = key
        self.encapsulated = encapsulated
    }
}

/// An HSM: sessions, partitions, users, keys, cryptographic operations and audit.
///
/// Every way of reaching keys implements this protocol: ``LocalHSM`` (in-process, over a
/// store), a gRPC client of a broker, and a failover router over several HSMs. Every call
/// but ``openSession(partition:credential:)`` carries the session token it returned; the
/// session's role and partition decide what the call may do.
///
/// ```swift
/// let session = try await hsm.openSession(partition: "payments", credential: .apiKey(key))
/// let k = try await hsm.generateKey(session.token, spec: KeySpec(algorithm: .p256, label: "signer"))
/// let sig = try await hsm.sign(session.token, key: k.id, input: .message(data), scheme: .ecdsa(.sha256))
/// ```
public protocol HSM: Sendable {
    // MARK: Sessions

    /// Opens a session on `partition` (`""` for the operator) with a credential.
    func openSession(partition: String, credential: Credential) async throws -> SessionInfo
    /// Ends a session; its session objects are gone.
    func closeSession(_ session: SessionToken) async throws

    // MARK: Partitions (operator)

    /// Creates a partition and its first security officer.
    func createPartition(_ session: SessionToken, id: String, settings: PartitionSettings) async throws -> CreatedPartition
    /// Lists partitions.
    func listPartitions(_ session: SessionToken) async throws -> [PartitionInfo]
    /// Changes a partition's switches.
    func updatePartition(_ session: SessionToken, id: String, settings: PartitionSettings) async throws -> PartitionInfo

    // MARK: Users (security officer; the operator for operators)

    /// Adds a user with an API key and, optionally, a password and a client certificate (the
    /// SHA-256 of its DER encoding) that opens sessions over mutual TLS.
    func addUser(
        _ session: SessionToken, name: String, role: Role, password: String?,
        clientCertificateSHA256: Data?
    ) async throws -> NewUser
    /// Lists the users of the session's partition.
    func listUsers(_ session: SessionToken) async throws -> [UserInfo]
    /// Removes a user; its sessions end.
    func removeUser(_ session: SessionToken, id: String) async throws

    // MARK: Keys

    /// Generates a key.
    func generateKey(_ session: SessionToken, spec: KeySpec) async throws -> KeyInfo
    /// Imports a key.
    func importKey(_ session: SessionToken, spec: KeySpec, material: KeyMaterial) async throws -> KeyInfo
    /// Reads a key's metadata.
    func getKey(_ session: SessionToken, id: String) async throws -> KeyInfo
    /// Lists keys, a page at a time, ordered by id.
    func listKeys(_ session: SessionToken, filter: KeyFilter) async throws -> [KeyInfo]
    /// Changes attributes, only towards stricter.
    /// On a key whose approval policy governs it, submits a request instead and throws
    /// ``HSMError/approvalPending(_:)`` (see ``HSMError/pendingRequest``).
    func updateKey(_ session: SessionToken, id: String, update: KeyAttributeUpdate) async throws -> KeyInfo
    /// Adds a new version; new signatures and ciphertexts use it.
    func rotateKey(_ session: SessionToken, id: String) async throws -> KeyInfo
    /// Blocks every use until unblocked.
    /// On a key whose approval policy governs it, submits a request instead and throws
    /// ``HSMError/approvalPending(_:)`` (see ``HSMError/pendingRequest``).
    func blockKey(_ session: SessionToken, id: String) async throws -> KeyInfo
    /// Unblocks.
    /// On a key whose approval policy governs it, submits a request instead and throws
    /// ``HSMError/approvalPending(_:)`` (see ``HSMError/pendingRequest``).
    func unblockKey(_ session: SessionToken, id: String) async throws -> KeyInfo
    /// Moves a key to the trash. A security officer's call; a crypto user may destroy only the
    /// session objects (`persistent = false`) its own session made.
    func destroyKey(_ session: SessionToken, id: String) async throws -> KeyInfo
    /// Restores a key from the trash.
    func restoreKey(_ session: SessionToken, id: String) async throws -> KeyInfo
    /// Deletes a trashed key for good. A security officer's call; a crypto user may purge only
    /// the session objects its own session made.
    func purgeKey(_ session: SessionToken, id: String) async throws
    /// The public key of an asymmetric key (latest version unless given).
    func exportPublicKey(_ session: SessionToken, id: String, version: Int?) async throws -> PublicKey
    /// The key wrapped under another key of the partition (only if extractable and the partition allows export).
    func exportWrapped(_ session: SessionToken, id: String, wrappingKey: String, scheme: WrapScheme) async throws -> Data
    /// The key wrapped as ``exportWrapped(_:id:wrappingKey:scheme:)`` does, in the scheme's
    /// standard form, with the wrapping key's version apart. (A default implementation composes
    /// it from ``exportWrapped(_:id:wrappingKey:scheme:)``.)
    func exportWrappedStandard(_ session: SessionToken, id: String, wrappingKey: String, scheme: WrapScheme) async throws -> StandardWrappedKey
    /// A key in its scheme's standard wrapped form unwrapped into a new key object; `version` names
    /// the wrapping key's version (nil: its latest). (A default implementation composes it from
    /// ``importKey(_:spec:material:)``.)
    func importWrappedStandard(
        _ session: SessionToken, spec: KeySpec, wrapped: Data, wrappingKey: String, scheme: WrapScheme, version: Int?
    ) async throws -> KeyInfo
    /// The key bytes in the clear (only if extractable, not sensitive, and the partition allows export).
    func exportPlaintext(_ session: SessionToken, id: String) async throws -> SecretBytes

    // MARK: Certificates

    /// Stores an X.509 certificate in the session's partition (security officer; crypto user where
    /// the partition lets crypto users create keys).
    func createCertificate(_ session: SessionToken, spec: CertificateSpec) async throws -> CertificateInfo
    /// Reads a stored certificate (security officer, crypto user, auditor).
    func getCertificate(_ session: SessionToken, id: String) async throws -> CertificateInfo
    /// Lists stored certificates, a page at a time, ordered by id (security officer, crypto user, auditor).
    func listCertificates(_ session: SessionToken, filter: CertificateFilter) async throws -> [CertificateInfo]
    /// Deletes a stored certificate for good (the roles that store them).
    func deleteCertificate(_ session: SessionToken, id: String) async throws

    // MARK: Cryptographic operations
    //
    // The per-call operations are `nonisolated(nonsending)`: an implementation may run them on the
    // caller's executor (``LocalHSM`` does: no executor switch into or out of a call, the largest
    // fixed cost of an embedded call). Call them from a task, or a `@concurrent` function, rather
    // than from an actor that must not wait for the crypto.

    /// Signs with the latest version.
    /// On a key whose approval policy governs it, submits a request instead and throws
    /// ``HSMError/approvalPending(_:)`` (see ``HSMError/pendingRequest``).
    nonisolated(nonsending) func sign(_ session: SessionToken, key: String, input: SigningInput, scheme: SignatureScheme) async throws -> SignatureResult
    /// Verifies with the given version (latest if nil).
    nonisolated(nonsending) func verify(_ session: SessionToken, key: String, input: SigningInput, signature: Data, scheme: SignatureScheme, version: Int?)
        async throws -> Bool
    /// Encrypts with the latest version; the output names the version.
    nonisolated(nonsending) func encrypt(_ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, aad: Data) async throws -> Data
    /// Decrypts with the version the ciphertext names.
    /// On a key whose approval policy governs it, submits a request instead and throws
    /// ``HSMError/approvalPending(_:)`` (see ``HSMError/pendingRequest``).
    nonisolated(nonsending) func decrypt(_ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, aad: Data) async throws -> Data
    /// HMAC with the latest version; the output names the version.
    /// On a key whose approval policy governs it, submits a request instead and throws
    /// ``HSMError/approvalPending(_:)`` (see ``HSMError/pendingRequest``).
    nonisolated(nonsending) func mac(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm) async throws -> Data
    /// Checks a tag from ``mac(_:key:data:hash:)``.
    nonisolated(nonsending) func verifyMAC(_ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm) async throws -> Bool
    /// Encrypts in the scheme's standard form (``StandardCipherParameters``): the result carries
    /// the IV and the key version apart, for callers that must hand over standard ciphertexts
    /// (PKCS #11, JCE, openssl).
    nonisolated(nonsending) func encryptStandard(
        _ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) async throws -> StandardEncryption
    /// Decrypts a standard-form ciphertext with the IV, AAD, tag length and key version given.
    /// A key governed by an approval policy refuses it: its decryptions are requests, in the
    /// versioned form of ``decrypt(_:key:ciphertext:scheme:aad:)``.
    nonisolated(nonsending) func decryptStandard(
        _ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) async throws -> Data
    /// HMAC with the given version (latest if nil): the bare tag, the hash's full length.
    /// A key governed by an approval policy refuses it, as ``decryptStandard(_:key:ciphertext:scheme:parameters:)``.
    nonisolated(nonsending) func macStandard(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm, version: Int?) async throws -> Data
    /// Checks a bare HMAC tag (a truncated one of at least half the hash and 10 bytes against the
    /// prefix) with the given version (latest if nil).
    nonisolated(nonsending) func verifyMACStandard(
        _ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm, version: Int?
    ) async throws -> Bool
    /// ECDH with a peer public key, then the KDF; the result becomes a new secret key object.
    func deriveKey(_ session: SessionToken, key: String, peer: PublicKey, derivation: KeyDerivation, spec: KeySpec) async throws -> KeyInfo
    /// HKDF over a secret key's bytes (derive usage); the result becomes a new secret key object.
    func deriveKey(_ session: SessionToken, key: String, derivation: KeyDerivation, spec: KeySpec) async throws -> KeyInfo
    /// ML-KEM encapsulation to a key of the partition; the shared secret becomes a new key object.
    func encapsulate(_ session: SessionToken, key: String, spec: KeySpec) async throws -> EncapsulationResult
    /// ML-KEM decapsulation; the shared secret becomes a new key object.
    func decapsulate(_ session: SessionToken, key: String, encapsulated: Data, spec: KeySpec) async throws -> KeyInfo
    /// Random bytes (1 to 1 MiB).
    nonisolated(nonsending) func random(_ session: SessionToken, count: Int) async throws -> Data

    // MARK: Batches (see ``HSMBatch``: one outcome per item; defaults in an extension)

    /// Signs each item under one session.
    func signBatch(_ session: SessionToken, _ items: [SignItem]) async throws -> [Result<SignatureResult, HSMError>]
    /// Verifies each item under one session.
    func verifyBatch(_ session: SessionToken, _ items: [VerifyItem]) async throws -> [Result<Bool, HSMError>]
    /// Encrypts each item under one session.
    func encryptBatch(_ session: SessionToken, _ items: [EncryptItem]) async throws -> [Result<Data, HSMError>]
    /// Decrypts each item under one session.
    func decryptBatch(_ session: SessionToken, _ items: [DecryptItem]) async throws -> [Result<Data, HSMError>]
    /// Computes each item's MAC under one session.
    func macBatch(_ session: SessionToken, _ items: [MACItem]) async throws -> [Result<Data, HSMError>]

    // MARK: Audit

    /// Audit records of the session's partition from `sequence` on.
    func auditRecords(_ session: SessionToken, from sequence: Int64, limit: Int) async throws -> [AuditRecord]
    /// Verifies the partition's whole chain: every record in order and unaltered, every record
    /// MAC, and the chain against the HSM's latest signed checkpoint and against `checkpoint`
    /// when given (one exported earlier with ``auditCheckpoint(_:)`` and kept elsewhere).
    func verifyAudit(_ session: SessionToken, against checkpoint: AuditCheckpoint?) async throws -> AuditVerification
    /// Signs the chain's head (after committing queued records) and returns the checkpoint, for
    /// an auditor to keep outside the HSM (auditor, security officer, operator).
    func auditCheckpoint(_ session: SessionToken) async throws -> AuditCheckpoint

    // MARK: Approvals (see <doc:Approvals>)
    //
    // A direct sign, decrypt, MAC, block, unblock or update of a key whose ``KeyPolicy`` has a
    // non-empty rule for it does not run: it is submitted as a request, exactly as
    // ``submitRequest(_:key:operation:)`` would, and the call throws ``HSMError/approvalPending(_:)``
    // carrying that ``ApprovalRequest`` in ``HSMError/pendingRequest``. Approvers fetch the request,
    // sign its ``ApprovalRequest/approveChallenge`` offline and hand in the signature; once a token
    // of the rule is satisfied and its timelock has passed the operation runs, exactly once, and the
    // requester fetches the result with ``getRequest(_:id:)``. Transitions that depend only on time
    // (a timelock passing, a timeout expiring) are made lazily by the next call that reads or
    // decides on the request.

    /// Registers an approver of the session's partition (security officer): a name and an
    /// Ed25519, P-256 or ML-DSA-65 public key.
    func registerApprover(_ session: SessionToken, name: String, publicKey: PublicKey) async throws -> Approver
    /// Lists the partition's approvers (security officer, auditor).
    func listApprovers(_ session: SessionToken) async throws -> [Approver]
    /// Removes an approver that no key policy names (security officer).
    func removeApprover(_ session: SessionToken, name: String) async throws
    /// Binds a token issuer to the session's partition (security officer): JWTs it signs then
    /// open sessions (``Credential/jwt(_:)``). Its name and its issuer must be new to the
    /// partition (ALREADY_EXISTS otherwise);
    /// a partition trusts at most ``TokenIssuer/maximumPerPartition`` issuers.
    func bindTokenIssuer(_ session: SessionToken, issuer: TokenIssuer) async throws -> TokenIssuer
    /// Lists the token issuers the session's partition trusts (security officer, auditor).
    func listTokenIssuers(_ session: SessionToken) async throws -> [TokenIssuer]
    /// Unbinds a token issuer (security officer): its tokens no longer open sessions; sessions
    /// already open keep running until they end.
    func unbindTokenIssuer(_ session: SessionToken, name: String) async throws
    /// Submits an operation on a key as a request. If the key's rule for it is empty, the
    /// operation runs at once and the request comes back executed.
    func submitRequest(_ session: SessionToken, key: String, operation: ApprovalOperation) async throws -> ApprovalRequest
    /// Reads a request: the requester (with the result), the security officer and auditors, and
    /// approvers its rule names.
    func getRequest(_ session: SessionToken, id: String) async throws -> ApprovalRequest
    /// Lists requests visible to the session, ordered by id.
    func listRequests(_ session: SessionToken, filter: ApprovalRequestFilter) async throws -> [ApprovalRequest]
    /// Hands in `approver`'s signature of the request's approve challenge.
    func approveRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest
    /// Hands in `approver`'s signature of the request's reject challenge.
    func rejectRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest

    // MARK: Backup (operator)

    /// Writes a sealed backup of `partition` (`nil`: the whole store) to `path` where the HSM's
    /// store lives, reporting progress; needs an operator session.
    ///
    /// `path` is a file path on the machine that holds the store: for ``LocalHSM`` any path this
    /// process may write (the file must not exist unless `overwrite`); through a broker, a
    /// relative path inside the broker's backup folder (the broker refuses absolute paths and
    /// `..`). A ``FailoverHSM`` sends it to one node, without retrying elsewhere.
    func createBackup(
        _ session: SessionToken, path: String, partition: String?, overwrite: Bool,
        progress: @escaping @Sendable (BackupProgress) -> Void
    ) async throws -> BackupReport
}

extension HSM {
    /// Adds a user with an API key and, optionally, a password.
    public func addUser(_ session: SessionToken, name: String, role: Role, password: String?) async throws -> NewUser {
        try await addUser(session, name: name, role: role, password: password, clientCertificateSHA256: nil)
    }

    /// Writes a sealed backup without reporting progress.
    public func createBackup(_ session: SessionToken, path: String, partition: String? = nil, overwrite: Bool = false) async throws -> BackupReport {
        try await createBackup(session, path: path, partition: partition, overwrite: overwrite) { _ in }
    }

    /// Verifies the partition's whole chain against the HSM's own latest signed checkpoint.
    public func verifyAudit(_ session: SessionToken) async throws -> AuditVerification {
        try await verifyAudit(session, against: nil)
    }
}

/// Facts about the current call that the transport knows and the HSM checks, carried in
/// task-local values so that every ``HSM`` implementation sees them without extra parameters.
public enum HSMCallContext {
    /// The address the call came from (`203.0.113.7`, `2001:db8::1`), if known; the broker sets
    /// it from the connection. Partitions with ``PartitionSettings/allowedSources`` refuse
    /// calls from elsewhere.
    @TaskLocal public static var sourceAddress: String?

    /// When the caller stops waiting for an answer, if it said so: the broker sets it from the
    /// incoming call's `grpc-timeout`, and a caller may set it around any call. A `RemoteHSM`
    /// sends no call with a longer timeout than what is left, and a `FailoverHSM` starts no
    /// attempt after it; once it has passed they fail with ``HSMError/Code/deadlineExceeded``.
    /// `LocalHSM` does not look at it (its calls do not wait on other machines).
    ///
    /// ```swift
    /// try await HSMCallContext.$deadline.withValue(Date().addingTimeInterval(0.5)) {
    ///     try await hsm.sign(token, key: keyID, input: .message(data), scheme: .ecdsa(.sha256))
    /// }
    /// ```
    @TaskLocal public static var deadline: Date?
}
