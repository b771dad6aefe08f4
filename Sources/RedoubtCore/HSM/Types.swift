import Foundation

/// What a session may do. A user has one role in one partition; the operator role is
/// cluster-wide and can never use or read a partition's keys.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    /// Runs the service: partitions, backups, health. Never touches keys.
    case `operator` = "OPERATOR"
    /// Manages a partition: users, key lifecycle, policies.
    case securityOfficer = "SECURITY_OFFICER"
    /// Uses keys (and creates them where the partition allows).
    case cryptoUser = "CRYPTO_USER"
    /// Reads and verifies the partition's audit log.
    case auditor = "AUDITOR"
    /// Approves governed operations (see the approvals feature).
    case approver = "APPROVER"
}

/// A secret that opens a session.
public enum Credential: Sendable, Hashable, CustomStringConvertible {
    /// An API key as issued by the HSM (`rdk1.<id>.<secret>`).
    case apiKey(String)
    /// A user name and password.
    case password(user: String, password: String)
    /// A client certificate, by the SHA-256 of its DER encoding, that the caller has already
    /// verified (the broker passes the certificate of a mutual-TLS connection, checked against
    /// its client CA). It opens a session for the user it was registered for with
    /// ``HSM/addUser(_:name:role:password:clientCertificateSHA256:)``.
    case clientCertificate(sha256: Data)
    /// A JSON Web Token from an issuer the partition trusts (``HSM/bindTokenIssuer(_:issuer:)``):
    /// it opens a session for the user its ``TokenIssuer/userClaim`` names, ending no later than
    /// the token's `exp`. The broker takes it as the `authorization: Bearer` of OpenSession.
    case jwt(String)

    /// Never shows the secret.
    public var description: String {
        switch self {
        case .apiKey: return "Credential.apiKey(<redacted>)"
        case .password(let user, _): return "Credential.password(user: \(user), <redacted>)"
        case .clientCertificate: return "Credential.clientCertificate"
        case .jwt: return "Credential.jwt(<redacted>)"
        }
    }
}

/// The bearer token of an open session. Never printed.
public struct SessionToken: Sendable, Hashable, CustomStringConvertible {
    /// The token text (`rds1.<id>.<secret>`), to send with every call.
    public let value: String
    /// Wraps a token text.
    public init(_ value: String) { self.value = value }
    /// `SessionToken(<redacted>)`.
    public var description: String { "SessionToken(<redacted>)" }
}

/// An open session.
public struct SessionInfo: Sendable, Hashable {
    /// The bearer token; every later call carries it.
    public var token: SessionToken
    /// The session id (not secret; appears in audit records).
    public var id: String
    /// The partition, or `""` for an operator session.
    public var partition: String
    /// The user id.
    public var user: String
    /// The role the session acts in.
    public var role: Role
    /// When the session ends at the latest.
    public var expiresAt: Date
    /// How long the session may sit unused.
    public var idleTimeout: TimeInterval

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(token: SessionToken, id: String, partition: String, user: String, role: Role, expiresAt: Date, idleTimeout: TimeInterval) {
        self.token = token
        self.id = id
        self.partition = partition
        self.user = user
        self.role = role
        self.expiresAt = expiresAt
        self.idleTimeout = idleTimeout
    }
}

