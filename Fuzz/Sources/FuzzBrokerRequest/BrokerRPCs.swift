// FuzzBrokerRequest's RPCs: every unary redoubt.v1 RPC, decoded from the input, with the prepared
// ids substituted, called over the in-process transport (or the handlers directly), and the checks
// on the status codes and messages the broker may answer with.
import Foundation
import FuzzSupport
import GRPCCore
import GRPCProtobuf
import Redoubt
import RedoubtCrypto
import RedoubtProto
import SwiftProtobuf

// MARK: The RPCs

enum Outcome {
    case success(any SwiftProtobuf.Message, errorDetails: [Redoubt_V1_ErrorDetail])
    case failure(RPCError)
}

/// One unary RPC: decodes the message, substitutes ids, and calls the broker.
struct RPC: @unchecked Sendable {
    let name: String
    /// Whether a success may change the fixture (then `repair` runs).
    let mutating: Bool
    let run: (_ bytes: [UInt8], _ substitution: Substitution, _ metadata: Metadata, _ world: World) -> Outcome?
}

typealias Message = SwiftProtobuf.Message

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

let rpcs: [RPC] = [
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
    rpc(
        KS.CreateCertificate.descriptor, Redoubt_V1_CreateCertificateRequest.self, Redoubt_V1_CreateCertificateResponse.self,
        mutating: true
    ) { try await $0.key.createCertificate(request: $1, context: $2) },
    rpc(
        KS.GetCertificate.descriptor, Redoubt_V1_GetCertificateRequest.self, Redoubt_V1_GetCertificateResponse.self, mutating: false
    ) { try await $0.key.getCertificate(request: $1, context: $2) },
    rpc(
        KS.ListCertificates.descriptor, Redoubt_V1_ListCertificatesRequest.self, Redoubt_V1_ListCertificatesResponse.self,
        mutating: false
    ) { try await $0.key.listCertificates(request: $1, context: $2) },
    rpc(
        KS.DeleteCertificate.descriptor, Redoubt_V1_DeleteCertificateRequest.self, Redoubt_V1_DeleteCertificateResponse.self,
        mutating: true
    ) { try await $0.key.deleteCertificate(request: $1, context: $2) },
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
    rpc(
        Redoubt_V1_AuditService.Method.ExportAuditCheckpoint.descriptor, Redoubt_V1_ExportAuditCheckpointRequest.self,
        Redoubt_V1_ExportAuditCheckpointResponse.self, mutating: false
    ) { try await $0.audit.exportAuditCheckpoint(request: $1, context: $2) },
]

extension KeyAlgorithm {
    fileprivate var isRSA: Bool { [.rsa2048, .rsa3072, .rsa4096].contains(self) }
}

// MARK: Outcomes

/// The RPC code of a batch item's ErrorDetail code, if it is one of the documented ones.
func rpcCode(_ code: Redoubt_V1_ErrorCode) -> RPCError.Code? {
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
func check(_ code: RPCError.Code, _ message: String, _ what: String, _ w: World) {
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
