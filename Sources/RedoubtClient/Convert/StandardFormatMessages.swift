import Foundation
import RedoubtCore
import RedoubtProto

// The standard form (``StandardCipherParameters``) on the wire: a `standard` field on the
// Encrypt, Decrypt, Mac, VerifyMac, Wrap and Unwrap requests, and the IV and key version on
// EncryptResponse and WrapResponse.

extension Redoubt_V1_StandardFormat {
    /// The longest IV a request may carry (AES-GCM takes up to 128 bytes).
    static let maximumIVCount = 128

    /// The wire form of `parameters` (their AAD travels in the request's own field).
    package init(_ parameters: StandardCipherParameters) {
        self.init()
        iv = parameters.iv ?? Data()
        tagLength = UInt32(clamping: parameters.tagByteCount)
        keyVersion = UInt32(clamping: parameters.version ?? 0)
        label = parameters.label
    }

    /// The model's parameters, with the request's `aad`.
    func parameters(aad: Data, at path: FieldPath) throws -> StandardCipherParameters {
        try (path + "iv").checkSize(iv, limit: Self.maximumIVCount)
        try (path + "label").checkSize(label, limit: 1 << 16)
        guard tagLength <= 16 else { throw (path + "tag_length").invalid("is \(tagLength); AEAD tags are at most 16 bytes") }
        return StandardCipherParameters(
            iv: iv.isEmpty ? nil : iv, aad: aad, tagByteCount: tagLength == 0 ? 16 : Int(tagLength), version: try version(at: path), label: label)
    }

    /// The key version a MAC names; a MAC takes no IV or tag length.
    func macVersion(at path: FieldPath) throws -> Int? {
        try versionOnly(at: path, "a MAC", tag: "a MAC's tag is the hash's full length")
    }

    /// The wrapping key's version a wrap or an unwrap names; they take no IV, tag length or label.
    func wrapVersion(at path: FieldPath) throws -> Int? {
        try versionOnly(at: path, "key wrapping", tag: "key wrapping takes no tag length")
    }

    private func versionOnly(at path: FieldPath, _ what: String, tag: String) throws -> Int? {
        guard iv.isEmpty else { throw (path + "iv").invalid("must be empty: \(what) takes no IV") }
        guard tagLength == 0 else { throw (path + "tag_length").invalid("must be 0: \(tag)") }
        guard label.isEmpty else { throw (path + "label").invalid("must be empty: \(what) takes no label") }
        return try version(at: path)
    }

    private func version(at path: FieldPath) throws -> Int? {
        guard keyVersion <= UInt32(Int32.max) else { throw (path + "key_version").invalid("is \(keyVersion); the largest version is \(Int32.max)") }
        return keyVersion == 0 ? nil : Int(keyVersion)
    }
}

extension Redoubt_V1_EncryptRequest {
    /// The request encrypting `plaintext` into the standard form.
    package init(key: String, plaintext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters) {
        self.init(key: key, plaintext: plaintext, scheme: scheme, aad: parameters.aad)
        standard = Redoubt_V1_StandardFormat(parameters)
    }

    /// The standard-form parameters, if the request asks for that form.
    package func standardParameters(at path: FieldPath) throws -> StandardCipherParameters? {
        hasStandard ? try standard.parameters(aad: aad, at: path + "standard") : nil
    }
}

extension Redoubt_V1_EncryptResponse {
    /// The response holding a standard-form ciphertext.
    package init(_ result: StandardEncryption) {
        self.init()
        ciphertext = result.ciphertext
        iv = result.iv
        keyVersion = UInt32(clamping: result.version)
    }

    /// The standard-form result.
    var standardEncryption: StandardEncryption {
        StandardEncryption(iv: iv, ciphertext: ciphertext, version: Int(keyVersion))
    }
}

