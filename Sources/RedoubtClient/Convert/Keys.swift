import Foundation
import RedoubtCore
import RedoubtCrypto
import RedoubtProto
import SwiftProtobuf

// KeySpec, KeyInfo, PublicKey and key-attribute updates, both directions.

extension KeySpec {
    /// The spec of a request: unset optional fields take the documented defaults, `request_id`
    /// (which the proto keeps beside the spec) becomes ``requestID`` (empty: none).
    package init(proto: Redoubt_V1_KeySpec, requestID: String, at path: FieldPath) throws {
        let algorithm = try KeyAlgorithm.protoMapping.model(proto.algorithm, at: path + "algorithm")
        try KeyIdentifierFields.check(applicationID: proto.applicationID, subject: proto.subject, at: path)
        self.init(
            algorithm: algorithm,
            label: proto.label,
            usage: try KeyUsage(proto: proto.usages, at: path + "usages"),
            extractable: proto.hasExtractable ? proto.extractable : false,
            sensitive: proto.hasSensitive ? proto.sensitive : true,
            modifiable: proto.hasModifiable ? proto.modifiable : true,
            destroyable: proto.hasDestroyable ? proto.destroyable : true,
            notBefore: proto.hasNotBeforeTime ? try proto.notBeforeTime.date(at: path + "not_before_time") : nil,
            expiresAt: proto.hasExpireTime ? try proto.expireTime.date(at: path + "expire_time") : nil,
            secretByteCount: proto.hasSecretLengthBytes ? Int(proto.secretLengthBytes) : nil,
            persistent: proto.hasPersistent ? proto.persistent : true,
            requestID: requestID.isEmpty ? nil : requestID,
            policy: proto.hasPolicy ? try KeyPolicy(proto: proto.policy, at: path + "policy") : nil,
            applicationID: proto.applicationID, subject: proto.subject)
    }

    /// The proto spec, every attribute explicit; ``requestID`` goes in the request beside it
    /// (``protoRequestID``).
    package var proto: Redoubt_V1_KeySpec {
        var p = Redoubt_V1_KeySpec()
        p.algorithm = KeyAlgorithm.protoMapping.proto(algorithm)
        p.label = label
        p.usages = usage.proto
        p.extractable = extractable
        p.sensitive = sensitive
        p.modifiable = modifiable
        p.destroyable = destroyable
        if let notBefore { p.notBeforeTime = Google_Protobuf_Timestamp(notBefore) }
        if let expiresAt { p.expireTime = Google_Protobuf_Timestamp(expiresAt) }
        if let secretByteCount { p.secretLengthBytes = UInt32(clamping: secretByteCount) }
        p.persistent = persistent
        if let policy { p.policy = policy.proto }
        p.applicationID = applicationID
        p.subject = subject
        return p
    }

    /// ``requestID`` as the proto's `request_id` (empty: none).
    package var protoRequestID: String { requestID ?? "" }
}

extension KeySpec {
    /// A required `spec` field: refuses an unset message.
    package init(required proto: Redoubt_V1_KeySpec, isSet: Bool, requestID: String, at path: FieldPath) throws {
        guard isSet else { throw path.invalid("is unset; say what to create (at least algorithm and label)") }
        try self.init(proto: proto, requestID: requestID, at: path)
    }
}

extension PublicKey {
    /// A public key from its SPKI, checked against `algorithm` when that is set.
    package init(proto: Redoubt_V1_PublicKey, at path: FieldPath) throws {
        guard !proto.spkiDer.isEmpty else { throw (path + "spki_der").invalid("is empty; send a SubjectPublicKeyInfo in DER") }
        try self.init(spki: proto.spkiDer, at: path + "spki_der")
        if proto.algorithm != .unspecified {
            let stated = try KeyAlgorithm.protoMapping.model(proto.algorithm, at: path + "algorithm")
            guard stated == algorithm else {
                throw (path + "algorithm").invalid(
                    "is \(KeyAlgorithm.protoMapping.name(stated)) but spki_der holds a \(KeyAlgorithm.protoMapping.name(algorithm)) key")
            }
        }
    }

