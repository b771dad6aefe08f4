import Foundation
import GRPCCore
import Logging
import Redoubt
import RedoubtCrypto
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtProto
import SwiftProtobuf
import Testing

@Suite("Conversions")
struct ConversionTests {
    let date = Date(timeIntervalSince1970: 1_750_000_000.125)

    @Test("every enum value round-trips, and every model case has a proto value")
    func enums() throws {
        func check<P, M>(_ mapping: EnumMapping<P, M>, _ all: [M]) throws {
            for m in all {
                let p = mapping.proto(m)
                #expect(p.rawValue != 0, "\(m) has no proto value")
                #expect(try mapping.model(p, at: .root + "f") == m)
            }
        }
        try check(KeyAlgorithm.protoMapping, KeyAlgorithm.allCases)
        try check(HashAlgorithm.protoMapping, HashAlgorithm.allCases)
        try check(ECDSASignatureEncoding.protoMapping, [.der, .raw])
        try check(LowSPolicy.protoMapping, [.standard, .strict])
        try check(EncryptionScheme.protoMapping, EncryptionScheme.allCases)
        try check(WrapScheme.protoMapping, WrapScheme.allCases)
        try check(KeyState.protoMapping, [.active, .blocked, .destroyed])
        try check(Role.protoMapping, Role.allCases)
        try check(HSMError.Code.protoMapping, StatusMapping.codes.map(\.model))
        try check(BackupProgress.Phase.protoMapping, [.exporting, .writing])
        let all: KeyUsage = [.sign, .verify, .encrypt, .decrypt, .wrap, .unwrap, .derive, .mac, .encapsulate, .decapsulate]
        #expect(try KeyUsage(proto: all.proto, at: .root + "usages") == all)
        #expect(all.proto.count == 10)
    }

