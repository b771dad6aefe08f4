import Crypto
import Foundation
import Logging
import RedoubtBroker
import RedoubtProto
@testable import RedoubtTesting
import Testing

/// The HTTP/JSON door (``BrokerConfiguration/httpListen``), driven with `curl` as any HTTP client
/// would: the same calls, codes, limits and sessions as gRPC.
@Suite("HTTP/JSON API (curl)")
struct HTTPAPITests {
    typealias TestFailure = RedoubtServerTests.TestFailure

    /// What curl got: the HTTP status and the body, parsed when it is a JSON object.
    struct Answer: CustomStringConvertible {
        var status: Int
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        /// The gRPC code of an error object.
        var code: String? { json["status"] as? String }
        var description: String { "HTTP \(status): \(body.prefix(500))" }
    }

    /// One HTTP request with curl: `POST base/path` with `body` (or `GET` when `body` is nil).
    static func curl(
        _ base: String, _ path: String, body: String? = nil, token: String? = nil, contentType: String = "application/json",
        extra: [String] = []
    ) async throws -> Answer {
        var arguments = ["-sS", "--max-time", "30", "-w", "\n%{http_code}", base + path] + extra
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        var stdin: Data?
        if let body {
            arguments += ["-X", "POST", "-H", "Content-Type: \(contentType)", "--data-binary", "@-"]
            stdin = Data(body.utf8)
        }
        let run = try await CLIOverAnyHSMTests.run("/usr/bin/curl", arguments, stdin: stdin)
        guard run.status == 0, let newline = run.stdout.lastIndex(of: "\n"), let status = Int(run.stdout[run.stdout.index(after: newline)...])
        else { throw TestFailure("curl \(path) failed: \(run)") }
        return Answer(status: status, body: String(run.stdout[..<newline]))
    }

    /// A development broker with the HTTP/JSON door on free loopback ports.
    static func withHTTPBroker<T: Sendable>(
        limits: BrokerConfiguration.Limits = .defaults, clock: some Clock<Duration> = ContinuousClock(),
        logger: Logger = Logger(label: "redoubt.broker"),
        _ body: (_ base: String, _ credentials: DevCredentials) async throws -> T
    ) async throws -> T {
        let directory = RedoubtServerTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = RedoubtServer.Configuration(
            broker: BrokerConfiguration(listen: "127.0.0.1:0", httpListen: "127.0.0.1:0", limits: limits),
            backend: .development(directory: directory), backupDirectory: directory + "/backups")
        return try await withBroker(configuration: configuration, logger: logger, clock: clock) { listening in
            let credentials = try #require(listening.devCredentials)
            let http = try #require(listening.httpEndpoint)
            #expect(credentials.httpEndpoint == "http://\(http)")
            #expect(try DevCredentials.load(directory: directory).httpEndpoint == "http://\(http)", "the file records the HTTP endpoint")
            return try await body("http://\(http)", credentials)
        }
    }

