import Foundation

/// A token issuer a partition trusts: an OpenID Connect provider or any other issuer of signed
/// JSON Web Tokens, bound to the partition by its security officer with
/// ``HSM/bindTokenIssuer(_:issuer:)``. A JWT from it opens a session (``Credential/jwt(_:)``) for
/// the partition's user that ``userClaim`` names (by user name).
///
/// A token is accepted only when every check passes: an algorithm of ``TokenIssuer/algorithms``
/// (never `none`, never an HMAC), a signature by a key of the issuer's key set (the `kid` of the
/// header, when the set has more than one key), `iss` equal to ``issuer``, an `aud` among
/// ``audiences``, `exp` in the future and `nbf` not (each with ``TokenIssuer/clockSkew`` of
/// tolerance), every ``requiredClaims`` entry present with its value, and a user of that name in
/// the partition. The session ends no later than the token's `exp`.
///
/// ```swift
/// let issuer = TokenIssuer(
///     name: "corp", issuer: "https://login.example.com", audiences: ["redoubt"],
///     keys: .discovery)
/// _ = try await hsm.bindTokenIssuer(officer, issuer: issuer)
/// let session = try await hsm.openSession(partition: "payments", credential: .jwt(idToken))
/// ```
public struct TokenIssuer: Sendable, Hashable, Codable {
    /// Where the issuer's signing keys (a JSON Web Key Set) come from.
    public enum Keys: Sendable, Hashable, Codable {
        /// The key set itself (JSON, at most ``TokenIssuer/maximumKeySetBytes``): rotated by binding again.
        case inline(String)
        /// A file holding the key set, read by each node from its own file system, again after
        /// ``TokenIssuer/refreshInterval`` and (rate-limited) when a token names a key it lacks.
        case file(String)
        /// The key set at this URL (`https://`, or `http://` on a loopback address only).
        case url(String)
        /// OpenID Connect discovery: the `jwks_uri` of `<issuer>/.well-known/openid-configuration`.
        case discovery
    }

    /// The binding's name, unique in the partition (1-64 of A-Z a-z 0-9 . _ -, as user names).
    public var name: String
    /// The `iss` a token must carry, exactly (for discovery, an `https://` URL).
    public var issuer: String
    /// The audiences accepted: a token's `aud` (a string or a list) must hold at least one.
    public var audiences: [String]
    /// The claim whose string value is the Redoubt user's name in the partition (default `sub`).
    public var userClaim: String
    /// Claims a token must also carry, with these values (a string claim equal to it, or a list
    /// holding it): `["groups": "hsm-users"]`.
    public var requiredClaims: [String: String]
    /// Where the keys come from.
    public var keys: Keys
    /// How long fetched keys are used before they are fetched again (default 10 minutes).
    public var refreshInterval: TimeInterval
    /// How long fetched keys are still used after the last successful fetch while refetching
    /// fails (default 24 hours): beyond it, tokens are refused until the keys can be fetched.
    public var maximumStaleness: TimeInterval

    /// A binding; every field but the name, issuer, audiences and keys has a default.
    public init(
        name: String, issuer: String, audiences: [String], userClaim: String = "sub",
        requiredClaims: [String: String] = [:], keys: Keys,
        refreshInterval: TimeInterval = 600, maximumStaleness: TimeInterval = 86_400
    ) {
        self.name = name
        self.issuer = issuer
        self.audiences = audiences
        self.userClaim = userClaim
        self.requiredClaims = requiredClaims
        self.keys = keys
        self.refreshInterval = refreshInterval
        self.maximumStaleness = maximumStaleness
    }

    /// The JWS algorithms a token may be signed with: RSA PKCS #1 v1.5 and PSS with SHA-256,
    /// ECDSA P-256 and P-384, and EdDSA (Ed25519).
    public static let algorithms: Set<String> = ["RS256", "PS256", "ES256", "ES384", "EdDSA"]
    /// How far a token's `exp` and `nbf` may be off from the HSM's clock: 60 seconds.
    public static let clockSkew: TimeInterval = 60
    /// The most issuers one partition may trust.
    public static let maximumPerPartition = 16
    /// The largest key set accepted, inline or fetched: 64 KiB.
    public static let maximumKeySetBytes = 64 * 1024
    /// The largest token accepted: 8 KiB.
    public static let maximumTokenBytes = 8 * 1024

    /// Checks the binding's shape; throws INVALID_ARGUMENT naming the field (under `field`).
    public func validate(field: String = "issuer") throws {
        guard Approver.isValidName(name) else {
            throw HSMError.invalid("\(field).name must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit")
        }
        guard !issuer.isEmpty, issuer.utf8.count <= 512, !issuer.contains(where: { $0.isWhitespace }) else {
            throw HSMError.invalid("\(field).issuer must be 1-512 characters without spaces (the tokens' `iss`)")
        }
        guard (1...16).contains(audiences.count), audiences.allSatisfy({ (1...256).contains($0.utf8.count) }) else {
            throw HSMError.invalid("\(field).audiences must hold 1-16 audiences of 1-256 characters")
        }
        guard Self.isClaimName(userClaim) else {
            throw HSMError.invalid("\(field).user_claim must be a claim name of 1-64 characters")
        }
        guard requiredClaims.count <= 16, requiredClaims.allSatisfy({ Self.isClaimName($0.key) && $0.value.utf8.count <= 256 }) else {
            throw HSMError.invalid("\(field).required_claims must hold at most 16 claims, names of 1-64 characters and values of at most 256")
        }
        guard refreshInterval >= 10, refreshInterval <= 86_400 else {
            throw HSMError.invalid("\(field).refresh_interval must be between 10 seconds and 24 hours")
        }
        guard maximumStaleness >= refreshInterval, maximumStaleness <= 30 * 86_400 else {
            throw HSMError.invalid("\(field).maximum_staleness must be at least the refresh interval and at most 30 days")
        }
        switch keys {
        case .inline(let json):
            guard !json.isEmpty, json.utf8.count <= Self.maximumKeySetBytes else {
                throw HSMError.invalid("\(field).jwks must be a JSON Web Key Set of at most \(Self.maximumKeySetBytes) bytes")
            }
        case .file(let path):
            guard path.hasPrefix("/"), path.utf8.count <= 1024, !path.contains("\0") else {
                throw HSMError.invalid("\(field).jwks_file must be an absolute path of at most 1024 bytes")
            }
        case .url(let url):
            try Self.checkFetchURL(url, field: "\(field).jwks_url")
        case .discovery:
            try Self.checkFetchURL(issuer, field: "\(field).issuer")
        }
    }

    /// Whether `url` may be fetched: `https://`, or `http://` to a loopback host (tests, a local
    /// identity provider); throws INVALID_ARGUMENT otherwise.
    public static func checkFetchURL(_ url: String, field: String) throws {
        guard url.utf8.count <= 1024, let parts = URLComponents(string: url), let host = parts.host, !host.isEmpty,
            parts.user == nil, parts.password == nil
        else {
            throw HSMError.invalid("\(field) must be an https:// URL of at most 1024 characters")
        }
        switch parts.scheme?.lowercased() {
        case "https": return
        case "http" where ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased()): return
        default: throw HSMError.invalid("\(field) must be an https:// URL (http:// only to a loopback address)")
        }
    }

    private static func isClaimName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
