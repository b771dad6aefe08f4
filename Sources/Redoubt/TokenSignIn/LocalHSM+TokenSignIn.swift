import Foundation
import JWTKit
import RedoubtStore

/// Signing in with a JWT (``Credential/jwt(_:)``): the checks of ``TokenIssuer``, in this order,
/// each refusal UNAUTHENTICATED "invalid credentials" with its reason in a `session.open` audit
/// record (object `jwt.<binding>`, or `jwt` before a binding is found):
///
/// | reason | the token… |
/// | --- | --- |
/// | `jwt_malformed` | is not a compact JWS of at most 8 KiB, its header or claims are not JSON objects, or it has a `crit` header |
/// | `jwt_algorithm` | is signed with an algorithm outside RS256/PS256/ES256/ES384/EdDSA (`none`, HS256…) or one its key is not for |
/// | `jwt_issuer` | names an issuer the partition has no binding for (another partition's issuer too) |
/// | `jwt_keys_unavailable` | cannot be checked: the binding's keys could not be had, or are older than its maximum staleness |
/// | `jwt_unknown_kid` | names a key the key set lacks, even after a refetch |
/// | `jwt_signature` | has a signature that does not verify |
/// | `jwt_expired` / `jwt_not_yet_valid` | has no `exp`, or is outside `nbf`…`exp` beyond the skew |
/// | `jwt_audience` | has no `aud` among the binding's audiences |
/// | `jwt_claims` | lacks a required claim or value |
/// | `jwt_user` | names, in the user claim, no user of the partition (by user name) |
///
/// The token itself is never logged, audited or kept; the session's expiry is at most its `exp`.
extension LocalHSM {
    struct TokenRefusal: Error {
        let reason: String
        let binding: String?
    }

    /// The user a valid `token` signs in as in `partition`, the binding that vouched for it, and
    /// the token's expiry; throws ``TokenRefusal``.
    func verifyToken(_ token: String, partition: String) async throws -> (user: UserRecord, binding: String, expires: Date) {
        func refuse(_ reason: String, _ binding: String? = nil) -> TokenRefusal { TokenRefusal(reason: reason, binding: binding) }
        guard !partition.isEmpty, token.utf8.count <= TokenIssuer.maximumTokenBytes else { throw refuse("jwt_malformed") }
        let parsed: (header: JWTHeader, payload: TokenClaims, signature: Data)
        do {
            parsed = try DefaultJWTParser().parse([UInt8](token.utf8), as: TokenClaims.self)
        } catch {
            throw refuse("jwt_malformed")
        }
        guard parsed.header.fields["crit"] == nil else { throw refuse("jwt_malformed") }
        guard let alg = parsed.header.alg, TokenIssuer.algorithms.contains(alg) else { throw refuse("jwt_algorithm") }
        let claims = parsed.payload.claims
        guard case .string(let iss)? = claims["iss"],
            let issuer = try await loadTokenIssuers(partition).first(where: { $0.issuer == iss })
        else { throw refuse("jwt_issuer") }

        let key: TokenKeySet.Key
        do {
            let (timeout, roots) = (configuration.tokenKeyFetchTimeout, configuration.tokenKeyTrustRoots)
            key = try await tokenKeys.key(
                partition: partition, issuer: issuer, kid: parsed.header.kid, now: now,
                retryInterval: configuration.tokenKeyRetryInterval
            ) { issuer in try await Self.fetchKeys(issuer, timeout: timeout, trustRoots: roots) }
        } catch .unknownKey {
            throw refuse("jwt_unknown_kid", issuer.name)
        } catch .unavailable(let why) {
            logger.warning(
                "the keys of a token issuer could not be had",
                metadata: ["redoubt.partition": "\(partition)", "redoubt.issuer": "\(issuer.name)", "redoubt.reason": "\(why)"])
            throw refuse("jwt_keys_unavailable", issuer.name)
        }
        if let keyAlgorithm = key.algorithm {
            guard keyAlgorithm == alg else { throw refuse("jwt_algorithm", issuer.name) }
        } else {
            guard alg == "RS256" || alg == "PS256" else { throw refuse("jwt_algorithm", issuer.name) }
        }
        var jwk = key.jwk
        jwk.algorithm = JWK.Algorithm(rawValue: alg)
        jwk.keyIdentifier = JWKIdentifier(string: "key")
        do {
            let keys = JWTKeyCollection()
            try await keys.add(jwk: jwk)
            _ = try await keys.verify(token, as: TokenClaims.self)
        } catch {
            throw refuse("jwt_signature", issuer.name)
        }

        let now = self.now
        guard case .number(let exp)? = claims["exp"], exp.isFinite, now.timeIntervalSince1970 < exp + TokenIssuer.clockSkew else {
            throw refuse("jwt_expired", issuer.name)
        }
        if let nbf = claims["nbf"] {
            guard case .number(let value) = nbf, now.timeIntervalSince1970 >= value - TokenIssuer.clockSkew else {
                throw refuse("jwt_not_yet_valid", issuer.name)
            }
        }
        guard !Set(claims["aud"]?.strings ?? []).isDisjoint(with: issuer.audiences) else { throw refuse("jwt_audience", issuer.name) }
        for (name, value) in issuer.requiredClaims {
            guard claims[name]?.strings.contains(value) == true else { throw refuse("jwt_claims", issuer.name) }
        }
        guard case .string(let name)? = claims[issuer.userClaim], Identifiers.isValidName(name),
            let object = try await Self.storeCall({
                try await store.list(partition: partition, kind: ObjectKind.user, label: name, after: nil, limit: 1)
            }).first
        else { throw refuse("jwt_user", issuer.name) }
        let user = try RecordCoding.decode(UserRecord.self, object.data)
        return (user, issuer.name, Date(timeIntervalSince1970: exp))
    }

