import Foundation
import GRPCCore
import Redoubt
import RedoubtCrypto
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtProto
import SwiftProtobuf
import Testing

/// A bad request per RPC: the right status, a message naming the field, the store unchanged,
/// and the server still answering a good request afterwards.
@Suite("Bad input, per RPC")
struct BadInputTests {
    static let limits = BrokerLimits(maximumBatchItems: 10, maximumPayloadBytes: 1000, maximumStreamInFlight: 8)

    struct Case: Sendable {
        let rpc: String
        let code: RPCError.Code
        let fragment: String
        let call: @Sendable (BrokerHarness, BrokerHarness.Tenant, KeyInfo) async throws -> Void
    }

    static let missingToken = "missing `authorization: Bearer <session token>` metadata"
    static let big = Data(count: 1001)

    static let cases: [Case] = [
        // SessionService
        Case(rpc: "OpenSession", code: .invalidArgument, fragment: "not both") { h, t, _ in
            var r = Redoubt_V1_OpenSessionRequest()
            r.partitionID = t.partition
            r.password.username = "alice"
            r.password.password = "whatever password"
            _ = try await h.sessions.openSession(r, metadata: BrokerHarness.bearer("rdk1.a.b"))
        },
        Case(rpc: "OpenSession", code: .unauthenticated, fragment: "no credential") { h, t, _ in
            var r = Redoubt_V1_OpenSessionRequest()
            r.partitionID = t.partition
            _ = try await h.sessions.openSession(r)
        },
        Case(rpc: "CloseSession", code: .unauthenticated, fragment: missingToken) { h, _, _ in
            _ = try await h.sessions.closeSession(Redoubt_V1_CloseSessionRequest())
        },
        // PartitionService
        Case(rpc: "CreatePartition", code: .invalidArgument, fragment: "settings.session_idle_timeout") { h, t, _ in
            var r = Redoubt_V1_CreatePartitionRequest()
            r.partitionID = "newone"
            r.settings.sessionIdleTimeout = Google_Protobuf_Duration(seconds: -5, nanos: 0)
            _ = try await h.partitions.createPartition(r, metadata: t.operatorMetadata)
        },
        Case(rpc: "ListPartitions", code: .invalidArgument, fragment: "page_size is 5000") { h, t, _ in
            var r = Redoubt_V1_ListPartitionsRequest()
            r.pageSize = 5000
            _ = try await h.partitions.listPartitions(r, metadata: t.operatorMetadata)
        },
        Case(rpc: "UpdatePartition", code: .invalidArgument, fragment: "partition_id is empty") { h, t, _ in
            _ = try await h.partitions.updatePartition(Redoubt_V1_UpdatePartitionRequest(), metadata: t.operatorMetadata)
        },
        // UserService
        Case(rpc: "AddUser", code: .invalidArgument, fragment: "role is unset (ROLE_UNSPECIFIED)") { h, t, _ in
            var r = Redoubt_V1_AddUserRequest()
            r.name = "dave"
            _ = try await h.users.addUser(r, metadata: t.officer)
        },
        Case(rpc: "AddUser", code: .invalidArgument, fragment: "role has the unknown value 42") { h, t, _ in
            var r = Redoubt_V1_AddUserRequest()
            r.name = "dave"
            r.role = .UNRECOGNIZED(42)
            _ = try await h.users.addUser(r, metadata: t.officer)
        },
        Case(rpc: "ListUsers", code: .invalidArgument, fragment: "page_token") { h, t, _ in
            var r = Redoubt_V1_ListUsersRequest()
            r.pageToken = "forged"
            _ = try await h.users.listUsers(r, metadata: t.officer)
        },
        Case(rpc: "RemoveUser", code: .invalidArgument, fragment: "user_id is empty") { h, t, _ in
            _ = try await h.users.removeUser(Redoubt_V1_RemoveUserRequest(), metadata: t.officer)
        },
        Case(rpc: "BindTokenIssuer", code: .invalidArgument, fragment: "issuer is unset") { h, t, _ in
            _ = try await h.users.bindTokenIssuer(Redoubt_V1_BindTokenIssuerRequest(), metadata: t.officer)
        },
        Case(rpc: "BindTokenIssuer", code: .invalidArgument, fragment: "issuer has no key source") { h, t, _ in
            var r = Redoubt_V1_BindTokenIssuerRequest()
            r.issuer.name = "corp"
            r.issuer.issuer = "https://idp.example.com"
            r.issuer.audiences = ["redoubt"]
            _ = try await h.users.bindTokenIssuer(r, metadata: t.officer)
        },
        Case(rpc: "BindTokenIssuer", code: .invalidArgument, fragment: "issuer.issuer must be an https:// URL") { h, t, _ in
            var r = Redoubt_V1_BindTokenIssuerRequest()
            r.issuer.name = "corp"
            r.issuer.issuer = "http://idp.example.com"
            r.issuer.audiences = ["redoubt"]
            r.issuer.discovery = true
            _ = try await h.users.bindTokenIssuer(r, metadata: t.officer)
        },
        Case(rpc: "BindTokenIssuer", code: .invalidArgument, fragment: "issuer.refresh_interval is negative") { h, t, _ in
            var r = Redoubt_V1_BindTokenIssuerRequest()
            r.issuer.name = "corp"
            r.issuer.issuer = "https://idp.example.com"
            r.issuer.audiences = ["redoubt"]
            r.issuer.discovery = true
            r.issuer.refreshInterval.seconds = -5
            _ = try await h.users.bindTokenIssuer(r, metadata: t.officer)
        },
        Case(rpc: "BindTokenIssuer", code: .invalidArgument, fragment: "issuer.jwks: the key set") { h, t, _ in
            var r = Redoubt_V1_BindTokenIssuerRequest()
            r.issuer.name = "corp"
            r.issuer.issuer = "https://idp.example.com"
            r.issuer.audiences = ["redoubt"]
            r.issuer.jwks = #"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#
            _ = try await h.users.bindTokenIssuer(r, metadata: t.officer)
        },
        Case(rpc: "ListTokenIssuers", code: .unauthenticated, fragment: missingToken) { h, _, _ in
            _ = try await h.users.listTokenIssuers(Redoubt_V1_ListTokenIssuersRequest())
        },
        Case(rpc: "UnbindTokenIssuer", code: .invalidArgument, fragment: "name is empty") { h, t, _ in
            _ = try await h.users.unbindTokenIssuer(Redoubt_V1_UnbindTokenIssuerRequest(), metadata: t.officer)
        },
        // KeyService
        Case(rpc: "CreateKey", code: .invalidArgument, fragment: "spec.algorithm is unset (KEY_ALGORITHM_UNSPECIFIED)") { h, t, _ in
            var r = Redoubt_V1_CreateKeyRequest()
            r.spec.label = "x"
            _ = try await h.keys.createKey(r, metadata: t.user)
        },
        Case(rpc: "CreateKey", code: .invalidArgument, fragment: "spec.algorithm has the unknown value 99") { h, t, _ in
            var r = Redoubt_V1_CreateKeyRequest()
            r.spec.label = "x"
            r.spec.algorithm = .UNRECOGNIZED(99)
            _ = try await h.keys.createKey(r, metadata: t.user)
        },
        Case(rpc: "CreateKey", code: .invalidArgument, fragment: "spec is unset") { h, t, _ in
            _ = try await h.keys.createKey(Redoubt_V1_CreateKeyRequest(), metadata: t.user)
        },
        Case(rpc: "ImportKey", code: .invalidArgument, fragment: "secret is 1001 bytes; the limit is 1000") { h, t, _ in
            var r = Redoubt_V1_ImportKeyRequest()
            r.spec.algorithm = .aes256
            r.spec.label = "x"
            r.secret = big
            _ = try await h.keys.importKey(r, metadata: t.user)
        },
        Case(rpc: "ImportKey", code: .invalidArgument, fragment: "has no material") { h, t, _ in
            var r = Redoubt_V1_ImportKeyRequest()
            r.spec.algorithm = .aes256
            r.spec.label = "x"
            _ = try await h.keys.importKey(r, metadata: t.user)
        },
        Case(rpc: "GetKey", code: .invalidArgument, fragment: "key_id is empty") { h, t, _ in
            _ = try await h.keys.getKey(Redoubt_V1_GetKeyRequest(), metadata: t.user)
        },
        Case(rpc: "ListKeys", code: .invalidArgument, fragment: "page_size is -1") { h, t, _ in
            var r = Redoubt_V1_ListKeysRequest()
            r.pageSize = -1
            _ = try await h.keys.listKeys(r, metadata: t.user)
        },
        Case(rpc: "CreateKey", code: .invalidArgument, fragment: "spec.application_id is 129 bytes; the limit is 128") { h, t, _ in
            var r = Redoubt_V1_CreateKeyRequest()
            r.spec.algorithm = .ecP256
            r.spec.label = "x"
            r.spec.applicationID = Data(repeating: 1, count: 129)
            _ = try await h.keys.createKey(r, metadata: t.user)
        },
        Case(rpc: "CreateKey", code: .invalidArgument, fragment: "spec.subject is 1025 bytes; the limit is 1024") { h, t, _ in
            var r = Redoubt_V1_CreateKeyRequest()
            r.spec.algorithm = .ecP256
            r.spec.label = "x"
            r.spec.subject = Data(repeating: 0x30, count: 1025)
            _ = try await h.keys.createKey(r, metadata: t.user)
        },
        Case(rpc: "ListKeys", code: .invalidArgument, fragment: "application_id is 129 bytes") { h, t, _ in
            var r = Redoubt_V1_ListKeysRequest()
            r.applicationID = Data(repeating: 1, count: 129)
            _ = try await h.keys.listKeys(r, metadata: t.user)
        },
        Case(rpc: "UpdateKey", code: .invalidArgument, fragment: "subject is 1025 bytes") { h, t, k in
            var r = Redoubt_V1_UpdateKeyRequest()
            r.keyID = k.id
            r.subject = Data(repeating: 0x30, count: 1025)
            _ = try await h.keys.updateKey(r, metadata: t.officer)
        },
        Case(rpc: "CreateCertificate", code: .invalidArgument, fragment: "certificate_der is empty") { h, t, _ in
            var r = Redoubt_V1_CreateCertificateRequest()
            r.label = "x"
            _ = try await h.keys.createCertificate(r, metadata: t.officer)
        },
        Case(rpc: "CreateCertificate", code: .invalidArgument, fragment: "certificate_der is 65537 bytes; the limit is 65536") { h, t, _ in
            var r = Redoubt_V1_CreateCertificateRequest()
            r.label = "x"
            r.certificateDer = Data(repeating: 0x30, count: 65537)
            _ = try await h.keys.createCertificate(r, metadata: t.officer)
        },
        Case(rpc: "CreateCertificate", code: .invalidArgument, fragment: "certificate_der is not a DER X.509 certificate") { h, t, _ in
            var r = Redoubt_V1_CreateCertificateRequest()
            r.label = "x"
            r.certificateDer = Data([0x30, 0x03, 0x02, 0x01, 0x01])
            _ = try await h.keys.createCertificate(r, metadata: t.officer)
        },
        Case(rpc: "CreateCertificate", code: .invalidArgument, fragment: "application_id is 129 bytes") { h, t, _ in
            var r = Redoubt_V1_CreateCertificateRequest()
            r.label = "x"
            r.certificateDer = Data([0x30, 0x00])
            r.applicationID = Data(repeating: 1, count: 129)
            _ = try await h.keys.createCertificate(r, metadata: t.officer)
        },
        Case(rpc: "GetCertificate", code: .invalidArgument, fragment: "certificate_id is empty") { h, t, _ in
            _ = try await h.keys.getCertificate(Redoubt_V1_GetCertificateRequest(), metadata: t.user)
        },
        Case(rpc: "ListCertificates", code: .invalidArgument, fragment: "page_size is -1") { h, t, _ in
            var r = Redoubt_V1_ListCertificatesRequest()
            r.pageSize = -1
            _ = try await h.keys.listCertificates(r, metadata: t.user)
        },
        Case(rpc: "DeleteCertificate", code: .invalidArgument, fragment: "certificate_id is empty") { h, t, _ in
            _ = try await h.keys.deleteCertificate(Redoubt_V1_DeleteCertificateRequest(), metadata: t.officer)
        },
        Case(rpc: "UpdateKey", code: .invalidArgument, fragment: "usages.usages") { h, t, k in
            var r = Redoubt_V1_UpdateKeyRequest()
            r.keyID = k.id
            r.usages = Redoubt_V1_KeyUsageSet.with { $0.usages = [.UNRECOGNIZED(999)] }
            _ = try await h.keys.updateKey(r, metadata: t.officer)
        },
        Case(rpc: "RotateKey", code: .invalidArgument, fragment: "key_id is empty") { h, t, _ in
            _ = try await h.keys.rotateKey(Redoubt_V1_RotateKeyRequest(), metadata: t.officer)
        },
        Case(rpc: "BlockKey", code: .invalidArgument, fragment: "key_id is empty") { h, t, _ in
            _ = try await h.keys.blockKey(Redoubt_V1_BlockKeyRequest(), metadata: t.officer)
        },
        Case(rpc: "UnblockKey", code: .unauthenticated, fragment: missingToken) { h, _, k in
            _ = try await h.keys.unblockKey(Redoubt_V1_UnblockKeyRequest(keyID: k.id))
        },
        Case(rpc: "DestroyKey", code: .unauthenticated, fragment: missingToken) { h, _, k in
            _ = try await h.keys.destroyKey(Redoubt_V1_DestroyKeyRequest(keyID: k.id), metadata: ["authorization": "Basic abc"])
        },
        Case(rpc: "RestoreKey", code: .invalidArgument, fragment: "key_id is empty") { h, t, _ in
            _ = try await h.keys.restoreKey(Redoubt_V1_RestoreKeyRequest(), metadata: t.officer)
        },
        Case(rpc: "PurgeKey", code: .invalidArgument, fragment: "key_id is empty") { h, t, _ in
            _ = try await h.keys.purgeKey(Redoubt_V1_PurgeKeyRequest(), metadata: t.officer)
        },
        Case(rpc: "ExportPublicKey", code: .invalidArgument, fragment: "key_id is empty") { h, t, _ in
            _ = try await h.keys.exportPublicKey(Redoubt_V1_ExportPublicKeyRequest(), metadata: t.user)
        },
        Case(rpc: "ExportWrapped", code: .invalidArgument, fragment: "scheme is unset (WRAP_SCHEME_UNSPECIFIED)") { h, t, k in
            var r = Redoubt_V1_ExportWrappedRequest()
            r.keyID = k.id
            r.wrappingKeyID = k.id
            _ = try await h.keys.exportWrapped(r, metadata: t.user)
        },
        Case(rpc: "ExportPlaintext", code: .unauthenticated, fragment: missingToken) { h, _, k in
            _ = try await h.keys.exportPlaintext(Redoubt_V1_ExportPlaintextRequest(keyID: k.id))
        },
        // CryptoService
        Case(rpc: "Sign", code: .invalidArgument, fragment: "scheme is unset") { h, t, k in
            var r = Redoubt_V1_SignRequest()
            r.keyID = k.id
            r.input.message = Data([1])
            _ = try await h.crypto.sign(r, metadata: t.user)
        },
        Case(rpc: "Sign", code: .invalidArgument, fragment: "input.message is 1001 bytes; the limit is 1000") { h, t, k in
            _ = try await h.crypto.sign(Redoubt_V1_SignRequest(key: k.id, input: .message(big), scheme: .ed25519), metadata: t.user)
        },
        Case(rpc: "Sign", code: .invalidArgument, fragment: "scheme.ecdsa.hash has the unknown value 17") { h, t, k in
            var r = Redoubt_V1_SignRequest(key: k.id, input: .message(Data([1])), scheme: .ecdsa(.sha256))
            r.scheme.ecdsa.hash = .UNRECOGNIZED(17)
            _ = try await h.crypto.sign(r, metadata: t.user)
        },
        Case(rpc: "Verify", code: .invalidArgument, fragment: "input is unset") { h, t, k in
            var r = Redoubt_V1_VerifyRequest()
            r.keyID = k.id
            r.scheme = SignatureScheme.ed25519.proto
            _ = try await h.crypto.verify(r, metadata: t.user)
        },
        Case(rpc: "Encrypt", code: .invalidArgument, fragment: "plaintext is 1001 bytes") { h, t, k in
            _ = try await h.crypto.encrypt(Redoubt_V1_EncryptRequest(key: k.id, plaintext: big, scheme: .aesGCM, aad: Data()), metadata: t.user)
        },
        Case(rpc: "Decrypt", code: .invalidArgument, fragment: "scheme has the unknown value 42") { h, t, k in
            var r = Redoubt_V1_DecryptRequest(key: k.id, ciphertext: Data([1]), scheme: .aesGCM, aad: Data())
            r.scheme = .UNRECOGNIZED(42)
            _ = try await h.crypto.decrypt(r, metadata: t.user)
        },
        Case(rpc: "Mac", code: .invalidArgument, fragment: "hash is unset (HASH_ALGORITHM_UNSPECIFIED)") { h, t, k in
            var r = Redoubt_V1_MacRequest()
            r.keyID = k.id
            _ = try await h.crypto.mac(r, metadata: t.user)
        },
        Case(rpc: "VerifyMac", code: .invalidArgument, fragment: "tag is 1001 bytes") { h, t, k in
            _ = try await h.crypto.verifyMac(Redoubt_V1_VerifyMacRequest(key: k.id, data: Data(), tag: big, hash: .sha256), metadata: t.user)
        },
        Case(rpc: "Wrap", code: .invalidArgument, fragment: "wrapping_key_id is empty") { h, t, k in
            var r = Redoubt_V1_WrapRequest()
            r.keyID = k.id
            r.scheme = .aesKw
            _ = try await h.crypto.wrap(r, metadata: t.user)
        },
        Case(rpc: "Wrap", code: .invalidArgument, fragment: "standard.key_version must be 0: wrapping uses the wrapping key's latest version") { h, t, k in
            var r = Redoubt_V1_WrapRequest(id: k.id, wrappingKey: k.id, scheme: .aesKW, standard: true)
            r.standard.keyVersion = 3
            _ = try await h.crypto.wrap(r, metadata: t.user)
        },
        Case(rpc: "Wrap", code: .invalidArgument, fragment: "standard.iv must be empty: key wrapping takes no IV") { h, t, k in
            var r = Redoubt_V1_WrapRequest(id: k.id, wrappingKey: k.id, scheme: .aesKW, standard: true)
            r.standard.iv = Data([1])
            _ = try await h.crypto.wrap(r, metadata: t.user)
        },
        Case(rpc: "Unwrap", code: .invalidArgument, fragment: "standard.label must be empty: key wrapping takes no label") { h, t, k in
            var r = Redoubt_V1_UnwrapRequest(
                standardWrappedKey: Data(count: 40), wrappingKey: k.id, scheme: .aesKW, version: nil, spec: KeySpec(algorithm: .aes256, label: "u"))
            r.standard.label = Data([1])
            _ = try await h.crypto.unwrap(r, metadata: t.user)
        },
        Case(rpc: "Unwrap", code: .invalidArgument, fragment: "standard.key_version is 4294967295") { h, t, k in
            var r = Redoubt_V1_UnwrapRequest(
                standardWrappedKey: Data(count: 40), wrappingKey: k.id, scheme: .aesKW, version: nil, spec: KeySpec(algorithm: .aes256, label: "u"))
            r.standard.keyVersion = UInt32.max
            _ = try await h.crypto.unwrap(r, metadata: t.user)
        },
        Case(rpc: "Unwrap", code: .invalidArgument, fragment: "spec is unset") { h, t, k in
            var r = Redoubt_V1_UnwrapRequest()
            r.wrappingKeyID = k.id
            r.scheme = .aesKw
            r.wrappedKey = Data([1, 2, 3])
            _ = try await h.crypto.unwrap(r, metadata: t.user)
        },
        Case(rpc: "DeriveKey", code: .invalidArgument, fragment: "peer_public_key.spki_der is not a usable public key") { h, t, k in
            var r = Redoubt_V1_DeriveKeyRequest()
            r.keyID = k.id
            r.peerPublicKey.spkiDer = Data([0x30, 0x03, 1, 2, 3])
            _ = try await h.crypto.deriveKey(r, metadata: t.user)
        },
        Case(rpc: "Random", code: .invalidArgument, fragment: "length_bytes is 0") { h, t, _ in
            _ = try await h.crypto.random(Redoubt_V1_RandomRequest(), metadata: t.user)
        },
        Case(rpc: "Encapsulate", code: .invalidArgument, fragment: "spec.usages[1] has the unknown value 55") { h, t, k in
            var spec = KeySpec(algorithm: .aes256, label: "e").proto
            spec.usages = [.encrypt, .UNRECOGNIZED(55)]
            var r = Redoubt_V1_EncapsulateRequest()
            r.keyID = k.id
            r.spec = spec
            _ = try await h.crypto.encapsulate(r, metadata: t.user)
        },
        Case(rpc: "Decapsulate", code: .invalidArgument, fragment: "encapsulated_key is 1001 bytes") { h, t, k in
            _ = try await h.crypto.decapsulate(
                Redoubt_V1_DecapsulateRequest(key: k.id, encapsulated: big, spec: KeySpec(algorithm: .aes256, label: "d")),
                metadata: t.user)
        },
        Case(rpc: "SignBatch", code: .invalidArgument, fragment: "items has 11 items; the limit is 10") { h, t, k in
            let items = (0..<11).map { _ in Redoubt_V1_SignRequest(key: k.id, input: .message(Data([1])), scheme: .ed25519) }
            _ = try await h.crypto.signBatch(Redoubt_V1_SignBatchRequest(items: items), metadata: t.user)
        },
        Case(rpc: "SignBatch", code: .invalidArgument, fragment: "items is empty") { h, t, _ in
            _ = try await h.crypto.signBatch(Redoubt_V1_SignBatchRequest(), metadata: t.user)
        },
        Case(rpc: "VerifyBatch", code: .invalidArgument, fragment: "items[2].signature is 1001 bytes") { h, t, k in
            var items = (0..<3).map { _ in
                Redoubt_V1_VerifyRequest(key: k.id, input: .message(Data([1])), signature: Data([1]), scheme: .ed25519, version: nil)
            }
            items[2].signature = big
            _ = try await h.crypto.verifyBatch(Redoubt_V1_VerifyBatchRequest(items: items), metadata: t.user)
        },
        Case(rpc: "EncryptBatch", code: .invalidArgument, fragment: "items[1].aad is 1001 bytes") { h, t, k in
            let items = [
                Redoubt_V1_EncryptRequest(key: k.id, plaintext: Data(), scheme: .aesGCM, aad: Data()),
                Redoubt_V1_EncryptRequest(key: k.id, plaintext: Data(), scheme: .aesGCM, aad: big),
            ]
            _ = try await h.crypto.encryptBatch(Redoubt_V1_EncryptBatchRequest(items: items), metadata: t.user)
        },
        Case(rpc: "DecryptBatch", code: .unauthenticated, fragment: missingToken) { h, _, k in
            let items = [Redoubt_V1_DecryptRequest(key: k.id, ciphertext: Data([1]), scheme: .aesGCM, aad: Data())]
            _ = try await h.crypto.decryptBatch(Redoubt_V1_DecryptBatchRequest(items: items))
        },
        Case(rpc: "MacBatch", code: .invalidArgument, fragment: "items[0].data is 1001 bytes") { h, t, k in
            _ = try await h.crypto.macBatch(
                Redoubt_V1_MacBatchRequest(items: [Redoubt_V1_MacRequest(key: k.id, data: big, hash: .sha256)]),
                metadata: t.user)
        },
        Case(rpc: "SignStream", code: .unauthenticated, fragment: missingToken) { h, _, k in
            try await h.crypto.signStream(
                requestProducer: { writer in
                    try await writer.write(
                        Redoubt_V1_SignStreamRequest(id: 1, request: Redoubt_V1_SignRequest(key: k.id, input: .message(Data([1])), scheme: .ed25519)))
                },
                onResponse: { response in
                    for try await _ in response.messages {}
                })
        },
        // AuditService
        Case(rpc: "ListAuditRecords", code: .invalidArgument, fragment: "from_sequence is -1") { h, t, _ in
            _ = try await h.audit.listAuditRecords(Redoubt_V1_ListAuditRecordsRequest(from: -1, limit: 1), metadata: t.officer)
        },
        Case(rpc: "VerifyAudit", code: .unauthenticated, fragment: missingToken) { h, _, _ in
            _ = try await h.audit.verifyAudit(Redoubt_V1_VerifyAuditRequest(), metadata: ["authorization": "Bearer "])
        },
        Case(rpc: "VerifyAudit", code: .invalidArgument, fragment: "checkpoint.signature is 3 bytes") { h, t, _ in
            var r = Redoubt_V1_VerifyAuditRequest()
            r.checkpoint.sequence = 1
            r.checkpoint.signedFrom = 1
            r.checkpoint.hash = Data(count: 32)
            r.checkpoint.publicKey = Data(count: 32)
            r.checkpoint.signature = Data([1, 2, 3])
            _ = try await h.audit.verifyAudit(r, metadata: t.officer)
        },
        Case(rpc: "ExportAuditCheckpoint", code: .unauthenticated, fragment: missingToken) { h, _, _ in
            _ = try await h.audit.exportAuditCheckpoint(Redoubt_V1_ExportAuditCheckpointRequest())
        },
        // ApprovalService
        Case(rpc: "RegisterApprover", code: .invalidArgument, fragment: "approver.public_key is unset") { h, t, _ in
            var r = Redoubt_V1_RegisterApproverRequest()
            r.approver.name = "ann"
            _ = try await h.approvals.registerApprover(r, metadata: t.officer)
        },
        Case(rpc: "ListApprovers", code: .unauthenticated, fragment: missingToken) { h, _, _ in
            _ = try await h.approvals.listApprovers(Redoubt_V1_ListApproversRequest())
        },
        Case(rpc: "RemoveApprover", code: .invalidArgument, fragment: "name is empty") { h, t, _ in
            _ = try await h.approvals.removeApprover(Redoubt_V1_RemoveApproverRequest(), metadata: t.officer)
        },
        Case(rpc: "SubmitRequest", code: .invalidArgument, fragment: "operation is unset") { h, t, k in
            var r = Redoubt_V1_SubmitRequestRequest()
            r.keyID = k.id
            _ = try await h.approvals.submitRequest(r, metadata: t.user)
        },
        Case(rpc: "SubmitRequest", code: .invalidArgument, fragment: "operation.sign.input.message is 1001 bytes") { h, t, k in
            var r = Redoubt_V1_SubmitRequestRequest()
            r.keyID = k.id
            r.operation.sign.input.message = big
            r.operation.sign.scheme.ed25519 = .init()
            _ = try await h.approvals.submitRequest(r, metadata: t.user)
        },
        Case(rpc: "SubmitRequest", code: .invalidArgument, fragment: "operation.set_policy.use.tokens[0].timeout is unset") { h, t, k in
            var r = Redoubt_V1_SubmitRequestRequest()
            r.keyID = k.id
            r.operation.setPolicy.use.tokens = [Redoubt_V1_ApprovalToken()]
            _ = try await h.approvals.submitRequest(r, metadata: t.officer)
        },
        Case(rpc: "GetRequest", code: .invalidArgument, fragment: "request_id is empty") { h, t, _ in
            _ = try await h.approvals.getRequest(Redoubt_V1_GetRequestRequest(), metadata: t.user)
        },
        Case(rpc: "ListRequests", code: .invalidArgument, fragment: "limit is 5000") { h, t, _ in
            var r = Redoubt_V1_ListRequestsRequest()
            r.limit = 5000
            _ = try await h.approvals.listRequests(r, metadata: t.user)
        },
        Case(rpc: "ApproveRequest", code: .invalidArgument, fragment: "signature is empty") { h, t, _ in
            var r = Redoubt_V1_DecideRequestRequest()
            r.requestID = "r00"
            r.approver = "ann"
            _ = try await h.approvals.approveRequest(r, metadata: t.officer)
        },
        Case(rpc: "RejectRequest", code: .invalidArgument, fragment: "approver is empty") { h, t, _ in
            var r = Redoubt_V1_DecideRequestRequest()
            r.requestID = "r00"
            r.signature = Data([1])
            _ = try await h.approvals.rejectRequest(r, metadata: t.officer)
        },
        Case(rpc: "CreateKey", code: .invalidArgument, fragment: "spec.policy.use.tokens[0].groups[0].approvers") { h, t, _ in
            var r = Redoubt_V1_CreateKeyRequest()
            r.spec.algorithm = .ed25519
            r.spec.label = "governed"
            var group = Redoubt_V1_ApproverGroup()
            group.approvers = Array(repeating: "a", count: 33)
            group.quorum = 1
            var token = Redoubt_V1_ApprovalToken()
            token.groups = [group]
            token.timeout = Google_Protobuf_Duration(seconds: 60, nanos: 0)
            r.spec.policy.use.tokens = [token]
            _ = try await h.keys.createKey(r, metadata: t.officer)
        },
        // BackupService
        Case(rpc: "CreateBackup", code: .invalidArgument, fragment: "path must stay inside the server's backup folder") { h, t, _ in
            try await h.backups.createBackup(
                Redoubt_V1_CreateBackupRequest(path: "a/../../etc/x", partition: nil, overwrite: true),
                metadata: t.operatorMetadata, onResponse: { for try await _ in $0.messages {} })
        },
        Case(rpc: "CreateBackup", code: .invalidArgument, fragment: "path is absolute") { h, t, _ in
            try await h.backups.createBackup(
                Redoubt_V1_CreateBackupRequest(path: "/tmp/x.rdbk", partition: nil, overwrite: true),
                metadata: t.operatorMetadata, onResponse: { for try await _ in $0.messages {} })
        },
    ]