/// Per-partition switches.
public struct PartitionSettings: Sendable, Hashable, Codable {
    /// Whether keys may be imported (private and secret keys; public keys always may).
    public var importAllowed: Bool
    /// Whether keys may leave the partition (wrapped or, if not sensitive, in the clear).
    public var exportAllowed: Bool
    /// Whether the partition refuses every change: keys and users (sessions still open and close).
    public var readOnly: Bool
    /// The most persistent key objects the partition may hold.
    public var maximumObjects: Int
    /// Whether crypto users may create (generate/import) keys; otherwise only the security officer.
    public var cryptoUsersMayCreateKeys: Bool
    /// The longest a session may last, in seconds.
    public var maximumSessionLifetime: TimeInterval
    /// The longest a session may sit idle, in seconds.
    public var sessionIdleTimeout: TimeInterval
    /// The source addresses sessions of this partition may come from, as CIDR blocks
    /// (`10.1.0.0/16`, `2001:db8::/32`, or a single address); empty means any. Checked when a
    /// session opens and on every call that carries its token, whenever the caller's address is
    /// known (the broker sets ``HSMCallContext/sourceAddress``; in-process calls have none).
    public var allowedSources: [String]
    /// How successful key uses are written to the audit chain: one record each (the default), or
    /// aggregated. Refused uses always get a record each.
    public var keyUseAudit: KeyUseAudit

    /// Import and export allowed, writable, 100,000 objects, crypto users may create keys,
    /// sessions of at most 12 hours and 30 minutes idle, from any address, every key use audited.
    public static var defaults: PartitionSettings {
        PartitionSettings(
            importAllowed: true, exportAllowed: true, readOnly: false, maximumObjects: 100_000,
            cryptoUsersMayCreateKeys: true, maximumSessionLifetime: 12 * 3600, sessionIdleTimeout: 1800)
    }

    /// Creates settings.
    public init(
        importAllowed: Bool, exportAllowed: Bool, readOnly: Bool, maximumObjects: Int,
        cryptoUsersMayCreateKeys: Bool, maximumSessionLifetime: TimeInterval, sessionIdleTimeout: TimeInterval,
        allowedSources: [String] = [], keyUseAudit: KeyUseAudit = .everyUse
    ) {
        self.importAllowed = importAllowed
        self.exportAllowed = exportAllowed
        self.readOnly = readOnly
        self.maximumObjects = maximumObjects
        self.cryptoUsersMayCreateKeys = cryptoUsersMayCreateKeys
        self.maximumSessionLifetime = maximumSessionLifetime
        self.sessionIdleTimeout = sessionIdleTimeout
        self.allowedSources = allowedSources
        self.keyUseAudit = keyUseAudit
    }

    private enum CodingKeys: String, CodingKey {
        case importAllowed, exportAllowed, readOnly, maximumObjects, cryptoUsersMayCreateKeys
        case maximumSessionLifetime, sessionIdleTimeout, allowedSources, keyUseAudit
    }

    /// Decodes stored settings; records written before `allowedSources` existed allow any source,
    /// and before `keyUseAudit`, audit every use.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        importAllowed = try c.decode(Bool.self, forKey: .importAllowed)
        exportAllowed = try c.decode(Bool.self, forKey: .exportAllowed)
        readOnly = try c.decode(Bool.self, forKey: .readOnly)
        maximumObjects = try c.decode(Int.self, forKey: .maximumObjects)
        cryptoUsersMayCreateKeys = try c.decode(Bool.self, forKey: .cryptoUsersMayCreateKeys)
        maximumSessionLifetime = try c.decode(TimeInterval.self, forKey: .maximumSessionLifetime)
        sessionIdleTimeout = try c.decode(TimeInterval.self, forKey: .sessionIdleTimeout)
        allowedSources = try c.decodeIfPresent([String].self, forKey: .allowedSources) ?? []
        keyUseAudit = try c.decodeIfPresent(KeyUseAudit.self, forKey: .keyUseAudit) ?? .everyUse
    }

    package func validated() throws -> PartitionSettings {
        guard maximumObjects >= 0, maximumObjects <= 10_000_000 else {
            throw HSMError.invalid("settings.maximum_objects must be 0 to 10000000")
        }
        guard maximumSessionLifetime >= 60, maximumSessionLifetime <= 30 * 86400 else {
            throw HSMError.invalid("settings.maximum_session_lifetime must be 60 s to 30 days")
        }
        guard sessionIdleTimeout >= 10, sessionIdleTimeout <= maximumSessionLifetime else {
            throw HSMError.invalid("settings.session_idle_timeout must be 10 s to the maximum session lifetime")
        }
        guard allowedSources.count <= 256 else {
            throw HSMError.invalid("settings.allowed_sources may list at most 256 CIDR blocks")
        }
        for (i, block) in allowedSources.enumerated() where AddressBlock(block) == nil {
            throw HSMError.invalid("settings.allowed_sources[\(i)] is not an IPv4 or IPv6 address or CIDR block (like 10.0.0.0/8 or 2001:db8::/32)")
        }
        return self
    }
}

