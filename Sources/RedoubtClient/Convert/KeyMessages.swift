import Foundation
import RedoubtCore
import RedoubtCrypto
import RedoubtProto

// Requests and responses of KeyService (and the key-returning responses of CryptoService).

/// A request naming one key by `key_id` and nothing else.
package protocol KeyIDRequest: Sendable {
    /// Creates an empty request.
    init()
    /// The key id.
    var keyID: String { get set }
}

extension KeyIDRequest {
    /// The request naming key `id`.
    package init(keyID id: String) {
        self.init()
        keyID = id
    }

    /// The key id; refuses an empty one.
    package func decodedKeyID(at path: FieldPath = .root) throws -> String {
        try requiredID(keyID, at: path + "key_id")
    }
}

extension Redoubt_V1_GetKeyRequest: KeyIDRequest {}
extension Redoubt_V1_RotateKeyRequest: KeyIDRequest {}
extension Redoubt_V1_BlockKeyRequest: KeyIDRequest {}
extension Redoubt_V1_UnblockKeyRequest: KeyIDRequest {}
extension Redoubt_V1_DestroyKeyRequest: KeyIDRequest {}
extension Redoubt_V1_RestoreKeyRequest: KeyIDRequest {}
extension Redoubt_V1_PurgeKeyRequest: KeyIDRequest {}
extension Redoubt_V1_ExportPlaintextRequest: KeyIDRequest {}

/// A response holding one key object in `key`.
package protocol KeyResponse: Sendable {
    /// Creates an empty response.
    init()
    /// The key.
    var key: Redoubt_V1_KeyInfo { get set }
    /// Whether the key is set.
    var hasKey: Bool { get }
}

extension KeyResponse {
    /// The response holding `key`.
    package init(_ key: KeyInfo) {
        self.init()
        self.key = key.proto
    }

    /// The key; refuses a response without one.
    package func decodedKey(at path: FieldPath = .root) throws -> KeyInfo {
        try KeyInfo(required: key, isSet: hasKey, at: path + "key")
    }
}

extension Redoubt_V1_CreateKeyResponse: KeyResponse {}
extension Redoubt_V1_ImportKeyResponse: KeyResponse {}
extension Redoubt_V1_GetKeyResponse: KeyResponse {}
extension Redoubt_V1_UpdateKeyResponse: KeyResponse {}
extension Redoubt_V1_RotateKeyResponse: KeyResponse {}
extension Redoubt_V1_BlockKeyResponse: KeyResponse {}
extension Redoubt_V1_UnblockKeyResponse: KeyResponse {}
extension Redoubt_V1_DestroyKeyResponse: KeyResponse {}
extension Redoubt_V1_RestoreKeyResponse: KeyResponse {}
extension Redoubt_V1_UnwrapResponse: KeyResponse {}
extension Redoubt_V1_DeriveKeyResponse: KeyResponse {}
extension Redoubt_V1_DecapsulateResponse: KeyResponse {}

extension Redoubt_V1_CreateKeyRequest {
    /// The request generating a key of `spec` (its request id included).
    package init(spec: KeySpec) {
        self.init()
        self.spec = spec.proto
        requestID = spec.protoRequestID
    }

    /// The spec, request id included.
    package func decoded(at path: FieldPath = .root) throws -> KeySpec {
        try KeySpec(required: spec, isSet: hasSpec, requestID: requestID, at: path + "spec")
    }
}

extension Redoubt_V1_ImportKeyRequest {
    /// The request importing `material` as a key of `spec` (its request id included).
    package init(spec: KeySpec, material: KeyMaterial) {
        self.init()
        self.spec = spec.proto
        requestID = spec.protoRequestID
        switch material {
        case .pkcs8(let der): pkcs8Der = der
        case .publicKey(let key): spkiDer = key.spkiDER
        case .secret(let bytes): secret = bytes.exportedBytes()
        case .wrapped(let blob, let wrappingKey, let scheme):
            var w = Redoubt_V1_WrappedKey()
            w.wrappingKeyID = wrappingKey
            w.scheme = WrapScheme.protoMapping.proto(scheme)
            w.blob = blob
            wrapped = w
        }
    }

    /// The spec and the material, each at most `limit` bytes.
    package func decoded(at path: FieldPath = .root, limit: Int) throws -> (spec: KeySpec, material: KeyMaterial) {
        let spec = try KeySpec(required: self.spec, isSet: hasSpec, requestID: requestID, at: path + "spec")
        guard let material else {
            throw path.invalid("has no material; set one of pkcs8_der, spki_der, secret, wrapped")
        }
        switch material {
        case .pkcs8Der(let der):
            try (path + "pkcs8_der").checkSize(der, limit: limit)
            return (spec, .pkcs8(der))
        case .spkiDer(let der):
            try (path + "spki_der").checkSize(der, limit: limit)
            return (spec, .publicKey(try PublicKey(spki: der, at: path + "spki_der")))
        case .secret(let bytes):
            try (path + "secret").checkSize(bytes, limit: limit)
            return (spec, .secret(SecretBytes(bytes)))
        case .wrapped(let w):
            try (path + "wrapped.blob").checkSize(w.blob, limit: limit)
            return (
                spec,
                .wrapped(
                    w.blob, wrappingKey: try requiredID(w.wrappingKeyID, at: path + "wrapped.wrapping_key_id"),
                    scheme: try WrapScheme.protoMapping.model(w.scheme, at: path + "wrapped.scheme"))
            )
        }
    }
}