    @Test("unset and unknown enum values are INVALID_ARGUMENT naming the field and the value")
    func enumFailures() throws {
        #expect(throws: HSMError(.invalidArgument, "spec.algorithm is unset (KEY_ALGORITHM_UNSPECIFIED); choose one of \(KeyAlgorithm.protoMapping.choices)")) {
            try KeyAlgorithm.protoMapping.model(.unspecified, at: .root + "spec" + "algorithm")
        }
        do {
            _ = try HashAlgorithm.protoMapping.model(.UNRECOGNIZED(77), at: (.root + "items")[3] + "hash")
            Issue.record("accepted an unknown value")
        } catch let error as HSMError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("items[3].hash has the unknown value 77"))
        } catch { Issue.record("\(error)") }
        #expect(throws: HSMError.self) { try KeyUsage(proto: [.sign, .sign], at: .root + "usages") }
        #expect(throws: HSMError.self) { try KeyUsage(proto: [.unspecified], at: .root + "usages") }
        // Defaults stand in where the proto names one.
        #expect(try ECDSASignatureEncoding.protoMapping.model(.unspecified, at: .root, default: .der) == .der)
    }

    @Test("KeySpec round-trips, defaults apply to unset fields")
    func keySpec() throws {
        let spec = KeySpec(
            algorithm: .genericSecret, label: "mac key", usage: [.mac], extractable: true, sensitive: false,
            modifiable: false, destroyable: false, notBefore: date, expiresAt: date.addingTimeInterval(86400),
            secretByteCount: 48, persistent: false, requestID: "req-1")
        #expect(try KeySpec(proto: spec.proto, requestID: spec.protoRequestID, at: .root + "spec") == spec)
        var minimal = Redoubt_V1_KeySpec()
        minimal.algorithm = .ecP256
        minimal.label = "x"
        #expect(try KeySpec(proto: minimal, requestID: "", at: .root + "spec") == KeySpec(algorithm: .p256, label: "x"))
        var bad = minimal
        bad.notBeforeTime = Google_Protobuf_Timestamp(seconds: 0, nanos: -5)
        #expect(throws: HSMError.self) { try KeySpec(proto: bad, requestID: "", at: .root + "spec") }
    }

    @Test("KeyInfo and PublicKey round-trip")
    func keyInfo() throws {
        let pub = try PrivateKey.generate(.p256).publicKey
        let info = KeyInfo(
            id: "k_1", label: "l", algorithm: .p256, usage: [.sign, .verify], extractable: false, sensitive: true,
            neverExtractable: true, alwaysSensitive: true, modifiable: true, destroyable: true, local: true,
            notBefore: date, expiresAt: nil, state: .blocked, latestVersion: 3, minimumVersion: 2,
            persistent: true, createdAt: date, publicKey: pub)
        #expect(try KeyInfo(proto: info.proto, at: .root + "key") == info)
        #expect(try PublicKey(proto: pub.proto, at: .root + "peer") == pub)
        var mismatch = pub.proto
        mismatch.algorithm = .ecP384
        #expect(throws: HSMError.self) { try PublicKey(proto: mismatch, at: .root + "peer") }
        var garbage = Redoubt_V1_PublicKey()
        garbage.spkiDer = Data([1, 2, 3])
        #expect(throws: HSMError.self) { try PublicKey(proto: garbage, at: .root + "peer") }
    }

    @Test("signature schemes, inputs and derivations round-trip; unset ECDSA parameters take their defaults")
    func schemes() throws {
        let schemes: [SignatureScheme] = [
            .ecdsa(.sha384, encoding: .raw, lowS: .strict), .ecdsa(.sha256), .ed25519,
            .rsaPSS(.sha512), .rsaPKCS1v15(.sha256), .rsaPKCS1v15Raw, .mldsa(context: Data([1, 2])),
        ]
        for s in schemes { #expect(try SignatureScheme(proto: s.proto, at: .root + "scheme") == s) }
        var e = Redoubt_V1_SignatureScheme.Ecdsa()
        e.hash = .sha256
        var p = Redoubt_V1_SignatureScheme()
        p.ecdsa = e
        #expect(try SignatureScheme(proto: p, at: .root) == .ecdsa(.sha256, encoding: .der, lowS: .standard))
        #expect(throws: HSMError.self) { try SignatureScheme(proto: Redoubt_V1_SignatureScheme(), at: .root + "scheme") }
        for input in [SigningInput.message(Data("hi".utf8)), .digest(Data(repeating: 1, count: 32))] {
            #expect(try SigningInput(proto: input.proto, at: .root + "input", limit: 100) == input)
        }
        let kdf = KeyDerivation.hkdf(.sha384, salt: Data([1]), info: Data([2]), outputByteCount: 32)
        #expect(try KeyDerivation(proto: kdf.proto, isSet: true, at: .root + "derivation", limit: 100) == kdf)
    }

    @Test("oversized bytes are INVALID_ARGUMENT naming the field, size and limit")
    func oversized() throws {
        let request = Redoubt_V1_MacRequest(key: "k", data: Data(count: 2_000_000), hash: .sha256)
        #expect(throws: HSMError(.invalidArgument, "items[3].data is 2000000 bytes; the limit is 1048576")) {
            try request.decoded(at: (.root + "items")[3], limit: 1 << 20)
        }
    }

    @Test("partition settings: round trip, defaults when creating, unchanged when updating")
    func partitionSettings() throws {
        let settings = PartitionSettings(
            importAllowed: false, exportAllowed: false, readOnly: true, maximumObjects: 7,
            cryptoUsersMayCreateKeys: false, maximumSessionLifetime: 3600.5,
            sessionIdleTimeout: 60, allowedSources: ["10.0.0.0/8"])
        #expect(try PartitionSettings(proto: settings.proto, over: .defaults, at: .root + "settings") == settings)
        #expect(try PartitionSettings(proto: Redoubt_V1_PartitionSettings(), over: settings, at: .root) == settings)
        #expect(try PartitionSettings(proto: Redoubt_V1_PartitionSettings(), over: .defaults, at: .root) == .defaults)
        var negative = Redoubt_V1_PartitionSettings()
        negative.sessionIdleTimeout = Google_Protobuf_Duration(seconds: -3, nanos: 0)
        #expect(throws: HSMError.self) { try PartitionSettings(proto: negative, over: .defaults, at: .root + "settings") }
        let info = PartitionInfo(id: "p", settings: settings, createdAt: date)
        #expect(try PartitionInfo(proto: info.proto, at: .root) == info)
    }

    @Test("users, sessions, audit records, verification, backups round-trip")
    func admin() throws {
        let user = UserInfo(id: "u_1", name: "bob", role: .auditor, partition: "p", hasPassword: true, hasClientCertificate: true)
        #expect(try UserInfo(proto: user.proto, at: .root) == user)
        let session = SessionInfo(
            token: SessionToken("rds1.a.b"), id: "s", partition: "p", user: "u", role: .cryptoUser,
            expiresAt: date, idleTimeout: 1800)
        #expect(try SessionInfo(proto: session.proto) == session)
        let record = AuditRecord(
            sequence: 9, time: date, actor: "u", role: "CRYPTO_USER", session: "s",
            operation: "key.sign", object: "k", result: "ok")
        #expect(try AuditRecord(proto: record.proto, at: .root) == record)
        for v in [AuditVerification(records: 5), AuditVerification(records: 2, failure: "record 2: bad hash")] {
            #expect(AuditVerification(proto: v.proto) == v)
        }
        let progress = BackupProgress(phase: .writing, recordsDone: 3, recordsTotal: 9, bytesDone: 100, bytesTotal: nil)
        #expect(try BackupProgress(proto: progress.proto, at: .root) == progress)
        let report = BackupReport(
            path: "/b/x.bak", formatVersion: 1, createdAt: Date(timeIntervalSince1970: 1_750_000_000),
            partition: "p", masterKeyID: "m", recordCount: 4, chunkCount: 1, byteCount: 99)
        #expect(try BackupReport(proto: report.proto, at: .root) == report)
        let update = KeyAttributeUpdate(
            label: "n", usage: [.verify], extractable: false, sensitive: true, modifiable: false,
            destroyable: false, notBefore: date, expiresAt: date, minimumVersion: 2)
        #expect(try KeyAttributeUpdate(proto: Redoubt_V1_UpdateKeyRequest(id: "k", update: update), at: .root) == update)
        #expect(try KeyAttributeUpdate(proto: Redoubt_V1_UpdateKeyRequest(id: "k", update: KeyAttributeUpdate()), at: .root) == KeyAttributeUpdate())
    }

    @Test("requests round-trip through their decoders")
    func requests() throws {
        let input = SigningInput.message(Data("m".utf8))
        let sign = try Redoubt_V1_SignRequest(key: "k", input: input, scheme: .ed25519).decoded(limit: 10)
        #expect(sign.key == "k" && sign.input == input && sign.scheme == .ed25519)
        let verify = try Redoubt_V1_VerifyRequest(key: "k", input: input, signature: Data([1]), scheme: .ed25519, version: 2).decoded(limit: 10)
        #expect(verify.version == 2 && verify.signature == Data([1]))
        let enc = try Redoubt_V1_EncryptRequest(key: "k", plaintext: Data([1]), scheme: .aesGCM, aad: Data([2])).decoded(limit: 10)
        #expect(enc.scheme == .aesGCM && enc.aad == Data([2]))
        let filter = KeyFilter(label: "l", includeDestroyed: true, after: "k_5", limit: 20)
        #expect(try Redoubt_V1_ListKeysRequest(filter).decoded() == filter)
        let spec = KeySpec(algorithm: .aes256, label: "w", requestID: "r")
        let imported = try Redoubt_V1_ImportKeyRequest(spec: spec, material: .wrapped(Data([9]), wrappingKey: "kw", scheme: .aesKWP)).decoded(limit: 10)
        #expect(imported.spec == spec)
        guard case .wrapped(let blob, let wrappingKey, let scheme) = imported.material else {
            Issue.record("wrong material")
            return
        }
        #expect(blob == Data([9]) && wrappingKey == "kw" && scheme == .aesKWP)
        let (request, bearer) = Redoubt_V1_OpenSessionRequest.opening(partition: "p", credential: .password(user: "u", password: "pw"))
        #expect(bearer == nil)
        #expect(try request.passwordCredential() == .password(user: "u", password: "pw"))
        #expect(Redoubt_V1_OpenSessionRequest.opening(partition: "p", credential: .apiKey("rdk1.x")).bearer == "rdk1.x")
        let audit = try Redoubt_V1_ListAuditRecordsRequest(from: 0, limit: 0).decoded()
        #expect(audit.from == 1 && audit.limit == 100)
    }

    @Test("page tokens round-trip; foreign tokens and sizes are refused")
    func paging() throws {
        #expect(try Paging.lastID(Paging.token(after: "k_abc/+="), at: .root) == "k_abc/+=")
        #expect(throws: HSMError.self) { try Paging.lastID("nonsense", at: .root + "page_token") }
        #expect(throws: HSMError.self) { try Paging.pageSize(1001, at: .root + "page_size") }
        let (page, next) = Paging.page(of: ["c", "a", "b"], id: { $0 }, after: nil, size: 2)
        #expect(page == ["a", "b"])
        #expect(Paging.page(of: ["c", "a", "b"], id: { $0 }, after: try Paging.lastID(next, at: .root), size: 2) == (["c"], ""))
    }

    @Test("status mapping: both directions, error details, unexpected errors stay coarse")
    func status() throws {
        for (model, rpc) in StatusMapping.codes {
            let error = RPCError(HSMError(model, "m"))
            #expect(error.code == rpc && error.message == "m")
            let back = StatusMapping.modelError(for: error) as? HSMError
            #expect(back?.code == model && back?.message == "m")
        }
        // Every model code travels in a batch item's ErrorDetail as itself, message kept, cause not sent.
        for model in [
            HSMError.Code.invalidArgument, .unauthenticated, .permissionDenied, .notFound, .alreadyExists,
            .failedPrecondition, .resourceExhausted, .unavailable, .deadlineExceeded, .cancelled, .aborted, .internalError,
        ] {
            struct Cause: Error {}
            let detail = Redoubt_V1_ErrorDetail(HSMError(model, "m", underlying: Cause()))
            #expect(detail.code.rawValue == RPCError(HSMError(model, "m")).code.rawValue, "\(model): the proto number is gRPC's")
            let back = HSMError(detail)
            #expect(back.code == model && back.message == "m" && back.underlying == nil, "\(model)")
        }
        struct Secret: Error {}
        let logger = Logger(label: "test")
        #expect(StatusMapping.rpcError(for: Secret(), method: "m", logger: logger).message == "internal error")
        #expect(StatusMapping.rpcError(for: CancellationError(), method: "m", logger: logger).code == .cancelled)
        #expect(StatusMapping.modelError(for: RPCError(code: .cancelled, message: "")) is CancellationError)
        #expect((StatusMapping.modelError(for: RPCError(code: .deadlineExceeded, message: "x")) as? HSMError)?.code == .unavailable)
        // DEADLINE_EXCEEDED, CANCELLED and ABORTED leave the server as themselves.
        #expect(RPCError(HSMError(.deadlineExceeded, "late")).code == .deadlineExceeded)
        #expect(RPCError(HSMError(.cancelled, "gone")).code == .cancelled)
        #expect(RPCError(HSMError(.aborted, "raced")).code == .aborted)
        #expect(StatusMapping.errorDetail(for: CancellationError(), method: "m", logger: logger).code == .cancelled)
        var unknown = Redoubt_V1_ErrorDetail()
        unknown.code = .UNRECOGNIZED(99)
        #expect(HSMError(unknown).code == .internalError)
    }

    @Test("source addresses and bearer tokens are read from the call")
    func callFacts() throws {
        #expect(BrokerCore.sourceAddress("ipv4:127.0.0.1:5000") == "127.0.0.1")
        #expect(BrokerCore.timeout(["grpc-timeout": "1500m"]) == 1.5)
        #expect(BrokerCore.timeout(["grpc-timeout": "2S"]) == 2)
        #expect(BrokerCore.timeout(["grpc-timeout": "1H"]) == 3600)
        #expect(BrokerCore.timeout(["grpc-timeout": "250000u"]) == 0.25)
        for bad in ["", "S", "123456789S", "1.5S", "10x", "-1S"] {
            #expect(BrokerCore.timeout(["grpc-timeout": "\(bad)"]) == nil, "\(bad)")
        }
        #expect(BrokerCore.timeout([:]) == nil)
        #expect(BrokerCore.sourceAddress("ipv6:[::1]:5000") == "::1")
        #expect(BrokerCore.sourceAddress("ipv6:[fe80::1%25eth0]:5000") == "fe80::1")
        #expect(BrokerCore.sourceAddress("in-process:123") == nil)
        #expect(BrokerCore.sourceAddress("unix:/tmp/s") == nil)
        #expect(try BrokerCore.bearer(["authorization": "Bearer abc"]) == "abc")
        #expect(try BrokerCore.bearer(["authorization": "bearer  abc "]) == "abc")
        #expect(try BrokerCore.bearer([:]) == nil)
        #expect(throws: HSMError.self) { try BrokerCore.bearer(["authorization": "Basic abc"]) }
    }
}
