import Foundation

// The HSM protocol, passed through ``FailoverHSM/route(_:_:session:pins:_:)``: which calls may be
// retried elsewhere is decided here, one line each (the list is in FailoverHSM's documentation).

extension FailoverHSM {
    // MARK: Sessions

    public func openSession(partition: String, credential: Credential) async throws -> SessionInfo {
        try await route("openSession", .safe) { try await $0.openSession(partition: partition, credential: credential) }
    }

    public func closeSession(_ session: SessionToken) async throws {
        defer {
            let key = Self.affinityKey(session)
            state.withLock { $0.unpin(key) }
        }
        try await route("closeSession", .once, session: session) { try await $0.closeSession(session) }
    }

    // MARK: Partitions

    public func createPartition(_ session: SessionToken, id: String, settings: PartitionSettings) async throws -> CreatedPartition {
        try await route("createPartition", .once, session: session) { try await $0.createPartition(session, id: id, settings: settings) }
    }

    public func listPartitions(_ session: SessionToken) async throws -> [PartitionInfo] {
        try await route("listPartitions", .safe, session: session) { try await $0.listPartitions(session) }
    }

    public func updatePartition(_ session: SessionToken, id: String, settings: PartitionSettings) async throws -> PartitionInfo {
        try await route("updatePartition", .once, session: session) { try await $0.updatePartition(session, id: id, settings: settings) }
    }

    // MARK: Users

    public func addUser(
        _ session: SessionToken, name: String, role: Role, password: String?,
        clientCertificateSHA256: Data?
    ) async throws -> NewUser {
        try await route("addUser", .once, session: session) {
            try await $0.addUser(session, name: name, role: role, password: password, clientCertificateSHA256: clientCertificateSHA256)
        }
    }

    public func listUsers(_ session: SessionToken) async throws -> [UserInfo] {
        try await route("listUsers", .safe, session: session) { try await $0.listUsers(session) }
    }

    public func removeUser(_ session: SessionToken, id: String) async throws {
        try await route("removeUser", .once, session: session) { try await $0.removeUser(session, id: id) }
    }

    // MARK: Keys

    public func generateKey(_ session: SessionToken, spec: KeySpec) async throws -> KeyInfo {
        try await route("generateKey", .create(spec), session: session, pins: !spec.persistent) {
            try await $0.generateKey(session, spec: spec)
        }
    }

    public func importKey(_ session: SessionToken, spec: KeySpec, material: KeyMaterial) async throws -> KeyInfo {
        try await route("importKey", .create(spec), session: session, pins: !spec.persistent) {
            try await $0.importKey(session, spec: spec, material: material)
        }
    }

