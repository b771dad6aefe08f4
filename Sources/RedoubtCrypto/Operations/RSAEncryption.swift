import Foundation

/// An RSA public key in its encryption role: RSA-OAEP with SHA-256 and MGF1-SHA-256.
public struct EncryptionKey: Sendable, Hashable {
    /// The underlying public key.
    public let publicKey: PublicKey

    /// Takes the encryption view of an RSA `key`.
    public init(_ key: PublicKey) throws {
        guard key.algorithm.isRSA else { throw CryptoError.unsupported("\(key.algorithm) keys cannot encrypt with RSA-OAEP") }
        self.publicKey = key
    }

    /// The longest plaintext this key can encrypt: k − 2·32 − 2 bytes.
    public var maximumPlaintextCount: Int { publicKey.algorithm.bitSize / 8 - 66 }

    /// RSA-OAEP-SHA256 encryption of at most ``maximumPlaintextCount`` bytes, with an optional
    /// label (at most 64 KiB; decryption needs the same).
    public func encrypt(_ plaintext: some DataProtocol, label: Data = Data()) throws -> Data {
        guard plaintext.count <= maximumPlaintextCount else {
            throw CryptoError.invalidInput(
                "RSA-OAEP-SHA256 with \(publicKey.algorithm) encrypts at most \(maximumPlaintextCount) bytes, got \(plaintext.count)")
        }
        guard case .openssl(let k) = publicKey.storage else { throw CryptoError.internalFailure("RSA key without libcrypto handle") }
        return try k.oaepEncrypt(plaintext, label: label)
    }
}

/// An RSA private key in its decryption role: RSA-OAEP with SHA-256 and MGF1-SHA-256.
public struct DecryptionKey: Sendable, CustomStringConvertible {
    /// The underlying private key.
    public let privateKey: PrivateKey

    /// Takes the decryption view of an RSA `key`.
    public init(_ key: PrivateKey) throws {
        guard key.algorithm.isRSA else { throw CryptoError.unsupported("\(key.algorithm) keys cannot decrypt with RSA-OAEP") }
        self.privateKey = key
    }

    /// RSA-OAEP-SHA256 decryption with the label the ciphertext was made with. Every failure is
    /// ``CryptoError/Code/authenticationFailure``.
    public func decrypt(_ ciphertext: some DataProtocol, label: Data = Data()) throws -> SecretBytes {
        guard ciphertext.count == privateKey.algorithm.bitSize / 8 else { throw CryptoError.authenticationFailure }
        guard case .openssl(let k) = privateKey.storage else { throw CryptoError.internalFailure("RSA key without libcrypto handle") }
        return try k.oaepDecrypt(ciphertext, label: label)
    }

    /// `DecryptionKey(<algorithm>, <redacted>)`.
    public var description: String { "DecryptionKey(\(privateKey.algorithm), <redacted>)" }
}
