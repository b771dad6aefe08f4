import Crypto
import Foundation

/// A ciphertext in its scheme's standard form, as PKCS #11, JCE and openssl hand them over:
/// the IV (or nonce) apart, and for the AEAD schemes the tag after the ciphertext.
public struct StandardCiphertext: Sendable, Hashable {
    /// The IV or nonce the ciphertext was made with (12 bytes for AES-GCM and
    /// ChaCha20-Poly1305, 16 for AES-CBC).
    public var iv: Data
    /// The ciphertext; for AES-GCM and ChaCha20-Poly1305 followed by the tag.
    public var ciphertext: Data

    /// Creates a value.
    public init(iv: Data, ciphertext: Data) {
        self.iv = iv
        self.ciphertext = ciphertext
    }
}

extension SecretKey {
    /// The tag lengths the standard forms of AES-GCM accept, in bytes: 12 to 16
    /// (NIST SP 800-38D; the shorter 4- and 8-byte tags need usage limits an HSM cannot check).
    public static let standardTagByteCounts = 12...16

    /// Encrypts into the scheme's standard form.
    ///
    /// - AES-GCM and ChaCha20-Poly1305: the engine chooses a random 96-bit nonce (`iv` must be
    ///   nil: a repeated nonce breaks both schemes); the ciphertext is followed by a tag of
    ///   `tagByteCount` bytes (12 to 16 for AES-GCM, 16 for ChaCha20-Poly1305).
    /// - AES-CBC with PKCS #7 padding: the caller's 16-byte `iv`, or a random one if nil; no AAD.
    public func encryptStandard(
        _ plaintext: some DataProtocol, scheme: CipherScheme, iv: Data? = nil, aad: some DataProtocol = Data(), tagByteCount: Int = 16
    ) throws -> StandardCiphertext {
        switch scheme {
        case .aesGCM, .chaCha20Poly1305:
            guard iv == nil else {
                throw CryptoError.invalidInput("\(scheme.rawValue) nonces are chosen by the engine on encryption (a repeated nonce breaks it); pass none")
            }
            try Self.checkTag(tagByteCount, scheme: scheme)
            if scheme == .aesGCM, isAES {
                guard plaintext.count <= Self.maximumMessageCount else {
                    throw CryptoError.invalidInput("plaintext longer than \(Self.maximumMessageCount) bytes")
                }
                let (nonce, body) = try withContiguousBytes(plaintext) { p in
                    try withContiguousBytes(aad) { a in try prepared.gcmSealStandard(p, aad: a, tagByteCount: tagByteCount) }
                }
                return StandardCiphertext(iv: nonce, ciphertext: body)
            }
            let sealed = try encrypt(plaintext, scheme: scheme, aad: aad)
            // nonce(12) ‖ ciphertext ‖ tag(16): a shorter tag is the full tag's prefix (SP 800-38D §5.2.1.2).
            let body = sealed.dropFirst(12).dropLast(16 - tagByteCount)
            return StandardCiphertext(iv: Data(sealed.prefix(12)), ciphertext: Data(body))
        case .aesCBCPKCS7:
            guard algorithm != .genericSecret else { throw CryptoError.unsupported("AES-CBC needs an AES key, not \(algorithm)") }
            guard aad.count == 0 else { throw CryptoError.invalidInput("AES-CBC does not authenticate additional data; pass none") }
            guard plaintext.count <= Self.maximumMessageCount else {
                throw CryptoError.invalidInput("plaintext longer than \(Self.maximumMessageCount) bytes")
            }
            var generator = SystemRandomNumberGenerator()
            let ivBytes = iv ?? Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let chosen = try Self.cbcIV(ivBytes)
            let body = try wrapped { try AES._CBC.encrypt(plaintext, using: material.symmetricKey, iv: chosen) }
            return StandardCiphertext(iv: ivBytes, ciphertext: body)
        }
    }

    /// Decrypts the standard form: `ciphertext` (followed by its tag of `tagByteCount` bytes
    /// for the AEAD schemes) made with `iv`. AES-GCM accepts IVs of 1 to 128 bytes.
    /// - Throws: ``CryptoError/Code/authenticationFailure`` for a wrong key, IV, tag, AAD or
    ///   padding, nothing more specific.
    public func decryptStandard(
        _ ciphertext: some DataProtocol, scheme: CipherScheme, iv: Data, aad: some DataProtocol = Data(), tagByteCount: Int = 16
    ) throws -> Data {
        guard ciphertext.count <= Self.maximumMessageCount + 64 else {
            throw CryptoError.invalidInput("ciphertext longer than \(Self.maximumMessageCount + 64) bytes")
        }
        switch scheme {
        case .aesGCM, .chaCha20Poly1305:
            try Self.checkTag(tagByteCount, scheme: scheme)
            guard ciphertext.count >= tagByteCount else {
                throw CryptoError.invalidInput("\(scheme.rawValue) ciphertext shorter than its \(tagByteCount)-byte tag")
            }
            let bytes = Data(ciphertext)
            let body = bytes.prefix(bytes.count - tagByteCount), tag = bytes.suffix(tagByteCount)
            if scheme == .aesGCM, tagByteCount < 16 {
                guard algorithm != .genericSecret else { throw CryptoError.unsupported("AES-GCM needs an AES key, not \(algorithm)") }
                guard !iv.isEmpty, iv.count <= OpenSSLCipher.gcmMaximumNonceCount else {
                    throw CryptoError.invalidInput("AES-GCM IV must be 1 to \(OpenSSLCipher.gcmMaximumNonceCount) bytes, got \(iv.count)")
                }
                return try OpenSSLCipher.gcmOpen(key: material, nonce: iv, ciphertext: body, tag: tag, aad: aad)
            }
            return try open(nonce: iv, ciphertext: body, tag: tag, aad: aad, scheme: scheme)
        case .aesCBCPKCS7:
            guard algorithm != .genericSecret else { throw CryptoError.unsupported("AES-CBC needs an AES key, not \(algorithm)") }
            guard aad.count == 0 else { throw CryptoError.invalidInput("AES-CBC does not authenticate additional data; pass none") }
            let chosen = try Self.cbcIV(iv)
            guard ciphertext.count >= 16, ciphertext.count % 16 == 0 else {
                throw CryptoError.invalidInput("AES-CBC ciphertext must be a positive multiple of 16 bytes, got \(ciphertext.count)")
            }
            return try mapped(.authenticationFailure) { try AES._CBC.decrypt(Data(ciphertext), using: material.symmetricKey, iv: chosen) }
        }
    }

    private static func checkTag(_ count: Int, scheme: CipherScheme) throws {
        if scheme == .chaCha20Poly1305 {
            guard count == 16 else { throw CryptoError.invalidInput("ChaCha20-Poly1305 tags are 16 bytes, not \(count)") }
        } else if !standardTagByteCounts.contains(count) {
            throw CryptoError.invalidInput("AES-GCM tags are 12 to 16 bytes (96 to 128 bits), not \(count)")
        }
    }

    private static func cbcIV(_ iv: Data) throws -> AES._CBC.IV {
        guard iv.count == 16 else { throw CryptoError.invalidInput("AES-CBC IV must be 16 bytes, got \(iv.count)") }
        return try AES._CBC.IV(ivBytes: iv)
    }
}
