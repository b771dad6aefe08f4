import Crypto
import Foundation
import NIOCore
import Redoubt
@testable import RedoubtTesting
import Testing

/// JWT sign-in through a LocalHSM on a manual clock: every accepted algorithm, every refusal
/// with its audit reason, and key sets inline, from a file, from a URL and by discovery from a
/// local server (rotation, a rate-limited refetch, an unreachable and a slow server).
@Suite struct TokenSignInTests {
    static let audience = "redoubt"

    /// Claims a binding of `issuer` accepts, for user `carol`, valid for an hour from `now`.
    static func claims(_ issuer: String, now: Date, _ change: (inout [String: Any]) -> Void = { _ in }) -> [String: Any] {
        var claims: [String: Any] = [
            "iss": issuer, "aud": audience, "sub": HSMFixture.userName,
            "iat": Int(now.timeIntervalSince1970), "exp": Int(now.timeIntervalSince1970) + 3600,
        ]
        change(&claims)
        return claims
    }

    /// The `session.open` records of the partition, newest last.
    static func signIns(_ hsm: LocalHSM, _ f: HSMFixture) async throws -> [AuditRecord] {
        try await hsm.auditRecords(f.alpha.auditor.token, from: 1, limit: 1000).filter { $0.kind == .sessionOpen }
    }

