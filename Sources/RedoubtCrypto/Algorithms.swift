import Foundation

/// Every key algorithm the engine supports.
///
/// The raw values are stable identifiers used in stored objects and on the wire.
public enum KeyAlgorithm: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// AES with a 128-bit key.
    case aes128 = "AES-128"
    /// AES with a 192-bit key.
    case aes192 = "AES-192"
    /// AES with a 256-bit key.
    case aes256 = "AES-256"
    /// A generic secret (16–128 bytes), used for HMAC and ChaCha20-Poly1305 (32 bytes).
    case genericSecret = "GENERIC-SECRET"
    /// ECDSA/ECDH on NIST P-256.
    case p256 = "EC-P256"
    /// ECDSA/ECDH on NIST P-384.
    case p384 = "EC-P384"
    /// ECDSA/ECDH on NIST P-521.
    case p521 = "EC-P521"
    /// ECDSA on secp256k1 (libsecp256k1).
    case secp256k1 = "EC-SECP256K1"
    /// ECDSA on brainpoolP256r1 (libcrypto).
    case brainpoolP256r1 = "EC-BRAINPOOLP256R1"
    /// ECDSA on brainpoolP384r1 (libcrypto).
    case brainpoolP384r1 = "EC-BRAINPOOLP384R1"
    /// EdDSA on edwards25519.
    case ed25519 = "ED25519"
    /// ECDH on curve25519.
    case x25519 = "X25519"
    /// RSA with a 2048-bit modulus.
    case rsa2048 = "RSA-2048"
    /// RSA with a 3072-bit modulus.
    case rsa3072 = "RSA-3072"
    /// RSA with a 4096-bit modulus.
    case rsa4096 = "RSA-4096"
    /// ML-DSA-65 (FIPS 204).
    case mldsa65 = "ML-DSA-65"
    /// ML-DSA-87 (FIPS 204).
    case mldsa87 = "ML-DSA-87"
    /// ML-KEM-768 (FIPS 203).
    case mlkem768 = "ML-KEM-768"
    /// ML-KEM-1024 (FIPS 203).
    case mlkem1024 = "ML-KEM-1024"

    /// The stable identifier.
    public var description: String { rawValue }

    /// Whether keys of this algorithm are secret (symmetric) keys.
    public var isSymmetric: Bool {
        switch self {
        case .aes128, .aes192, .aes256, .genericSecret: return true
        default: return false
        }
    }

    /// Whether this is an elliptic-curve ECDSA algorithm (any curve).
    public var isECDSA: Bool {
        switch self {
        case .p256, .p384, .p521, .secp256k1, .brainpoolP256r1, .brainpoolP384r1: return true
        default: return false
        }
    }

    /// Whether this is an RSA algorithm.
    public var isRSA: Bool {
        switch self {
        case .rsa2048, .rsa3072, .rsa4096: return true
        default: return false
        }
    }

    /// What keys of this algorithm can do at all (a key object may allow less).
    public var capabilities: KeyUsage {
        switch self {
        case .aes128, .aes192, .aes256: return [.encrypt, .decrypt, .wrap, .unwrap]
        case .genericSecret: return [.mac, .encrypt, .decrypt, .derive]
        case .p256, .p384, .p521: return [.sign, .verify, .derive]
        case .secp256k1, .brainpoolP256r1, .brainpoolP384r1, .ed25519, .mldsa65, .mldsa87: return [.sign, .verify]
        case .x25519: return [.derive]
        case .rsa2048, .rsa3072, .rsa4096: return [.sign, .verify, .encrypt, .decrypt, .wrap, .unwrap]
        case .mlkem768, .mlkem1024: return [.encapsulate, .decapsulate]
        }
    }

    /// The key size in bits (the modulus or field size; for a generic secret, 0: its length varies).
    public var bitSize: Int {
        switch self {
        case .aes128: return 128
        case .aes192: return 192
        case .aes256: return 256
        case .genericSecret: return 0
        case .p256, .secp256k1, .brainpoolP256r1, .ed25519, .x25519: return 256
        case .p384, .brainpoolP384r1: return 384
        case .p521: return 521
        case .rsa2048: return 2048
        case .rsa3072: return 3072
        case .rsa4096: return 4096
        case .mldsa65, .mlkem768: return 192
        case .mldsa87, .mlkem1024: return 256
        }
    }

    /// For ECDSA curves: the byte length of one coordinate and of one scalar.
    public var ecFieldBytes: Int? {
        switch self {
        case .p256, .secp256k1, .brainpoolP256r1: return 32
        case .p384, .brainpoolP384r1: return 48
        case .p521: return 66
        default: return nil
        }
    }
}

