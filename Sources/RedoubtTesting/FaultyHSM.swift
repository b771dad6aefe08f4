import Foundation
import RedoubtCore
import Synchronization

/// A real ``HSM`` behind a switchable fault, for routing tests: it passes every call to the HSM it
/// wraps unless told to fail. It fakes nothing else; it only injects failures and counts calls.
final class FaultyHSM: HSM, HSMHealthProbe, Sendable {
    /// What the next calls suffer.
    enum Fault: Sendable, Equatable {
        /// None: calls pass through.
        case none
        /// The node is down: UNAVAILABLE before the call reaches the HSM.
        case down
        /// The call runs, then its answer is lost: UNAVAILABLE after the HSM committed.
        case responseLost
        /// The answer comes this much later (cancellable).
        case slow(Duration)
    }

    private struct State {
        var fault = Fault.none
        var serving = true
        var calls: [String: Int] = [:]
        var deadlines: [Date?] = []
    }

    let name: String
    let inner: any HSM
    private let state = Mutex(State())

    init(_ inner: any HSM, name: String) {
        self.inner = inner
        self.name = name
    }

    /// The fault for calls from now on.
    var fault: Fault {
        get { state.withLock { $0.fault } }
        set { state.withLock { $0.fault = newValue } }
    }

    /// What ``isServing()`` answers (the health probe), independent of ``fault``.
    var serving: Bool {
        get { state.withLock { $0.serving } }
        set { state.withLock { $0.serving = newValue } }
    }

    /// Calls that reached this wrapper, by operation (failed ones included).
    func calls(_ operation: String? = nil) -> Int {
        state.withLock { s in operation.map { s.calls[$0] ?? 0 } ?? s.calls.values.reduce(0, +) }
    }

    /// The ``HSMCallContext/deadline`` each call saw, in order.
    var deadlinesSeen: [Date?] { state.withLock { $0.deadlines } }

    func resetCounts() {
        state.withLock { $0.calls = [:] }
    }

    func isServing() async -> Bool { serving }