    @Test func everyAcceptedAlgorithmOpensASessionEndingWithTheToken() async throws {
        let clock = TestClock()
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            let keys = [
                try IssuerKey.rsa(kid: "rs"), try IssuerKey.rsa(kid: "ps", pss: true, declareAlgorithm: false),
                IssuerKey.p256(kid: "es256"), IssuerKey.p384(kid: "es384"), IssuerKey.ed25519(kid: "ed"),
            ]
            let issuer = "https://idp.example.com"
            let bound = try await hsm.bindTokenIssuer(
                f.alpha.officer.token,
                issuer: TokenIssuer(name: "corp", issuer: issuer, audiences: ["other", Self.audience], keys: .inline(IssuerKey.keySet(keys))))
            #expect(bound.userClaim == "sub")
            for key in keys {
                let token = try key.token(Self.claims(issuer, now: clock.now) { $0["exp"] = Int(clock.now.timeIntervalSince1970) + 600 })
                let session = try await hsm.openSession(partition: f.alpha.id, credential: .jwt(token))
                #expect(session.user == f.alpha.user.user.id, "\(key.alg)")
                #expect(session.role == .cryptoUser)
                // The token's exp (10 minutes) is sooner than the partition's session lifetime.
                #expect(session.expiresAt == clock.now.addingTimeInterval(600), "\(key.alg)")
                _ = try await hsm.random(session.token, count: 8)
            }
            let records = try await Self.signIns(hsm, f).filter { $0.object == "jwt.corp" }
            #expect(records.count == keys.count)
            #expect(records.allSatisfy { $0.result == "ok" && $0.actor == f.alpha.user.user.id })
            // A list claim `aud` with one accepted audience is accepted too.
            let listed = try keys[0].token(Self.claims(issuer, now: clock.now) { $0["aud"] = ["x", Self.audience] })
            _ = try await hsm.openSession(partition: f.alpha.id, credential: .jwt(listed))
        }
    }

    @Test func everyRefusalIsUnauthenticatedWithItsReasonAudited() async throws {
        let clock = TestClock()
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            let key = try IssuerKey.rsa(kid: "rs")
            let other = IssuerKey.p256(kid: "beta-key")
            let issuer = "https://idp.example.com"
            _ = try await hsm.bindTokenIssuer(
                f.alpha.officer.token,
                issuer: TokenIssuer(
                    name: "corp", issuer: issuer, audiences: [Self.audience], requiredClaims: ["groups": "hsm"],
                    keys: .inline(IssuerKey.keySet([key]))))
            // Partition beta trusts another issuer; its tokens must not open alpha's sessions.
            _ = try await hsm.bindTokenIssuer(
                f.beta.officer.token,
                issuer: TokenIssuer(name: "beta-idp", issuer: "https://beta.example.com", audiences: [Self.audience], keys: .inline(IssuerKey.keySet([other]))))
            let now = Int(clock.now.timeIntervalSince1970)
            func claims(_ change: (inout [String: Any]) -> Void = { _ in }) -> [String: Any] {
                Self.claims(issuer, now: clock.now) {
                    $0["groups"] = ["staff", "hsm"]
                    change(&$0)
                }
            }
            let good = try key.token(claims())
            let parts = good.split(separator: ".").map(String.init)
            let hmacInput = try IssuerKey.b64(IssuerKey.json(["alg": "HS256", "kid": "rs", "typ": "JWT"])) + "." + parts[1]
            let hmac = HMAC<SHA256>.authenticationCode(for: Data(hmacInput.utf8), using: SymmetricKey(data: Data(key.publicPEM!.utf8)))
            let tamperedClaims = try IssuerKey.b64(IssuerKey.json(claims { $0["sub"] = "someone-else" }))

            let cases: [(String, String, String)] = [
                ("alg none", try IssuerKey.b64(IssuerKey.json(["alg": "none", "typ": "JWT"])) + "." + parts[1] + ".", "jwt_algorithm"),
                ("HS256 keyed with the public key", hmacInput + "." + IssuerKey.b64(Data(hmac)), "jwt_algorithm"),
                ("wrong issuer", try key.token(claims { $0["iss"] = "https://evil.example.com" }), "jwt_issuer"),
                ("another partition's issuer", try other.token(claims { $0["iss"] = "https://beta.example.com" }), "jwt_issuer"),
                ("wrong audience", try key.token(claims { $0["aud"] = "someone-else" }), "jwt_audience"),
                ("expired beyond the skew", try key.token(claims { $0["exp"] = now - 61 }), "jwt_expired"),
                ("no exp", try key.token(claims { $0["exp"] = nil }), "jwt_expired"),
                ("not yet valid", try key.token(claims { $0["nbf"] = now + 120 }), "jwt_not_yet_valid"),
                ("unknown kid", try key.token(claims(), header: ["kid": "nope"]), "jwt_unknown_kid"),
                ("key of another algorithm", try key.token(claims(), header: ["alg": "ES256"]), "jwt_algorithm"),
                ("unmapped user", try key.token(claims { $0["sub"] = "mallory" }), "jwt_user"),
                ("missing required claim", try key.token(claims { $0["groups"] = ["staff"] }), "jwt_claims"),
                ("tampered claims", parts[0] + "." + tamperedClaims + "." + parts[2], "jwt_signature"),
                ("crit header", try key.token(claims(), header: ["crit": ["exp"]]), "jwt_malformed"),
                ("not a JWT", "not.a.jwt", "jwt_malformed"),
                ("too big", try key.token(claims { $0["pad"] = String(repeating: "x", count: 9000) }), "jwt_malformed"),
            ]
            let before = try await Self.signIns(hsm, f).count
            for (name, token, reason) in cases {
                let error = await #expect(throws: HSMError.self, "\(name)") {
                    try await hsm.openSession(partition: f.alpha.id, credential: .jwt(token))
                }
                #expect(error?.code == .unauthenticated, "\(name)")
                #expect(error?.message == "invalid credentials", "\(name)")
                let last = try await Self.signIns(hsm, f).last
                #expect(last?.result == reason, "\(name)")
                #expect(last?.actor == "-", "\(name)")
            }
            let after = try await Self.signIns(hsm, f)
            #expect(after.count == before + cases.count)
            // No token, nor any part of one, reaches the audit log.
            let written = after.map { "\($0)" }.joined()
            for (name, token, _) in cases where token.count > 40 { #expect(!written.contains(String(token.suffix(40))), "\(name)") }
            // The good token still works: nothing above locked anything.
            _ = try await hsm.openSession(partition: f.alpha.id, credential: .jwt(good))
            // An operator sign-in with a JWT (no partition) is refused in the operator's log.
            await #expect(throws: HSMError.self) { try await hsm.openSession(partition: "", credential: .jwt(good)) }
        }
    }

    @Test func bindingsAreCheckedAuditedAndListed() async throws {
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration()) { f, hsm in
            let keys = IssuerKey.keySet([IssuerKey.ed25519(kid: "a")])
            let good = TokenIssuer(name: "corp", issuer: "https://idp.example.com", audiences: ["redoubt"], keys: .inline(keys))
            func bad(_ change: (inout TokenIssuer) -> Void) -> TokenIssuer {
                var issuer = good
                change(&issuer)
                return issuer
            }
            let invalid: [(String, TokenIssuer)] = [
                ("name", bad { $0.name = "-bad" }),
                ("audiences", bad { $0.audiences = [] }),
                ("issuer", bad { $0.issuer = "" }),
                ("jwks", bad { $0.keys = .inline("{\"keys\": []}") }),
                ("jwks", bad { $0.keys = .inline("not json") }),
                ("jwks_file", bad { $0.keys = .file("relative/path.json") }),
                ("jwks_url", bad { $0.keys = .url("http://idp.example.com/jwks") }),
                (
                    "issuer",
                    bad {
                        $0.keys = .discovery
                        $0.issuer = "corp"
                    }
                ),
                ("refresh_interval", bad { $0.refreshInterval = 1 }),
                ("maximum_staleness", bad { $0.maximumStaleness = 10 }),
            ]
            let auditBefore = try await hsm.auditRecords(f.alpha.auditor.token, from: 1, limit: 1000).count
            for (field, issuer) in invalid {
                let error = await #expect(throws: HSMError.self) { try await hsm.bindTokenIssuer(f.alpha.officer.token, issuer: issuer) }
                #expect(error?.code == .invalidArgument, "\(field)")
                #expect(error?.message.contains(field) == true, "\(field): \(error?.message ?? "")")
            }
            let denied = await #expect(throws: HSMError.self) { try await hsm.bindTokenIssuer(f.alpha.user.token, issuer: good) }
            #expect(denied?.code == .permissionDenied)
            #expect(try await hsm.auditRecords(f.alpha.auditor.token, from: 1, limit: 1000).count == auditBefore)
            #expect(try await hsm.listTokenIssuers(f.alpha.auditor.token).isEmpty)

            _ = try await hsm.bindTokenIssuer(f.alpha.officer.token, issuer: good)
            let again = await #expect(throws: HSMError.self) { try await hsm.bindTokenIssuer(f.alpha.officer.token, issuer: good) }
            #expect(again?.code == .alreadyExists)
            let sameIssuer = await #expect(throws: HSMError.self) {
                try await hsm.bindTokenIssuer(f.alpha.officer.token, issuer: bad { $0.name = "corp2" })
            }
            #expect(sameIssuer?.code == .alreadyExists && sameIssuer?.message.contains("already bound, as 'corp'") == true)
            #expect(try await hsm.listTokenIssuers(f.alpha.auditor.token) == [good])
            #expect(try await hsm.listTokenIssuers(f.beta.officer.token).isEmpty)
            try await hsm.unbindTokenIssuer(f.alpha.officer.token, name: "corp")
            let gone = await #expect(throws: HSMError.self) { try await hsm.unbindTokenIssuer(f.alpha.officer.token, name: "corp") }
            #expect(gone?.code == .notFound)
            let kinds = try await hsm.auditRecords(f.alpha.auditor.token, from: 1, limit: 1000).suffix(2).map(\.kind)
            #expect(kinds == [.issuerBind, .issuerUnbind])
        }
    }

    @Test func keysByURLRotateWithARateLimitedRefetch() async throws {
        let clock = TestClock()
        let server = try await KeySetServer.start()
        defer { Task { await server.stop() } }
        let first = IssuerKey.p256(kid: "k1")
        let second = IssuerKey.ed25519(kid: "k2")
        server.serve("/jwks", IssuerKey.keySet([first]))
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            let issuer = "https://idp.example.com"
            _ = try await hsm.bindTokenIssuer(
                f.alpha.officer.token,
                issuer: TokenIssuer(name: "corp", issuer: issuer, audiences: [Self.audience], keys: .url(server.base + "/jwks")))
            func signIn(_ key: IssuerKey) async throws -> SessionInfo {
                try await hsm.openSession(partition: f.alpha.id, credential: .jwt(key.token(Self.claims(issuer, now: clock.now))))
            }
            _ = try await signIn(first)
            _ = try await signIn(first)
            #expect(server.hits("/jwks") == 1, "the key set is cached")

            // The issuer rotates: the new kid is fetched at once, once the retry interval allows.
            server.serve("/jwks", IssuerKey.keySet([second]))
            let early = await #expect(throws: HSMError.self) { try await signIn(second) }
            #expect(early?.code == .unauthenticated)
            #expect(server.hits("/jwks") == 1, "a refetch within 30 s of the last is not made")
            clock.advance(by: 31)
            _ = try await signIn(second)
            #expect(server.hits("/jwks") == 2)
            // Made-up kids cost the issuer nothing within the interval.
            for _ in 0..<5 {
                await #expect(throws: HSMError.self) { try await signIn(IssuerKey.ed25519(kid: "made-up")) }
            }
            #expect(server.hits("/jwks") == 2)
            #expect(try await Self.signIns(hsm, f).last?.result == "jwt_unknown_kid")
        }
    }

    @Test func concurrentFirstSignInsShareOneFetch() async throws {
        let server = try await KeySetServer.start()
        defer { Task { await server.stop() } }
        let key = IssuerKey.ed25519(kid: "k")
        server.serve("/jwks", IssuerKey.keySet([key]))
        server.delay(.milliseconds(300))
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration()) { f, hsm in
            let issuer = "https://idp.example.com"
            _ = try await hsm.bindTokenIssuer(
                f.alpha.officer.token, issuer: TokenIssuer(name: "corp", issuer: issuer, audiences: [Self.audience], keys: .url(server.base + "/jwks")))
            let token = try key.token(Self.claims(issuer, now: Date()))
            let partition = f.alpha.id
            let users = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 { group.addTask { try await hsm.openSession(partition: partition, credential: .jwt(token)).user } }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(users.count == 8 && Set(users) == [f.alpha.user.user.id])
            #expect(server.hits("/jwks") == 1, "one fetch served every sign-in waiting for it")
        }
    }

    @Test func discoveryFindsTheKeysOfTheIssuer() async throws {
        let server = try await KeySetServer.start()
        defer { Task { await server.stop() } }
        let key = try IssuerKey.rsa(kid: "rs")
        server.serve("/jwks.json", IssuerKey.keySet([key]))
        server.serve("/.well-known/openid-configuration", "{\"issuer\": \"\(server.base)\", \"jwks_uri\": \"\(server.base)/jwks.json\"}")
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration()) { f, hsm in
            _ = try await hsm.bindTokenIssuer(
                f.alpha.officer.token, issuer: TokenIssuer(name: "local", issuer: server.base, audiences: [Self.audience], keys: .discovery))
            let session = try await hsm.openSession(partition: f.alpha.id, credential: .jwt(key.token(Self.claims(server.base, now: Date()))))
            #expect(session.user == f.alpha.user.user.id)
            #expect(server.hits("/.well-known/openid-configuration") == 1)
            #expect(server.hits("/jwks.json") == 1)
        }
    }

    @Test func discoveryOverHTTPSTrustsTheGivenCAOnly() async throws {
        let pki = try TLSFixtures.make()
        defer { pki.remove() }
        let server = try await KeySetServer.start(tls: (pki.server.certificatePath, pki.server.keyPath))
        defer { Task { await server.stop() } }
        let key = IssuerKey.p256(kid: "k")
        #expect(server.base.hasPrefix("https://"))
        server.serve("/keys", IssuerKey.keySet([key]))
        server.serve("/.well-known/openid-configuration", "{\"issuer\": \"\(server.base)\", \"jwks_uri\": \"\(server.base)/keys\"}")
        let binding = TokenIssuer(name: "corp", issuer: server.base, audiences: [Self.audience], keys: .discovery)
        let token = try key.token(Self.claims(server.base, now: Date()))
        // The broker's flag --token-issuer-ca: the private CA of the identity provider.
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration { $0.tokenKeyTrustRoots = pki.caPath }) { f, hsm in
            _ = try await hsm.bindTokenIssuer(f.alpha.officer.token, issuer: binding)
            let session = try await hsm.openSession(partition: f.alpha.id, credential: .jwt(token))
            #expect(session.user == f.alpha.user.user.id)
        }
        #expect(server.hits("/keys") == 1)
        // With the system's roots the same server is not trusted: no keys, no session.
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration()) { f, hsm in
            _ = try await hsm.bindTokenIssuer(f.alpha.officer.token, issuer: binding)
            await #expect(throws: HSMError.self) { try await hsm.openSession(partition: f.alpha.id, credential: .jwt(token)) }
            #expect(try await Self.signIns(hsm, f).last?.result == "jwt_keys_unavailable")
        }
        #expect(server.hits("/keys") == 1, "the untrusted server got no request for its keys")
    }

    @Test func anUnreachableIssuerIsToleratedUpToTheStalenessBound() async throws {
        let clock = TestClock()
        let server = try await KeySetServer.start()
        let key = IssuerKey.p384(kid: "k")
        server.serve("/jwks", IssuerKey.keySet([key]))
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            let issuer = "https://idp.example.com"
            _ = try await hsm.bindTokenIssuer(
                f.alpha.officer.token,
                issuer: TokenIssuer(
                    name: "corp", issuer: issuer, audiences: [Self.audience], keys: .url(server.base + "/jwks"),
                    refreshInterval: 60, maximumStaleness: 300))
            func signIn() async throws -> SessionInfo {
                try await hsm.openSession(partition: f.alpha.id, credential: .jwt(key.token(Self.claims(issuer, now: clock.now))))
            }
            _ = try await signIn()
            await server.stop()
            // Due for a refresh, the issuer is gone: the keys fetched 2 minutes ago still serve.
            clock.advance(by: 120)
            _ = try await signIn()
            // Beyond the staleness bound they no longer do.
            clock.advance(by: 200)
            await #expect(throws: HSMError.self) { try await signIn() }
            #expect(try await Self.signIns(hsm, f).last?.result == "jwt_keys_unavailable")
            // A binding to an issuer that never answered has no keys at all.
            _ = try await hsm.bindTokenIssuer(
                f.beta.officer.token,
                issuer: TokenIssuer(name: "gone", issuer: issuer, audiences: [Self.audience], keys: .url(server.base + "/jwks")))
            await #expect(throws: HSMError.self) {
                try await hsm.openSession(partition: f.beta.id, credential: .jwt(key.token(Self.claims(issuer, now: clock.now))))
            }
        }
    }

    @Test func aSlowIssuerIsGivenUpOnAfterTheFetchTimeout() async throws {
        let server = try await KeySetServer.start()
        defer { Task { await server.stop() } }
        let key = IssuerKey.ed25519(kid: "k")
        server.serve("/jwks", IssuerKey.keySet([key]))
        server.delay(.seconds(120))
        // 3 s, not less: with every test running at once on two cores, a shorter deadline can pass
        // before the request even reaches the server (a CI run saw 0 hits at 0.5 s).
        let configuration = LocalHSMSupport.configuration { $0.tokenKeyFetchTimeout = 3 }
        try await LocalHSMSupport.withFixture(configuration) { f, hsm in
            let issuer = "https://idp.example.com"
            _ = try await hsm.bindTokenIssuer(
                f.alpha.officer.token, issuer: TokenIssuer(name: "slow", issuer: issuer, audiences: [Self.audience], keys: .url(server.base + "/jwks")))
            let started = ContinuousClock.now
            await #expect(throws: HSMError.self) {
                try await hsm.openSession(partition: f.alpha.id, credential: .jwt(key.token(Self.claims(issuer, now: Date()))))
            }
            // Refused long before the server's 120 s answer (the bound is loose: this machine is busy).
            #expect(ContinuousClock.now - started < .seconds(60))
            // One try at most: a failed fetch is not retried within the call.
            #expect(server.hits("/jwks") <= 1)
            #expect(try await Self.signIns(hsm, f).last?.result == "jwt_keys_unavailable")
        }
    }

    @Test func aKeyFileIsReadAgainForANewKid() async throws {
        let clock = TestClock()
        let directory = try StoreDirectory()
        defer { directory.remove() }
        let path = directory.url.appendingPathComponent("jwks.json").path
        let first = IssuerKey.ed25519(kid: "one")
        let second = IssuerKey.ed25519(kid: "two")
        try IssuerKey.keySet([first]).write(toFile: path, atomically: true, encoding: .utf8)
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            let issuer = "https://k8s.example.com"
            _ = try await hsm.bindTokenIssuer(
                f.alpha.officer.token, issuer: TokenIssuer(name: "k8s", issuer: issuer, audiences: [Self.audience], keys: .file(path)))
            _ = try await hsm.openSession(partition: f.alpha.id, credential: .jwt(first.token(Self.claims(issuer, now: clock.now))))
            try IssuerKey.keySet([first, second]).write(toFile: path, atomically: true, encoding: .utf8)
            clock.advance(by: 31)
            _ = try await hsm.openSession(partition: f.alpha.id, credential: .jwt(second.token(Self.claims(issuer, now: clock.now))))
        }
    }

    @Test func aBindingReachesEveryNodeOfTheStore() async throws {
        let directory = try StoreDirectory()
        defer { directory.remove() }
        let configuration = LocalHSMSupport.configuration()
        let storeA = try directory.open()
        let created = try await LocalHSM.initialize(store: storeA, passphrase: LocalHSMSupport.passphrase, configuration: configuration)
        let storeB = try directory.open()
        let nodeB = try await LocalHSM.open(store: storeB, unseal: .passphrase(LocalHSMSupport.passphrase), configuration: configuration)
        do {
            let f = try await HSMFixture.make(created.hsm, operatorAPIKey: created.operatorAPIKey)
            let key = IssuerKey.ed25519(kid: "k")
            let issuer = "https://idp.example.com"
            let token = try key.token(Self.claims(issuer, now: Date()))
            await #expect(throws: HSMError.self) { try await nodeB.openSession(partition: f.alpha.id, credential: .jwt(token)) }
            _ = try await created.hsm.bindTokenIssuer(
                f.alpha.officer.token, issuer: TokenIssuer(name: "corp", issuer: issuer, audiences: [Self.audience], keys: .inline(IssuerKey.keySet([key]))))
            let session = try await nodeB.openSession(partition: f.alpha.id, credential: .jwt(token))
            #expect(session.user == f.alpha.user.user.id)
            try await created.hsm.unbindTokenIssuer(f.alpha.officer.token, name: "corp")
            await #expect(throws: HSMError.self) { try await nodeB.openSession(partition: f.alpha.id, credential: .jwt(token)) }
        } catch {
            Issue.record(error)
        }
        try await nodeB.close()
        try await created.hsm.close()
        try await storeB.close()
        try await storeA.close()
    }
}
