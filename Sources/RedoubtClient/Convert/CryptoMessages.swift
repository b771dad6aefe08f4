import Foundation
import RedoubtCore
import RedoubtCrypto
import RedoubtProto

// Requests and responses of CryptoService. Every bytes field of a request is at most the
// broker's payload limit (`limit`), refused as INVALID_ARGUMENT naming the field.

/// A request that may be an item of a batch: its payload sizes can be checked before any item runs.
package protocol PayloadCheckedRequest: Sendable {
    /// Refuses any bytes field over `limit`, naming it under `path`.
    func checkPayloads(at path: FieldPath, limit: Int) throws
}

// MARK: - Sign and verify

extension Redoubt_V1_SignRequest: PayloadCheckedRequest {
    /// The request signing `input` with `key`.
    package init(key: String, input: SigningInput, scheme: SignatureScheme) {
        self.init()
        keyID = key
        self.input = input.proto
        self.scheme = scheme.proto
    }

    package func checkPayloads(at path: FieldPath, limit: Int) throws {
        try input.checkSize(at: path + "input", limit: limit)
        if case .mlDsa(let m)? = scheme.scheme { try (path + "scheme.ml_dsa.context").checkSize(m.context, limit: limit) }
    }

    /// The key, input and scheme.
    package func decoded(at path: FieldPath = .root, limit: Int) throws -> (key: String, input: SigningInput, scheme: SignatureScheme) {
        try checkPayloads(at: path, limit: limit)
        return (
            try requiredID(keyID, at: path + "key_id"),
            try SigningInput(proto: input, isSet: hasInput, at: path + "input", limit: limit),
            try SignatureScheme(proto: scheme, isSet: hasScheme, at: path + "scheme")
        )
    }
}

extension Redoubt_V1_SignResponse {
    /// The response holding `result`.
    package init(_ result: SignatureResult) {
        self.init()
        signature = result.signature
        keyVersion = UInt32(clamping: result.version)
    }

    /// The signature and version.
    package var model: SignatureResult { SignatureResult(signature: signature, version: Int(keyVersion)) }
}

extension Redoubt_V1_VerifyRequest: PayloadCheckedRequest {
    /// The request verifying `signature` over `input` with `key` (version `version`, latest if nil).
    package init(key: String, input: SigningInput, signature: Data, scheme: SignatureScheme, version: Int?) {
        self.init()
        keyID = key
        self.input = input.proto
        self.signature = signature
        self.scheme = scheme.proto
        if let version { keyVersion = UInt32(clamping: version) }
    }

    package func checkPayloads(at path: FieldPath, limit: Int) throws {
        try input.checkSize(at: path + "input", limit: limit)
        try (path + "signature").checkSize(signature, limit: limit)
        if case .mlDsa(let m)? = scheme.scheme { try (path + "scheme.ml_dsa.context").checkSize(m.context, limit: limit) }
    }

    /// The key, input, signature, scheme and version.
    package func decoded(at path: FieldPath = .root, limit: Int)
        throws -> (key: String, input: SigningInput, signature: Data, scheme: SignatureScheme, version: Int?)
    {
        try checkPayloads(at: path, limit: limit)
        return (
            try requiredID(keyID, at: path + "key_id"),
            try SigningInput(proto: input, isSet: hasInput, at: path + "input", limit: limit),
            signature,
            try SignatureScheme(proto: scheme, isSet: hasScheme, at: path + "scheme"),
            hasKeyVersion ? Int(keyVersion) : nil
        )
    }
}

extension Redoubt_V1_VerifyResponse {
    /// The response saying whether the signature is valid.
    package init(valid: Bool) {
        self.init()
        self.valid = valid
    }
}

// MARK: - Encrypt, decrypt, MAC

extension Redoubt_V1_EncryptRequest: PayloadCheckedRequest {
    /// The request encrypting `plaintext` with `key`.
    package init(key: String, plaintext: Data, scheme: EncryptionScheme, aad: Data) {
        self.init()
        keyID = key
        self.plaintext = plaintext
        self.scheme = EncryptionScheme.protoMapping.proto(scheme)
        self.aad = aad
    }

    package func checkPayloads(at path: FieldPath, limit: Int) throws {
        try (path + "plaintext").checkSize(plaintext, limit: limit)
        try (path + "aad").checkSize(aad, limit: limit)
    }

    /// The key, plaintext, scheme and AAD.
    package func decoded(at path: FieldPath = .root, limit: Int) throws -> (key: String, plaintext: Data, scheme: EncryptionScheme, aad: Data) {
        try checkPayloads(at: path, limit: limit)
        return (
            try requiredID(keyID, at: path + "key_id"), plaintext,
            try EncryptionScheme.protoMapping.model(scheme, at: path + "scheme"), aad
        )
    }
}