    public func getKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await route("getKey", .safe, session: session) { try await $0.getKey(session, id: id) }
    }

    public func listKeys(_ session: SessionToken, filter: KeyFilter) async throws -> [KeyInfo] {
        try await route("listKeys", .safe, session: session) { try await $0.listKeys(session, filter: filter) }
    }

    public func updateKey(_ session: SessionToken, id: String, update: KeyAttributeUpdate) async throws -> KeyInfo {
        try await route("updateKey", .once, session: session) { try await $0.updateKey(session, id: id, update: update) }
    }

    public func rotateKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await route("rotateKey", .once, session: session) { try await $0.rotateKey(session, id: id) }
    }

    public func blockKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await route("blockKey", .once, session: session) { try await $0.blockKey(session, id: id) }
    }

    public func unblockKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await route("unblockKey", .once, session: session) { try await $0.unblockKey(session, id: id) }
    }

    public func destroyKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await route("destroyKey", .once, session: session) { try await $0.destroyKey(session, id: id) }
    }

    public func restoreKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await route("restoreKey", .once, session: session) { try await $0.restoreKey(session, id: id) }
    }

    public func purgeKey(_ session: SessionToken, id: String) async throws {
        try await route("purgeKey", .once, session: session) { try await $0.purgeKey(session, id: id) }
    }

    public func createCertificate(_ session: SessionToken, spec: CertificateSpec) async throws -> CertificateInfo {
        try await route("createCertificate", .once, session: session) { try await $0.createCertificate(session, spec: spec) }
    }

    public func getCertificate(_ session: SessionToken, id: String) async throws -> CertificateInfo {
        try await route("getCertificate", .safe, session: session) { try await $0.getCertificate(session, id: id) }
    }

    public func listCertificates(_ session: SessionToken, filter: CertificateFilter) async throws -> [CertificateInfo] {
        try await route("listCertificates", .safe, session: session) { try await $0.listCertificates(session, filter: filter) }
    }

    public func deleteCertificate(_ session: SessionToken, id: String) async throws {
        try await route("deleteCertificate", .once, session: session) { try await $0.deleteCertificate(session, id: id) }
    }

    public func exportPublicKey(_ session: SessionToken, id: String, version: Int?) async throws -> PublicKey {
        try await route("exportPublicKey", .safe, session: session) { try await $0.exportPublicKey(session, id: id, version: version) }
    }

    public func exportWrapped(_ session: SessionToken, id: String, wrappingKey: String, scheme: WrapScheme) async throws -> Data {
        try await route("exportWrapped", .safe, session: session) {
            try await $0.exportWrapped(session, id: id, wrappingKey: wrappingKey, scheme: scheme)
        }
    }

    public func exportPlaintext(_ session: SessionToken, id: String) async throws -> SecretBytes {
        try await route("exportPlaintext", .safe, session: session) { try await $0.exportPlaintext(session, id: id) }
    }

    // MARK: Cryptographic operations

    // Batches go to one node, as a single call does: each item's outcome is the node's answer;
    // a node that cannot be reached sends the whole batch to the next (every item is safe to repeat).

    public func signBatch(_ session: SessionToken, _ items: [SignItem]) async throws -> [Result<SignatureResult, HSMError>] {
        try await route("signBatch", .safe, session: session) { try await $0.signBatch(session, items) }
    }

    public func verifyBatch(_ session: SessionToken, _ items: [VerifyItem]) async throws -> [Result<Bool, HSMError>] {
        try await route("verifyBatch", .safe, session: session) { try await $0.verifyBatch(session, items) }
    }

    public func encryptBatch(_ session: SessionToken, _ items: [EncryptItem]) async throws -> [Result<Data, HSMError>] {
        try await route("encryptBatch", .safe, session: session) { try await $0.encryptBatch(session, items) }
    }

    public func decryptBatch(_ session: SessionToken, _ items: [DecryptItem]) async throws -> [Result<Data, HSMError>] {
        try await route("decryptBatch", .safe, session: session) { try await $0.decryptBatch(session, items) }
    }

    public func macBatch(_ session: SessionToken, _ items: [MACItem]) async throws -> [Result<Data, HSMError>] {
        try await route("macBatch", .safe, session: session) { try await $0.macBatch(session, items) }
    }

    public func sign(_ session: SessionToken, key: String, input: SigningInput, scheme: SignatureScheme) async throws -> SignatureResult {
        try await route("sign", .safe, session: session) { try await $0.sign(session, key: key, input: input, scheme: scheme) }
    }

    public func verify(
        _ session: SessionToken, key: String, input: SigningInput, signature: Data, scheme: SignatureScheme,
        version: Int?
    ) async throws -> Bool {
        try await route("verify", .safe, session: session) {
            try await $0.verify(session, key: key, input: input, signature: signature, scheme: scheme, version: version)
        }
    }

    public func encrypt(_ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, aad: Data) async throws -> Data {
        try await route("encrypt", .safe, session: session) {
            try await $0.encrypt(session, key: key, plaintext: plaintext, scheme: scheme, aad: aad)
        }
    }

    public func decrypt(_ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, aad: Data) async throws -> Data {
        try await route("decrypt", .safe, session: session) {
            try await $0.decrypt(session, key: key, ciphertext: ciphertext, scheme: scheme, aad: aad)
        }
    }

    public func mac(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm) async throws -> Data {
        try await route("mac", .safe, session: session) { try await $0.mac(session, key: key, data: data, hash: hash) }
    }

    public func verifyMAC(_ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm) async throws -> Bool {
        try await route("verifyMAC", .safe, session: session) { try await $0.verifyMAC(session, key: key, data: data, tag: tag, hash: hash) }
    }

    public func encryptStandard(
        _ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) async throws -> StandardEncryption {
        // Safe to repeat: a repeated AEAD encryption takes a fresh nonce.
        try await route("encryptStandard", .safe, session: session) {
            try await $0.encryptStandard(session, key: key, plaintext: plaintext, scheme: scheme, parameters: parameters)
        }
    }

    public func decryptStandard(
        _ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) async throws -> Data {
        try await route("decryptStandard", .safe, session: session) {
            try await $0.decryptStandard(session, key: key, ciphertext: ciphertext, scheme: scheme, parameters: parameters)
        }
    }

    public func macStandard(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm, version: Int?) async throws -> Data {
        try await route("macStandard", .safe, session: session) { try await $0.macStandard(session, key: key, data: data, hash: hash, version: version) }
    }

    public func verifyMACStandard(
        _ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm, version: Int?
    ) async throws -> Bool {
        try await route("verifyMACStandard", .safe, session: session) {
            try await $0.verifyMACStandard(session, key: key, data: data, tag: tag, hash: hash, version: version)
        }
    }

    public func deriveKey(_ session: SessionToken, key: String, peer: PublicKey, derivation: KeyDerivation, spec: KeySpec) async throws -> KeyInfo {
        try await route("deriveKey", .create(spec), session: session, pins: !spec.persistent) {
            try await $0.deriveKey(session, key: key, peer: peer, derivation: derivation, spec: spec)
        }
    }

    public func deriveKey(_ session: SessionToken, key: String, derivation: KeyDerivation, spec: KeySpec) async throws -> KeyInfo {
        try await route("deriveKey", .create(spec), session: session, pins: !spec.persistent) {
            try await $0.deriveKey(session, key: key, derivation: derivation, spec: spec)
        }
    }

    public func encapsulate(_ session: SessionToken, key: String, spec: KeySpec) async throws -> EncapsulationResult {
        // Never repeated: a second encapsulation makes another shared secret and ciphertext.
        try await route("encapsulate", .once, session: session, pins: !spec.persistent) {
            try await $0.encapsulate(session, key: key, spec: spec)
        }
    }

    public func decapsulate(_ session: SessionToken, key: String, encapsulated: Data, spec: KeySpec) async throws -> KeyInfo {
        try await route("decapsulate", .create(spec), session: session, pins: !spec.persistent) {
            try await $0.decapsulate(session, key: key, encapsulated: encapsulated, spec: spec)
        }
    }

    public func random(_ session: SessionToken, count: Int) async throws -> Data {
        try await route("random", .safe, session: session) { try await $0.random(session, count: count) }
    }

    // MARK: Audit

    public func auditRecords(_ session: SessionToken, from sequence: Int64, limit: Int) async throws -> [AuditRecord] {
        try await route("auditRecords", .safe, session: session) { try await $0.auditRecords(session, from: sequence, limit: limit) }
    }

    public func verifyAudit(_ session: SessionToken, against checkpoint: AuditCheckpoint?) async throws -> AuditVerification {
        try await route("verifyAudit", .safe, session: session) { try await $0.verifyAudit(session, against: checkpoint) }
    }

    public func auditCheckpoint(_ session: SessionToken) async throws -> AuditCheckpoint {
        try await route("auditCheckpoint", .safe, session: session) { try await $0.auditCheckpoint(session) }
    }
}