/// How a partition writes successful key uses (sign, verify, encrypt, decrypt, MAC, wrap,
/// derive, random…) to its audit chain. Management operations and refused uses are always
/// written one record each.
public enum KeyUseAudit: String, Sendable, Hashable, Codable, CaseIterable {
    /// One record per use: who, which key, what, when (to the millisecond), the outcome.
    case everyUse = "every-use"
    /// One record per key, operation, user, session and outcome per group commit (a window of about
    /// the HSM's audit delay, 0.1 s by default): the
    /// record's ``AuditRecord/count`` says how many uses it stands for, its
    /// ``AuditRecord/firstTime`` and ``AuditRecord/time`` when the first and the last happened.
    /// The records are in the hash chain like any other. An auditor still learns every key that
    /// was used, by whom, in which session, how often and within which window; what is lost is
    /// each single use's own time.
    case aggregated
}

/// A partition as the operator sees it.
public struct PartitionInfo: Sendable, Hashable {
    /// The partition id (also its name).
    public var id: String
    /// Its switches.
    public var settings: PartitionSettings
    /// When it was created.
    public var createdAt: Date

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(id: String, settings: PartitionSettings, createdAt: Date) {
        self.id = id
        self.settings = settings
        self.createdAt = createdAt
    }
}

/// A partition just created, with the credential of its first security officer (shown once).
public struct CreatedPartition: Sendable {
    /// The partition.
    public var partition: PartitionInfo
    /// The first security officer.
    public var securityOfficer: UserInfo
    /// That officer's API key. Hand it to the subscriber; it is not stored in the clear anywhere.
    public var securityOfficerAPIKey: String

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(partition: PartitionInfo, securityOfficer: UserInfo, securityOfficerAPIKey: String) {
        self.partition = partition
        self.securityOfficer = securityOfficer
        self.securityOfficerAPIKey = securityOfficerAPIKey
    }
}

/// A user of a partition (or an operator).
public struct UserInfo: Sendable, Hashable {
    /// The user id.
    public var id: String
    /// The user's unique name within the partition.
    public var name: String
    /// The user's role.
    public var role: Role
    /// The partition, or `""` for an operator.
    public var partition: String
    /// Whether the user has a password (besides API keys).
    public var hasPassword: Bool
    /// Whether a client certificate opens sessions for the user.
    public var hasClientCertificate: Bool = false

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(id: String, name: String, role: Role, partition: String, hasPassword: Bool, hasClientCertificate: Bool = false) {
        self.id = id
        self.name = name
        self.role = role
        self.partition = partition
        self.hasPassword = hasPassword
        self.hasClientCertificate = hasClientCertificate
    }
}

/// The life-cycle state of a key.
public enum KeyState: String, Sendable, Hashable, Codable {
    /// Usable.
    case active = "ACTIVE"
    /// Every use fails until unblocked.
    case blocked = "BLOCKED"
    /// In the trash: unusable, restorable by the security officer until purged.
    case destroyed = "DESTROYED"
}

