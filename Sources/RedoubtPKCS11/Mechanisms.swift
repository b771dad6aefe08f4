import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

/// The mechanisms the module offers, and how each maps onto Redoubt's operations. A mechanism
/// the engine lacks is not listed (docs/pkcs11.md has the table).
enum Mechanisms {
    /// Every mechanism, with what C_GetMechanismInfo says of it.
    static let all: [(type: CK_MECHANISM_TYPE, info: CK_MECHANISM_INFO)] = {
        let hw = CK_FLAGS(CKF_HW)
        let signVerify = hw | CK_FLAGS(CKF_SIGN) | CK_FLAGS(CKF_VERIFY)
        let wrapUnwrap = CK_FLAGS(CKF_WRAP) | CK_FLAGS(CKF_UNWRAP)
        let ecFlags = CK_FLAGS(CKF_EC_F_P) | CK_FLAGS(CKF_EC_NAMEDCURVE) | CK_FLAGS(CKF_EC_UNCOMPRESS)
        func m(_ type: UInt, _ min: UInt, _ max: UInt, _ flags: CK_FLAGS) -> (CK_MECHANISM_TYPE, CK_MECHANISM_INFO) {
            (CK_MECHANISM_TYPE(type), CK_MECHANISM_INFO(ulMinKeySize: CK_ULONG(min), ulMaxKeySize: CK_ULONG(max), flags: flags))
        }
        return [
            m(CKM_EC_KEY_PAIR_GEN, 256, 521, hw | CK_FLAGS(CKF_GENERATE_KEY_PAIR) | ecFlags),
            m(CKM_ECDSA, 256, 521, signVerify | ecFlags),
            m(CKM_ECDSA_SHA256, 256, 521, signVerify | ecFlags),
            m(CKM_ECDSA_SHA384, 256, 521, signVerify | ecFlags),
            m(CKM_ECDSA_SHA512, 256, 521, signVerify | ecFlags),
            m(CKM_EC_EDWARDS_KEY_PAIR_GEN, 255, 255, hw | CK_FLAGS(CKF_GENERATE_KEY_PAIR)),
            m(CKM_EDDSA, 255, 255, signVerify),
            m(CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 4096, hw | CK_FLAGS(CKF_GENERATE_KEY_PAIR)),
            m(CKM_RSA_PKCS, 2048, 4096, signVerify),
            m(CKM_SHA256_RSA_PKCS, 2048, 4096, signVerify),
            m(CKM_SHA384_RSA_PKCS, 2048, 4096, signVerify),
            m(CKM_SHA512_RSA_PKCS, 2048, 4096, signVerify),
            m(CKM_RSA_PKCS_PSS, 2048, 4096, signVerify),
            m(CKM_SHA256_RSA_PKCS_PSS, 2048, 4096, signVerify),
            m(CKM_SHA384_RSA_PKCS_PSS, 2048, 4096, signVerify),
            m(CKM_SHA512_RSA_PKCS_PSS, 2048, 4096, signVerify),
            m(CKM_RSA_PKCS_OAEP, 2048, 4096, hw | CK_FLAGS(CKF_ENCRYPT) | CK_FLAGS(CKF_DECRYPT) | wrapUnwrap),
            m(CKM_ML_DSA_KEY_PAIR_GEN, 0, 0, hw | CK_FLAGS(CKF_GENERATE_KEY_PAIR)),
            m(CKM_ML_DSA, 0, 0, signVerify),
            m(CKM_ML_KEM_KEY_PAIR_GEN, 0, 0, hw | CK_FLAGS(CKF_GENERATE_KEY_PAIR)),
            m(CKM_ML_KEM, 0, 0, hw | CK_FLAGS(CKF_ENCAPSULATE) | CK_FLAGS(CKF_DECAPSULATE)),
            m(CKM_SHA256, 0, 0, hw | CK_FLAGS(CKF_DIGEST)),
            m(CKM_SHA384, 0, 0, hw | CK_FLAGS(CKF_DIGEST)),
            m(CKM_SHA512, 0, 0, hw | CK_FLAGS(CKF_DIGEST)),
            m(CKM_AES_KEY_GEN, 16, 32, hw | CK_FLAGS(CKF_GENERATE)),
            m(CKM_AES_GCM, 16, 32, hw | CK_FLAGS(CKF_ENCRYPT) | CK_FLAGS(CKF_DECRYPT)),
            m(CKM_AES_CBC_PAD, 16, 32, hw | CK_FLAGS(CKF_ENCRYPT) | CK_FLAGS(CKF_DECRYPT)),
            m(CKM_ECDH1_DERIVE, 256, 521, hw | CK_FLAGS(CKF_DERIVE) | ecFlags),
            m(Runtime.hkdfDerive, 1, 128, hw | CK_FLAGS(CKF_DERIVE)),
            m(CKM_AES_KEY_WRAP, 16, 32, hw | wrapUnwrap),
            m(CKM_AES_KEY_WRAP_PAD, 16, 32, hw | wrapUnwrap),
            m(Runtime.aesKeyWrapKWP, 16, 32, hw | wrapUnwrap),
            m(CKM_SHA256_HMAC, 16, 64, signVerify),
            m(CKM_SHA256_HMAC_GENERAL, 16, 64, signVerify),
            m(CKM_SHA384_HMAC, 16, 64, signVerify),
            m(CKM_SHA384_HMAC_GENERAL, 16, 64, signVerify),
            m(CKM_SHA512_HMAC, 16, 64, signVerify),
            m(CKM_SHA512_HMAC_GENERAL, 16, 64, signVerify),
            m(CKM_GENERIC_SECRET_KEY_GEN, 16, 64, hw | CK_FLAGS(CKF_GENERATE)),
        ]
    }()