    /// A public key from SPKI DER bytes, an engine refusal becoming INVALID_ARGUMENT at `path`.
    package init(spki: Data, at path: FieldPath) throws {
        do {
            try self.init(spkiDER: spki)
        } catch let error as CryptoError {
            throw path.invalid("is not a usable public key: \(error.message)")
        }
    }

    /// The proto public key, algorithm set.
    package var proto: Redoubt_V1_PublicKey {
        var p = Redoubt_V1_PublicKey()
        p.spkiDer = spkiDER
        p.algorithm = KeyAlgorithm.protoMapping.proto(algorithm)
        return p
    }
}

extension KeyInfo {
    /// A key from a response.
    package init(proto p: Redoubt_V1_KeyInfo, at path: FieldPath) throws {
        self.init(
            id: p.id, label: p.label,
            algorithm: try KeyAlgorithm.protoMapping.model(p.algorithm, at: path + "algorithm"),
            usage: try KeyUsage(proto: p.usages, at: path + "usages") ?? [],
            extractable: p.extractable, sensitive: p.sensitive,
            neverExtractable: p.neverExtractable, alwaysSensitive: p.alwaysSensitive,
            modifiable: p.modifiable, destroyable: p.destroyable, local: p.local,
            notBefore: p.hasNotBeforeTime ? try p.notBeforeTime.date(at: path + "not_before_time") : nil,
            expiresAt: p.hasExpireTime ? try p.expireTime.date(at: path + "expire_time") : nil,
            state: try KeyState.protoMapping.model(p.state, at: path + "state"),
            latestVersion: Int(p.latestVersion), minimumVersion: Int(p.minimumVersion),
            persistent: p.persistent,
            createdAt: try p.createTime.date(at: path + "create_time"),
            publicKey: p.hasPublicKey ? try PublicKey(proto: p.publicKey, at: path + "public_key") : nil,
            policy: p.hasPolicy ? try KeyPolicy(proto: p.policy, at: path + "policy") : nil,
            applicationID: p.applicationID, subject: p.subject)
    }

    /// A required key field of a response.
    package init(required proto: Redoubt_V1_KeyInfo, isSet: Bool, at path: FieldPath) throws {
        guard isSet else { throw path.invalid("is unset") }
        try self.init(proto: proto, at: path)
    }

    /// The proto key.
    package var proto: Redoubt_V1_KeyInfo {
        var p = Redoubt_V1_KeyInfo()
        p.id = id
        p.label = label
        p.algorithm = KeyAlgorithm.protoMapping.proto(algorithm)
        p.usages = usage.proto
        p.extractable = extractable
        p.sensitive = sensitive
        p.neverExtractable = neverExtractable
        p.alwaysSensitive = alwaysSensitive
        p.modifiable = modifiable
        p.destroyable = destroyable
        p.local = local
        if let notBefore { p.notBeforeTime = Google_Protobuf_Timestamp(notBefore) }
        if let expiresAt { p.expireTime = Google_Protobuf_Timestamp(expiresAt) }
        p.state = KeyState.protoMapping.proto(state)
        p.latestVersion = UInt32(clamping: latestVersion)
        p.minimumVersion = UInt32(clamping: minimumVersion)
        p.persistent = persistent
        p.createTime = Google_Protobuf_Timestamp(createdAt)
        if let publicKey { p.publicKey = publicKey.proto }
        if let policy { p.policy = policy.proto }
        p.applicationID = applicationID
        p.subject = subject
        return p
    }
}

extension FieldPath {
    /// The prefix that names fields under this path in ``HSMArgumentChecks`` messages (`spec.`).
    package var fieldPrefix: String { text.isEmpty ? "" : text + "." }
}

/// The size limits of the application identifier (CKA_ID) and subject fields, checked where a
/// request is read so the message names the field as the request spells it.
package enum KeyIdentifierFields {
    package static func check(applicationID: Data?, subject: Data?, at path: FieldPath) throws {
        try HSMArgumentChecks.keyIdentifiers(applicationID: applicationID, subject: subject, prefix: path.fieldPrefix)
    }
}

