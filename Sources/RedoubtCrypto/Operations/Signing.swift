import Crypto
import Foundation

/// A private key in its signing role.
///
/// Created from a ``PrivateKey`` whose algorithm can sign (ECDSA curves,
/// Ed25519, RSA, ML-DSA); every other algorithm is refused at construction.
public struct SigningKey: Sendable, CustomStringConvertible {
    /// The underlying private key.
    public let privateKey: PrivateKey

    /// Takes the signing view of `key`.
    public init(_ key: PrivateKey) throws {
        guard key.algorithm.capabilities.contains(.sign) else {
            throw CryptoError.unsupported("\(key.algorithm) keys cannot sign")
        }
        self.privateKey = key
    }

    /// The matching verification key.
    public var verifyingKey: VerifyingKey { VerifyingKey(unchecked: privateKey.publicKey) }

    /// Signs `input` under `scheme`.
    ///
    /// - Throws: ``CryptoError/Code/unsupportedOperation`` when the scheme does not
    ///   fit the key (e.g. RSA-PSS with an EC key, a digest for Ed25519);
    ///   ``CryptoError/Code/invalidInput`` for a digest of the wrong length or an
    ///   over-long ML-DSA context.
    public func signature(for input: SigningInput, scheme: SignatureScheme) throws -> Data {
        let algorithm = privateKey.algorithm
        try SignatureRules.check(scheme, for: algorithm, input: input)
        switch (privateKey.storage, scheme) {
        case (.p256(let k), .ecdsa(let h, let enc, _)):
            let digest = try input.digest(h)  // outside `wrapped`: a bad digest length is invalid input
            let sig = try wrapped { try k.signature(for: PrehashedDigest(digest)) }
            return enc == .der ? sig.derRepresentation : sig.rawRepresentation
        case (.p384(let k), .ecdsa(let h, let enc, _)):
            let digest = try input.digest(h)  // outside `wrapped`: a bad digest length is invalid input
            let sig = try wrapped { try k.signature(for: PrehashedDigest(digest)) }
            return enc == .der ? sig.derRepresentation : sig.rawRepresentation
        case (.p521(let k), .ecdsa(let h, let enc, _)):
            let digest = try input.digest(h)  // outside `wrapped`: a bad digest length is invalid input
            let sig = try wrapped { try k.signature(for: PrehashedDigest(digest)) }
            return enc == .der ? sig.derRepresentation : sig.rawRepresentation
        case (.secp256k1(let s), .ecdsa(let h, let enc, _)):
            return try Secp256k1.sign(digest: try input.digest(h), scalar: s, encoding: enc)
        case (.openssl(let k), .ecdsa(let h, let enc, _)):
            let der = try k.sign(digest: try input.digest(h), padding: .none, hash: nil)
            guard enc == .raw else { return der }
            return Data(try DERCodec.ecdsaRaw(fromDER: Array(der), fieldBytes: algorithm.ecFieldBytes ?? 0))
        case (.openssl(let k), .rsaPSS(let h)):
            return try k.sign(digest: try input.digest(h), padding: .pss, hash: h)
        case (.openssl(let k), .rsaPKCS1v15(let h)):
            return try k.sign(digest: try input.digest(h), padding: .pkcs1, hash: h)
        case (.openssl(let k), .rsaPKCS1v15Raw):
            // `check` has already refused a digest and an over-long input
            guard case .message(let m) = input else { throw CryptoError.internalFailure("unreachable") }
            return try k.sign(digest: m, padding: .pkcs1, hash: nil)
        case (.ed25519(let k), .ed25519):
            guard case .message(let m) = input else { throw CryptoError.internalFailure("unreachable") }
            return try wrapped { try k.signature(for: m) }
        case (.mldsa65(let k), .mldsa(let context)):
            guard case .message(let m) = input else { throw CryptoError.internalFailure("unreachable") }
            return try wrapped { try k.signature(for: m, context: context) }
        case (.mldsa87(let k), .mldsa(let context)):
            guard case .message(let m) = input else { throw CryptoError.internalFailure("unreachable") }
            return try wrapped { try k.signature(for: m, context: context) }
        default:
            throw CryptoError.unsupported("\(algorithm) keys cannot sign with \(SignatureRules.name(scheme))")
        }
    }