    static func info(_ type: CK_MECHANISM_TYPE) -> CK_MECHANISM_INFO? {
        all.first { $0.type == type }?.info
    }

    /// The hash a digest mechanism computes.
    static func digest(_ type: CK_MECHANISM_TYPE) -> HashAlgorithm? {
        switch UInt(type) {
        case CKM_SHA256: return .sha256
        case CKM_SHA384: return .sha384
        case CKM_SHA512: return .sha512
        default: return nil
        }
    }

    /// The mechanisms a key of `algorithm` may be used with (CKA_ALLOWED_MECHANISMS).
    static func allowed(for algorithm: KeyAlgorithm) -> [CK_MECHANISM_TYPE] {
        let types: [UInt]
        switch algorithm {
        case .p256, .p384, .p521:
            types = [CKM_ECDSA, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKM_ECDH1_DERIVE]
        case .secp256k1, .brainpoolP256r1, .brainpoolP384r1:
            types = [CKM_ECDSA, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512]
        case .x25519: types = [CKM_ECDH1_DERIVE]
        case .ed25519: types = [CKM_EDDSA]
        case .rsa2048, .rsa3072, .rsa4096:
            types = [
                CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS, CKM_RSA_PKCS_PSS,
                CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS, CKM_RSA_PKCS_OAEP,
            ]
        case .mldsa65, .mldsa87: types = [CKM_ML_DSA]
        case .mlkem768, .mlkem1024: types = [CKM_ML_KEM]
        case .aes128, .aes192, .aes256: types = [CKM_AES_GCM, CKM_AES_CBC_PAD, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD, Runtime.aesKeyWrapKWP]
        case .genericSecret:
            types = [
                CKM_SHA256_HMAC, CKM_SHA256_HMAC_GENERAL, CKM_SHA384_HMAC, CKM_SHA384_HMAC_GENERAL, CKM_SHA512_HMAC, CKM_SHA512_HMAC_GENERAL,
                Runtime.hkdfDerive,
            ]
        default: types = []
        }
        return types.map { CK_MECHANISM_TYPE($0) }
    }
}

/// How a signing mechanism runs: what the module does to the data, and the scheme the HSM uses.
struct SignPlan: Sendable {
    /// What the caller's data is.
    enum Input: Sendable {
        /// The message itself, hashed by the module with this hash before the HSM signs the digest.
        case hashedHere(HashAlgorithm)
        /// A digest the caller made, of the scheme's hash length.
        case digest
        /// CKM_RSA_PKCS: a DER DigestInfo of SHA-256/384/512 is unwrapped to its digest (the HSM
        /// then knows the hash); any other bytes, up to the modulus length − 11, are signed raw.
        case digestInfo
        /// The message, signed as it is (EdDSA, ML-DSA).
        case message
    }