    /// The key set of `issuer`, from where its binding says (each HTTP request within `timeout`,
    /// HTTPS trusting `trustRoots` or the system's roots).
    static func fetchKeys(_ issuer: TokenIssuer, timeout: TimeInterval, trustRoots: String?) async throws -> TokenKeySet {
        func get(_ url: String) async throws -> Data {
            try await DocumentFetcher.get(url, timeout: timeout, limit: TokenIssuer.maximumKeySetBytes, trustRoots: trustRoots)
        }
        let limit = TokenIssuer.maximumKeySetBytes
        switch issuer.keys {
        case .inline(let json):
            return try TokenKeySet(json: Data(json.utf8))
        case .file(let path):
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw DocumentFetcher.Failure(description: "cannot read \(path)")
            }
            defer { try? handle.close() }
            let data = try handle.read(upToCount: limit + 1) ?? Data()
            guard data.count <= limit else { throw DocumentFetcher.Failure(description: "\(path) is larger than \(limit) bytes") }
            return try TokenKeySet(json: data)
        case .url(let url):
            return try TokenKeySet(json: try await get(url))
        case .discovery:
            let base = issuer.issuer.hasSuffix("/") ? String(issuer.issuer.dropLast()) : issuer.issuer
            let document = try await get(base + "/.well-known/openid-configuration")
            guard let configuration = try? JSONSerialization.jsonObject(with: document) as? [String: Any],
                configuration["issuer"] as? String == issuer.issuer, let jwksURI = configuration["jwks_uri"] as? String
            else {
                throw DocumentFetcher.Failure(description: "the OpenID configuration lacks jwks_uri or names another issuer")
            }
            do {
                try TokenIssuer.checkFetchURL(jwksURI, field: "jwks_uri")
            } catch {
                throw DocumentFetcher.Failure(description: "the OpenID configuration's jwks_uri is not an https:// URL")
            }
            return try TokenKeySet(json: try await get(jwksURI))
        }
    }
}

/// A token's claims, whatever they are: checked by ``LocalHSM/verifyToken(_:partition:)``, not here.
struct TokenClaims: JWTPayload {
    enum Value: Sendable, Decodable {
        case string(String)
        case number(Double)
        case list([Value])
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .string(text)
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let list = try? container.decode([Value].self) {
                self = .list(list)
            } else {
                self = .other
            }
        }

        /// The strings of a string claim or a list claim.
        var strings: [String] {
            switch self {
            case .string(let text): return [text]
            case .list(let values): return values.compactMap { if case .string(let s) = $0 { s } else { nil } }
            default: return []
            }
        }
    }

    struct Name: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    let claims: [String: Value]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Name.self)
        var claims: [String: Value] = [:]
        for name in container.allKeys.prefix(256) {
            claims[name.stringValue] = try container.decode(Value.self, forKey: name)
        }
        self.claims = claims
    }

    func encode(to encoder: any Encoder) throws {}

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
