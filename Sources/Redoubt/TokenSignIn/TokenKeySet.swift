import Crypto
import Foundation
import JWTKit
import Synchronization

/// The usable signing keys of a JSON Web Key Set: public RSA (2048 bits or more), EC P-256 and
/// P-384, and Ed25519 keys meant for signatures. Keys for encryption, of other types or curves,
/// or that do not decode are left out, as are the private parts of any key that has them.
struct TokenKeySet: Sendable {
    struct Key: Sendable {
        let kid: String?
        /// The algorithm the key is for: the JWK's `alg`, or what its type and curve imply
        /// (`nil` for an RSA key without `alg`: RS256 and PS256 both fit it).
        let algorithm: String?
        let jwk: JWK
    }

    let keys: [Key]

    /// Parses a key set; throws when the text is not one or holds no usable key.
    init(json: Data) throws {
        guard json.count <= TokenIssuer.maximumKeySetBytes,
            let root = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
            let entries = root["keys"] as? [Any]
        else { throw DocumentFetcher.Failure(description: "the key set is not a JSON object with a \"keys\" list") }
        var keys: [Key] = []
        for case var entry as [String: Any] in entries.prefix(64) {
            guard (entry["use"] as? String ?? "sig") == "sig" else { continue }
            if let ops = entry["key_ops"] as? [String], !ops.contains("verify") { continue }
            for secret in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] { entry[secret] = nil }
            let kty = entry["kty"] as? String
            let crv = entry["crv"] as? String
            let implied: String?
            switch (kty, crv) {
            case ("RSA", _): implied = nil
            case ("EC", "P-256"): implied = "ES256"
            case ("EC", "P-384"): implied = "ES384"
            case ("OKP", "Ed25519"): implied = "EdDSA"
            default: continue
            }
            let declared = entry["alg"] as? String
            if let declared, !TokenIssuer.algorithms.contains(declared) { continue }
            if let declared, let implied, declared != implied { continue }
            if kty == "RSA" {
                guard let n = entry["n"] as? String, let modulus = Bytes.fromBase64URL(n), modulus.drop(while: { $0 == 0 }).count >= 256 else { continue }
            }
            guard let data = try? JSONSerialization.data(withJSONObject: entry),
                let jwk = try? JSONDecoder().decode(JWK.self, from: data)
            else { continue }
            keys.append(Key(kid: entry["kid"] as? String, algorithm: declared ?? implied, jwk: jwk))
        }
        guard !keys.isEmpty else {
            throw DocumentFetcher.Failure(description: "the key set holds no RSA (2048+ bits), P-256, P-384 or Ed25519 signing key")
        }
        self.keys = keys
    }

    /// The key a token's header names: by `kid`, or the only key when the header has none.
    func key(kid: String?) -> Key? {
        guard let kid else { return keys.count == 1 ? keys[0] : nil }
        return keys.first { $0.kid == kid }
    }

}

/// Each node's cache of its token issuers' key sets, keyed by partition and binding (a changed
/// binding is a new entry). Keys are refetched after the binding's refresh interval; a failed
/// refetch leaves the old keys in use until the binding's maximum staleness; a token naming an
/// unknown `kid` refetches at once. No binding is fetched more often than the HSM's retry interval
/// (so a flood of made-up `kid`s, or of tokens for an issuer that is down, costs the issuer
/// nothing), and sign-ins that need the same fetch share it.
final class TokenKeyCache: Sendable {
    private struct Entry {
        var keys: TokenKeySet?
        var fetchedAt: Date?
        var lastAttempt: Date?
        /// The fetch under way, and its number (so only that fetch clears it).
        var inFlight: (task: Task<TokenKeySet, any Error>, number: UInt64)?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var fetches: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Why no key could be had: unavailable (fetch failed, beyond staleness) or no key of that `kid`.
    enum Miss: Error {
        case unavailable(String)
        case unknownKey
    }

    /// The key for `kid` under `issuer`, fetching (`fetch`) when the cache is empty, old, or
    /// lacks the key, and the retry interval allows.
    func key(
        partition: String, issuer: TokenIssuer, kid: String?, now: Date, retryInterval: TimeInterval,
        fetch: @escaping @Sendable (TokenIssuer) async throws -> TokenKeySet
    ) async throws(Miss) -> TokenKeySet.Key {
        let id = Self.entryID(partition, issuer)
        let pending: (task: Task<TokenKeySet, any Error>, number: UInt64)? = state.withLock { state in
            var entry = state.entries[id] ?? Entry()
            if let running = entry.inFlight { return running }
            let mayRetry = entry.lastAttempt.map { now.timeIntervalSince($0) >= retryInterval } ?? true
            let old = entry.fetchedAt.map { now.timeIntervalSince($0) >= issuer.refreshInterval } ?? true
            let lacking = entry.keys?.key(kid: kid) == nil
            guard mayRetry, entry.keys == nil || old || lacking else { return nil }
            state.fetches &+= 1
            let started = (task: Task { try await fetch(issuer) }, number: state.fetches)
            entry.lastAttempt = now
            entry.inFlight = started
            state.entries[id] = entry
            if state.entries.count > 4096 { state.entries = [id: entry] }
            return started
        }
        var failure: String?
        if let pending {
            let result = await pending.task.result
            state.withLock { state in
                guard var entry = state.entries[id], entry.inFlight?.number == pending.number else { return }
                entry.inFlight = nil
                if case .success(let fresh) = result {
                    entry.keys = fresh
                    entry.fetchedAt = now
                }
                state.entries[id] = entry
            }
            if case .failure(let error) = result { failure = String(describing: error) }
        }
        let entry = state.withLock { $0.entries[id] } ?? Entry()
        guard let keys = entry.keys, let fetchedAt = entry.fetchedAt,
            issuer.keys.isInline || now.timeIntervalSince(fetchedAt) < issuer.maximumStaleness
        else { throw .unavailable(failure ?? "no keys fetched within the retry interval, or they are older than the maximum staleness") }
        guard let key = keys.key(kid: kid) else { throw .unknownKey }
        return key
    }

    private static func entryID(_ partition: String, _ issuer: TokenIssuer) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let encoded = (try? encoder.encode(issuer)) ?? Data(issuer.name.utf8)
        return "\(partition)\u{0}\(issuer.name)\u{0}\(Data(SHA256.hash(data: encoded)).base64EncodedString())"
    }
}

extension TokenIssuer.Keys {
    var isInline: Bool {
        if case .inline = self { return true }
        return false
    }
}