/// What a key may be used for (PKCS#11 CKA_SIGN, CKA_DECRYPT… as one option set).
public struct KeyUsage: OptionSet, Sendable, Hashable, Codable {
    /// The bits.
    public let rawValue: UInt16
    /// Creates a usage set from its bits.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Create signatures.
    public static let sign = KeyUsage(rawValue: 1 << 0)
    /// Verify signatures.
    public static let verify = KeyUsage(rawValue: 1 << 1)
    /// Encrypt data.
    public static let encrypt = KeyUsage(rawValue: 1 << 2)
    /// Decrypt data.
    public static let decrypt = KeyUsage(rawValue: 1 << 3)
    /// Wrap (encrypt) other keys.
    public static let wrap = KeyUsage(rawValue: 1 << 4)
    /// Unwrap (decrypt) other keys.
    public static let unwrap = KeyUsage(rawValue: 1 << 5)
    /// Derive keys (ECDH, HKDF).
    public static let derive = KeyUsage(rawValue: 1 << 6)
    /// Compute and verify MACs.
    public static let mac = KeyUsage(rawValue: 1 << 7)
    /// Encapsulate a shared secret (KEM public operation).
    public static let encapsulate = KeyUsage(rawValue: 1 << 8)
    /// Decapsulate a shared secret (KEM private operation).
    public static let decapsulate = KeyUsage(rawValue: 1 << 9)
}

/// A hash function of the SHA-2 family.
public enum HashAlgorithm: String, Sendable, Hashable, Codable, CaseIterable {
    /// SHA-256.
    case sha256 = "SHA-256"
    /// SHA-384.
    case sha384 = "SHA-384"
    /// SHA-512.
    case sha512 = "SHA-512"

    /// The digest length in bytes.
    public var byteCount: Int {
        switch self {
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }

    /// The DER header of a `DigestInfo` naming this hash (RFC 8017 §9.2, note 1): followed by the
    /// digest, it is what RSASSA-PKCS1-v1_5 pads and signs.
    public var digestInfoPrefix: Data {
        switch self {
        case .sha256: return Data([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20])
        case .sha384: return Data([0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30])
        case .sha512: return Data([0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40])
        }
    }
}

/// How an ECDSA signature is encoded.
public enum ECDSASignatureEncoding: String, Sendable, Hashable, Codable {
    /// ASN.1 DER `SEQUENCE { r INTEGER, s INTEGER }` (X9.62, RFC 3279).
    case der = "DER"
    /// Fixed-width big-endian `r ‖ s` (IEEE P1363, JOSE, PKCS#11 CKM_ECDSA).
    case raw = "RAW"
}

/// How strictly an ECDSA signature's `s` value is checked.
public enum LowSPolicy: String, Sendable, Hashable, Codable {
    /// Verify accepts any `s` in [1, n-1], as X9.62/FIPS 186 allow. secp256k1 still signs low-S.
    case standard = "STANDARD"
    /// Verify rejects `s > n/2` (Bitcoin's BIP 62/146 rule). secp256k1 only.
    case strict = "STRICT"
}

/// A signature scheme: the algorithm family plus its parameters.
public enum SignatureScheme: Sendable, Hashable {
    /// ECDSA with a hash, an encoding and a low-S policy.
    case ecdsa(HashAlgorithm, encoding: ECDSASignatureEncoding = .der, lowS: LowSPolicy = .standard)
    /// Pure Ed25519 (RFC 8032); signs messages only.
    case ed25519
    /// RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash.
    case rsaPSS(HashAlgorithm)
    /// RSASSA-PKCS1-v1_5.
    case rsaPKCS1v15(HashAlgorithm)
    /// RSASSA-PKCS1-v1_5 padding over bytes the caller encoded, as PKCS #11's `CKM_RSA_PKCS`:
    /// the input (a ``SigningInput/message(_:)``) is normally a DER `DigestInfo` of any hash,
    /// at most the modulus length − 11 bytes. The engine cannot know what was hashed; prefer
    /// ``rsaPKCS1v15(_:)`` where the caller can name the hash.
    case rsaPKCS1v15Raw
    /// Pure ML-DSA (FIPS 204) with an optional context string (at most 255 bytes); signs messages only.
    case mldsa(context: Data = Data())