    @Test("every RPC refuses bad input with a status naming the field, leaves the store unchanged and keeps serving")
    func everyRPC() async throws {
        // Every RPC of every service has at least one case.
        let rpcs = Set(Self.cases.map(\.rpc))
        let all = [
            Redoubt_V1_SessionService.Method.descriptors, Redoubt_V1_PartitionService.Method.descriptors,
            Redoubt_V1_UserService.Method.descriptors, Redoubt_V1_KeyService.Method.descriptors,
            Redoubt_V1_CryptoService.Method.descriptors, Redoubt_V1_AuditService.Method.descriptors,
            Redoubt_V1_BackupService.Method.descriptors, Redoubt_V1_ApprovalService.Method.descriptors,
        ].flatMap { $0.map(\.method) }
        #expect(Set(all).subtracting(rpcs).isEmpty, "no bad-input case for \(Set(all).subtracting(rpcs).sorted())")

        try await BrokerHarness.run(limits: Self.limits) { h in
            let t = try await h.tenant()
            let key = try await h.key(t, .ed25519)
            let before = try await h.snapshot(t)
            for c in Self.cases {
                await expectStatus(c.code, c.fragment) { try await c.call(h, t, key) }
                // Still serving a good request.
                let got = try await h.keys.getKey(Redoubt_V1_GetKeyRequest(keyID: key.id), metadata: t.user)
                #expect(got.key.id == key.id, "after \(c.rpc)")
            }
            let after = try await h.snapshot(t)
            // Refused before reaching the HSM: no key or certificate made, nothing audited beyond the good GetKeys.
            #expect(after.keys == before.keys)
            #expect(after.certificates == before.certificates)
            #expect(after.auditRecords - before.auditRecords <= Self.cases.count)
        }
    }