    private func pass<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        let fault = state.withLock { s -> Fault in
            s.calls[operation, default: 0] += 1
            s.deadlines.append(HSMCallContext.deadline)
            return s.fault
        }
        switch fault {
        case .none:
            return try await body()
        case .down:
            throw HSMError(.unavailable, "\(name) is down (injected)")
        case .responseLost:
            _ = try await body()
            throw HSMError(.unavailable, "\(name) lost the response (injected)")
        case .slow(let delay):
            try await Task.sleep(for: delay)
            return try await body()
        }
    }

    func openSession(partition: String, credential: Credential) async throws -> SessionInfo {
        try await pass("openSession") { try await inner.openSession(partition: partition, credential: credential) }
    }
    func closeSession(_ session: SessionToken) async throws {
        try await pass("closeSession") { try await inner.closeSession(session) }
    }
    func createPartition(_ session: SessionToken, id: String, settings: PartitionSettings) async throws -> CreatedPartition {
        try await pass("createPartition") { try await inner.createPartition(session, id: id, settings: settings) }
    }
    func listPartitions(_ session: SessionToken) async throws -> [PartitionInfo] {
        try await pass("listPartitions") { try await inner.listPartitions(session) }
    }
    func updatePartition(_ session: SessionToken, id: String, settings: PartitionSettings) async throws -> PartitionInfo {
        try await pass("updatePartition") { try await inner.updatePartition(session, id: id, settings: settings) }
    }
    func addUser(_ session: SessionToken, name: String, role: Role, password: String?, clientCertificateSHA256: Data?) async throws -> NewUser {
        try await pass("addUser") {
            try await inner.addUser(session, name: name, role: role, password: password, clientCertificateSHA256: clientCertificateSHA256)
        }
    }
    func listUsers(_ session: SessionToken) async throws -> [UserInfo] {
        try await pass("listUsers") { try await inner.listUsers(session) }
    }
    func removeUser(_ session: SessionToken, id: String) async throws {
        try await pass("removeUser") { try await inner.removeUser(session, id: id) }
    }
    func generateKey(_ session: SessionToken, spec: KeySpec) async throws -> KeyInfo {
        try await pass("generateKey") { try await inner.generateKey(session, spec: spec) }
    }
    func importKey(_ session: SessionToken, spec: KeySpec, material: KeyMaterial) async throws -> KeyInfo {
        try await pass("importKey") { try await inner.importKey(session, spec: spec, material: material) }
    }
    func getKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await pass("getKey") { try await inner.getKey(session, id: id) }
    }
    func listKeys(_ session: SessionToken, filter: KeyFilter) async throws -> [KeyInfo] {
        try await pass("listKeys") { try await inner.listKeys(session, filter: filter) }
    }
    func updateKey(_ session: SessionToken, id: String, update: KeyAttributeUpdate) async throws -> KeyInfo {
        try await pass("updateKey") { try await inner.updateKey(session, id: id, update: update) }
    }
    func rotateKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await pass("rotateKey") { try await inner.rotateKey(session, id: id) }
    }
    func blockKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await pass("blockKey") { try await inner.blockKey(session, id: id) }
    }
    func unblockKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await pass("unblockKey") { try await inner.unblockKey(session, id: id) }
    }
    func destroyKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await pass("destroyKey") { try await inner.destroyKey(session, id: id) }
    }
    func restoreKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await pass("restoreKey") { try await inner.restoreKey(session, id: id) }
    }
    func purgeKey(_ session: SessionToken, id: String) async throws {
        try await pass("purgeKey") { try await inner.purgeKey(session, id: id) }
    }
    func createCertificate(_ session: SessionToken, spec: CertificateSpec) async throws -> CertificateInfo {
        try await pass("createCertificate") { try await inner.createCertificate(session, spec: spec) }
    }
    func getCertificate(_ session: SessionToken, id: String) async throws -> CertificateInfo {
        try await pass("getCertificate") { try await inner.getCertificate(session, id: id) }
    }
    func listCertificates(_ session: SessionToken, filter: CertificateFilter) async throws -> [CertificateInfo] {
        try await pass("listCertificates") { try await inner.listCertificates(session, filter: filter) }
    }
    func deleteCertificate(_ session: SessionToken, id: String) async throws {
        try await pass("deleteCertificate") { try await inner.deleteCertificate(session, id: id) }
    }
    func exportPublicKey(_ session: SessionToken, id: String, version: Int?) async throws -> PublicKey {
        try await pass("exportPublicKey") { try await inner.exportPublicKey(session, id: id, version: version) }
    }
    func exportWrapped(_ session: SessionToken, id: String, wrappingKey: String, scheme: WrapScheme) async throws -> Data {
        try await pass("exportWrapped") { try await inner.exportWrapped(session, id: id, wrappingKey: wrappingKey, scheme: scheme) }
    }
    func exportPlaintext(_ session: SessionToken, id: String) async throws -> SecretBytes {
        try await pass("exportPlaintext") { try await inner.exportPlaintext(session, id: id) }
    }
    func sign(_ session: SessionToken, key: String, input: SigningInput, scheme: SignatureScheme) async throws -> SignatureResult {
        try await pass("sign") { try await inner.sign(session, key: key, input: input, scheme: scheme) }
    }
    func verify(_ session: SessionToken, key: String, input: SigningInput, signature: Data, scheme: SignatureScheme, version: Int?) async throws -> Bool {
        try await pass("verify") {
            try await inner.verify(session, key: key, input: input, signature: signature, scheme: scheme, version: version)
        }
    }
    func encrypt(_ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, aad: Data) async throws -> Data {
        try await pass("encrypt") { try await inner.encrypt(session, key: key, plaintext: plaintext, scheme: scheme, aad: aad) }
    }
    func decrypt(_ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, aad: Data) async throws -> Data {
        try await pass("decrypt") { try await inner.decrypt(session, key: key, ciphertext: ciphertext, scheme: scheme, aad: aad) }
    }
    func mac(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm) async throws -> Data {
        try await pass("mac") { try await inner.mac(session, key: key, data: data, hash: hash) }
    }
    func verifyMAC(_ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm) async throws -> Bool {
        try await pass("verifyMAC") { try await inner.verifyMAC(session, key: key, data: data, tag: tag, hash: hash) }
    }
    func encryptStandard(
        _ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) async throws -> StandardEncryption {
        try await pass("encryptStandard") {
            try await inner.encryptStandard(session, key: key, plaintext: plaintext, scheme: scheme, parameters: parameters)
        }
    }
    func decryptStandard(_ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters) async throws
        -> Data
    {
        try await pass("decryptStandard") {
            try await inner.decryptStandard(session, key: key, ciphertext: ciphertext, scheme: scheme, parameters: parameters)
        }
    }
    func macStandard(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm, version: Int?) async throws -> Data {
        try await pass("macStandard") { try await inner.macStandard(session, key: key, data: data, hash: hash, version: version) }
    }
    func verifyMACStandard(_ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm, version: Int?) async throws -> Bool {
        try await pass("verifyMACStandard") {
            try await inner.verifyMACStandard(session, key: key, data: data, tag: tag, hash: hash, version: version)
        }
    }
    func deriveKey(_ session: SessionToken, key: String, peer: PublicKey, derivation: KeyDerivation, spec: KeySpec) async throws -> KeyInfo {
        try await pass("deriveKey") { try await inner.deriveKey(session, key: key, peer: peer, derivation: derivation, spec: spec) }
    }
    func deriveKey(_ session: SessionToken, key: String, derivation: KeyDerivation, spec: KeySpec) async throws -> KeyInfo {
        try await pass("deriveKey") { try await inner.deriveKey(session, key: key, derivation: derivation, spec: spec) }
    }
    func encapsulate(_ session: SessionToken, key: String, spec: KeySpec) async throws -> EncapsulationResult {
        try await pass("encapsulate") { try await inner.encapsulate(session, key: key, spec: spec) }
    }
    func decapsulate(_ session: SessionToken, key: String, encapsulated: Data, spec: KeySpec) async throws -> KeyInfo {
        try await pass("decapsulate") { try await inner.decapsulate(session, key: key, encapsulated: encapsulated, spec: spec) }
    }
    func random(_ session: SessionToken, count: Int) async throws -> Data {
        try await pass("random") { try await inner.random(session, count: count) }
    }
    func auditRecords(_ session: SessionToken, from sequence: Int64, limit: Int) async throws -> [AuditRecord] {
        try await pass("auditRecords") { try await inner.auditRecords(session, from: sequence, limit: limit) }
    }
    func verifyAudit(_ session: SessionToken, against checkpoint: AuditCheckpoint?) async throws -> AuditVerification {
        try await pass("verifyAudit") { try await inner.verifyAudit(session, against: checkpoint) }
    }
    func auditCheckpoint(_ session: SessionToken) async throws -> AuditCheckpoint {
        try await pass("auditCheckpoint") { try await inner.auditCheckpoint(session) }
    }
    func bindTokenIssuer(_ session: SessionToken, issuer: TokenIssuer) async throws -> TokenIssuer {
        try await pass("bindTokenIssuer") { try await inner.bindTokenIssuer(session, issuer: issuer) }
    }
    func listTokenIssuers(_ session: SessionToken) async throws -> [TokenIssuer] {
        try await pass("listTokenIssuers") { try await inner.listTokenIssuers(session) }
    }
    func unbindTokenIssuer(_ session: SessionToken, name: String) async throws {
        try await pass("unbindTokenIssuer") { try await inner.unbindTokenIssuer(session, name: name) }
    }
    func registerApprover(_ session: SessionToken, name: String, publicKey: PublicKey) async throws -> Approver {
        try await pass("registerApprover") { try await inner.registerApprover(session, name: name, publicKey: publicKey) }
    }
    func listApprovers(_ session: SessionToken) async throws -> [Approver] {
        try await pass("listApprovers") { try await inner.listApprovers(session) }
    }
    func removeApprover(_ session: SessionToken, name: String) async throws {
        try await pass("removeApprover") { try await inner.removeApprover(session, name: name) }
    }
    func submitRequest(_ session: SessionToken, key: String, operation: ApprovalOperation) async throws -> ApprovalRequest {
        try await pass("submitRequest") { try await inner.submitRequest(session, key: key, operation: operation) }
    }
    func getRequest(_ session: SessionToken, id: String) async throws -> ApprovalRequest {
        try await pass("getRequest") { try await inner.getRequest(session, id: id) }
    }
    func listRequests(_ session: SessionToken, filter: ApprovalRequestFilter) async throws -> [ApprovalRequest] {
        try await pass("listRequests") { try await inner.listRequests(session, filter: filter) }
    }
    func approveRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest {
        try await pass("approveRequest") { try await inner.approveRequest(session, id: id, approver: approver, signature: signature) }
    }
    func rejectRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest {
        try await pass("rejectRequest") { try await inner.rejectRequest(session, id: id, approver: approver, signature: signature) }
    }
    func createBackup(
        _ session: SessionToken, path: String, partition: String?, overwrite: Bool,
        progress: @escaping @Sendable (BackupProgress) -> Void
    ) async throws -> BackupReport {
        try await pass("createBackup") {
            try await inner.createBackup(session, path: path, partition: partition, overwrite: overwrite, progress: progress)
        }
    }
}

/// Waits until `condition` holds, checking every 20 ms, for at most `seconds`; whether it held.
func eventually(within seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
