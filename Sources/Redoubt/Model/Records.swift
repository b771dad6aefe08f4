import Foundation

/// Kinds of stored objects.
enum ObjectKind {
    static let cluster = "cluster"
    static let partition = "partition"
    static let user = "user"
    static let credential = "credential"
    static let session = "session"
    static let key = "key"
    static let approver = "approver"
    static let tokenIssuer = "token-issuer"
    static let request = "request"
    /// The signed checkpoint of a partition's audit chain (id "head").
    static let auditCheckpoint = "audit-checkpoint"
    /// The index of keys by application identifier (CKA_ID): one object per key that has one,
    /// with the key's id, the identifier in hex as its label, and no data. Never updated, so its
    /// revision is always 1: a new identifier deletes it and inserts it again.
    static let keyApplicationID = "key-app-id"
    /// A stored X.509 certificate (id "c…").
    static let certificate = "certificate"
    /// The index of certificates by application identifier, as ``keyApplicationID`` for keys.
    static let certificateApplicationID = "cert-app-id"
}

/// A stored certificate, with the fields read from it when it was stored.
struct CertificateRecord: Codable, Sendable {
    var id: String
    var label: String
    var applicationID: Data?
    var der: Data
    var subject: Data
    var issuer: Data
    var serialNumber: Data
    var createdAt: Date
    var createdBy: String

    var info: CertificateInfo {
        CertificateInfo(
            id: id, label: label, applicationID: applicationID ?? Data(), certificateDER: der, subject: subject, issuer: issuer,
            serialNumber: serialNumber, createdAt: createdAt)
    }
}

/// A partition, stored at cluster level.
struct PartitionRecord: Codable, Sendable {
    var id: String
    var settings: PartitionSettings
    var createdAt: Date
    /// The partition key, wrapped by the master key.
    var wrappedKey: Data

    var info: PartitionInfo { PartitionInfo(id: id, settings: settings, createdAt: createdAt) }
}

/// A user.
struct UserRecord: Codable, Sendable {
    var id: String
    var name: String
    var role: Role
    var partition: String
    var createdAt: Date
    var passwordCredential: String?
    var certificateCredential: String?

    var info: UserInfo {
        UserInfo(
            id: id, name: name, role: role, partition: partition, hasPassword: passwordCredential != nil,
            hasClientCertificate: certificateCredential != nil)
    }
}

/// A credential: an API key (hash of its secret), a password (scrypt hash) or a client
/// certificate (SHA-256 of its DER encoding; the id is `cert.<hex of that hash>`).
struct CredentialRecord: Codable, Sendable {
    enum Kind: String, Codable, Sendable { case apiKey, password, certificate }
    var id: String
    var kind: Kind
    var user: String
    var partition: String
    /// SHA-256 of the API key secret, the scrypt hash of the password, or the certificate's SHA-256.
    var hash: Data
    /// scrypt salt and cost (passwords only).
    var salt: Data?
    var costLog2: Int?
    /// Stores written before per-source throttling: the failures and lock of every source at
    /// once. Read as the bucket of calls without a source address; new code leaves them at 0/nil.
    var failedAttempts: Int
    var lockedUntil: Date?
    /// Failed sign-ins and locks per source address (``LoginThrottle/unknownSource`` when the
    /// transport names none), so a failure from one address never locks out another.
    var throttles: [String: LoginThrottle]? = nil
}

/// One source's failed sign-ins against one credential.
struct LoginThrottle: Codable, Sendable, Hashable {
    /// The bucket of calls whose transport names no source address (in-process calls).
    static let unknownSource = "-"
    /// The most sources a credential remembers (the most recent failures win).
    static let maximumSources = 64

    /// Consecutive failures since the last lock or success.
    var failures: Int
    var lockedUntil: Date?
    var lastFailure: Date
}

/// A session, stored at cluster level so any node can honour it.
struct SessionRecord: Codable, Sendable {
    var id: String
    var partition: String
    var user: String
    var role: Role
    /// SHA-256 of the token secret.
    var secretHash: Data
    var createdAt: Date
    var expiresAt: Date
    var idleTimeout: TimeInterval
    var lastUsed: Date
}

/// One version of a key's material, sealed under the partition key.
struct KeyVersionRecord: Codable, Sendable {
    var version: Int
    var createdAt: Date
    /// The sealed material (PKCS#8 for private keys, raw bytes for secret keys); nil for public-only keys.
    var sealed: Data?
    /// SPKI of the public key, for asymmetric keys.
    var publicKey: Data?
}

/// A key object.
struct KeyRecord: Codable, Sendable {
    var id: String
    var label: String
    var algorithm: KeyAlgorithm
    var usage: KeyUsage
    var extractable: Bool
    var sensitive: Bool
    var neverExtractable: Bool
    var alwaysSensitive: Bool
    var modifiable: Bool
    var destroyable: Bool
    var local: Bool
    var notBefore: Date?
    var expiresAt: Date?
    var state: KeyState
    /// The state a destroyed key returns to when restored.
    var stateBeforeDestroy: KeyState?
    var destroyedAt: Date?
    var minimumVersion: Int
    var versions: [KeyVersionRecord]
    var createdAt: Date
    var createdBy: String
    /// Public-only: an imported public key, no private half.
    var publicOnly: Bool
    /// Who must approve what the key does; nil for an ungoverned key (records written before
    /// policies existed have none).
    var policy: KeyPolicy?
    /// The application's identifier (CKA_ID); nil or empty: none (older records have none).
    var applicationID: Data?
    /// The DER subject name (CKA_SUBJECT); nil or empty: none.
    var subject: Data?

    var latestVersion: Int { versions.last?.version ?? 0 }

    func info(persistent: Bool) -> KeyInfo {
        KeyInfo(
            id: id, label: label, algorithm: algorithm, usage: usage, extractable: extractable, sensitive: sensitive,
            neverExtractable: neverExtractable, alwaysSensitive: alwaysSensitive, modifiable: modifiable,
            destroyable: destroyable, local: local, notBefore: notBefore, expiresAt: expiresAt, state: state,
            latestVersion: latestVersion, minimumVersion: minimumVersion, persistent: persistent, createdAt: createdAt,
            publicKey: versions.last?.publicKey.flatMap { try? PublicKey(spkiDER: $0) }, policy: policy,
            applicationID: applicationID ?? Data(), subject: subject ?? Data())
    }
}
