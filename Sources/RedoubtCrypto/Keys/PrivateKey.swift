import Crypto
import Foundation
import SwiftASN1

/// An asymmetric private key of any supported algorithm.
///
/// A `PrivateKey` is the storage form: generate it, import it from PKCS#8,
/// serialise it with ``pkcs8Representation()`` for sealing. To use it, take
/// the view for the purpose: ``SigningKey``, ``AgreementKey``,
/// ``DecryptionKey`` or ``DecapsulationKey`` — each refuses an algorithm that
/// cannot serve that purpose. The key never prints its bytes.
///
/// ```swift
/// let key = try PrivateKey.generate(.p256)
/// let signature = try SigningKey(key).signature(for: .message(data), scheme: .ecdsa(.sha256))
/// let ok = try VerifyingKey(key.publicKey).isValidSignature(signature, for: .message(data), scheme: .ecdsa(.sha256))
/// ```
public struct PrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The key's algorithm.
    public let algorithm: KeyAlgorithm
    let storage: Storage
    /// The public half.
    public let publicKey: PublicKey

    enum Storage: Sendable {
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case p521(P521.Signing.PrivateKey)
        case secp256k1(SecretBytes)
        case openssl(EVPKey)
        case ed25519(Curve25519.Signing.PrivateKey)
        case x25519(Curve25519.KeyAgreement.PrivateKey)
        case mldsa65(MLDSA65.PrivateKey)
        case mldsa87(MLDSA87.PrivateKey)
        case mlkem768(MLKEM768.PrivateKey)
        case mlkem1024(MLKEM1024.PrivateKey)
    }

    private init(algorithm: KeyAlgorithm, storage: Storage) throws {
        self.algorithm = algorithm
        self.storage = storage
        self.publicKey = try PublicKey(derivedFrom: storage, algorithm: algorithm)
    }

    /// Generates a fresh key.
    public static func generate(_ algorithm: KeyAlgorithm) throws -> PrivateKey {
        let storage: Storage
        switch algorithm {
        case .p256: storage = .p256(P256.Signing.PrivateKey())
        case .p384: storage = .p384(P384.Signing.PrivateKey())
        case .p521: storage = .p521(P521.Signing.PrivateKey())
        case .secp256k1: storage = .secp256k1(try Secp256k1.generateScalar())
        case .brainpoolP256r1: storage = .openssl(try EVPKey.generateEC(group: "brainpoolP256r1"))
        case .brainpoolP384r1: storage = .openssl(try EVPKey.generateEC(group: "brainpoolP384r1"))
        case .ed25519: storage = .ed25519(Curve25519.Signing.PrivateKey())
        case .x25519: storage = .x25519(Curve25519.KeyAgreement.PrivateKey())
        case .rsa2048, .rsa3072, .rsa4096: storage = .openssl(try EVPKey.generateRSA(bits: algorithm.bitSize))
        case .mldsa65: storage = .mldsa65(try wrapped { try MLDSA65.PrivateKey() })
        case .mldsa87: storage = .mldsa87(try wrapped { try MLDSA87.PrivateKey() })
        case .mlkem768: storage = .mlkem768(try wrapped { try MLKEM768.PrivateKey() })
        case .mlkem1024: storage = .mlkem1024(try wrapped { try MLKEM1024.PrivateKey() })
        case .aes128, .aes192, .aes256, .genericSecret:
            throw CryptoError.unsupported("\(algorithm) is a secret-key algorithm: use SecretKey.generate")
        }
        return try PrivateKey(algorithm: algorithm, storage: storage)
    }

    /// Imports the raw private value: an EC scalar (big-endian, field width), an
    /// Ed25519/X25519 32-byte seed, or an ML-DSA (32-byte) / ML-KEM (64-byte) seed.
    /// RSA keys have no raw form: use ``init(pkcs8DER:)``.
    public init(rawRepresentation raw: some DataProtocol, algorithm: KeyAlgorithm) throws {
        let bytes = Array(raw)
        func bad(_ what: String) -> CryptoError { .invalidKey("\(algorithm) raw private key: \(what)") }
        let storage: Storage
        switch algorithm {
        case .p256:
            guard bytes.count == 32 else { throw bad("must be 32 bytes, got \(bytes.count)") }
            storage = .p256(try mapped(bad("scalar out of range")) { try P256.Signing.PrivateKey(rawRepresentation: bytes) })
        case .p384:
            guard bytes.count == 48 else { throw bad("must be 48 bytes, got \(bytes.count)") }
            storage = .p384(try mapped(bad("scalar out of range")) { try P384.Signing.PrivateKey(rawRepresentation: bytes) })
        case .p521:
            guard bytes.count == 66 else { throw bad("must be 66 bytes, got \(bytes.count)") }
            storage = .p521(try mapped(bad("scalar out of range")) { try P521.Signing.PrivateKey(rawRepresentation: bytes) })
        case .secp256k1:
            guard bytes.count == 32 else { throw bad("must be 32 bytes, got \(bytes.count)") }
            guard bytes.withUnsafeBytes(Secp256k1.isValidScalar) else { throw bad("scalar out of range") }
            storage = .secp256k1(SecretBytes(bytes))
        case .brainpoolP256r1, .brainpoolP384r1:
            guard let field = algorithm.ecFieldBytes, bytes.count == field else {
                throw bad("must be \(algorithm.ecFieldBytes ?? 0) bytes, got \(bytes.count)")
            }
            guard let curve = OID.curve(algorithm) else { throw bad("unknown curve") }
            // libcrypto imports a zero or out-of-range scalar without complaint: check 0 < d < n here.
            let order = algorithm == .brainpoolP256r1 ? Self.brainpoolP256r1Order : Self.brainpoolP384r1Order
            guard Self.isScalarInRange(bytes, order: order) else { throw bad("scalar out of range") }
            let sec1 = DERCodec.encodeECPrivateKey(scalar: bytes, publicKey: nil)
            let der = DERCodec.encodePKCS8(oid: OID.ecPublicKey, curve: curve, privateKey: sec1)
            guard let key = EVPKey.privateKey(pkcs8: der) else { throw bad("scalar out of range") }
            storage = .openssl(key)
        case .ed25519:
            guard bytes.count == 32 else { throw bad("must be 32 bytes, got \(bytes.count)") }
            storage = .ed25519(try mapped(bad("invalid")) { try Curve25519.Signing.PrivateKey(rawRepresentation: bytes) })
        case .x25519:
            guard bytes.count == 32 else { throw bad("must be 32 bytes, got \(bytes.count)") }
            storage = .x25519(try mapped(bad("invalid")) { try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: bytes) })
        case .mldsa65:
            guard bytes.count == 32 else { throw bad("seed must be 32 bytes, got \(bytes.count)") }
            storage = .mldsa65(try mapped(bad("invalid seed")) { try MLDSA65.PrivateKey(seedRepresentation: bytes, publicKey: nil) })
        case .mldsa87:
            guard bytes.count == 32 else { throw bad("seed must be 32 bytes, got \(bytes.count)") }
            storage = .mldsa87(try mapped(bad("invalid seed")) { try MLDSA87.PrivateKey(seedRepresentation: bytes, publicKey: nil) })
        case .mlkem768:
            guard bytes.count == 64 else { throw bad("seed must be 64 bytes, got \(bytes.count)") }
            storage = .mlkem768(try mapped(bad("invalid seed")) { try MLKEM768.PrivateKey(seedRepresentation: bytes, publicKey: nil) })
        case .mlkem1024:
            guard bytes.count == 64 else { throw bad("seed must be 64 bytes, got \(bytes.count)") }
            storage = .mlkem1024(try mapped(bad("invalid seed")) { try MLKEM1024.PrivateKey(seedRepresentation: bytes, publicKey: nil) })
        case .rsa2048, .rsa3072, .rsa4096:
            throw CryptoError.unsupported("RSA private keys have no raw form: import PKCS#8")
        case .aes128, .aes192, .aes256, .genericSecret:
            throw CryptoError.unsupported("\(algorithm) is a secret-key algorithm: use SecretKey")
        }
        try self.init(algorithm: algorithm, storage: storage)
    }

    /// The group orders of the Brainpool curves (RFC 5639), big-endian.
    private static let brainpoolP256r1Order: [UInt8] = [
        0xa9, 0xfb, 0x57, 0xdb, 0xa1, 0xee, 0xa9, 0xbc, 0x3e, 0x66, 0x0a, 0x90, 0x9d, 0x83, 0x8d, 0x71,
        0x8c, 0x39, 0x7a, 0xa3, 0xb5, 0x61, 0xa6, 0xf7, 0x90, 0x1e, 0x0e, 0x82, 0x97, 0x48, 0x56, 0xa7,
    ]
    private static let brainpoolP384r1Order: [UInt8] = [
        0x8c, 0xb9, 0x1e, 0x82, 0xa3, 0x38, 0x6d, 0x28, 0x0f, 0x5d, 0x6f, 0x7e, 0x50, 0xe6, 0x41, 0xdf,
        0x15, 0x2f, 0x71, 0x09, 0xed, 0x54, 0x56, 0xb3, 0x1f, 0x16, 0x6e, 0x6c, 0xac, 0x04, 0x25, 0xa7,
        0xcf, 0x3a, 0xb6, 0xaf, 0x6b, 0x7f, 0xc3, 0x10, 0x3b, 0x88, 0x32, 0x02, 0xe9, 0x04, 0x65, 0x65,
    ]

    /// Whether a big-endian scalar lies in [1, order − 1], in time independent of its value.
    static func isScalarInRange(_ scalar: [UInt8], order: [UInt8]) -> Bool {
        guard scalar.count == order.count else { return false }
        var borrow = 0
        var nonZero: UInt8 = 0
        for i in stride(from: scalar.count - 1, through: 0, by: -1) {
            let difference = Int(scalar[i]) - Int(order[i]) - borrow
            borrow = (difference >> 8) & 1  // 1 when the byte difference went negative
            nonZero |= scalar[i]
        }
        return borrow == 1 && nonZero != 0  // scalar − order borrowed out: scalar < order
    }

    /// Imports a PKCS#8 `PrivateKeyInfo`/`OneAsymmetricKey` (DER). The algorithm
    /// comes from the structure; a public key carried inside must match.
    public init(pkcs8DER der: some DataProtocol) throws {
        let bytes = Array(der)
        guard bytes.count <= 16 * 1024 else { throw CryptoError.invalidKey("PKCS#8 key larger than 16 KiB") }
        let parsed: (AlgorithmIdentifier, [UInt8], [UInt8]?)
        do { parsed = try DERCodec.parsePKCS8(bytes) } catch {
            throw CryptoError.invalidKey("not a DER PKCS#8 private key")
        }
        let (alg, inner, embeddedPublic) = parsed
        let key: PrivateKey
        switch alg.oid {
        case OID.ecPublicKey:
            guard let curveOID = alg.namedCurve, let algorithm = OID.algorithm(forCurve: curveOID) else {
                throw CryptoError.invalidKey("EC PKCS#8 key on an unsupported or unnamed curve")
            }
            let sec1: (scalar: [UInt8], curve: ASN1ObjectIdentifier?, publicKey: [UInt8]?)
            do { sec1 = try DERCodec.parseECPrivateKey(inner) } catch {
                throw CryptoError.invalidKey("EC PKCS#8 key: malformed ECPrivateKey")
            }
            if let c = sec1.curve, c != curveOID { throw CryptoError.invalidKey("EC PKCS#8 key: curve mismatch") }
            key = try PrivateKey(rawRepresentation: sec1.scalar, algorithm: algorithm)
            if let pub = sec1.publicKey ?? embeddedPublic {
                guard let claimed = try? PublicKey(rawRepresentation: pub, algorithm: algorithm), claimed == key.publicKey else {
                    throw CryptoError.invalidKey("EC PKCS#8 key: public key does not match the private key")
                }
            }
            self = key
            return
        case OID.rsaEncryption:
            guard alg.parameters == nil || alg.parametersAreNull else {
                throw CryptoError.invalidKey("RSA PKCS#8 key: parameters must be NULL")
            }
            guard let evp = EVPKey.privateKey(pkcs8: bytes) else { throw CryptoError.invalidKey("malformed RSA PKCS#8 key") }
            let algorithm: KeyAlgorithm
            switch evp.bits {
            case 2048: algorithm = .rsa2048
            case 3072: algorithm = .rsa3072
            case 4096: algorithm = .rsa4096
            default: throw CryptoError.invalidKey("RSA modulus must be 2048, 3072 or 4096 bits, got \(evp.bits)")
            }
            guard evp.rsaPairIsConsistent() else {
                throw CryptoError.invalidKey("RSA PKCS#8 key: its private and public parts do not match")
            }
            self = try PrivateKey(algorithm: algorithm, storage: .openssl(evp))
            return
        case OID.ed25519, OID.x25519:
            guard alg.parameters == nil else { throw CryptoError.invalidKey("\(alg.oid) PKCS#8 key: parameters must be absent") }
            guard let seed = try? DERCodec.parseOctetString(inner) else {
                throw CryptoError.invalidKey("\(alg.oid == OID.ed25519 ? "Ed25519" : "X25519") PKCS#8 key: malformed")
            }
            key = try PrivateKey(rawRepresentation: seed, algorithm: alg.oid == OID.ed25519 ? .ed25519 : .x25519)
        case OID.mldsa65, OID.mldsa87, OID.mlkem768, OID.mlkem1024:
            guard alg.parameters == nil else { throw CryptoError.invalidKey("post-quantum PKCS#8 key: parameters must be absent") }
            let algorithm: KeyAlgorithm =
                alg.oid == OID.mldsa65
                ? .mldsa65
                : alg.oid == OID.mldsa87
                    ? .mldsa87
                    : alg.oid == OID.mlkem768 ? .mlkem768 : .mlkem1024
            guard let seed = try? DERCodec.parseSeed(inner) else {
                throw CryptoError.invalidKey("\(algorithm) PKCS#8 key: only the seed and seed+expanded forms are supported")
            }
            key = try PrivateKey(rawRepresentation: seed, algorithm: algorithm)
        default:
            throw CryptoError.invalidKey("PKCS#8 key of an unsupported algorithm (\(alg.oid))")
        }
        if let embeddedPublic {
            guard let claimed = try? PublicKey(rawRepresentation: embeddedPublic, algorithm: key.algorithm), claimed == key.publicKey else {
                throw CryptoError.invalidKey("PKCS#8 key: public key does not match the private key")
            }
        }
        self = key
    }

    /// Imports a PEM `PRIVATE KEY` (PKCS#8).
    public init(pkcs8PEM pem: String) throws {
        try self.init(pkcs8DER: try PEM.decode(pem, label: "PRIVATE KEY"))
    }

    /// The key as PKCS#8 DER, in secret storage. For sealing and wrapped export.
    public func pkcs8Representation() throws -> SecretBytes {
        func ec(_ scalar: [UInt8]) throws -> SecretBytes {
            guard let curve = OID.curve(algorithm) else { throw CryptoError.internalFailure("no curve OID for \(algorithm)") }
            var sec1 = DERCodec.encodeECPrivateKey(scalar: scalar, publicKey: Array(publicKey.rawRepresentation))
            defer { sec1.withUnsafeMutableBytes { memset_s_portable($0) } }
            var der = DERCodec.encodePKCS8(oid: OID.ecPublicKey, curve: curve, privateKey: sec1)
            defer { der.withUnsafeMutableBytes { memset_s_portable($0) } }
            return SecretBytes(der)
        }
        func wrap(_ oid: ASN1ObjectIdentifier, _ inner: [UInt8]) -> SecretBytes {
            var der = DERCodec.encodePKCS8(oid: oid, curve: nil, privateKey: inner)
            defer { der.withUnsafeMutableBytes { memset_s_portable($0) } }
            return SecretBytes(der)
        }
        switch storage {
        case .p256(let k): return try ec(Array(k.rawRepresentation))
        case .p384(let k): return try ec(Array(k.rawRepresentation))
        case .p521(let k): return try ec(Array(k.rawRepresentation))
        case .secp256k1(let s): return try ec(Array(s.exportedBytes()))
        case .openssl(let k):
            if algorithm.isRSA { return try k.pkcs8DER() }
            let scalar = try k.ecPrivateScalar(byteCount: algorithm.ecFieldBytes ?? 0)
            return try ec(Array(scalar.exportedBytes()))
        case .ed25519(let k): return wrap(OID.ed25519, DERCodec.encodeOctetString(Array(k.rawRepresentation)))
        case .x25519(let k): return wrap(OID.x25519, DERCodec.encodeOctetString(Array(k.rawRepresentation)))
        case .mldsa65(let k): return wrap(OID.mldsa65, DERCodec.encodeSeed(Array(k.seedRepresentation)))
        case .mldsa87(let k): return wrap(OID.mldsa87, DERCodec.encodeSeed(Array(k.seedRepresentation)))
        case .mlkem768(let k): return wrap(OID.mlkem768, DERCodec.encodeSeed(Array(k.seedRepresentation)))
        case .mlkem1024(let k): return wrap(OID.mlkem1024, DERCodec.encodeSeed(Array(k.seedRepresentation)))
        }
    }

    /// `PrivateKey(<algorithm>, <redacted>)`.
    public var description: String { "PrivateKey(\(algorithm), <redacted>)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
}

/// Runs a swift-crypto call, turning its error into a typed engine error.
func mapped<T>(_ failure: @autoclosure () -> CryptoError, _ body: () throws -> T) throws -> T {
    do { return try body() } catch { throw failure() }
}

/// Runs a swift-crypto call whose failure cannot come from input.
func wrapped<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch { throw CryptoError.internalFailure("swift-crypto: \(type(of: error))") }
}
