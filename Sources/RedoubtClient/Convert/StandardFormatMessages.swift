import Foundation
import RedoubtCore
import RedoubtProto

// The standard form (``StandardCipherParameters``) on the wire: a `standard` field on the
// Encrypt, Decrypt, Mac and VerifyMac requests, and the IV and key version on EncryptResponse.

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
        guard iv.isEmpty else { throw (path + "iv").invalid("must be empty: a MAC takes no IV") }
        guard tagLength == 0 else { throw (path + "tag_length").invalid("must be 0: a MAC's tag is the hash's full length") }
        guard label.isEmpty else { throw (path + "label").invalid("must be empty: a MAC takes no label") }
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