extension Redoubt_V1_ListKeysRequest {
    /// The request for the page of keys `filter` describes; `filter.after` must come from a
    /// previous page (``Redoubt_V1_ListKeysResponse/decoded(at:)``).
    package init(_ filter: KeyFilter) {
        self.init()
        pageSize = Int32(clamping: filter.limit)
        pageToken = filter.after.map(Paging.token(after:)) ?? ""
        label = filter.label ?? ""
        includeDestroyed = filter.includeDestroyed
        applicationID = filter.applicationID ?? Data()
    }

    /// The filter (its `after` from the page token; its `limit` the page size).
    package func decoded(at path: FieldPath = .root) throws -> KeyFilter {
        let page = try PageRequest(pageSize: pageSize, pageToken: pageToken, at: path)
        try KeyIdentifierFields.check(applicationID: applicationID, subject: nil, at: path)
        return KeyFilter(
            label: label.isEmpty ? nil : label, includeDestroyed: includeDestroyed, after: page.after, limit: page.size,
            applicationID: applicationID.isEmpty ? nil : applicationID)
    }
}

extension Redoubt_V1_ListKeysResponse {
    /// A page of keys.
    package init(_ keys: [KeyInfo], nextPageToken: String) {
        self.init()
        self.keys = keys.map(\.proto)
        self.nextPageToken = nextPageToken
    }

    /// The keys of the page, and the id the next page starts after (`nil` on the last page).
    package func decoded(at path: FieldPath = .root) throws -> (keys: [KeyInfo], after: String?) {
        (
            try keys.enumerated().map { try KeyInfo(proto: $1, at: (path + "keys")[$0]) },
            try Paging.lastID(nextPageToken, at: path + "next_page_token")
        )
    }
}

extension Redoubt_V1_UpdateKeyRequest {
    /// The key id and the change.
    package func decoded(at path: FieldPath = .root) throws -> (id: String, update: KeyAttributeUpdate) {
        (try requiredID(keyID, at: path + "key_id"), try KeyAttributeUpdate(proto: self, at: path))
    }
}

extension Redoubt_V1_ExportPublicKeyRequest {
    /// The request for the public key of `id`, version `version` (latest if nil).
    package init(id: String, version: Int?) {
        self.init()
        keyID = id
        if let version { keyVersion = UInt32(clamping: version) }
    }

    /// The key id and version.
    package func decoded(at path: FieldPath = .root) throws -> (id: String, version: Int?) {
        (try requiredID(keyID, at: path + "key_id"), hasKeyVersion ? Int(keyVersion) : nil)
    }
}

extension Redoubt_V1_ExportPublicKeyResponse {
    /// The response holding `key`.
    package init(_ key: PublicKey) {
        self.init()
        publicKey = key.proto
    }

    /// The public key.
    package func decoded(at path: FieldPath = .root) throws -> PublicKey {
        guard hasPublicKey else { throw (path + "public_key").invalid("is unset") }
        return try PublicKey(proto: publicKey, at: path + "public_key")
    }
}

/// A request wrapping one key under another: KeyService.ExportWrapped and CryptoService.Wrap,
/// the same operation.
package protocol WrapKeyRequest: Sendable {
    /// Creates an empty request.
    init()
    /// The key to wrap.
    var keyID: String { get set }
    /// The key to wrap it under.
    var wrappingKeyID: String { get set }
    /// The wrapping scheme.
    var scheme: Redoubt_V1_WrapScheme { get set }
}

extension WrapKeyRequest {
    /// The request wrapping `id` under `wrappingKey`.
    package init(id: String, wrappingKey: String, scheme: WrapScheme) {
        self.init()
        keyID = id
        wrappingKeyID = wrappingKey
        self.scheme = WrapScheme.protoMapping.proto(scheme)
    }

    /// The key, wrapping key and scheme.
    package func decoded(at path: FieldPath = .root) throws -> (id: String, wrappingKey: String, scheme: WrapScheme) {
        (
            try requiredID(keyID, at: path + "key_id"), try requiredID(wrappingKeyID, at: path + "wrapping_key_id"),
            try WrapScheme.protoMapping.model(scheme, at: path + "scheme")
        )
    }
}

extension Redoubt_V1_ExportWrappedRequest: WrapKeyRequest {}
extension Redoubt_V1_WrapRequest: WrapKeyRequest {}

extension Redoubt_V1_ExportWrappedResponse {
    /// The response holding `blob`.
    package init(wrappedKey blob: Data) {
        self.init()
        wrappedKey = blob
    }
}

extension Redoubt_V1_ExportPlaintextResponse {
    /// The response holding the key's bytes.
    package init(_ material: SecretBytes) {
        self.init()
        keyMaterial = material.exportedBytes()
    }
}