    /// `SigningKey(<algorithm>, <redacted>)`.
    public var description: String { "SigningKey(\(privateKey.algorithm), <redacted>)" }
}

/// A public key in its verification role.
public struct VerifyingKey: Sendable, Hashable, CustomStringConvertible {
    /// The underlying public key.
    public let publicKey: PublicKey

    /// Takes the verification view of `key`.
    public init(_ key: PublicKey) throws {
        guard key.algorithm.capabilities.contains(.verify) else {
            throw CryptoError.unsupported("\(key.algorithm) keys cannot verify signatures")
        }
        self.publicKey = key
    }

    init(unchecked key: PublicKey) { self.publicKey = key }

    /// Whether `signature` is a valid signature of `input` under `scheme`.
    ///
    /// Returns `false` for a well-formed signature that does not verify.
    /// - Throws: ``CryptoError/Code/malformedSignature`` when the bytes are not an
    ///   encoding the scheme allows (wrong length, not strict DER);
    ///   ``CryptoError/Code/unsupportedOperation`` when the scheme does not fit the key.
    public func isValidSignature(_ signature: some DataProtocol, for input: SigningInput, scheme: SignatureScheme) throws -> Bool {
        let algorithm = publicKey.algorithm
        try SignatureRules.check(scheme, for: algorithm, input: input)
        let sig = Array(signature)
        guard sig.count <= 8192 else { throw CryptoError.malformedSignature("signature longer than 8192 bytes") }
        func ecdsaSignature<S>(
            _ field: Int, _ enc: ECDSASignatureEncoding,
            der: ([UInt8]) throws -> S, raw: ([UInt8]) throws -> S
        ) throws -> S {
            switch enc {
            case .der:
                do { return try der(sig) } catch { throw CryptoError.malformedSignature("\(algorithm) signature is not strict DER") }
            case .raw:
                guard sig.count == 2 * field else {
                    throw CryptoError.malformedSignature("\(algorithm) raw signature must be \(2 * field) bytes, got \(sig.count)")
                }
                do { return try raw(sig) } catch { throw CryptoError.malformedSignature("\(algorithm) raw signature is malformed") }
            }
        }
        switch (publicKey.storage, scheme) {
        case (.p256(let k), .ecdsa(let h, let enc, _)):
            let s = try ecdsaSignature(
                32, enc, der: { try P256.Signing.ECDSASignature(derRepresentation: $0) },
                raw: { try P256.Signing.ECDSASignature(rawRepresentation: $0) })
            return k.isValidSignature(s, for: PrehashedDigest(try input.digest(h)))
        case (.p384(let k), .ecdsa(let h, let enc, _)):
            let s = try ecdsaSignature(
                48, enc, der: { try P384.Signing.ECDSASignature(derRepresentation: $0) },
                raw: { try P384.Signing.ECDSASignature(rawRepresentation: $0) })
            return k.isValidSignature(s, for: PrehashedDigest(try input.digest(h)))
        case (.p521(let k), .ecdsa(let h, let enc, _)):
            let s = try ecdsaSignature(
                66, enc, der: { try P521.Signing.ECDSASignature(derRepresentation: $0) },
                raw: { try P521.Signing.ECDSASignature(rawRepresentation: $0) })
            return k.isValidSignature(s, for: PrehashedDigest(try input.digest(h)))
        case (.secp256k1(let k), .ecdsa(let h, let enc, let lowS)):
            return try Secp256k1.verify(signature: sig, digest: try input.digest(h), publicKey: k.key, encoding: enc, lowS: lowS)
        case (.openssl(let k), .ecdsa(let h, let enc, _)):
            let field = algorithm.ecFieldBytes ?? 0
            let der = try ecdsaSignature(
                field, enc,
                der: { d -> [UInt8] in
                    _ = try DERCodec.ecdsaRaw(fromDER: d, fieldBytes: field)
                    return d
                }, raw: { DERCodec.ecdsaDER(fromRaw: $0) })
            return try k.verify(signature: der, digest: try input.digest(h), padding: .none, hash: nil)
        case (.openssl(let k), .rsaPSS(let h)):
            return try k.verify(signature: sig, digest: try input.digest(h), padding: .pss, hash: h)
        case (.openssl(let k), .rsaPKCS1v15(let h)):
            return try k.verify(signature: sig, digest: try input.digest(h), padding: .pkcs1, hash: h)
        case (.openssl(let k), .rsaPKCS1v15Raw):
            guard case .message(let m) = input else { return false }
            return try k.verify(signature: sig, digest: m, padding: .pkcs1, hash: nil)
        case (.ed25519(let k), .ed25519):
            guard case .message(let m) = input else { return false }
            return k.isValidSignature(sig, for: m)
        case (.mldsa65(let k), .mldsa(let context)):
            guard case .message(let m) = input else { return false }
            return k.isValidSignature(sig, for: m, context: context)
        case (.mldsa87(let k), .mldsa(let context)):
            guard case .message(let m) = input else { return false }
            return k.isValidSignature(sig, for: m, context: context)
        default:
            throw CryptoError.unsupported("\(algorithm) keys cannot verify \(SignatureRules.name(scheme)) signatures")
        }
    }