extension Redoubt_V1_DecryptRequest {
    /// The request decrypting a standard-form `ciphertext`.
    package init(key: String, ciphertext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters) {
        self.init(key: key, ciphertext: ciphertext, scheme: scheme, aad: parameters.aad)
        standard = Redoubt_V1_StandardFormat(parameters)
    }

    /// The standard-form parameters, if the ciphertext is in that form.
    package func standardParameters(at path: FieldPath) throws -> StandardCipherParameters? {
        hasStandard ? try standard.parameters(aad: aad, at: path + "standard") : nil
    }
}

extension Redoubt_V1_MacRequest {
    /// The request computing a bare HMAC tag with key version `version` (latest if nil).
    package init(key: String, data: Data, hash: HashAlgorithm, version: Int?) {
        self.init(key: key, data: data, hash: hash)
        standard = Redoubt_V1_StandardFormat(StandardCipherParameters(version: version))
        standard.tagLength = 0
    }

    /// The key version (nil: latest) if the request asks for the standard form; nil otherwise.
    package func standardVersion(at path: FieldPath) throws -> Int?? {
        hasStandard ? .some(try standard.macVersion(at: path + "standard")) : nil
    }
}

extension Redoubt_V1_VerifyMacRequest {
    /// The request checking a bare HMAC tag with key version `version` (latest if nil).
    package init(key: String, data: Data, tag: Data, hash: HashAlgorithm, version: Int?) {
        self.init(key: key, data: data, tag: tag, hash: hash)
        standard = Redoubt_V1_StandardFormat(StandardCipherParameters(version: version))
        standard.tagLength = 0
    }

    /// The key version (nil: latest) if the tag is in the standard form; nil otherwise.
    package func standardVersion(at path: FieldPath) throws -> Int?? {
        hasStandard ? .some(try standard.macVersion(at: path + "standard")) : nil
    }
}

extension Redoubt_V1_WrapRequest {
    /// The request wrapping `id` under `wrappingKey`, in the standard form if `standard`.
    package init(id: String, wrappingKey: String, scheme: WrapScheme, standard: Bool) {
        self.init(id: id, wrappingKey: wrappingKey, scheme: scheme)
        if standard { self.standard = Redoubt_V1_StandardFormat() }
    }

    /// Whether the request asks for the standard form, which wraps under the wrapping key's
    /// latest version (a version named is refused).
    package func wantsStandard(at path: FieldPath) throws -> Bool {
        guard hasStandard else { return false }
        if try standard.wrapVersion(at: path + "standard") != nil {
            throw (path + "standard" + "key_version").invalid("must be 0: wrapping uses the wrapping key's latest version")
        }
        return true
    }
}

extension Redoubt_V1_WrapResponse {
    /// The response holding a standard-form wrapped key and the wrapping key's version.
    package init(_ result: StandardWrappedKey) {
        self.init()
        wrappedKey = result.wrapped
        keyVersion = UInt32(clamping: result.version)
    }

    /// The standard-form result.
    var standardWrappedKey: StandardWrappedKey { StandardWrappedKey(wrapped: wrappedKey, version: Int(keyVersion)) }
}

extension Redoubt_V1_UnwrapRequest {
    /// The request unwrapping a standard-form `wrapped` key under version `version` (nil: latest)
    /// of `wrappingKey` into a key of `spec`.
    package init(standardWrappedKey wrapped: Data, wrappingKey: String, scheme: WrapScheme, version: Int?, spec: KeySpec) {
        self.init(wrappedKey: wrapped, wrappingKey: wrappingKey, scheme: scheme, spec: spec)
        standard = Redoubt_V1_StandardFormat(StandardCipherParameters(version: version))
        standard.tagLength = 0
    }

    /// The wrapping key's version (nil: latest) if the wrapped key is in the standard form; nil otherwise.
    package func standardVersion(at path: FieldPath) throws -> Int?? {
        hasStandard ? .some(try standard.wrapVersion(at: path + "standard")) : nil
    }
}
