import Foundation
import RedoubtCore
import RedoubtCrypto
import RedoubtProto
import SwiftProtobuf

/// A one-to-one table between a `redoubt.v1` enum and a model enum: the one place each pair of
/// values is written down, read in both directions.
///
/// Decoding refuses `*_UNSPECIFIED` (unless the caller supplies the default it stands for) and
/// values this server does not know, naming the field and the choices.
package struct EnumMapping<Proto: SwiftProtobuf.Enum & Sendable, Model: Hashable & Sendable>: Sendable {
    /// The proto enum's value prefix (`KEY_ALGORITHM`).
    package let prefix: String
    /// Proto value, model value, and the proto value's name without the prefix (`AES_128`).
    package let pairs: [(proto: Proto, model: Model, name: String)]

    /// The model value of `value`, or `defaultValue` if `value` is `*_UNSPECIFIED` and a default is given.
    package func model(_ value: Proto, at path: FieldPath, default defaultValue: Model? = nil) throws -> Model {
        if let pair = pairs.first(where: { $0.proto == value }) { return pair.model }
        if value.rawValue == 0 {
            if let defaultValue { return defaultValue }
            throw path.invalid("is unset (\(prefix)_UNSPECIFIED); choose one of \(choices)")
        }
        throw path.invalid("has the unknown value \(value.rawValue); choose one of \(choices)")
    }

    /// The proto value of `model` (`*_UNSPECIFIED` only if the table missed a case, which tests rule out).
    package func proto(_ model: Model) -> Proto {
        pairs.first(where: { $0.model == model })?.proto ?? Proto()
    }

    /// The proto name of a model value, e.g. `KEY_ALGORITHM_AES_128`.
    package func name(_ model: Model) -> String {
        pairs.first(where: { $0.model == model }).map { "\(prefix)_\($0.name)" } ?? "\(prefix)_UNSPECIFIED"
    }

    /// `AES_128, AES_192, …` with the prefix, for error messages.
    package var choices: String {
        pairs.map { "\(prefix)_\($0.name)" }.joined(separator: ", ")
    }
}

// MARK: - The tables

extension KeyAlgorithm {
    /// ``KeyAlgorithm`` ⇄ `redoubt.v1.KeyAlgorithm`.
    package static let protoMapping = EnumMapping<Redoubt_V1_KeyAlgorithm, KeyAlgorithm>(
        prefix: "KEY_ALGORITHM",
        pairs: [
            (.aes128, .aes128, "AES_128"), (.aes192, .aes192, "AES_192"), (.aes256, .aes256, "AES_256"),
            (.genericSecret, .genericSecret, "GENERIC_SECRET"),
            (.ecP256, .p256, "EC_P256"), (.ecP384, .p384, "EC_P384"), (.ecP521, .p521, "EC_P521"),
            (.ecSecp256K1, .secp256k1, "EC_SECP256K1"),
            (.ecBrainpoolP256R1, .brainpoolP256r1, "EC_BRAINPOOL_P256R1"),
            (.ecBrainpoolP384R1, .brainpoolP384r1, "EC_BRAINPOOL_P384R1"),
            (.ed25519, .ed25519, "ED25519"), (.x25519, .x25519, "X25519"),
            (.rsa2048, .rsa2048, "RSA_2048"), (.rsa3072, .rsa3072, "RSA_3072"), (.rsa4096, .rsa4096, "RSA_4096"),
            (.mlDsa65, .mldsa65, "ML_DSA_65"), (.mlDsa87, .mldsa87, "ML_DSA_87"),
            (.mlKem768, .mlkem768, "ML_KEM_768"), (.mlKem1024, .mlkem1024, "ML_KEM_1024"),
        ])
}

/// One bit of ``KeyUsage`` (the model's usage is an option set; the proto's a repeated enum).
package struct KeyUsageBit: Hashable, Sendable {
    /// The single-bit usage.
    package let usage: KeyUsage
}

extension KeyUsage {
    /// Each single ``KeyUsage`` ⇄ `redoubt.v1.KeyUsage`.
    package static let protoMapping = EnumMapping<Redoubt_V1_KeyUsage, KeyUsageBit>(
        prefix: "KEY_USAGE",
        pairs: [
            (.sign, KeyUsageBit(usage: .sign), "SIGN"), (.verify, KeyUsageBit(usage: .verify), "VERIFY"),
            (.encrypt, KeyUsageBit(usage: .encrypt), "ENCRYPT"), (.decrypt, KeyUsageBit(usage: .decrypt), "DECRYPT"),
            (.wrap, KeyUsageBit(usage: .wrap), "WRAP"), (.unwrap, KeyUsageBit(usage: .unwrap), "UNWRAP"),
            (.derive, KeyUsageBit(usage: .derive), "DERIVE"), (.mac, KeyUsageBit(usage: .mac), "MAC"),
            (.encapsulate, KeyUsageBit(usage: .encapsulate), "ENCAPSULATE"),
            (.decapsulate, KeyUsageBit(usage: .decapsulate), "DECAPSULATE"),
        ])

