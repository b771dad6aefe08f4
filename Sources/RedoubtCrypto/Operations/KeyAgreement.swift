import Crypto
import Foundation

/// A private key in its key-agreement role: ECDH on P-256/P-384/P-521 or X25519.
public struct AgreementKey: Sendable, CustomStringConvertible {
    /// The underlying private key.
    public let privateKey: PrivateKey

    /// Takes the agreement view of `key`.
    public init(_ key: PrivateKey) throws {
        switch key.algorithm {
        case .p256, .p384, .p521, .x25519: self.privateKey = key
        default: throw CryptoError.unsupported("\(key.algorithm) keys cannot do key agreement")
        }
    }

    /// The raw ECDH shared secret with `peer` (the x-coordinate, or the X25519 output).
    /// - Throws: ``CryptoError/Code/invalidKey`` if `peer` is of another algorithm or a
    ///   low-order X25519 point (an all-zero secret is refused).
    public func sharedSecret(with peer: PublicKey) throws -> SecretBytes {
        guard peer.algorithm == privateKey.algorithm else {
            throw CryptoError.invalidKey("peer key is \(peer.algorithm), this key is \(privateKey.algorithm)")
        }
        let failed = CryptoError.invalidKey("key agreement with this peer key failed")
        switch (privateKey.storage, peer.storage) {
        case (.p256(let k), .p256(let p)):
            let mine = try wrapped { try P256.KeyAgreement.PrivateKey(rawRepresentation: k.rawRepresentation) }
            let theirs = try mapped(failed) { try P256.KeyAgreement.PublicKey(rawRepresentation: p.rawRepresentation) }
            return SecretBytes(try mapped(failed) { try mine.sharedSecretFromKeyAgreement(with: theirs) })
        case (.p384(let k), .p384(let p)):
            let mine = try wrapped { try P384.KeyAgreement.PrivateKey(rawRepresentation: k.rawRepresentation) }
            let theirs = try mapped(failed) { try P384.KeyAgreement.PublicKey(rawRepresentation: p.rawRepresentation) }
            return SecretBytes(try mapped(failed) { try mine.sharedSecretFromKeyAgreement(with: theirs) })
        case (.p521(let k), .p521(let p)):
            let mine = try wrapped { try P521.KeyAgreement.PrivateKey(rawRepresentation: k.rawRepresentation) }
            let theirs = try mapped(failed) { try P521.KeyAgreement.PublicKey(rawRepresentation: p.rawRepresentation) }
            return SecretBytes(try mapped(failed) { try mine.sharedSecretFromKeyAgreement(with: theirs) })
        case (.x25519(let k), .x25519(let p)):
            let secret = SecretBytes(try mapped(failed) { try k.sharedSecretFromKeyAgreement(with: p) })
            // RFC 7748 §6.1: an all-zero output means a low-order peer point. swift-crypto
            // returns it, so the check the documentation promises is made here, without an
            // early exit (the secret's bytes must not steer timing).
            let isAllZero = secret.withUnsafeBytes { bytes in bytes.reduce(UInt8(0)) { $0 | $1 } == 0 }
            guard !isAllZero else { throw failed }
            return secret
        default:
            throw failed
        }
    }

    /// ECDH with `peer`, then the key-derivation function.
    public func deriveKey(with peer: PublicKey, derivation: KeyDerivation) throws -> SecretBytes {
        try KDF.derive(try sharedSecret(with: peer), derivation)
    }

    /// `AgreementKey(<algorithm>, <redacted>)`.
    public var description: String { "AgreementKey(\(privateKey.algorithm), <redacted>)" }
}

/// Key-derivation functions.
public enum KDF {
    /// HKDF (RFC 5869) over `secret`, or `secret` itself for ``KeyDerivation/identity(outputByteCount:)``.
    /// - Throws: ``CryptoError/Code/invalidInput`` when the output length is 0 or over 255 × the hash length.
    public static func derive(_ secret: SecretBytes, _ derivation: KeyDerivation) throws -> SecretBytes {
        let n = derivation.outputByteCount
        if derivation.isIdentity {
            guard n == 0 || n == secret.count else {
                throw CryptoError.invalidInput(
                    "without a KDF the output is the whole \(secret.count)-byte shared secret, not \(n) bytes: ask for \(secret.count), or use HKDF")
            }
            return secret
        }
        guard n >= 1, n <= 255 * derivation.hash.byteCount else {
            throw CryptoError.invalidInput("HKDF-\(derivation.hash.rawValue) output must be 1 to \(255 * derivation.hash.byteCount) bytes, got \(n)")
        }
        guard derivation.salt.count <= 1 << 16, derivation.info.count <= 1 << 16 else {
            throw CryptoError.invalidInput("HKDF salt and info are limited to 64 KiB each")
        }
        let ikm = secret.symmetricKey
        let key: SymmetricKey
        switch derivation.hash {
        case .sha256: key = HKDF<SHA256>.deriveKey(inputKeyMaterial: ikm, salt: derivation.salt, info: derivation.info, outputByteCount: n)
        case .sha384: key = HKDF<SHA384>.deriveKey(inputKeyMaterial: ikm, salt: derivation.salt, info: derivation.info, outputByteCount: n)
        case .sha512: key = HKDF<SHA512>.deriveKey(inputKeyMaterial: ikm, salt: derivation.salt, info: derivation.info, outputByteCount: n)
        }
        return SecretBytes(symmetricKey: key)
    }
}