    var mechanism: CK_MECHANISM_TYPE
    var input: Input
    var scheme: SignatureScheme
    /// The signature's length in bytes.
    var signatureLength: Int

    /// The plan for `mechanism` with a key of `algorithm`.
    /// - Throws: CKR_MECHANISM_INVALID, CKR_KEY_TYPE_INCONSISTENT or CKR_MECHANISM_PARAM_INVALID.
    init(mechanism: CK_MECHANISM_TYPE, parameter: Data?, algorithm: KeyAlgorithm) throws(P11Error) {
        self.mechanism = mechanism
        // Made only when thrown: describing the algorithm costs more than the rest of the plan.
        var keyMismatch: P11Error {
            P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), "mechanism 0x\(String(UInt(mechanism), radix: 16)) does not fit a \(algorithm) key")
        }
        func noParameter() throws(P11Error) {
            if let parameter, !parameter.isEmpty { throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "this mechanism takes no parameter") }
        }
        switch UInt(mechanism) {
        case CKM_ECDSA, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512:
            guard algorithm.isECDSA, let field = algorithm.ecFieldBytes else { throw keyMismatch }
            try noParameter()
            signatureLength = 2 * field
            switch UInt(mechanism) {
            case CKM_ECDSA_SHA256: (input, scheme) = (.hashedHere(.sha256), .ecdsa(.sha256, encoding: .raw))
            case CKM_ECDSA_SHA384: (input, scheme) = (.hashedHere(.sha384), .ecdsa(.sha384, encoding: .raw))
            case CKM_ECDSA_SHA512: (input, scheme) = (.hashedHere(.sha512), .ecdsa(.sha512, encoding: .raw))
            default: (input, scheme) = (.digest, .ecdsa(.sha256, encoding: .raw))  // the hash follows the digest's length
            }
        case CKM_EDDSA:
            guard algorithm == .ed25519 else { throw keyMismatch }
            if let parameter, !parameter.isEmpty {
                // CK_EDDSA_PARAMS: only pure Ed25519 (no prehash, no context) is offered.
                guard parameter.count >= MemoryLayout<CK_BBOOL>.size, parameter.allSatisfy({ $0 == 0 }) else {
                    throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "only pure Ed25519 is offered: no prehash, no context")
                }
            }
            (input, scheme, signatureLength) = (.message, .ed25519, 64)
        case CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS:
            guard algorithm.isRSA else { throw keyMismatch }
            try noParameter()
            signatureLength = algorithm.bitSize / 8
            switch UInt(mechanism) {
            case CKM_SHA256_RSA_PKCS: (input, scheme) = (.hashedHere(.sha256), .rsaPKCS1v15(.sha256))
            case CKM_SHA384_RSA_PKCS: (input, scheme) = (.hashedHere(.sha384), .rsaPKCS1v15(.sha384))
            case CKM_SHA512_RSA_PKCS: (input, scheme) = (.hashedHere(.sha512), .rsaPKCS1v15(.sha512))
            default: (input, scheme) = (.digestInfo, .rsaPKCS1v15(.sha256))  // the hash follows the DigestInfo
            }
        case CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS:
            guard algorithm.isRSA else { throw keyMismatch }
            let hash = try Self.pssHash(parameter)
            signatureLength = algorithm.bitSize / 8
            scheme = .rsaPSS(hash)
            switch UInt(mechanism) {
            case CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS:
                let named: HashAlgorithm =
                    UInt(mechanism) == CKM_SHA256_RSA_PKCS_PSS ? .sha256 : (UInt(mechanism) == CKM_SHA384_RSA_PKCS_PSS ? .sha384 : .sha512)
                guard named == hash else {
                    throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "the PSS parameters' hash differs from the mechanism's")
                }
                input = .hashedHere(hash)
            default: input = .digest
            }
        case CKM_ML_DSA:
            guard algorithm == .mldsa65 || algorithm == .mldsa87 else { throw keyMismatch }
            let context = try Self.mldsaContext(parameter)
            (input, scheme) = (.message, .mldsa(context: context))
            signatureLength = algorithm == .mldsa65 ? 3309 : 4627
        default:
            throw P11Error(CK_RV(CKR_MECHANISM_INVALID), "mechanism 0x\(String(UInt(mechanism), radix: 16)) cannot sign")
        }
    }

    /// The hash a `CK_RSA_PKCS_PSS_PARAMS` names, which must also be MGF1's, with a salt of its length.
    static func pssHash(_ parameter: Data?) throws(P11Error) -> HashAlgorithm {
        guard let parameter, parameter.count == MemoryLayout<CK_RSA_PKCS_PSS_PARAMS>.size else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "RSA-PSS needs CK_RSA_PKCS_PSS_PARAMS")
        }
        let p = parameter.withUnsafeBytes { $0.loadUnaligned(as: CK_RSA_PKCS_PSS_PARAMS.self) }
        let hash: HashAlgorithm
        let mgf: UInt
        switch UInt(p.hashAlg) {
        case CKM_SHA256: (hash, mgf) = (.sha256, CKG_MGF1_SHA256)
        case CKM_SHA384: (hash, mgf) = (.sha384, CKG_MGF1_SHA384)
        case CKM_SHA512: (hash, mgf) = (.sha512, CKG_MGF1_SHA512)
        default: throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "RSA-PSS hash must be SHA-256, SHA-384 or SHA-512")
        }
        guard UInt(p.mgf) == mgf else { throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "RSA-PSS MGF1 must use the same hash") }
        guard Int(p.sLen) == hash.byteCount else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "RSA-PSS salt must be the hash's length (\(hash.byteCount))")
        }
        return hash
    }

    /// The context of a `CK_SIGN_ADDITIONAL_CONTEXT` (hedge variant, context pointer, length):
    /// at most 255 bytes; hedging is always on.
    static func mldsaContext(_ parameter: Data?) throws(P11Error) -> Data {
        guard let parameter, !parameter.isEmpty else { return Data() }
        let word = MemoryLayout<UInt>.size
        guard parameter.count == 3 * word else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "ML-DSA takes CK_SIGN_ADDITIONAL_CONTEXT")
        }
        let (pointer, length) = parameter.withUnsafeBytes {
            ($0.loadUnaligned(fromByteOffset: word, as: UInt.self), $0.loadUnaligned(fromByteOffset: 2 * word, as: UInt.self))
        }
        guard length <= 255 else { throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "ML-DSA context is at most 255 bytes") }
        guard length > 0 else { return Data() }
        guard let raw = UnsafeRawPointer(bitPattern: pointer) else { throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "ML-DSA context pointer is null") }
        return Data(bytes: raw, count: Int(length))
    }

    /// What the HSM signs for `data`, and the scheme fitted to it.
    func prepared(_ data: Data) throws(P11Error) -> (SigningInput, SignatureScheme) {
        switch input {
        case .message:
            return (.message(data), scheme)
        case .hashedHere(let hash):
            return (.digest(Hashing.digest(data, hash)), scheme)
        case .digest:
            switch scheme {
            case .ecdsa:
                guard let hash = HashAlgorithm.allCases.first(where: { $0.byteCount == data.count }) else {
                    throw P11Error(CK_RV(CKR_DATA_LEN_RANGE), "CKM_ECDSA signs a 32, 48 or 64-byte digest, got \(data.count) bytes")
                }
                return (.digest(data), .ecdsa(hash, encoding: .raw))
            default:
                guard let hash = scheme.hash, hash.byteCount == data.count else {
                    throw P11Error(CK_RV(CKR_DATA_LEN_RANGE), "the digest must be \(scheme.hash?.byteCount ?? 0) bytes, got \(data.count)")
                }
                return (.digest(data), scheme)
            }
        case .digestInfo:
            for hash in HashAlgorithm.allCases {
                let prefix = hash.digestInfoPrefix
                if data.count == prefix.count + hash.byteCount, data.starts(with: prefix) {
                    return (.digest(data.dropFirst(prefix.count)), .rsaPKCS1v15(hash))
                }
            }
            let limit = SignatureScheme.rsaPKCS1v15RawLimit(modulusByteCount: signatureLength)
            guard data.count <= limit else {
                throw P11Error(CK_RV(CKR_DATA_LEN_RANGE), "CKM_RSA_PKCS signs at most \(limit) bytes with this key, got \(data.count)")
            }
            return (.message(data), .rsaPKCS1v15Raw)
        }
    }
}