    /// `VerifyingKey(<algorithm>)`.
    public var description: String { "VerifyingKey(\(publicKey.algorithm))" }
}

/// Which schemes fit which keys and inputs: one place for both sign and verify.
enum SignatureRules {
    static func name(_ scheme: SignatureScheme) -> String {
        switch scheme {
        case .ecdsa(let h, _, _): return "ECDSA-\(h.rawValue)"
        case .ed25519: return "Ed25519"
        case .rsaPSS(let h): return "RSA-PSS-\(h.rawValue)"
        case .rsaPKCS1v15(let h): return "RSA-PKCS1-v1_5-\(h.rawValue)"
        case .rsaPKCS1v15Raw: return "RSA-PKCS1-v1_5-raw"
        case .mldsa: return "ML-DSA"
        }
    }

    static func check(_ scheme: SignatureScheme, for algorithm: KeyAlgorithm, input: SigningInput) throws {
        let fits: Bool
        switch scheme {
        case .ecdsa(_, _, let lowS):
            fits = algorithm.isECDSA
            if fits && lowS == .strict && algorithm != .secp256k1 {
                throw CryptoError.unsupported("strict low-S applies to secp256k1 only")
            }
        case .ed25519: fits = algorithm == .ed25519
        case .rsaPSS, .rsaPKCS1v15: fits = algorithm.isRSA
        case .rsaPKCS1v15Raw:
            fits = algorithm.isRSA
            let limit = SignatureScheme.rsaPKCS1v15RawLimit(modulusByteCount: algorithm.bitSize / 8)
            if fits, case .message(let m) = input, m.count > limit {
                throw CryptoError.invalidInput("RSA-PKCS1-v1_5-raw signs at most \(limit) bytes with a \(algorithm) key, got \(m.count)")
            }
        case .mldsa(let context):
            fits = algorithm == .mldsa65 || algorithm == .mldsa87
            if fits && context.count > 255 { throw CryptoError.invalidInput("ML-DSA context is at most 255 bytes, got \(context.count)") }
        }
        guard fits else { throw CryptoError.unsupported("\(algorithm) keys do not use \(name(scheme))") }
        if case .digest = input, scheme.hash == nil {
            throw CryptoError.unsupported("\(name(scheme)) signs whole messages, not digests")
        }
    }
}