/// What to create: algorithm, usage and attributes of a new key.
public struct KeySpec: Sendable, Hashable {
    /// The algorithm.
    public var algorithm: KeyAlgorithm
    /// A label (1–128 printable characters), not unique.
    public var label: String
    /// What the key may do; must be within the algorithm's capabilities.
    public var usage: KeyUsage
    /// Whether the key may leave the HSM wrapped (PKCS#11 CKA_EXTRACTABLE).
    public var extractable: Bool
    /// Whether the key may never leave the HSM in the clear (CKA_SENSITIVE).
    public var sensitive: Bool
    /// Whether attributes may change at all (only ever towards stricter).
    public var modifiable: Bool
    /// Whether the key may be destroyed.
    public var destroyable: Bool
    /// Not usable before this date.
    public var notBefore: Date?
    /// Not usable (for signing, encrypting, wrapping, MACing, deriving) after this date.
    public var expiresAt: Date?
    /// Length of a generic secret in bytes (16–128); ignored otherwise.
    public var secretByteCount: Int?
    /// `false` makes a session object: never stored, gone when the session ends.
    public var persistent: Bool
    /// A client request id (1–128 characters): a retried create with the same id returns the
    /// key the first attempt made instead of making a second.
    public var requestID: String?
    /// Who must approve what the key does (see ``HSM/submitRequest(_:key:operation:)``); a key with a policy is never
    /// extractable, whatever ``extractable`` says, and must be persistent.
    public var policy: KeyPolicy?
    /// An identifier the application chooses (PKCS#11 CKA_ID), 0 to ``KeyFilter/maximumApplicationIDByteCount``
    /// bytes, not unique; empty: none. Keys can be listed by it (``KeyFilter/applicationID``).
    public var applicationID: Data
    /// The DER-encoded subject name of the key's certificate holder (PKCS#11 CKA_SUBJECT), 0 to
    /// ``KeySpec/maximumSubjectByteCount`` bytes, kept as given; empty: none.
    public var subject: Data

    /// The most bytes of a ``subject``.
    public static let maximumSubjectByteCount = 1024

    /// A spec with the algorithm's full capabilities, sensitive, not extractable, modifiable,
    /// destroyable and persistent.
    public init(
        algorithm: KeyAlgorithm, label: String, usage: KeyUsage? = nil, extractable: Bool = false,
        sensitive: Bool = true, modifiable: Bool = true, destroyable: Bool = true,
        notBefore: Date? = nil, expiresAt: Date? = nil, secretByteCount: Int? = nil,
        persistent: Bool = true, requestID: String? = nil, policy: KeyPolicy? = nil,
        applicationID: Data = Data(), subject: Data = Data()
    ) {
        self.algorithm = algorithm
        self.label = label
        self.usage = usage ?? algorithm.capabilities
        self.extractable = extractable
        self.sensitive = sensitive
        self.modifiable = modifiable
        self.destroyable = destroyable
        self.notBefore = notBefore
        self.expiresAt = expiresAt
        self.secretByteCount = secretByteCount
        self.persistent = persistent
        self.requestID = requestID
        self.policy = policy
        self.applicationID = applicationID
        self.subject = subject
    }
}

