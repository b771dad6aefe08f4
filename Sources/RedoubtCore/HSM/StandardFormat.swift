import Foundation
import RedoubtCrypto

/// The parameters of an encryption or decryption in its scheme's standard form, the form
/// PKCS #11, JCE and openssl use: no version prefix (the call names the key version), the IV
/// apart from the ciphertext, and the tag after it.
///
/// | Scheme | `iv` on encrypt | `iv` on decrypt | `aad` | `tagByteCount` |
/// |---|---|---|---|---|
/// | AES-GCM | none: the HSM chooses 12 random bytes | 1 to 128 bytes | any | 12 to 16 |
/// | ChaCha20-Poly1305 | none: the HSM chooses 12 random bytes | 12 bytes | any | 16 |
/// | AES-CBC (PKCS #7 padding) | 16 bytes, or none for a random IV | 16 bytes | none | — |
/// | RSA-OAEP-SHA256 | none | none | none | — (an optional `label`) |
///
/// Nonce safety is the HSM's job: an AEAD encryption never takes the caller's nonce.
public struct StandardCipherParameters: Sendable, Hashable {
    /// The IV (see the table).
    public var iv: Data?
    /// The additional authenticated data (AEAD schemes only).
    public var aad: Data
    /// The AEAD tag length in bytes.
    public var tagByteCount: Int
    /// The key version to use; the latest if nil.
    public var version: Int?
    /// The RSA-OAEP label (RFC 8017 §7.1; at most 64 KiB); empty for none and for every other scheme.
    public var label: Data

    /// Creates parameters.
    public init(iv: Data? = nil, aad: Data = Data(), tagByteCount: Int = 16, version: Int? = nil, label: Data = Data()) {
        self.iv = iv
        self.aad = aad
        self.tagByteCount = tagByteCount
        self.version = version
        self.label = label
    }
}

/// An encryption's result in its scheme's standard form.
public struct StandardEncryption: Sendable, Hashable {
    /// The IV used (empty for RSA-OAEP).
    public var iv: Data
    /// The ciphertext, followed by the tag for the AEAD schemes.
    public var ciphertext: Data
    /// The key version that encrypted.
    public var version: Int

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(iv: Data, ciphertext: Data, version: Int) {
        self.iv = iv
        self.ciphertext = ciphertext
        self.version = version
    }
}

/// A wrapped key in its scheme's standard form: RFC 3394 or 5649 bytes, an RSA-OAEP ciphertext,
/// or AES-GCM's `nonce ‖ ciphertext ‖ tag`, with the wrapping key's version that made it.
public struct StandardWrappedKey: Sendable, Hashable {
    /// The standard bytes (what `openssl enc -id-aes256-wrap-pad`, PKCS #11's `C_WrapKey` and
    /// JCE's `Cipher.wrap` give).
    public var wrapped: Data
    /// The wrapping key's version.
    public var version: Int

    /// Creates a value.
    public init(wrapped: Data, version: Int) {
        self.wrapped = wrapped
        self.version = version
    }
}

extension HSM {
    /// Wraps a key as ``exportWrapped(_:id:wrappingKey:scheme:)`` does, in the scheme's standard
    /// form: the HSM's wrapped keys are `0x01 ‖ version (4 bytes, big-endian) ‖ the standard bytes`.
    public func exportWrappedStandard(_ session: SessionToken, id: String, wrappingKey: String, scheme: WrapScheme) async throws -> StandardWrappedKey {
        let blob = try await exportWrapped(session, id: id, wrappingKey: wrappingKey, scheme: scheme)
        guard blob.count > 5, let (version, body) = try? VersionedBlob.decode(blob, what: "the wrapped key") else {
            throw HSMError(.internalError, "the HSM's wrapped key is not in its versioned form")
        }
        return StandardWrappedKey(wrapped: body, version: version)
    }

    /// Unwraps a key in its scheme's standard form into a new key object under the wrapping key's
    /// latest version.
    public func importWrappedStandard(_ session: SessionToken, spec: KeySpec, wrapped: Data, wrappingKey: String, scheme: WrapScheme) async throws
        -> KeyInfo
    {
        try await importWrappedStandard(session, spec: spec, wrapped: wrapped, wrappingKey: wrappingKey, scheme: scheme, version: nil)
    }

    /// Unwraps a key in its scheme's standard form into a new key object, as ``importKey(_:spec:material:)``
    /// with ``KeyMaterial/wrapped(_:wrappingKey:scheme:)`` does; `version` names the wrapping key's
    /// version (nil: its latest, read with ``getKey(_:id:)``).
    public func importWrappedStandard(
        _ session: SessionToken, spec: KeySpec, wrapped: Data, wrappingKey: String, scheme: WrapScheme, version: Int?
    ) async throws -> KeyInfo {
        try HSMArgumentChecks.keyVersion(version)
        let v: Int
        if let version { v = version } else { v = try await getKey(session, id: wrappingKey).latestVersion }
        let blob = VersionedBlob.encode(version: v, wrapped)
        return try await importKey(session, spec: spec, material: .wrapped(blob, wrappingKey: wrappingKey, scheme: scheme))
    }
}
