import Crypto
import Foundation
import _CryptoExtras

/// A secret (symmetric) key: AES-128/192/256 or a generic secret for HMAC.
///
/// The bytes never print. Encryption chooses its own nonce or IV (never the
/// caller's), so a nonce cannot be reused by mistake.
///
/// ```swift
/// let key = try SecretKey.generate(.aes256)
/// let box = try key.encrypt(plaintext, scheme: .aesGCM, aad: header)
/// let back = try key.decrypt(box, scheme: .aesGCM, aad: header)
/// ```
public struct SecretKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The key's algorithm.
    public let algorithm: KeyAlgorithm
    /// The key bytes, in zeroizing storage.
    public let material: SecretBytes
    /// libcrypto contexts prepared for this key (AES-GCM, HMAC), shared by copies.
    @usableFromInline let prepared: PreparedSecretKey

    /// Equal when algorithm and bytes are (constant time).
    public static func == (lhs: SecretKey, rhs: SecretKey) -> Bool {
        lhs.algorithm == rhs.algorithm && lhs.material == rhs.material
    }

    /// Length limits for generic secrets.
    public static let genericSecretByteRange = 16...128

    /// Wraps existing key bytes, checking their length against the algorithm.
    public init(algorithm: KeyAlgorithm, material: SecretBytes) throws {
        switch algorithm {
        case .aes128, .aes192, .aes256:
            guard material.count * 8 == algorithm.bitSize else {
                throw CryptoError.invalidKey("\(algorithm) key must be \(algorithm.bitSize / 8) bytes, got \(material.count)")
            }
        case .genericSecret:
            guard Self.genericSecretByteRange.contains(material.count) else {
                throw CryptoError.invalidKey("generic secret must be 16 to 128 bytes, got \(material.count)")
            }
        default:
            throw CryptoError.unsupported("\(algorithm) is not a secret-key algorithm")
        }
        self.algorithm = algorithm
        self.material = material
        self.prepared = PreparedSecretKey(material: material)
    }

    /// Generates a key; `byteCount` applies to generic secrets only (default 32).
    public static func generate(_ algorithm: KeyAlgorithm, byteCount: Int? = nil) throws -> SecretKey {
        let count: Int
        switch algorithm {
        case .aes128, .aes192, .aes256:
            if let byteCount, byteCount * 8 != algorithm.bitSize {
                throw CryptoError.invalidInput("\(algorithm) keys are \(algorithm.bitSize / 8) bytes")
            }
            count = algorithm.bitSize / 8
        case .genericSecret:
            count = byteCount ?? 32
        default:
            throw CryptoError.unsupported("\(algorithm) is not a secret-key algorithm: use PrivateKey.generate")
        }
        return try SecretKey(algorithm: algorithm, material: try SecretBytes.random(count: count))
    }

    var isAES: Bool { algorithm != .genericSecret }

    // MARK: Encryption

    /// Encrypts `plaintext`; the output carries its nonce/IV (see ``CipherScheme``).
    /// AES-GCM and ChaCha20-Poly1305 also authenticate `aad`; AES-CBC takes no AAD.
    @inlinable
    public func encrypt(_ plaintext: some DataProtocol, scheme: CipherScheme, aad: some DataProtocol = Data()) throws -> Data {
        try withContiguousBytes(plaintext) { p in
            try withContiguousBytes(aad) { a in try encryptBytes(p, scheme: scheme, aad: a) }
        }
    }

    /// ``encrypt(_:scheme:aad:)``'s output after `prefix` (the HSM's version header): for AES-GCM
    /// written in one allocation, with no copy of the ciphertext.
    package func encrypt(_ plaintext: Data, scheme: CipherScheme, aad: Data, prefix: [UInt8]) throws -> Data {
        guard scheme == .aesGCM, isAES, plaintext.count <= Self.maximumMessageCount else {
            return Data(prefix) + (try encrypt(plaintext, scheme: scheme, aad: aad))
        }
        return try plaintext.withUnsafeBytes { p in try aad.withUnsafeBytes { a in try prepared.gcmSeal(p, aad: a, prefix: prefix) } }
    }

    @usableFromInline
    func encryptBytes(_ plaintext: UnsafeRawBufferPointer, scheme: CipherScheme, aad: UnsafeRawBufferPointer) throws -> Data {
        guard plaintext.count <= Self.maximumMessageCount else {
            throw CryptoError.invalidInput("plaintext longer than \(Self.maximumMessageCount) bytes")
        }
        switch scheme {
        case .aesGCM:
            guard isAES else { throw CryptoError.unsupported("AES-GCM needs an AES key, not \(algorithm)") }
            return try prepared.gcmSeal(plaintext, aad: aad)
        case .chaCha20Poly1305:
            guard algorithm == .genericSecret, material.count == 32 else {
                throw CryptoError.unsupported(Self.chachaRefusal(algorithm: algorithm, byteCount: material.count))
            }
            return try wrapped { try ChaChaPoly.seal(plaintext, using: material.symmetricKey, authenticating: aad).combined }
        case .aesCBCPKCS7:
            guard isAES else { throw CryptoError.unsupported("AES-CBC needs an AES key, not \(algorithm)") }
            guard aad.count == 0 else { throw CryptoError.invalidInput("AES-CBC does not authenticate additional data; pass none") }
            let iv = AES._CBC.IV()
            let body = try wrapped { try AES._CBC.encrypt(plaintext, using: material.symmetricKey, iv: iv) }
            return Data(iv) + body
        }
    }

    /// Decrypts the output of ``encrypt(_:scheme:aad:)``.
    /// - Throws: ``CryptoError/Code/authenticationFailure`` for a wrong key, a
    ///   tampered ciphertext or AAD, or bad padding — nothing more specific.
    @inlinable
    public func decrypt(_ ciphertext: some DataProtocol, scheme: CipherScheme, aad: some DataProtocol = Data()) throws -> Data {
        try withContiguousBytes(ciphertext) { c in
            try withContiguousBytes(aad) { a in try decryptBytes(c, scheme: scheme, aad: a) }
        }
    }

    @usableFromInline
    func decryptBytes(_ ciphertext: UnsafeRawBufferPointer, scheme: CipherScheme, aad: UnsafeRawBufferPointer) throws -> Data {
        guard ciphertext.count <= Self.maximumMessageCount + 64 else {
            throw CryptoError.invalidInput("ciphertext longer than \(Self.maximumMessageCount + 64) bytes")
        }
        switch scheme {
        case .aesGCM:
            guard isAES else { throw CryptoError.unsupported("AES-GCM needs an AES key, not \(algorithm)") }
            guard ciphertext.count >= 28 else { throw CryptoError.invalidInput("AES-GCM ciphertext shorter than nonce and tag (28 bytes)") }
            guard aad.count <= Self.maximumMessageCount else { throw CryptoError.invalidInput("AAD longer than \(Self.maximumMessageCount) bytes") }
            return try prepared.gcmOpen(ciphertext, aad: aad)
        case .chaCha20Poly1305:
            guard algorithm == .genericSecret, material.count == 32 else {
                throw CryptoError.unsupported(Self.chachaRefusal(algorithm: algorithm, byteCount: material.count))
            }
            guard ciphertext.count >= 28 else { throw CryptoError.invalidInput("ChaCha20-Poly1305 ciphertext shorter than nonce and tag (28 bytes)") }
            let box = try mapped(.authenticationFailure) { try ChaChaPoly.SealedBox(combined: ciphertext) }
            return try mapped(.authenticationFailure) { try ChaChaPoly.open(box, using: material.symmetricKey, authenticating: aad) }
        case .aesCBCPKCS7:
            guard isAES else { throw CryptoError.unsupported("AES-CBC needs an AES key, not \(algorithm)") }
            guard aad.count == 0 else { throw CryptoError.invalidInput("AES-CBC does not authenticate additional data; pass none") }
            let bytes = Array(ciphertext)
            guard bytes.count >= 32, bytes.count % 16 == 0 else {
                throw CryptoError.invalidInput("AES-CBC ciphertext must be IV plus a positive multiple of 16 bytes")
            }
            let iv = try wrapped { try AES._CBC.IV(ivBytes: bytes[0..<16]) }
            return try mapped(.authenticationFailure) { try AES._CBC.decrypt(bytes[16...], using: material.symmetricKey, iv: iv) }
        }
    }

    /// AES-GCM or ChaCha20-Poly1305 decryption with the parts given separately, for
    /// interoperability: AES-GCM accepts nonces of 1 to 128 bytes (the 12-byte
    /// form is recommended); ChaCha20-Poly1305 needs 12. The tag must be 16 bytes.
    public func open(
        nonce: some DataProtocol, ciphertext: some DataProtocol, tag: some DataProtocol,
        aad: some DataProtocol = Data(), scheme: CipherScheme
    ) throws -> Data {
        guard tag.count == 16 else { throw CryptoError.invalidInput("tag must be 16 bytes, got \(tag.count)") }
        switch scheme {
        case .aesGCM:
            guard isAES else { throw CryptoError.unsupported("AES-GCM needs an AES key, not \(algorithm)") }
            if nonce.count == 12 {
                return try decrypt(Data(nonce) + Data(ciphertext) + Data(tag), scheme: .aesGCM, aad: aad)
            }
            return try OpenSSLCipher.gcmOpen(key: material, nonce: nonce, ciphertext: ciphertext, tag: tag, aad: aad)
        case .chaCha20Poly1305:
            guard nonce.count == 12 else { throw CryptoError.invalidInput("ChaCha20-Poly1305 nonce must be 12 bytes, got \(nonce.count)") }
            return try decrypt(Data(nonce) + Data(ciphertext) + Data(tag), scheme: .chaCha20Poly1305, aad: aad)
        case .aesCBCPKCS7:
            throw CryptoError.unsupported("AES-CBC has no tag: use decrypt")
        }
    }

    /// The largest message one call encrypts (64 MiB).
    public static let maximumMessageCount = 64 << 20

    // MARK: Wrapping

    /// Wraps key bytes (a secret key's material, or a private key's PKCS#8) under this AES key.
    public func wrap(_ keyBytes: SecretBytes, scheme: WrapScheme) throws -> Data {
        guard isAES else { throw CryptoError.unsupported("wrapping needs an AES key, not \(algorithm)") }
        switch scheme {
        case .aesKW:
            guard keyBytes.count >= 16, keyBytes.count % 8 == 0 else {
                throw CryptoError.invalidInput("AES-KW wraps a multiple of 8 bytes, at least 16; got \(keyBytes.count): use AES-KWP")
            }
            return try wrapped { try AES.KeyWrap.wrap(keyBytes.symmetricKey, using: material.symmetricKey) }
        case .aesKWP:
            guard keyBytes.count >= 1, keyBytes.count <= 1 << 20 else {
                throw CryptoError.invalidInput("AES-KWP wraps 1 byte to 1 MiB, got \(keyBytes.count)")
            }
            return Data(try keyBytes.withUnsafeBytes { try OpenSSLCipher.kwp(encrypt: true, key: material, input: $0) })
        case .aesGCM:
            return try keyBytes.withUnsafeBytes { try encrypt($0, scheme: .aesGCM) }
        case .rsaOAEP:
            throw CryptoError.unsupported("RSA-OAEP wrapping uses an RSA public key: see EncryptionKey")
        }
    }

    /// Unwraps what ``wrap(_:scheme:)`` produced.
    /// - Throws: ``CryptoError/Code/authenticationFailure`` on any integrity failure.
    public func unwrap(_ wrappedKey: some DataProtocol, scheme: WrapScheme) throws -> SecretBytes {
        guard isAES else { throw CryptoError.unsupported("unwrapping needs an AES key, not \(algorithm)") }
        guard wrappedKey.count <= (1 << 20) + 64 else { throw CryptoError.invalidInput("wrapped key longer than 1 MiB") }
        switch scheme {
        case .aesKW:
            guard wrappedKey.count >= 24, wrappedKey.count % 8 == 0 else {
                throw CryptoError.invalidInput("AES-KW output is a multiple of 8 bytes, at least 24; got \(wrappedKey.count)")
            }
            return SecretBytes(
                symmetricKey: try mapped(.authenticationFailure) {
                    try AES.KeyWrap.unwrap(wrappedKey, using: material.symmetricKey)
                })
        case .aesKWP:
            guard wrappedKey.count >= 16, wrappedKey.count % 8 == 0 else {
                throw CryptoError.invalidInput("AES-KWP output is a multiple of 8 bytes, at least 16; got \(wrappedKey.count)")
            }
            var out = try OpenSSLCipher.kwp(encrypt: false, key: material, input: wrappedKey)
            defer { out.withUnsafeMutableBytes { memset_s_portable($0) } }
            guard !out.isEmpty else { throw CryptoError.authenticationFailure }
            return SecretBytes(out)
        case .aesGCM:
            var plain = try decrypt(wrappedKey, scheme: .aesGCM)
            defer { plain.withUnsafeMutableBytes { memset_s_portable($0) } }
            return SecretBytes(plain)
        case .rsaOAEP:
            throw CryptoError.unsupported("RSA-OAEP unwrapping uses an RSA private key: see DecryptionKey")
        }
    }

    // MARK: MAC

    /// HMAC of `data` with this key (any secret key may MAC; generic secrets are meant for it).
    @inlinable
    public func mac(_ data: some DataProtocol, hash: HashAlgorithm) -> Data {
        withContiguousBytes(data) { macBytes($0, hash: hash) }
    }

    @usableFromInline
    func macBytes(_ data: UnsafeRawBufferPointer, hash: HashAlgorithm) -> Data {
        if let tag = try? prepared.mac(data, hash: hash) { return tag }
        // libcrypto could not prepare a context (it never should): swift-crypto computes the same HMAC.
        switch hash {
        case .sha256: return Data(HMAC<SHA256>.authenticationCode(for: data, using: material.symmetricKey))
        case .sha384: return Data(HMAC<SHA384>.authenticationCode(for: data, using: material.symmetricKey))
        case .sha512: return Data(HMAC<SHA512>.authenticationCode(for: data, using: material.symmetricKey))
        }
    }

    /// Whether `tag` is the HMAC of `data`, compared in constant time. Truncated tags
    /// of at least half the hash length (and 10 bytes, RFC 2104 §5) are checked against the prefix.
    public func isValidMAC(_ tag: some DataProtocol, for data: some DataProtocol, hash: HashAlgorithm) -> Bool {
        let full = mac(data, hash: hash)
        let t = Array(tag)
        guard t.count <= full.count, t.count >= max(10, full.count / 2) else { return false }
        return constantTimeEqual(full.prefix(t.count), t)
    }

    /// `SecretKey(<algorithm>, <redacted>)`.
    public var description: String { "SecretKey(\(algorithm), <redacted>)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
}

/// RSA-OAEP wrapping of key bytes under an RSA key pair.
extension EncryptionKey {
    /// Wraps key bytes with RSA-OAEP-SHA256.
    public func wrap(_ keyBytes: SecretBytes) throws -> Data {
        try keyBytes.withUnsafeBytes { try encrypt($0) }
    }
}

extension DecryptionKey {
    /// Unwraps key bytes wrapped with RSA-OAEP-SHA256.
    public func unwrap(_ wrappedKey: some DataProtocol) throws -> SecretBytes {
        try decrypt(wrappedKey)
    }
}

extension SecretKey {
    /// Why ChaCha20-Poly1305 refuses a key: what it needs and what this key is, size included
    /// (a 16-byte generic secret is still a generic secret).
    static func chachaRefusal(algorithm: KeyAlgorithm, byteCount: Int) -> String {
        let what = algorithm == .genericSecret ? "a \(byteCount)-byte \(algorithm)" : "\(algorithm)"
        return "ChaCha20-Poly1305 needs a 32-byte GENERIC-SECRET key, not \(what)"
    }
}