/// A key as callers see it: metadata, never material.
public struct KeyInfo: Sendable, Hashable {
    /// The unguessable key id.
    public var id: String
    /// The label.
    public var label: String
    /// The algorithm.
    public var algorithm: KeyAlgorithm
    /// What it may do.
    public var usage: KeyUsage
    /// CKA_EXTRACTABLE.
    public var extractable: Bool
    /// CKA_SENSITIVE.
    public var sensitive: Bool
    /// CKA_NEVER_EXTRACTABLE: extractable was never true.
    public var neverExtractable: Bool
    /// CKA_ALWAYS_SENSITIVE: sensitive was always true.
    public var alwaysSensitive: Bool
    /// Whether attributes may change (towards stricter).
    public var modifiable: Bool
    /// Whether the key may be destroyed.
    public var destroyable: Bool
    /// Generated inside the HSM (not imported).
    public var local: Bool
    /// Not usable before.
    public var notBefore: Date?
    /// Not usable for originating operations after.
    public var expiresAt: Date?
    /// State.
    public var state: KeyState
    /// The newest version (1 for a new key; rotation adds one).
    public var latestVersion: Int
    /// Versions below this are refused.
    public var minimumVersion: Int
    /// Whether the key is stored (false: a session object).
    public var persistent: Bool
    /// When it was created.
    public var createdAt: Date
    /// The public key of the latest version, for asymmetric keys.
    public var publicKey: PublicKey?
    /// The key's approval policy, if it is governed.
    public var policy: KeyPolicy?
    /// The application's identifier (PKCS#11 CKA_ID); empty: none.
    public var applicationID: Data
    /// The DER subject name (PKCS#11 CKA_SUBJECT); empty: none.
    public var subject: Data

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(
        id: String, label: String, algorithm: KeyAlgorithm, usage: KeyUsage, extractable: Bool, sensitive: Bool, neverExtractable: Bool, alwaysSensitive: Bool,
        modifiable: Bool, destroyable: Bool, local: Bool, notBefore: Date? = nil, expiresAt: Date? = nil, state: KeyState, latestVersion: Int,
        minimumVersion: Int, persistent: Bool, createdAt: Date, publicKey: PublicKey? = nil, policy: KeyPolicy? = nil,
        applicationID: Data = Data(), subject: Data = Data()
    ) {
        self.id = id
        self.label = label
        self.algorithm = algorithm
        self.usage = usage
        self.extractable = extractable
        self.sensitive = sensitive
        self.neverExtractable = neverExtractable
        self.alwaysSensitive = alwaysSensitive
        self.modifiable = modifiable
        self.destroyable = destroyable
        self.local = local
        self.notBefore = notBefore
        self.expiresAt = expiresAt
        self.state = state
        self.latestVersion = latestVersion
        self.minimumVersion = minimumVersion
        self.persistent = persistent
        self.createdAt = createdAt
        self.publicKey = publicKey
        self.policy = policy
        self.applicationID = applicationID
        self.subject = subject
    }
}

/// A change to a key's attributes; `nil` leaves a field as it is. Changes may only make the
/// key stricter: fewer usages, extractable → false, sensitive → true, an earlier expiry, a later
/// not-before, modifiable → false, destroyable → false. A key that is not modifiable changes
/// nothing, its label included (PKCS#11 CKA_MODIFIABLE).
public struct KeyAttributeUpdate: Sendable, Hashable {
    /// A new label.
    public var label: String?
    /// A smaller usage set.
    public var usage: KeyUsage?
    /// Only `false`.
    public var extractable: Bool?
    /// Only `true`.
    public var sensitive: Bool?
    /// Only `false`.
    public var modifiable: Bool?
    /// Only `false`.
    public var destroyable: Bool?
    /// Only later.
    public var notBefore: Date?
    /// Only earlier.
    public var expiresAt: Date?
    /// Raise the minimum usable version (never lower; at most the latest).
    public var minimumVersion: Int?
    /// A new application identifier (CKA_ID); empty removes it. Like the label, not a security
    /// attribute: it may change either way while the key is modifiable.
    public var applicationID: Data?
    /// A new DER subject name (CKA_SUBJECT); empty removes it. Changes like ``applicationID``.
    public var subject: Data?

    /// An empty update.
    public init(
        label: String? = nil, usage: KeyUsage? = nil, extractable: Bool? = nil, sensitive: Bool? = nil,
        modifiable: Bool? = nil, destroyable: Bool? = nil, notBefore: Date? = nil, expiresAt: Date? = nil,
        minimumVersion: Int? = nil, applicationID: Data? = nil, subject: Data? = nil
    ) {
        self.label = label
        self.usage = usage
        self.extractable = extractable
        self.sensitive = sensitive
        self.modifiable = modifiable
        self.destroyable = destroyable
        self.notBefore = notBefore
        self.expiresAt = expiresAt
        self.minimumVersion = minimumVersion
        self.applicationID = applicationID
        self.subject = subject
    }
}

