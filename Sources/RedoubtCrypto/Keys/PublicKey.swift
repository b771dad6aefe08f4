import CSecp256k1
import Crypto
import Foundation
import SwiftASN1

/// An asymmetric public key of any supported algorithm.
///
/// Import from SubjectPublicKeyInfo (DER or PEM), a raw encoding
/// (``init(rawRepresentation:algorithm:)``) or a JWK; export in the same forms.
/// Parsing is strict: what the standards forbid is refused with
/// ``CryptoError/Code/invalidKey``. Two keys are equal when their SPKI encodings are.
public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The key's algorithm.
    public let algorithm: KeyAlgorithm
    let storage: Storage
    /// SubjectPublicKeyInfo DER (RFC 5280; RFC 5480 for EC, RFC 8410 for 25519).
    public let spkiDER: Data

    enum Storage: Sendable {
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
        case secp256k1(Secp256k1PublicKey)
        case openssl(EVPKey)
        case ed25519(Curve25519.Signing.PublicKey)
        case x25519(Curve25519.KeyAgreement.PublicKey)
        case mldsa65(MLDSA65.PublicKey)
        case mldsa87(MLDSA87.PublicKey)
        case mlkem768(MLKEM768.PublicKey)
        case mlkem1024(MLKEM1024.PublicKey)
    }

    private init(algorithm: KeyAlgorithm, storage: Storage) throws {
        self.algorithm = algorithm
        self.storage = storage
        let raw = try Self.raw(of: storage)
        switch algorithm {
        case .rsa2048, .rsa3072, .rsa4096:
            guard case .openssl(let k) = storage else { throw CryptoError.internalFailure("RSA key without libcrypto handle") }
            self.spkiDER = try k.spkiDER()
        case .ed25519: self.spkiDER = DERCodec.encodeSPKI(oid: OID.ed25519, curve: nil, key: raw)
        case .x25519: self.spkiDER = DERCodec.encodeSPKI(oid: OID.x25519, curve: nil, key: raw)
        case .mldsa65: self.spkiDER = DERCodec.encodeSPKI(oid: OID.mldsa65, curve: nil, key: raw)
        case .mldsa87: self.spkiDER = DERCodec.encodeSPKI(oid: OID.mldsa87, curve: nil, key: raw)
        case .mlkem768: self.spkiDER = DERCodec.encodeSPKI(oid: OID.mlkem768, curve: nil, key: raw)
        case .mlkem1024: self.spkiDER = DERCodec.encodeSPKI(oid: OID.mlkem1024, curve: nil, key: raw)
        default:
            guard let curve = OID.curve(algorithm) else { throw CryptoError.internalFailure("no SPKI form for \(algorithm)") }
            self.spkiDER = DERCodec.encodeSPKI(oid: OID.ecPublicKey, curve: curve, key: raw)
        }
    }

    init(derivedFrom storage: PrivateKey.Storage, algorithm: KeyAlgorithm) throws {
        let pub: Storage
        switch storage {
        case .p256(let k): pub = .p256(k.publicKey)
        case .p384(let k): pub = .p384(k.publicKey)
        case .p521(let k): pub = .p521(k.publicKey)
        case .secp256k1(let s): pub = .secp256k1(Secp256k1PublicKey(key: try Secp256k1.publicKey(of: s)))
        case .openssl(let k): pub = .openssl(k)
        case .ed25519(let k): pub = .ed25519(k.publicKey)
        case .x25519(let k): pub = .x25519(k.publicKey)
        case .mldsa65(let k): pub = .mldsa65(k.publicKey)
        case .mldsa87(let k): pub = .mldsa87(k.publicKey)
        case .mlkem768(let k): pub = .mlkem768(k.publicKey)
        case .mlkem1024(let k): pub = .mlkem1024(k.publicKey)
        }
        try self.init(algorithm: algorithm, storage: pub)
    }

    private static func raw(of storage: Storage) throws -> [UInt8] {
        switch storage {
        case .p256(let k): return Array(k.x963Representation)
        case .p384(let k): return Array(k.x963Representation)
        case .p521(let k): return Array(k.x963Representation)
        case .secp256k1(let k): return Array(Secp256k1.serialize(k.key))
        case .openssl(let k):
            if k.isRSA { return Array(try k.rsaPublicNumbers().n) }
            return Array(try k.ecPublicPoint())
        case .ed25519(let k): return Array(k.rawRepresentation)
        case .x25519(let k): return Array(k.rawRepresentation)
        case .mldsa65(let k): return Array(k.rawRepresentation)
        case .mldsa87(let k): return Array(k.rawRepresentation)
        case .mlkem768(let k): return Array(k.rawRepresentation)
        case .mlkem1024(let k): return Array(k.rawRepresentation)
        }
    }

    /// Imports a raw public key: for EC an X9.63 point (uncompressed `04‖x‖y` or
    /// compressed `02/03‖x`); for Ed25519/X25519 the 32-byte key; for ML-DSA/ML-KEM
    /// the FIPS 204/203 encoding. RSA keys have no raw form: use SPKI or JWK.
    public init(rawRepresentation raw: some DataProtocol, algorithm: KeyAlgorithm) throws {
        let bytes = Array(raw)
        func bad(_ what: String) -> CryptoError { .invalidKey("\(algorithm) public key: \(what)") }
        guard bytes.count <= 4096 else { throw bad("longer than 4096 bytes") }
        let storage: Storage
        switch algorithm {
        case .p256, .p384, .p521:
            guard let field = algorithm.ecFieldBytes, let tag = bytes.first else { throw bad("empty") }
            let uncompressed = tag == 0x04 && bytes.count == 1 + 2 * field
            let compressed = (tag == 0x02 || tag == 0x03) && bytes.count == 1 + field
            guard uncompressed || compressed else { throw bad("not an uncompressed or compressed point of this curve") }
            let notOnCurve = bad("point is not on the curve")
            switch algorithm {
            case .p256:
                storage = .p256(
                    try mapped(notOnCurve) {
                        uncompressed ? try P256.Signing.PublicKey(x963Representation: bytes) : try P256.Signing.PublicKey(compressedRepresentation: bytes)
                    })
            case .p384:
                storage = .p384(
                    try mapped(notOnCurve) {
                        uncompressed ? try P384.Signing.PublicKey(x963Representation: bytes) : try P384.Signing.PublicKey(compressedRepresentation: bytes)
                    })
            default:
                storage = .p521(
                    try mapped(notOnCurve) {
                        uncompressed ? try P521.Signing.PublicKey(x963Representation: bytes) : try P521.Signing.PublicKey(compressedRepresentation: bytes)
                    })
            }
        case .secp256k1:
            // libsecp256k1 also parses the X9.62 hybrid form (06/07 ‖ x ‖ y), which RFC 5480 does not allow.
            guard let tag = bytes.first, (tag == 0x04 && bytes.count == 65) || ((tag == 0x02 || tag == 0x03) && bytes.count == 33)
            else { throw bad("not an uncompressed or compressed point of this curve") }
            guard let key = Secp256k1.parsePublicKey(bytes) else { throw bad("not a valid point on secp256k1") }
            storage = .secp256k1(Secp256k1PublicKey(key: key))
        case .brainpoolP256r1, .brainpoolP384r1:
            guard let field = algorithm.ecFieldBytes, let tag = bytes.first,
                (tag == 0x04 && bytes.count == 1 + 2 * field) || ((tag == 0x02 || tag == 0x03) && bytes.count == 1 + field)
            else { throw bad("not an uncompressed or compressed point of this curve") }
            let group = algorithm == .brainpoolP256r1 ? "brainpoolP256r1" : "brainpoolP384r1"
            guard let key = EVPKey.ecPublicKey(group: group, point: bytes) else { throw bad("point is not on the curve") }
            storage = .openssl(key)
        case .ed25519:
            guard bytes.count == 32 else { throw bad("must be 32 bytes, got \(bytes.count)") }
            storage = .ed25519(try mapped(bad("invalid")) { try Curve25519.Signing.PublicKey(rawRepresentation: bytes) })
        case .x25519:
            guard bytes.count == 32 else { throw bad("must be 32 bytes, got \(bytes.count)") }
            storage = .x25519(try mapped(bad("invalid")) { try Curve25519.KeyAgreement.PublicKey(rawRepresentation: bytes) })
        case .mldsa65:
            storage = .mldsa65(try mapped(bad("not a valid ML-DSA-65 public key")) { try MLDSA65.PublicKey(rawRepresentation: bytes) })
        case .mldsa87:
            storage = .mldsa87(try mapped(bad("not a valid ML-DSA-87 public key")) { try MLDSA87.PublicKey(rawRepresentation: bytes) })
        case .mlkem768:
            storage = .mlkem768(try mapped(bad("not a valid ML-KEM-768 public key")) { try MLKEM768.PublicKey(rawRepresentation: bytes) })
        case .mlkem1024:
            storage = .mlkem1024(try mapped(bad("not a valid ML-KEM-1024 public key")) { try MLKEM1024.PublicKey(rawRepresentation: bytes) })
        case .rsa2048, .rsa3072, .rsa4096:
            throw CryptoError.unsupported("RSA public keys have no raw form: use SPKI or JWK")
        case .aes128, .aes192, .aes256, .genericSecret:
            throw CryptoError.unsupported("\(algorithm) is a secret-key algorithm and has no public key")
        }
        try self.init(algorithm: algorithm, storage: storage)
    }

    /// An RSA public key from modulus and exponent (big-endian).
    public init(rsaModulus n: some DataProtocol, exponent e: some DataProtocol) throws {
        let nb = Array(n).drop(while: { $0 == 0 })
        let eb = Array(e).drop(while: { $0 == 0 })
        let algorithm: KeyAlgorithm
        switch nb.count * 8 {
        case 2048: algorithm = .rsa2048
        case 3072: algorithm = .rsa3072
        case 4096: algorithm = .rsa4096
        default: throw CryptoError.invalidKey("RSA modulus must be 2048, 3072 or 4096 bits")
        }
        guard nb.first.map({ $0 & 0x80 != 0 }) == true, nb.last.map({ $0 & 1 == 1 }) == true else {
            throw CryptoError.invalidKey("RSA modulus must be odd and of full length")
        }
        guard let ev = eb.last, ev & 1 == 1, eb.count <= 8, !(eb.count == 1 && eb[eb.startIndex] < 3) else {
            throw CryptoError.invalidKey("RSA public exponent must be odd, at least 3, and at most 64 bits")
        }
        guard let key = EVPKey.rsaPublicKey(n: nb, e: eb) else { throw CryptoError.invalidKey("invalid RSA public key") }
        try self.init(algorithm: algorithm, storage: .openssl(key))
    }

    /// Imports a SubjectPublicKeyInfo (DER). EC keys must name their curve
    /// (explicit parameters are refused); Ed25519/X25519/ML-* keys must have no parameters;
    /// RSA keys must have NULL parameters.
    public init(spkiDER der: some DataProtocol) throws {
        let bytes = Array(der)
        guard bytes.count <= 16 * 1024 else { throw CryptoError.invalidKey("SPKI larger than 16 KiB") }
        let parsed: (AlgorithmIdentifier, [UInt8])
        do { parsed = try DERCodec.parseSPKI(bytes) } catch {
            throw CryptoError.invalidKey("not a DER SubjectPublicKeyInfo")
        }
        let (alg, key) = parsed
        switch alg.oid {
        case OID.ecPublicKey:
            guard let curve = alg.namedCurve else { throw CryptoError.invalidKey("EC public key must use a named curve") }
            guard let algorithm = OID.algorithm(forCurve: curve) else {
                throw CryptoError.invalidKey("EC public key on an unsupported curve (\(curve))")
            }
            try self.init(rawRepresentation: key, algorithm: algorithm)
        case OID.rsaEncryption:
            guard alg.parametersAreNull else { throw CryptoError.invalidKey("RSA public key parameters must be NULL") }
            guard let evp = EVPKey.publicKey(spki: bytes), let numbers = try? evp.rsaPublicNumbers() else {
                throw CryptoError.invalidKey("malformed RSA public key")
            }
            try self.init(rsaModulus: numbers.n, exponent: numbers.e)
            // libcrypto reads the RSAPublicKey inside the BIT STRING leniently (BER lengths, padded
            // integers): DER is unique, so only input that is its own re-encoding is DER.
            guard spkiDER.elementsEqual(bytes) else { throw CryptoError.invalidKey("RSA public key is not DER-encoded") }
        case OID.ed25519, OID.x25519, OID.mldsa65, OID.mldsa87, OID.mlkem768, OID.mlkem1024:
            guard alg.parameters == nil else { throw CryptoError.invalidKey("\(alg.oid) public key parameters must be absent") }
            let algorithm: KeyAlgorithm
            switch alg.oid {
            case OID.ed25519: algorithm = .ed25519
            case OID.x25519: algorithm = .x25519
            case OID.mldsa65: algorithm = .mldsa65
            case OID.mldsa87: algorithm = .mldsa87
            case OID.mlkem768: algorithm = .mlkem768
            default: algorithm = .mlkem1024
            }
            try self.init(rawRepresentation: key, algorithm: algorithm)
        default:
            throw CryptoError.invalidKey("public key of an unsupported algorithm (\(alg.oid))")
        }
    }

    /// Imports a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    public init(pem: String) throws {
        try self.init(spkiDER: try PEM.decode(pem, label: "PUBLIC KEY"))
    }

    /// The raw encoding: an uncompressed X9.63 point for EC, 32 bytes for
    /// Ed25519/X25519, the FIPS encoding for ML-DSA/ML-KEM, the modulus for RSA.
    public var rawRepresentation: Data {
        Data((try? Self.raw(of: storage)) ?? [])
    }

    /// PEM `PUBLIC KEY`.
    public var pem: String { PEM.encode(spkiDER, label: "PUBLIC KEY") }

    /// `PublicKey(<algorithm>)`.
    public var description: String { "PublicKey(\(algorithm))" }

    /// Equal when the algorithm and SPKI encodings are equal.
    public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool {
        lhs.algorithm == rhs.algorithm && lhs.spkiDER == rhs.spkiDER
    }

    /// Hashes the algorithm and SPKI encoding.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(algorithm)
        hasher.combine(spkiDER)
    }
}

/// A parsed libsecp256k1 public key.
struct Secp256k1PublicKey: @unchecked Sendable {
    var key: secp256k1_pubkey
}