    /// Opens a session over HTTP with an API key; returns its token.
    static func openSession(_ base: String, apiKey: String, partition: String = "dev") async throws -> String {
        let answer = try await curl(base, "/redoubt.v1.SessionService/OpenSession", body: #"{"partitionId": "\#(partition)"}"#, token: apiKey)
        guard answer.status == 200, let token = answer.json["token"] as? String else { throw TestFailure("OpenSession: \(answer)") }
        return token
    }

    static func sign(_ key: String, message: Data) -> String {
        #"{"keyId": "\#(key)", "input": {"message": "\#(message.base64EncodedString())"}, "scheme": {"ecdsa": {"hash": "HASH_ALGORITHM_SHA_256"}}}"#
    }

    static func verify(_ key: String, message: Data, signature: String) -> String {
        #"{"keyId": "\#(key)", "input": {"message": "\#(message.base64EncodedString())"}, "scheme": {"ecdsa": {"hash": "HASH_ALGORITHM_SHA_256"}}, "signature": "\#(signature)"}"#
    }

    @Test("open a session, create a key, sign, verify, list, close: over HTTP/JSON, as the README shows")
    func wholeFlow() async throws {
        try await Self.withHTTPBroker { base, credentials in
            let token = try await Self.openSession(base, apiKey: credentials.apiKey)
            let created = try await Self.curl(
                base, "/redoubt.v1.KeyService/CreateKey", body: #"{"spec": {"algorithm": "KEY_ALGORITHM_EC_P256", "label": "http"}}"#,
                token: token)
            #expect(created.status == 200, "\(created)")
            let key = try #require((created.json["key"] as? [String: Any])?["id"] as? String)
            let spki = try #require(((created.json["key"] as? [String: Any])?["publicKey"] as? [String: Any])?["spkiDer"] as? String)
            #expect(Data(base64Encoded: spki)?.isEmpty == false)

            let message = Data("pay 100 to bob".utf8)
            let signed = try await Self.curl(base, "/redoubt.v1.CryptoService/Sign", body: Self.sign(key, message: message), token: token)
            #expect(signed.status == 200, "\(signed)")
            let signature = try #require(signed.json["signature"] as? String)
            #expect(signed.json["keyVersion"] as? Int == 1)

            let good = try await Self.curl(
                base, "/redoubt.v1.CryptoService/Verify", body: Self.verify(key, message: message, signature: signature), token: token)
            #expect(good.status == 200 && good.json["valid"] as? Bool == true, "\(good)")
            let bad = try await Self.curl(
                base, "/redoubt.v1.CryptoService/Verify", body: Self.verify(key, message: Data("pay 900 to bob".utf8), signature: signature),
                token: token)
            // proto3's JSON mapping leaves out fields at their default: `{}` is `"valid": false`.
            #expect(bad.status == 200 && (bad.json["valid"] as? Bool ?? false) == false && bad.json.keys.allSatisfy { $0 == "valid" }, "\(bad)")

            let listed = try await Self.curl(base, "/redoubt.v1.KeyService/ListKeys", body: "{}", token: token)
            let ids = (listed.json["keys"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids == [key], "\(listed)")

            let closed = try await Self.curl(base, "/redoubt.v1.SessionService/CloseSession", body: "{}", token: token)
            #expect(closed.status == 200, "\(closed)")
            let after = try await Self.curl(base, "/redoubt.v1.KeyService/ListKeys", body: "{}", token: token)
            #expect(after.status == 401 && after.code == "UNAUTHENTICATED", "a closed session's token is refused: \(after)")
            #expect(after.json["code"] as? Int == 16)
        }
    }

    @Test("a security officer binds a token issuer over HTTP; a JWT as the bearer of OpenSession signs its user in; a forged one is 401")
    func jwtSignIn() async throws {
        let log = RedoubtServerTests.CapturedLog()
        var tokens: [String] = []
        try await Self.withHTTPBroker(logger: log.logger()) { base, credentials in
            let officer = try await Self.openSession(base, apiKey: credentials.securityOfficerAPIKey)
            let key = Curve25519.Signing.PrivateKey()
            let x = HSMFixture.base64URL(key.publicKey.rawRepresentation)
            let jwks = #"{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"kid\": \"k1\", \"x\": \"\#(x)\"}]}"#
            let bound = try await Self.curl(
                base, "/redoubt.v1.UserService/BindTokenIssuer",
                body: #"{"issuer": {"name": "corp", "issuer": "https://idp.example.com", "audiences": ["redoubt"], "jwks": "\#(jwks)"}}"#,
                token: officer)
            #expect(bound.status == 200, "\(bound)")
            #expect((bound.json["issuer"] as? [String: Any])?["userClaim"] as? String == "sub", "defaults filled in: \(bound)")
            let listed = try await Self.curl(base, "/redoubt.v1.UserService/ListTokenIssuers", body: "{}", token: officer)
            #expect((listed.json["issuers"] as? [[String: Any]])?.first?["name"] as? String == "corp", "\(listed)")

            let exp = Int(Date().timeIntervalSince1970) + 600
            let claims: [String: Any] = ["iss": "https://idp.example.com", "aud": "redoubt", "sub": credentials.user, "exp": exp]
            let jwt = try HSMFixture.jwt(claims, key: key, kid: "k1")
            let opened = try await Self.curl(base, "/redoubt.v1.SessionService/OpenSession", body: #"{"partitionId": "dev"}"#, token: jwt)
            #expect(opened.status == 200, "\(opened)")
            let token = try #require(opened.json["token"] as? String)
            let expires = try #require(opened.json["expireTime"] as? String)
            #expect(ISO8601DateFormatter().date(from: expires).map { $0.timeIntervalSince1970 <= Double(exp) } == true, "ends with the token: \(expires)")
            let random = try await Self.curl(base, "/redoubt.v1.CryptoService/Random", body: #"{"lengthBytes": 8}"#, token: token)
            #expect(random.status == 200, "\(random)")

            let forged = try HSMFixture.jwt(claims, key: Curve25519.Signing.PrivateKey(), kid: "k1")
            let refused = try await Self.curl(base, "/redoubt.v1.SessionService/OpenSession", body: #"{"partitionId": "dev"}"#, token: forged)
            #expect(refused.status == 401 && refused.code == "UNAUTHENTICATED", "\(refused)")
            #expect(!refused.body.contains(forged.prefix(20)))

            // An issuer whose keys cannot be had (nothing listens on its URL): refused, and logged.
            let down = #"{"issuer": {"name": "down", "issuer": "https://down.example.com", "audiences": ["redoubt"], "jwksUrl": "http://127.0.0.1:9/jwks"}}"#
            let boundDown = try await Self.curl(base, "/redoubt.v1.UserService/BindTokenIssuer", body: down, token: officer)
            #expect(boundDown.status == 200, "\(boundDown)")
            var downClaims = claims
            downClaims["iss"] = "https://down.example.com"
            let unverifiable = try HSMFixture.jwt(downClaims, key: key, kid: "k1")
            let unavailable = try await Self.curl(
                base, "/redoubt.v1.SessionService/OpenSession", body: #"{"partitionId": "dev"}"#, token: unverifiable)
            #expect(unavailable.status == 401 && unavailable.code == "UNAUTHENTICATED", "\(unavailable)")
            tokens = [jwt, forged, unverifiable]
        }
        // The trace-level log of all of it names no token, nor any token's signature.
        #expect(log.text.contains("the keys of a token issuer could not be had"), "the unavailable keys are logged")
        #expect(log.text.contains("OpenSession"), "the calls are logged")
        for token in tokens {
            let signature = String(token.split(separator: ".").last ?? "")
            #expect(!log.text.contains(token) && !log.text.contains(signature), "a token reached the log")
        }
    }

    @Test("a server-streaming RPC (CreateBackup) answers newline-delimited JSON; a failure before its first message is a status")
    func serverStreaming() async throws {
        try await Self.withHTTPBroker { base, credentials in
            let token = try await Self.openSession(base, apiKey: credentials.operatorAPIKey, partition: "")
            let answer = try await Self.curl(base, "/redoubt.v1.BackupService/CreateBackup", body: #"{"path": "http.rdbk"}"#, token: token)
            #expect(answer.status == 200, "\(answer)")
            let lines = answer.body.split(separator: "\n").map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            #expect(lines.count >= 2 && lines.allSatisfy { $0 != nil }, "one JSON object per line: \(answer)")
            #expect(lines.dropLast().allSatisfy { $0?["progress"] != nil }, "\(answer)")
            #expect((lines.last??["summary"] as? [String: Any])?["path"] != nil, "the last line is the summary: \(answer)")
            let again = try await Self.curl(base, "/redoubt.v1.BackupService/CreateBackup", body: #"{"path": "http.rdbk"}"#, token: token)
            #expect(again.code == "ALREADY_EXISTS" && again.status == 409, "\(again)")
        }
    }

    @Test("/openapi.json is the generated document: every unary and server-streaming RPC, none that streams requests")
    func openAPIDocument() async throws {
        try await Self.withHTTPBroker { base, _ in
            let answer = try await Self.curl(base, "/openapi.json")
            #expect(answer.status == 200)
            #expect(answer.json["openapi"] as? String == "3.0.3")
            let paths = try #require(answer.json["paths"] as? [String: Any])
            let served = RedoubtHTTPMethods.all.filter { $0.kind == .unary || $0.kind == .serverStreaming }
            #expect(Set(paths.keys) == Set(served.map { "/" + $0.descriptor.fullyQualifiedMethod }))
            #expect(paths["/redoubt.v1.CryptoService/Sign"] != nil)
            #expect(paths["/redoubt.v1.CryptoService/SignStream"] == nil)
            let schemas = try #require((answer.json["components"] as? [String: Any])?["schemas"] as? [String: Any])
            let sign = try #require(schemas["redoubt.v1.SignRequest"] as? [String: Any])
            #expect(Set((sign["properties"] as? [String: Any] ?? [:]).keys) == ["keyId", "input", "scheme"])
        }
    }

    @Test("malformed, oversized, mistyped or unauthenticated requests get the gRPC code of the same mistake and change nothing")
    func badRequests() async throws {
        var limits = BrokerConfiguration.Limits.defaults
        limits.maximumMessageBytes = 64 << 10
        limits.maximumPayloadBytes = 32 << 10
        try await Self.withHTTPBroker(limits: limits) { base, credentials in
            let token = try await Self.openSession(base, apiKey: credentials.apiKey)
            let created = try await Self.curl(
                base, "/redoubt.v1.KeyService/CreateKey", body: #"{"spec": {"algorithm": "KEY_ALGORITHM_EC_P256", "label": "kept"}}"#,
                token: token)
            #expect(created.status == 200, "\(created)")
            func state() async throws -> String {
                let keys = try await Self.curl(base, "/redoubt.v1.KeyService/ListKeys", body: "{}", token: token)
                return keys.body
            }
            let before = try await state()
            let create = "/redoubt.v1.KeyService/CreateKey"
            let cases: [(what: String, path: String, body: String?, token: String?, type: String, code: String, status: Int)] = [
                ("not JSON", create, "{\"spec\": ", token, "application/json", "INVALID_ARGUMENT", 400),
                (
                    "an unknown field", create, #"{"spec": {"algorithm": "KEY_ALGORITHM_EC_P256"}, "owner": "eve"}"#, token, "application/json",
                    "INVALID_ARGUMENT", 400
                ),
                ("a wrong type", create, #"{"spec": {"algorithm": 3.5}}"#, token, "application/json", "INVALID_ARGUMENT", 400),
                ("a string for a message", create, #"{"spec": "P-256"}"#, token, "application/json", "INVALID_ARGUMENT", 400),
                ("an unknown enum name", create, #"{"spec": {"algorithm": "KEY_ALGORITHM_EC_P999"}}"#, token, "application/json", "INVALID_ARGUMENT", 400),
                ("no algorithm (the HSM's check)", create, #"{"spec": {"label": "x"}}"#, token, "application/json", "INVALID_ARGUMENT", 400),
                (
                    "an oversized body", create, #"{"spec": {"label": "\#(String(repeating: "a", count: 70_000))"}}"#, token, "application/json",
                    "RESOURCE_EXHAUSTED", 429
                ),
                ("a wrong content type", create, #"{"spec": {"algorithm": "KEY_ALGORITHM_EC_P256"}}"#, token, "text/plain", "INVALID_ARGUMENT", 400),
                ("no token", create, #"{"spec": {"algorithm": "KEY_ALGORITHM_EC_P256"}}"#, nil, "application/json", "UNAUTHENTICATED", 401),
                ("a forged token", create, #"{"spec": {"algorithm": "KEY_ALGORITHM_EC_P256"}}"#, "rds1.s00.forged", "application/json", "UNAUTHENTICATED", 401),
                (
                    "a crypto user's partition change", "/redoubt.v1.PartitionService/CreatePartition", #"{"partitionId": "evil"}"#, token, "application/json",
                    "PERMISSION_DENIED", 403
                ),
                (
                    "an unknown key", "/redoubt.v1.CryptoService/Sign", Self.sign("k-missing", message: Data("m".utf8)), token, "application/json", "NOT_FOUND",
                    404
                ),
                ("a request-streaming RPC", "/redoubt.v1.CryptoService/SignStream", "{}", token, "application/json", "UNIMPLEMENTED", 501),
                ("no such method", "/redoubt.v1.KeyService/StealKey", "{}", token, "application/json", "UNIMPLEMENTED", 501),
                ("a GET", create, nil, token, "application/json", "UNIMPLEMENTED", 501),
            ]
            for c in cases {
                let answer = try await Self.curl(base, c.path, body: c.body, token: c.token, contentType: c.type)
                #expect(answer.code == c.code && answer.status == c.status, "\(c.what): \(answer)")
                #expect((answer.json["message"] as? String)?.isEmpty == false, "\(c.what): a message a person can act on")
                #expect(!answer.body.contains(token) && !answer.body.contains(credentials.apiKey), "\(c.what): no secret in the answer")
            }
            #expect(try await state() == before, "no failed request changed the keys")
            // The same mistakes over gRPC get the same codes.
            try await withRemoteHSM(configuration: .init(endpoint: credentials.endpoint)) { hsm in
                let session = try await hsm.openSession(partition: "dev", credential: .apiKey(credentials.apiKey)).token
                do {
                    _ = try await hsm.sign(session, key: "k-missing", input: .message(Data("m".utf8)), scheme: .ecdsa(.sha256))
                    Issue.record("signing with an unknown key succeeded over gRPC")
                } catch let error as HSMError {
                    #expect(error.code == .notFound)
                }
                do {
                    _ = try await hsm.listKeys(SessionToken("rds1.s00.forged"), filter: KeyFilter())
                    Issue.record("a forged token was accepted over gRPC")
                } catch let error as HSMError {
                    #expect(error.code == .unauthenticated)
                }
            }
        }
    }

    @Test("the HTTP door shares the gRPC listener's rate limiter: a session over its budget gets RESOURCE_EXHAUSTED (429)")
    func rateLimited() async throws {
        var limits = BrokerConfiguration.Limits.defaults
        limits.requestsPerSecond = 1
        limits.burst = 3
        // A clock that never moves: the bucket never refills.
        try await Self.withHTTPBroker(limits: limits, clock: ManualClock()) { base, credentials in
            let token = try await Self.openSession(base, apiKey: credentials.apiKey)
            var codes: [Int] = []
            for _ in 0..<4 {
                codes.append(try await Self.curl(base, "/redoubt.v1.KeyService/ListKeys", body: "{}", token: token).status)
            }
            #expect(codes == [200, 200, 200, 429], "\(codes)")
            let refused = try await Self.curl(base, "/redoubt.v1.KeyService/ListKeys", body: "{}", token: token)
            #expect(refused.code == "RESOURCE_EXHAUSTED" && (refused.json["message"] as? String)?.contains("rate limit") == true, "\(refused)")
        }
    }

    @Test("a plaintext HTTP listener off loopback is refused, as the gRPC one is")
    func plaintextOffLoopback() throws {
        let configuration = BrokerConfiguration(listen: "127.0.0.1:0", httpListen: "0.0.0.0:8444")
        #expect(throws: BrokerConfigurationError.self) { try configuration.validatedAddress() }
        let malformed = BrokerConfiguration(listen: "127.0.0.1:0", httpListen: "localhost")
        #expect(throws: BrokerConfigurationError.self) { try malformed.validatedAddress() }
    }

    @Test("over mutual TLS: a client without a certificate is refused; a registered certificate opens a session by itself")
    func tls() async throws {
        let tls = try TLSFixtures.make()
        defer { try? FileManager.default.removeItem(at: tls.directory) }
        let directory = RedoubtServerTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = RedoubtServer.Configuration(
            broker: BrokerConfiguration(
                listen: "127.0.0.1:0", httpListen: "127.0.0.1:0",
                tls: .init(certificateChain: tls.server.certificatePath, privateKey: tls.server.keyPath, clientCA: tls.caPath)),
            backend: .development(directory: directory))
        try await withBroker(configuration: configuration) { listening in
            let credentials = try #require(listening.devCredentials)
            let http = try #require(listening.httpEndpoint)
            let base = "https://\(http)"
            #expect(credentials.httpEndpoint == base)
            let identity = ["--cacert", tls.caPath, "--cert", tls.client.certificatePath, "--key", tls.client.keyPath]
            let answer = try await Self.curl(
                base, "/redoubt.v1.SessionService/OpenSession", body: #"{"partitionId": "dev"}"#, token: credentials.apiKey, extra: identity)
            #expect(answer.status == 200 && (answer.json["token"] as? String)?.hasPrefix("rds1.") == true, "\(answer)")

            // A user registered by its certificate's fingerprint signs in over HTTP with no other credential.
            let officer = try await Self.curl(
                base, "/redoubt.v1.SessionService/OpenSession", body: #"{"partitionId": "dev"}"#, token: credentials.securityOfficerAPIKey,
                extra: identity)
            let officerToken = try #require(officer.json["token"] as? String, "\(officer)")
            let unregistered = try await Self.curl(base, "/redoubt.v1.SessionService/OpenSession", body: #"{"partitionId": "dev"}"#, extra: identity)
            #expect(unregistered.code == "UNAUTHENTICATED", "an unregistered certificate is no credential: \(unregistered)")
            let added = try await Self.curl(
                base, "/redoubt.v1.UserService/AddUser",
                body: #"{"name": "web-server", "role": "ROLE_CRYPTO_USER", "clientCertificateSha256": "\#(tls.client.sha256.base64EncodedString())"}"#,
                token: officerToken, extra: identity)
            #expect(added.status == 200, "\(added)")
            let byCertificate = try await Self.curl(base, "/redoubt.v1.SessionService/OpenSession", body: #"{"partitionId": "dev"}"#, extra: identity)
            #expect(byCertificate.status == 200 && byCertificate.json["role"] as? String == "ROLE_CRYPTO_USER", "\(byCertificate)")

            let anonymous = try await CLIOverAnyHSMTests.run(
                "/usr/bin/curl", ["-sS", "--max-time", "30", "--cacert", tls.caPath, base + "/openapi.json"])
            #expect(anonymous.status != 0, "no client certificate, no connection: \(anonymous)")
            let plaintext = try await CLIOverAnyHSMTests.run("/usr/bin/curl", ["-sS", "--max-time", "30", "http://\(http)/openapi.json"])
            #expect(plaintext.status != 0 || !plaintext.stdout.contains("openapi"), "plaintext HTTP is not served: \(plaintext)")
        }
    }
}