    /// The most bytes ``rsaPKCS1v15Raw`` signs with a modulus of `modulusByteCount` bytes:
    /// EMSA-PKCS1-v1_5 takes 11 of the block (00 01, at least 8 bytes of FF, 00).
    public static func rsaPKCS1v15RawLimit(modulusByteCount: Int) -> Int { modulusByteCount - 11 }

    /// The hash the scheme applies to a message, if any.
    public var hash: HashAlgorithm? {
        switch self {
        case .ecdsa(let h, _, _), .rsaPSS(let h), .rsaPKCS1v15(let h): return h
        case .ed25519, .mldsa, .rsaPKCS1v15Raw: return nil
        }
    }
}

/// What is signed: the message itself, or its digest computed by the caller.
public enum SigningInput: Sendable, Hashable {
    /// The message; the scheme's hash is applied inside the engine.
    case message(Data)
    /// A digest of the scheme's hash, computed by the caller (ECDSA and RSA only).
    case digest(Data)
}

/// A symmetric encryption scheme.
public enum CipherScheme: String, Sendable, Hashable, Codable, CaseIterable {
    /// AES-GCM with a 96-bit random nonce and a 128-bit tag; output `nonce ‖ ciphertext ‖ tag`.
    case aesGCM = "AES-GCM"
    /// ChaCha20-Poly1305 (RFC 8439) with a 32-byte generic secret; output `nonce ‖ ciphertext ‖ tag`.
    case chaCha20Poly1305 = "CHACHA20-POLY1305"
    /// AES-CBC with PKCS#7 padding and a random IV; output `iv ‖ ciphertext`. Not authenticated.
    case aesCBCPKCS7 = "AES-CBC-PKCS7"
}

/// A key-wrapping scheme.
public enum WrapScheme: String, Sendable, Hashable, Codable, CaseIterable {
    /// AES Key Wrap (RFC 3394); the wrapped bytes must be a multiple of 8, at least 16.
    case aesKW = "AES-KW"
    /// AES Key Wrap with Padding (RFC 5649); any length from 1 byte.
    case aesKWP = "AES-KWP"
    /// AES-GCM; output `nonce ‖ ciphertext ‖ tag`.
    case aesGCM = "AES-GCM"
    /// RSA-OAEP with SHA-256 and MGF1-SHA-256 under an RSA public key.
    case rsaOAEP = "RSA-OAEP-SHA256"
}

/// A key-derivation function applied to a shared secret.
public struct KeyDerivation: Sendable, Hashable {
    /// The HKDF hash.
    public var hash: HashAlgorithm
    /// HKDF salt (may be empty).
    public var salt: Data
    /// HKDF info (may be empty).
    public var info: Data
    /// How many bytes to derive (1 to 255 × the hash length); for ``identity(outputByteCount:)``,
    /// the shared secret's length, or 0 for "whatever it is".
    public var outputByteCount: Int
    /// Whether the output is the shared secret itself (PKCS #11's `CKD_NULL`); hash, salt and info
    /// are then unused.
    public var isIdentity = false

    /// HKDF (RFC 5869) with the given parameters.
    public static func hkdf(_ hash: HashAlgorithm, salt: Data = Data(), info: Data = Data(), outputByteCount: Int) -> KeyDerivation {
        KeyDerivation(hash: hash, salt: salt, info: info, outputByteCount: outputByteCount)
    }

    /// No KDF: the ECDH shared secret itself (PKCS #11's `CKD_NULL`), which must be
    /// `outputByteCount` bytes long (0: any length). Prefer HKDF: a raw shared secret is not
    /// uniformly random. Only for key agreement; a secret key has nothing to agree.
    public static func identity(outputByteCount: Int = 0) -> KeyDerivation {
        KeyDerivation(hash: .sha256, salt: Data(), info: Data(), outputByteCount: outputByteCount, isIdentity: true)
    }
}