extension Redoubt_V1_EncryptResponse {
    /// The response holding `ciphertext`.
    package init(ciphertext: Data) {
        self.init()
        self.ciphertext = ciphertext
    }
}

extension Redoubt_V1_DecryptRequest: PayloadCheckedRequest {
    /// The request decrypting `ciphertext` with `key`.
    package init(key: String, ciphertext: Data, scheme: EncryptionScheme, aad: Data) {
        self.init()
        keyID = key
        self.ciphertext = ciphertext
        self.scheme = EncryptionScheme.protoMapping.proto(scheme)
        self.aad = aad
    }

    package func checkPayloads(at path: FieldPath, limit: Int) throws {
        // A ciphertext carries a version prefix, a nonce and a tag on top of the plaintext.
        try (path + "ciphertext").checkSize(ciphertext, limit: limit + 1024)
        try (path + "aad").checkSize(aad, limit: limit)
    }

    /// The key, ciphertext, scheme and AAD.
    package func decoded(at path: FieldPath = .root, limit: Int) throws -> (key: String, ciphertext: Data, scheme: EncryptionScheme, aad: Data) {
        try checkPayloads(at: path, limit: limit)
        return (
            try requiredID(keyID, at: path + "key_id"), ciphertext,
            try EncryptionScheme.protoMapping.model(scheme, at: path + "scheme"), aad
        )
    }
}

extension Redoubt_V1_DecryptResponse {
    /// The response holding `plaintext`.
    package init(plaintext: Data) {
        self.init()
        self.plaintext = plaintext
    }
}

extension Redoubt_V1_MacRequest: PayloadCheckedRequest {
    /// The request computing an HMAC of `data` with `key`.
    package init(key: String, data: Data, hash: HashAlgorithm) {
        self.init()
        keyID = key
        self.data = data
        self.hash = HashAlgorithm.protoMapping.proto(hash)
    }

    package func checkPayloads(at path: FieldPath, limit: Int) throws {
        try (path + "data").checkSize(data, limit: limit)
    }

    /// The key, data and hash.
    package func decoded(at path: FieldPath = .root, limit: Int) throws -> (key: String, data: Data, hash: HashAlgorithm) {
        try checkPayloads(at: path, limit: limit)
        return (try requiredID(keyID, at: path + "key_id"), data, try HashAlgorithm.protoMapping.model(hash, at: path + "hash"))
    }
}

extension Redoubt_V1_MacResponse {
    /// The response holding `tag`.
    package init(tag: Data) {
        self.init()
        self.tag = tag
    }
}

extension Redoubt_V1_VerifyMacRequest: PayloadCheckedRequest {
    /// The request checking `tag` over `data` with `key`.
    package init(key: String, data: Data, tag: Data, hash: HashAlgorithm) {
        self.init()
        keyID = key
        self.data = data
        self.tag = tag
        self.hash = HashAlgorithm.protoMapping.proto(hash)
    }

    package func checkPayloads(at path: FieldPath, limit: Int) throws {
        try (path + "data").checkSize(data, limit: limit)
        try (path + "tag").checkSize(tag, limit: limit)
    }

    /// The key, data, tag and hash.
    package func decoded(at path: FieldPath = .root, limit: Int) throws -> (key: String, data: Data, tag: Data, hash: HashAlgorithm) {
        try checkPayloads(at: path, limit: limit)
        return (try requiredID(keyID, at: path + "key_id"), data, tag, try HashAlgorithm.protoMapping.model(hash, at: path + "hash"))
    }
}

extension Redoubt_V1_VerifyMacResponse {
    /// The response saying whether the tag is valid.
    package init(valid: Bool) {
        self.init()
        self.valid = valid
    }
}

// MARK: - Wrap, unwrap, derive, KEM, random

extension Redoubt_V1_WrapResponse {
    /// The response holding `blob`.
    package init(wrappedKey blob: Data) {
        self.init()
        wrappedKey = blob
    }
}

extension Redoubt_V1_UnwrapRequest {
    /// The request unwrapping `blob` under `wrappingKey` into a key of `spec` (its request id included).
    package init(wrappedKey blob: Data, wrappingKey: String, scheme: WrapScheme, spec: KeySpec) {
        self.init()
        wrappingKeyID = wrappingKey
        self.scheme = WrapScheme.protoMapping.proto(scheme)
        wrappedKey = blob
        self.spec = spec.proto
        requestID = spec.protoRequestID
    }