    @Test("a key of the wrong type is FAILED_PRECONDITION from the HSM; only the refusal is audited")
    func wrongKeyType() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            let aes = try await h.key(t, .aes256)
            let ec = try await h.key(t, .p256)
            let before = try await h.snapshot(t)
            await expectStatus(.failedPrecondition, aes.id) {
                _ = try await h.crypto.sign(Redoubt_V1_SignRequest(key: aes.id, input: .message(Data([1])), scheme: .ecdsa(.sha256)), metadata: t.user)
            }
            await expectStatus(.failedPrecondition, ec.id) {
                _ = try await h.crypto.encrypt(Redoubt_V1_EncryptRequest(key: ec.id, plaintext: Data([1]), scheme: .aesGCM, aad: Data()), metadata: t.user)
            }
            let after = try await h.snapshot(t)
            #expect(after.keys == before.keys)
            #expect(after.auditRecords == before.auditRecords + 2)
            #expect(
                try await h.crypto.sign(
                    Redoubt_V1_SignRequest(key: ec.id, input: .message(Data([1])), scheme: .ecdsa(.sha256)),
                    metadata: t.user
                ).keyVersion == 1)
        }
    }

    @Test("a broker without backups answers UNIMPLEMENTED")
    func noBackups() async throws {
        try await BrokerHarness.run(backups: false) { h in
            let t = try await h.tenant()
            await expectStatus(.unimplemented, "backups are not available on this broker") {
                try await h.backups.createBackup(
                    Redoubt_V1_CreateBackupRequest(path: "x", partition: nil, overwrite: false),
                    metadata: t.operatorMetadata, onResponse: { for try await _ in $0.messages {} })
            }
        }
    }
}