    /// The usage set of a `repeated KeyUsage` field; `nil` when the list is empty. Refuses
    /// unset or unknown values and duplicates.
    package init?(proto values: [Redoubt_V1_KeyUsage], at path: FieldPath) throws {
        guard !values.isEmpty else { return nil }
        var usage: KeyUsage = []
        for (i, value) in values.enumerated() {
            let bit = try KeyUsage.protoMapping.model(value, at: path[i]).usage
            guard !usage.contains(bit) else {
                throw path[i].invalid("repeats \(KeyUsage.protoMapping.name(KeyUsageBit(usage: bit))); list each usage once")
            }
            usage.insert(bit)
        }
        self = usage
    }

    /// The usages as a proto list, in the enum's order.
    package var proto: [Redoubt_V1_KeyUsage] {
        KeyUsage.protoMapping.pairs.filter { contains($0.model.usage) }.map(\.proto)
    }
}

extension HashAlgorithm {
    /// ``HashAlgorithm`` ⇄ `redoubt.v1.HashAlgorithm`.
    package static let protoMapping = EnumMapping<Redoubt_V1_HashAlgorithm, HashAlgorithm>(
        prefix: "HASH_ALGORITHM",
        pairs: [
            (.sha256, .sha256, "SHA_256"), (.sha384, .sha384, "SHA_384"), (.sha512, .sha512, "SHA_512"),
        ])
}

extension ECDSASignatureEncoding {
    /// ``ECDSASignatureEncoding`` ⇄ `redoubt.v1.EcdsaSignatureEncoding` (unset means DER).
    package static let protoMapping = EnumMapping<Redoubt_V1_EcdsaSignatureEncoding, ECDSASignatureEncoding>(
        prefix: "ECDSA_SIGNATURE_ENCODING", pairs: [(.der, .der, "DER"), (.raw, .raw, "RAW")])
}

extension LowSPolicy {
    /// ``LowSPolicy`` ⇄ `redoubt.v1.LowSPolicy` (unset means STANDARD).
    package static let protoMapping = EnumMapping<Redoubt_V1_LowSPolicy, LowSPolicy>(
        prefix: "LOW_S_POLICY", pairs: [(.standard, .standard, "STANDARD"), (.strict, .strict, "STRICT")])
}

extension EncryptionScheme {
    /// ``EncryptionScheme`` ⇄ `redoubt.v1.EncryptionScheme`.
    package static let protoMapping = EnumMapping<Redoubt_V1_EncryptionScheme, EncryptionScheme>(
        prefix: "ENCRYPTION_SCHEME",
        pairs: [
            (.aesGcm, .aesGCM, "AES_GCM"), (.chacha20Poly1305, .chaCha20Poly1305, "CHACHA20_POLY1305"),
            (.aesCbcPkcs7, .aesCBCPKCS7, "AES_CBC_PKCS7"), (.rsaOaepSha256, .rsaOAEPSHA256, "RSA_OAEP_SHA256"),
        ])
}

extension WrapScheme {
    /// ``WrapScheme`` ⇄ `redoubt.v1.WrapScheme`.
    package static let protoMapping = EnumMapping<Redoubt_V1_WrapScheme, WrapScheme>(
        prefix: "WRAP_SCHEME",
        pairs: [
            (.aesKw, .aesKW, "AES_KW"), (.aesKwp, .aesKWP, "AES_KWP"), (.aesGcm, .aesGCM, "AES_GCM"),
            (.rsaOaepSha256, .rsaOAEP, "RSA_OAEP_SHA256"),
        ])
}

extension KeyState {
    /// ``KeyState`` ⇄ `redoubt.v1.KeyState`.
    package static let protoMapping = EnumMapping<Redoubt_V1_KeyState, KeyState>(
        prefix: "KEY_STATE",
        pairs: [
            (.active, .active, "ACTIVE"), (.blocked, .blocked, "BLOCKED"), (.destroyed, .destroyed, "DESTROYED"),
        ])
}

extension Role {
    /// ``Role`` ⇄ `redoubt.v1.Role`.
    package static let protoMapping = EnumMapping<Redoubt_V1_Role, Role>(
        prefix: "ROLE",
        pairs: [
            (.operator, .operator, "OPERATOR"), (.securityOfficer, .securityOfficer, "SECURITY_OFFICER"),
            (.cryptoUser, .cryptoUser, "CRYPTO_USER"), (.auditor, .auditor, "AUDITOR"), (.approver, .approver, "APPROVER"),
        ])
}

extension KeyUseAudit {
    /// ``KeyUseAudit`` ⇄ `redoubt.v1.KeyUseAudit`.
    package static let protoMapping = EnumMapping<Redoubt_V1_KeyUseAudit, KeyUseAudit>(
        prefix: "KEY_USE_AUDIT", pairs: [(.everyUse, .everyUse, "EVERY_USE"), (.aggregated, .aggregated, "AGGREGATED")])
}

extension BackupProgress.Phase {
    /// ``BackupProgress/Phase`` ⇄ `redoubt.v1.BackupPhase`. Reading (restore, verify) is not
    /// an RPC; it is sent as WRITING should it ever occur, as the file is then being handled.
    package static let protoMapping = EnumMapping<Redoubt_V1_BackupPhase, BackupProgress.Phase>(
        prefix: "BACKUP_PHASE",
        pairs: [
            (.exporting, .exporting, "EXPORTING"), (.writing, .writing, "WRITING"), (.writing, .reading, "WRITING"),
        ])
}