/// Which keys to list.
public struct KeyFilter: Sendable, Hashable {
    /// Only keys with this label.
    public var label: String?
    /// Include destroyed keys (the trash).
    public var includeDestroyed: Bool
    /// Continue after this key id (from the previous page's last id).
    public var after: String?
    /// At most this many (1–1000).
    public var limit: Int
    /// Only keys with exactly this application identifier (CKA_ID); `nil` or empty: any.
    public var applicationID: Data?

    /// The most bytes of an application identifier (``KeySpec/applicationID``).
    public static let maximumApplicationIDByteCount = 128

    /// A filter.
    public init(label: String? = nil, includeDestroyed: Bool = false, after: String? = nil, limit: Int = 100, applicationID: Data? = nil) {
        self.label = label
        self.applicationID = applicationID
        self.includeDestroyed = includeDestroyed
        self.after = after
        self.limit = limit
    }
}

/// A signature and the key version that made it.
public struct SignatureResult: Sendable, Hashable {
    /// The signature bytes.
    public var signature: Data
    /// The key version used (pass it to verify).
    public var version: Int

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(signature: Data, version: Int) {
        self.signature = signature
        self.version = version
    }
}

/// Key material to import.
public enum KeyMaterial: Sendable {
    /// A PKCS#8 private key (DER).
    case pkcs8(Data)
    /// A public key (SPKI DER); imported keys of this kind verify or encrypt only.
    case publicKey(PublicKey)
    /// Raw secret-key bytes (AES or a generic secret).
    case secret(SecretBytes)
    /// Key bytes wrapped under a key of the partition (id, scheme); after unwrapping, PKCS#8 for
    /// asymmetric algorithms or raw bytes for secret keys.
    case wrapped(Data, wrappingKey: String, scheme: WrapScheme)
}

/// One audit record as read back.
public struct AuditRecord: Sendable, Hashable, Codable {
    /// Position in the partition's chain (from 1).
    public var sequence: Int64
    /// When it happened.
    public var time: Date
    /// Who: user id (or "-" before authentication).
    public var actor: String
    /// The role acted in.
    public var role: String
    /// The session id.
    public var session: String
    /// What: the operation name, as written (see ``AuditOperation`` for the names and ``kind`` for
    /// the name as a value of that catalogue).
    public var operation: String
    /// Which key (or object), if any.
    public var object: String
    /// `ok`, or the error code.
    public var result: String
    /// How many uses the record stands for: 1, or more for an aggregated record (a partition
    /// whose ``PartitionSettings/keyUseAudit`` is ``KeyUseAudit/aggregated``), whose ``time`` is
    /// the last use's.
    public var count: Int
    /// When the first use of an aggregated record happened; `nil` for a single operation.
    public var firstTime: Date?

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(
        sequence: Int64, time: Date, actor: String, role: String, session: String, operation: String, object: String, result: String,
        count: Int = 1, firstTime: Date? = nil
    ) {
        self.sequence = sequence
        self.time = time
        self.actor = actor
        self.role = role
        self.session = session
        self.operation = operation
        self.object = object
        self.result = result
        self.count = count
        self.firstTime = firstTime
    }

    /// The operation as a value of the catalogue, or `nil` for a name the catalogue does not hold
    /// (one written by an older version).
    public var kind: AuditOperation? { AuditOperation(rawValue: operation) }
}

/// The outcome of verifying an audit chain.
public struct AuditVerification: Sendable, Hashable {
    /// How many records were checked.
    public var records: Int64
    /// `nil` if the chain is intact; otherwise where and why it breaks.
    public var failure: String?
    /// The highest sequence a valid signed checkpoint vouches for (the HSM's own or the one
    /// handed in), 0 when none does: records after it are chained and MAC'd but not yet anchored.
    public var anchoredThrough: Int64
    /// Whether the chain is intact.
    public var isValid: Bool { failure == nil }

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(records: Int64, failure: String? = nil, anchoredThrough: Int64 = 0) {
        self.records = records
        self.failure = failure
        self.anchoredThrough = anchoredThrough
    }
}