    /// The spec and the material (``KeyMaterial/wrapped(_:wrappingKey:scheme:)``), as for ImportKey.
    package func decoded(at path: FieldPath = .root, limit: Int) throws -> (spec: KeySpec, material: KeyMaterial) {
        try (path + "wrapped_key").checkSize(wrappedKey, limit: limit)
        let wrappingKey = try requiredID(wrappingKeyID, at: path + "wrapping_key_id")
        let scheme = try WrapScheme.protoMapping.model(self.scheme, at: path + "scheme")
        guard !wrappedKey.isEmpty else { throw (path + "wrapped_key").invalid("is empty; send the wrapped key") }
        let spec = try KeySpec(required: self.spec, isSet: hasSpec, requestID: requestID, at: path + "spec")
        return (spec, .wrapped(wrappedKey, wrappingKey: wrappingKey, scheme: scheme))
    }
}

extension Redoubt_V1_DeriveKeyRequest {
    /// The request deriving a key of `spec` (its request id included) from `key` and `peer`.
    package init(key: String, peer: PublicKey, derivation: KeyDerivation, spec: KeySpec) {
        self.init()
        keyID = key
        peerPublicKey = peer.proto
        self.derivation = derivation.proto
        self.spec = spec.proto
        requestID = spec.protoRequestID
    }

    /// The request deriving a key of `spec` from secret key `key` (HKDF over its bytes).
    package init(key: String, derivation: KeyDerivation, spec: KeySpec) {
        self.init()
        keyID = key
        self.derivation = derivation.proto
        self.spec = spec.proto
        requestID = spec.protoRequestID
    }

    /// The key, peer (nil: derive from a secret key), derivation and spec.
    package func decoded(at path: FieldPath = .root, limit: Int)
        throws -> (key: String, peer: PublicKey?, derivation: KeyDerivation, spec: KeySpec)
    {
        try (path + "peer_public_key.spki_der").checkSize(peerPublicKey.spkiDer, limit: limit)
        let key = try requiredID(keyID, at: path + "key_id")
        return (
            key, hasPeerPublicKey ? try PublicKey(proto: peerPublicKey, at: path + "peer_public_key") : nil,
            try KeyDerivation(proto: derivation, isSet: hasDerivation, at: path + "derivation", limit: limit),
            try KeySpec(required: spec, isSet: hasSpec, requestID: requestID, at: path + "spec")
        )
    }
}

extension Redoubt_V1_RandomRequest {
    /// The request for `count` random bytes.
    package init(count: Int) {
        self.init()
        lengthBytes = UInt32(clamping: count)
    }

    /// The byte count: 1 byte to 1 MiB.
    package func decoded(at path: FieldPath = .root) throws -> Int {
        guard (1...UInt32(Random.maximumByteCount)).contains(lengthBytes) else {
            throw (path + "length_bytes").invalid("is \(lengthBytes); ask for 1 to \(Random.maximumByteCount) bytes")
        }
        return Int(lengthBytes)
    }
}

extension Redoubt_V1_RandomResponse {
    /// The response holding `data`.
    package init(data: Data) {
        self.init()
        self.data = data
    }
}

extension Redoubt_V1_EncapsulateRequest {
    /// The request encapsulating to `key` into a key of `spec` (its request id included).
    package init(key: String, spec: KeySpec) {
        self.init()
        keyID = key
        self.spec = spec.proto
        requestID = spec.protoRequestID
    }

    /// The key and spec.
    package func decoded(at path: FieldPath = .root) throws -> (key: String, spec: KeySpec) {
        (
            try requiredID(keyID, at: path + "key_id"),
            try KeySpec(required: spec, isSet: hasSpec, requestID: requestID, at: path + "spec")
        )
    }
}

extension Redoubt_V1_EncapsulateResponse {
    /// The response holding `result`.
    package init(_ result: EncapsulationResult) {
        self.init()
        key = result.key.proto
        encapsulatedKey = result.encapsulated
    }

    /// The new key and the encapsulated key.
    package func decoded(at path: FieldPath = .root) throws -> EncapsulationResult {
        EncapsulationResult(key: try KeyInfo(required: key, isSet: hasKey, at: path + "key"), encapsulated: encapsulatedKey)
    }
}

extension Redoubt_V1_DecapsulateRequest {
    /// The request decapsulating `encapsulated` with `key` into a key of `spec` (its request id included).
    package init(key: String, encapsulated: Data, spec: KeySpec) {
        self.init()
        keyID = key
        encapsulatedKey = encapsulated
        self.spec = spec.proto
        requestID = spec.protoRequestID
    }

    /// The key, encapsulated key and spec.
    package func decoded(at path: FieldPath = .root, limit: Int) throws -> (key: String, encapsulated: Data, spec: KeySpec) {
        try (path + "encapsulated_key").checkSize(encapsulatedKey, limit: limit)
        return (
            try requiredID(keyID, at: path + "key_id"), encapsulatedKey,
            try KeySpec(required: spec, isSet: hasSpec, requestID: requestID, at: path + "spec")
        )
    }
}
