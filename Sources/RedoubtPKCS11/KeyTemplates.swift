import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

/// Turns C_GenerateKey(Pair) templates into a Redoubt KeySpec: standard templates only, no
/// vendor attribute ever required; an attribute the module cannot honour is refused, not ignored.
enum KeyTemplates {
    /// Attributes a key template may carry.
    static let accepted: Set<UInt> = [
        CKA_CLASS, CKA_KEY_TYPE, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_ID, CKA_SUBJECT, CKA_MODIFIABLE, CKA_DESTROYABLE,
        CKA_COPYABLE, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_SIGN, CKA_VERIFY, CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP,
        CKA_DERIVE, CKA_SIGN_RECOVER, CKA_VERIFY_RECOVER, CKA_START_DATE, CKA_END_DATE, CKA_EC_PARAMS, CKA_MODULUS_BITS,
        CKA_PUBLIC_EXPONENT, CKA_PARAMETER_SET, CKA_VALUE_LEN, CKA_WRAP_WITH_TRUSTED, CKA_ALWAYS_AUTHENTICATE, CKA_TRUSTED,
        CKA_ALLOWED_MECHANISMS, CKA_ENCAPSULATE, CKA_DECAPSULATE,
    ]

    /// The key pair algorithm `mechanism` and the templates ask for.
    static func pairAlgorithm(_ mechanism: CK_MECHANISM_TYPE, _ pub: Template, _ priv: Template) throws(P11Error) -> KeyAlgorithm {
        let either = { (type: UInt) -> Data? in pub.bytes(type) ?? priv.bytes(type) }
        switch UInt(mechanism) {
        case CKM_EC_KEY_PAIR_GEN, CKM_EC_EDWARDS_KEY_PAIR_GEN:
            guard let parameters = either(CKA_EC_PARAMS) else {
                throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_EC_PARAMS names the curve")
            }
            guard let algorithm = KeyAlgorithm(ecParameters: parameters) else {
                throw P11Error(CK_RV(CKR_CURVE_NOT_SUPPORTED), "the curve is not one of P-256, P-384, P-521, secp256k1, brainpoolP256r1/P384r1, Ed25519")
            }
            let edwards = UInt(mechanism) == CKM_EC_EDWARDS_KEY_PAIR_GEN
            guard edwards == (algorithm == .ed25519), algorithm != .x25519 else {
                throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "the curve does not fit the mechanism")
            }
            return algorithm
        case CKM_RSA_PKCS_KEY_PAIR_GEN:
            var modulusBits = try pub.ulong(CKA_MODULUS_BITS)
            if modulusBits == nil { modulusBits = try priv.ulong(CKA_MODULUS_BITS) }
            guard let bits = modulusBits else {
                throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_MODULUS_BITS is required")
            }
            if let e = either(CKA_PUBLIC_EXPONENT), Data(e.drop { $0 == 0 }) != Data([0x01, 0x00, 0x01]) {
                throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "the public exponent is always 65537")
            }
            switch bits {
            case 2048: return .rsa2048
            case 3072: return .rsa3072
            case 4096: return .rsa4096
            default: throw P11Error(CK_RV(CKR_KEY_SIZE_RANGE), "RSA keys are 2048, 3072 or 4096 bits")
            }
        case CKM_ML_DSA_KEY_PAIR_GEN:
            var set = try pub.ulong(CKA_PARAMETER_SET)
            if set == nil { set = try priv.ulong(CKA_PARAMETER_SET) }
            switch set {
            case CK_ULONG(CKP_ML_DSA_65)?: return .mldsa65
            case CK_ULONG(CKP_ML_DSA_87)?: return .mldsa87
            case nil: throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_PARAMETER_SET names ML-DSA-65 or ML-DSA-87")
            default: throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "ML-DSA-65 and ML-DSA-87 are offered")
            }
        case CKM_ML_KEM_KEY_PAIR_GEN:
            var set = try pub.ulong(CKA_PARAMETER_SET)
            if set == nil { set = try priv.ulong(CKA_PARAMETER_SET) }
            switch set {
            case CK_ULONG(CKP_ML_KEM_768)?: return .mlkem768
            case CK_ULONG(CKP_ML_KEM_1024)?: return .mlkem1024
            case nil: throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_PARAMETER_SET names ML-KEM-768 or ML-KEM-1024")
            default: throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "ML-KEM-768 and ML-KEM-1024 are offered (not ML-KEM-512)")
            }
        default:
            throw P11Error(CK_RV(CKR_MECHANISM_INVALID), "not a key-pair generation mechanism")
        }
    }

    /// The secret key algorithm of C_GenerateKey.
    static func secretAlgorithm(_ mechanism: CK_MECHANISM_TYPE, _ template: Template) throws(P11Error) -> (KeyAlgorithm, Int?) {
        let length = try template.ulong(CKA_VALUE_LEN).map { Int($0) }
        switch UInt(mechanism) {
        case CKM_AES_KEY_GEN:
            switch length {
            case 16?: return (.aes128, nil)
            case 24?: return (.aes192, nil)
            case 32?, nil: return (.aes256, nil)
            default: throw P11Error(CK_RV(CKR_KEY_SIZE_RANGE), "AES keys are 16, 24 or 32 bytes")
            }
        case CKM_GENERIC_SECRET_KEY_GEN:
            guard let length else { throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_VALUE_LEN is required") }
            guard (16...64).contains(length) else { throw P11Error(CK_RV(CKR_KEY_SIZE_RANGE), "generic secrets are 16 to 64 bytes") }
            return (.genericSecret, length)
        default:
            throw P11Error(CK_RV(CKR_MECHANISM_INVALID), "not a secret-key generation mechanism")
        }
    }

    /// The KeySpec for `algorithm` from the templates (for a pair: the private key's wins where both say).
    static func spec(_ algorithm: KeyAlgorithm, secretLength: Int? = nil, templates: [Template]) throws(P11Error) -> KeySpec {
        for t in templates { try t.only(accepted) }
        func bool(_ type: UInt) throws(P11Error) -> Bool? {
            for t in templates.reversed() { if let b = try t.bool(type) { return b } }
            return nil
        }
        func bytes(_ type: UInt) -> Data? { templates.reversed().lazy.compactMap { $0.bytes(type) }.first }
        // Which usage each flag grants, and the key's usage: its algorithm's, less what the template turns off.
        var usage = algorithm.capabilities
        let flags: [(UInt, KeyUsage)] = [
            (CKA_SIGN, algorithm.isSymmetric ? .mac : .sign), (CKA_VERIFY, algorithm.isSymmetric ? .mac : .verify),
            (CKA_ENCRYPT, .encrypt), (CKA_DECRYPT, .decrypt), (CKA_WRAP, .wrap), (CKA_UNWRAP, .unwrap), (CKA_DERIVE, .derive),
            (CKA_ENCAPSULATE, .encapsulate), (CKA_DECAPSULATE, .decapsulate),
        ]
        for (type, granted) in flags {
            // A use the algorithm lacks is not granted: the attribute then reads false. (Callers such as
            // pkcs11-tool ask for CKA_DERIVE on every EC key, Ed25519 included.)
            if try bool(type) == false, !(type == CKA_VERIFY && !algorithm.isSymmetric) { usage.remove(granted) }
        }
        for (type, value) in [
            (CKA_SIGN_RECOVER, true), (CKA_VERIFY_RECOVER, true), (CKA_WRAP_WITH_TRUSTED, true), (CKA_ALWAYS_AUTHENTICATE, true), (CKA_COPYABLE, true),
            (CKA_TRUSTED, true),
        ] {
            if try bool(type) == value { throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "attribute 0x\(String(type, radix: 16)) cannot be true") }
        }
        var label = ""
        for t in templates.reversed() {
            if let l = try t.string(CKA_LABEL) {
                label = l
                break
            }
        }
        if label.isEmpty { label = "pkcs11-" + UUID().uuidString.prefix(8).lowercased() }
        let applicationID = bytes(CKA_ID) ?? Data()
        let subject = bytes(CKA_SUBJECT) ?? Data()
        if let start = bytes(CKA_START_DATE), !start.isEmpty {
            throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "CKA_START_DATE is not supported at generation")
        }
        if let end = bytes(CKA_END_DATE), !end.isEmpty { throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "CKA_END_DATE is not supported at generation") }
        return KeySpec(
            algorithm: algorithm, label: label, usage: usage, extractable: try bool(CKA_EXTRACTABLE) ?? false,
            sensitive: try bool(CKA_SENSITIVE) ?? true, modifiable: try bool(CKA_MODIFIABLE) ?? true,
            destroyable: try bool(CKA_DESTROYABLE) ?? true, secretByteCount: secretLength,
            persistent: try bool(CKA_TOKEN) ?? false, applicationID: applicationID, subject: subject)
    }
}