/// The attribute fields UpdateKeyRequest and ApprovalOperation's KeyAttributeUpdate share, so
/// one conversion serves both.
package protocol KeyAttributeFields {
    init()
    var label: String { get set }
    var hasLabel: Bool { get }
    var usages: Redoubt_V1_KeyUsageSet { get set }
    var hasUsages: Bool { get }
    var extractable: Bool { get set }
    var hasExtractable: Bool { get }
    var sensitive: Bool { get set }
    var hasSensitive: Bool { get }
    var modifiable: Bool { get set }
    var hasModifiable: Bool { get }
    var destroyable: Bool { get set }
    var hasDestroyable: Bool { get }
    var notBeforeTime: Google_Protobuf_Timestamp { get set }
    var hasNotBeforeTime: Bool { get }
    var expireTime: Google_Protobuf_Timestamp { get set }
    var hasExpireTime: Bool { get }
    var minimumVersion: UInt32 { get set }
    var hasMinimumVersion: Bool { get }
    var applicationID: Data { get set }
    var hasApplicationID: Bool { get }
    var subject: Data { get set }
    var hasSubject: Bool { get }
}

extension Redoubt_V1_UpdateKeyRequest: KeyAttributeFields {}
extension Redoubt_V1_KeyAttributeUpdate: KeyAttributeFields {}

extension KeyAttributeUpdate {
    /// The update of an UpdateKeyRequest (or an approval operation): unset fields stay as they
    /// are. A set but empty usage list goes to the HSM as an empty set, which refuses it as
    /// LocalHSM does (FAILED_PRECONDITION).
    package init(proto p: some KeyAttributeFields, at path: FieldPath) throws {
        var usage: KeyUsage?
        if p.hasUsages {
            usage = try KeyUsage(proto: p.usages.usages, at: path + "usages.usages") ?? []
        }
        try KeyIdentifierFields.check(
            applicationID: p.hasApplicationID ? p.applicationID : nil, subject: p.hasSubject ? p.subject : nil, at: path)
        self.init(
            label: p.hasLabel ? p.label : nil,
            usage: usage,
            extractable: p.hasExtractable ? p.extractable : nil,
            sensitive: p.hasSensitive ? p.sensitive : nil,
            modifiable: p.hasModifiable ? p.modifiable : nil,
            destroyable: p.hasDestroyable ? p.destroyable : nil,
            notBefore: p.hasNotBeforeTime ? try p.notBeforeTime.date(at: path + "not_before_time") : nil,
            expiresAt: p.hasExpireTime ? try p.expireTime.date(at: path + "expire_time") : nil,
            minimumVersion: p.hasMinimumVersion ? Int(p.minimumVersion) : nil,
            applicationID: p.hasApplicationID ? p.applicationID : nil,
            subject: p.hasSubject ? p.subject : nil)
    }
}

extension KeyAttributeFields {
    /// Sets the fields `update` changes.
    package mutating func set(_ update: KeyAttributeUpdate) {
        if let label = update.label { self.label = label }
        if let usage = update.usage {
            var set = Redoubt_V1_KeyUsageSet()
            set.usages = usage.proto
            usages = set
        }
        if let v = update.extractable { extractable = v }
        if let v = update.sensitive { sensitive = v }
        if let v = update.modifiable { modifiable = v }
        if let v = update.destroyable { destroyable = v }
        if let v = update.notBefore { notBeforeTime = Google_Protobuf_Timestamp(v) }
        if let v = update.expiresAt { expireTime = Google_Protobuf_Timestamp(v) }
        if let v = update.minimumVersion { minimumVersion = UInt32(clamping: v) }
        if let v = update.applicationID { applicationID = v }
        if let v = update.subject { subject = v }
    }
}

extension Redoubt_V1_UpdateKeyRequest {
    /// The request changing `id` by `update`.
    package init(id: String, update: KeyAttributeUpdate) {
        self.init()
        keyID = id
        set(update)
    }
}
