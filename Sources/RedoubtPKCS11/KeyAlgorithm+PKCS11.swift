import CPKCS11
import Foundation
import RedoubtCrypto

/// How Redoubt's algorithms are named in PKCS #11: key types, curve OIDs, parameter sets.
extension KeyAlgorithm {
    /// CKA_KEY_TYPE.
    var keyType: CK_KEY_TYPE {
        switch self {
        case .aes128, .aes192, .aes256: return CK_KEY_TYPE(CKK_AES)
        case .genericSecret: return CK_KEY_TYPE(CKK_GENERIC_SECRET)
        case .p256, .p384, .p521, .secp256k1, .brainpoolP256r1, .brainpoolP384r1: return CK_KEY_TYPE(CKK_EC)
        case .ed25519: return CK_KEY_TYPE(CKK_EC_EDWARDS)
        case .x25519: return CK_KEY_TYPE(CKK_EC_MONTGOMERY)
        case .rsa2048, .rsa3072, .rsa4096: return CK_KEY_TYPE(CKK_RSA)
        case .mldsa65, .mldsa87: return CK_KEY_TYPE(CKK_ML_DSA)
        case .mlkem768, .mlkem1024: return CK_KEY_TYPE(CKK_ML_KEM)
        }
    }

    /// The mechanism that generates keys of this algorithm (CKA_KEY_GEN_MECHANISM).
    var generationMechanism: CK_MECHANISM_TYPE {
        switch self {
        case .aes128, .aes192, .aes256: return CK_MECHANISM_TYPE(CKM_AES_KEY_GEN)
        case .genericSecret: return CK_MECHANISM_TYPE(CKM_GENERIC_SECRET_KEY_GEN)
        case .p256, .p384, .p521, .secp256k1, .brainpoolP256r1, .brainpoolP384r1: return CK_MECHANISM_TYPE(CKM_EC_KEY_PAIR_GEN)
        case .ed25519: return CK_MECHANISM_TYPE(CKM_EC_EDWARDS_KEY_PAIR_GEN)
        case .x25519: return CK_MECHANISM_TYPE(CKM_EC_MONTGOMERY_KEY_PAIR_GEN)
        case .rsa2048, .rsa3072, .rsa4096: return CK_MECHANISM_TYPE(CKM_RSA_PKCS_KEY_PAIR_GEN)
        case .mldsa65, .mldsa87: return CK_MECHANISM_TYPE(CKM_ML_DSA_KEY_PAIR_GEN)
        case .mlkem768, .mlkem1024: return CK_MECHANISM_TYPE(CKM_ML_KEM_KEY_PAIR_GEN)
        }
    }

    /// CKA_EC_PARAMS: the DER OID of the curve.
    var ecParameters: Data? {
        switch self {
        case .p256: return Data([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07])
        case .p384: return Data([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22])
        case .p521: return Data([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23])
        case .secp256k1: return Data([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a])
        case .brainpoolP256r1: return Data([0x06, 0x09, 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07])
        case .brainpoolP384r1: return Data([0x06, 0x09, 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0b])
        case .ed25519: return Data([0x06, 0x03, 0x2b, 0x65, 0x70])
        case .x25519: return Data([0x06, 0x03, 0x2b, 0x65, 0x6e])
        default: return nil
        }
    }

    /// The curve CKA_EC_PARAMS names: a DER OID, or for Edwards and Montgomery curves also the
    /// printable name some callers send (`edwards25519`, `curve25519`).
    init?(ecParameters: Data) {
        let printable: [String: KeyAlgorithm] = ["edwards25519": .ed25519, "curve25519": .x25519]
        if ecParameters.count > 2, ecParameters.first == 0x13, Int(ecParameters[ecParameters.startIndex + 1]) == ecParameters.count - 2,
            let name = String(data: ecParameters.dropFirst(2), encoding: .ascii), let algorithm = printable[name]
        {
            self = algorithm
            return
        }
        guard let found = KeyAlgorithm.allCases.first(where: { $0.ecParameters == ecParameters }) else { return nil }
        self = found
    }

    /// CKA_PARAMETER_SET of ML-DSA and ML-KEM keys.
    var parameterSet: CK_ULONG? {
        switch self {
        case .mldsa65: return CK_ULONG(CKP_ML_DSA_65)
        case .mldsa87: return CK_ULONG(CKP_ML_DSA_87)
        case .mlkem768: return CK_ULONG(CKP_ML_KEM_768)
        case .mlkem1024: return CK_ULONG(CKP_ML_KEM_1024)
        default: return nil
        }
    }
}

/// A little DER: what the attribute encodings need and no more.
enum DER {
    /// An OCTET STRING around `bytes` (CKA_EC_POINT).
    static func octetString(_ bytes: Data) -> Data {
        Data([0x04]) + length(bytes.count) + bytes
    }

    static func length(_ n: Int) -> Data {
        if n < 0x80 { return Data([UInt8(n)]) }
        var bytes: [UInt8] = []
        var v = n
        while v > 0 {
            bytes.insert(UInt8(v & 0xff), at: 0)
            v >>= 8
        }
        return Data([0x80 | UInt8(bytes.count)] + bytes)
    }

    /// The contents of the element at the start of `data`, and what follows it; nil when malformed.
    static func element(_ data: Data, tag: UInt8) -> (contents: Data, rest: Data)? {
        var i = data.startIndex
        guard i < data.endIndex, data[i] == tag else { return nil }
        i += 1
        guard i < data.endIndex else { return nil }
        var length = Int(data[i])
        i += 1
        if length & 0x80 != 0 {
            let count = length & 0x7f
            guard count >= 1, count <= 4, data.endIndex - i >= count else { return nil }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(data[i])
                i += 1
            }
        }
        guard data.endIndex - i >= length else { return nil }
        return (data[i..<(i + length)], data[(i + length)...])
    }

    /// The modulus and public exponent of an RSA SubjectPublicKeyInfo, without leading zeros.
    static func rsaNumbers(spki: Data) -> (modulus: Data, exponent: Data)? {
        guard let outer = element(spki, tag: 0x30), let algorithm = element(outer.contents, tag: 0x30),
            let bits = element(algorithm.rest, tag: 0x03), bits.contents.first == 0,
            let key = element(bits.contents.dropFirst(), tag: 0x30), let n = element(key.contents, tag: 0x02),
            let e = element(n.rest, tag: 0x02)
        else { return nil }
        func trimmed(_ d: Data) -> Data { Data(d.drop { $0 == 0 }) }
        return (trimmed(n.contents), trimmed(e.contents))
    }
}
