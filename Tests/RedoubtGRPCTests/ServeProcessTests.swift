import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RedoubtClient
import RedoubtProto
@testable import RedoubtTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `redoubt serve` as a user runs it: the built executable in a child process.
@Suite("redoubt serve (process)")
struct ServeProcessTests {
    /// The `redoubt` executable next to the test bundle (.build/<config>/redoubt).
    static func executable() throws -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("redoubt")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let fallback = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/redoubt")
        guard FileManager.default.isExecutableFile(atPath: fallback.path) else {
            throw TestFailure("the redoubt executable is not built; run `swift build` first")
        }
        return fallback
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// A running `redoubt serve` child with its output collected.
    final class Child: @unchecked Sendable {
        let process = ChildProcess()
        let output = Pipe()
        let errors = Pipe()

        init(_ arguments: [String]) throws {
            process.executableURL = try ServeProcessTests.executable()
            process.arguments = arguments
            process.standardOutput = output
            process.standardError = errors
            var env = ProcessInfo.processInfo.environment
            env["SWIFT_BACKTRACE"] = "enable=no"
            process.environment = env
            try process.run()
        }

        func stop(_ sig: Int32 = SIGTERM) async -> (status: Int32, stdout: String, stderr: String) {
            if process.isRunning { kill(process.processIdentifier, sig) }
            await process.exited()
            return (
                process.terminationStatus,
                String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            )
        }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Waits until dev-credentials.json names a listening endpoint (written after `since`).
    static func credentials(in dir: URL, child: Child, since: Date = .distantPast) async throws -> [String: String] {
        let file = dir.appendingPathComponent("dev-credentials.json")
        for _ in 0..<600 {
            let modified = (try? FileManager.default.attributesOfItem(atPath: file.path)[.modificationDate] as? Date) ?? .distantPast
            if modified > since, let data = FileManager.default.contents(atPath: file.path),
                let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let endpoint = json["endpoint"] as? String, !endpoint.isEmpty
            {
                return json.compactMapValues { $0 as? String }
            }
            guard child.process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let out = await child.stop()
        throw TestFailure("no endpoint in \(file.path); status \(out.status)\nstdout: \(out.stdout)\nstderr: \(out.stderr)")
    }

    static func port(_ endpoint: String) throws -> Int {
        guard let p = endpoint.split(separator: ":").last.flatMap({ Int($0) }) else { throw TestFailure("bad endpoint \(endpoint)") }
        return p
    }

    @Test("--dev initialises, writes credentials (0600) that open a session and pkcs11.json, says DEVELOPMENT loudly, SIGTERM exits 0")
    func devModeAndGracefulShutdown() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let child = try Child(["serve", "--dev", "--data", dir.path, "--listen", "127.0.0.1:0"])
        let creds = try await Self.credentials(in: dir, child: child)
        #expect(creds["partition"] == "dev")
        #expect(creds["api_key"]?.hasPrefix("rdk1.") == true)
        let mode = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("dev-credentials.json").path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // Beside it, the PKCS #11 module's configuration for the same endpoint (also 0600).
        let pkcs11 = dir.appendingPathComponent("pkcs11.json")
        let pkcs11Mode = try FileManager.default.attributesOfItem(atPath: pkcs11.path)[.posixPermissions] as? Int
        #expect(pkcs11Mode == 0o600)
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: pkcs11)) as? [String: Any])
        let slots = try #require(config["slots"] as? [[String: Any]])
        #expect(slots.count == 1)
        #expect(slots.first?["label"] as? String == "dev")
        #expect(slots.first?["partition"] as? String == "dev")
        #expect((slots.first?["backend"] as? [String: Any])?["endpoint"] as? String == creds["endpoint"])

        let port = try Self.port(try #require(creds["endpoint"]))
        let role = try await withGRPCClient(
            transport: try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        ) { client in
            var request = Redoubt_V1_OpenSessionRequest()
            request.partitionID = "dev"
            return try await Redoubt_V1_SessionService.Client(wrapping: client)
                .openSession(request, metadata: ["authorization": "Bearer \(creds["api_key"] ?? "")"]).role
        }
        #expect(role == .cryptoUser)

        let out = await child.stop(SIGTERM)
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stderr.contains("DEVELOPMENT MODE"))
        #expect(out.stdout.contains("listening on 127.0.0.1:\(port)"))
        #expect(!out.stdout.contains(creds["api_key"] ?? "unset") && !out.stderr.contains(creds["api_key"] ?? "unset"), "the API key must not be printed")

        // A second start reuses the store and the same credentials.
        let before = try #require(
            FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("dev-credentials.json").path)[.modificationDate] as? Date)
        try await Task.sleep(for: .milliseconds(20))
        let again = try Child(["serve", "--dev", "--data", dir.path, "--listen", "127.0.0.1:0"])
        let creds2 = try await Self.credentials(in: dir, child: again, since: before)
        #expect(creds2["api_key"] == creds["api_key"])
        #expect(await again.stop(SIGTERM).status == 0)
    }

    @Test("--rate alone limits a session: of 40 calls at once, at most the burst (twice the rate) and what refills pass")
    func rateFlag() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let child = try Child(["serve", "--dev", "--data", dir.path, "--listen", "127.0.0.1:0", "--rate", "2"])
        let creds = try await Self.credentials(in: dir, child: child)
        let endpoint = try #require(creds["endpoint"])
        let started = ContinuousClock.now
        // A long call timeout: on a busy 2-core machine a fresh child process can take tens of seconds
        // to answer its first call; the limits checked below do not depend on how long calls take.
        let outcomes = try await withRemoteHSM(configuration: .init(endpoint: endpoint, callTimeout: .seconds(120))) { hsm in
            let session = try await hsm.openSession(partition: "dev", credential: .apiKey(creds["api_key"] ?? ""))
            return await withTaskGroup(of: HSMError.Code?.self, returning: [HSMError.Code?].self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await hsm.random(session.token, count: 8)
                            return nil
                        } catch let error as HSMError { return error.code } catch { return .internalError }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        let elapsed = Double((ContinuousClock.now - started).components.seconds) + 1
        let served = outcomes.filter { $0 == nil }.count
        #expect(outcomes.allSatisfy { $0 == nil || $0 == .resourceExhausted }, "\(outcomes)")
        // A bucket of 4 (twice the rate; the session's own calls only) plus 2 a second.
        #expect(served <= 4 + Int(2 * elapsed), "\(served) served in about \(elapsed) s: \(outcomes)")
        #expect(outcomes.contains(.resourceExhausted))
        #expect(await child.stop(SIGTERM).status == 0)
    }

    @Test("plaintext on a non-loopback address is refused before anything starts")
    func refusesPlaintextOffLoopback() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let child = try Child(["serve", "--dev", "--data", dir.path, "--listen", "0.0.0.0:0"])
        let out = await child.stop(0)
        #expect(out.status != 0)
        #expect(out.stderr.contains("without TLS"), "\(out.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("redoubt.sqlite").path))
    }

    @Test("a key cache size out of range is refused before anything starts")
    func refusesKeyCacheOutOfRange() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let child = try Child(["serve", "--dev", "--data", dir.path, "--listen", "127.0.0.1:0", "--key-cache", "0"])
        let out = await child.stop(0)
        #expect(out.status != 0)
        #expect(out.stderr.contains("--key-cache must be between 1 and 10000000"), "\(out.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("redoubt.sqlite").path))
    }

    @Test("the Python example creates a P-256 key, signs and verifies through the broker")
    func pythonExample() async throws {
        let run = try await Self.pythonExample("sign_verify.py")
        #expect(run.status == 0, "python failed: \(run.stderr)")
        #expect(run.stdout.contains("KEY_ALGORITHM_EC_P256"))
        #expect(run.stdout.contains("verified: True; altered message verified: False"), "\(run.stdout)")
    }

    @Test("a foreign client with no proto file (Python grpcio-reflection) lists, describes and calls the broker by server reflection")
    func pythonReflection() async throws {
        let run = try await Self.pythonExample("reflect.py")
        #expect(run.status == 0, "python failed: \(run.stderr)")
        let services = run.stdout.split(separator: "\n").first { $0.hasPrefix("services: ") }.map { Set($0.dropFirst(10).split(separator: " ")) }
        #expect(
            services
                == [
                    "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
                    "redoubt.v1.ApprovalService", "redoubt.v1.AuditService", "redoubt.v1.BackupService", "redoubt.v1.CryptoService",
                    "redoubt.v1.KeyService", "redoubt.v1.PartitionService", "redoubt.v1.SessionService", "redoubt.v1.UserService",
                ], "\(run.stdout)")
        #expect(run.stdout.contains("describe: rpc Sign(redoubt.v1.SignRequest) returns (redoubt.v1.SignResponse)"))
        #expect(run.stdout.contains("SignRequest fields: key_id input scheme"))
        #expect(run.stdout.contains("session opened: s"))
        #expect(run.stdout.contains("listed: True"), "a key created through reflected descriptors is listed")
        #expect(run.stdout.contains("v1 services: grpc.health.v1.Health"), "v1 answers as v1alpha does")
        // key.proto and what it imports (common.proto, timestamp.proto, …).
        #expect(run.stdout.contains("v1 files for KeyService.CreateKey: 4"), "\(run.stdout)")
        #expect(run.stdout.contains("v1 unknown symbol: error 5"), "NOT_FOUND for a symbol that is not there")
    }

    @Test("a Python workload signs in with a JWT from an issuer the security officer bound with `redoubt issuers bind`")
    func pythonJWTSignIn() async throws {
        let run = try await Self.pythonExample("jwt_signin.py") { dir, credentials in
            let key = Curve25519.Signing.PrivateKey()
            let x = HSMFixture.base64URL(key.publicKey.rawRepresentation)
            let jwks = dir.appendingPathComponent("jwks.json")
            try Data(#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "ci-1", "x": "\#(x)"}]}"#.utf8).write(to: jwks)
            let bound = try await CLIOverAnyHSMTests.redoubt([
                "issuers", "bind", "ci", "--issuer", "https://ci.example.com", "--audience", "redoubt", "--user-claim", "repository",
                "--require", "ref=refs/heads/main", "--jwks", jwks.path, "--endpoint", credentials["endpoint"] ?? "",
                "--partition", "dev", "--api-key", credentials["security_officer_api_key"] ?? "",
            ])
            #expect(bound.status == 0 && bound.stdout.contains("token issuer ci bound"), "\(bound)")
            let listed = try await CLIOverAnyHSMTests.redoubt([
                "issuers", "list", "--json", "--endpoint", credentials["endpoint"] ?? "", "--partition", "dev",
                "--api-key", credentials["security_officer_api_key"] ?? "",
            ])
            #expect(listed.stdout.contains("\"user_claim\" : \"repository\""), "\(listed)")
            let claims: [String: Any] = [
                "iss": "https://ci.example.com", "aud": ["redoubt"], "repository": credentials["user"] ?? "", "ref": "refs/heads/main",
                "exp": Int(Date().timeIntervalSince1970) + 300,
            ]
            let token = dir.appendingPathComponent("token.jwt")
            try Data(HSMFixture.jwt(claims, key: key, kid: "ci-1").utf8).write(to: token)
            return [token.path]
        }
        #expect(run.status == 0, "python failed: \(run.stderr)")
        #expect(run.stdout.contains("signed in as user u_"), "\(run.stdout)")
        #expect(run.stdout.contains("verified True"), "\(run.stdout)")
        #expect(run.stdout.contains("forged token: UNAUTHENTICATED"), "\(run.stdout)")
    }

    /// Runs `Examples/python/NAME` with the dev credentials of a new `serve --dev` broker and
    /// the arguments `prepare` returns (it runs first, with the data directory and credentials).
    static func pythonExample(
        _ name: String, prepare: (URL, [String: String]) async throws -> [String] = { _, _ in [] }
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        // scripts/test points REDOUBT_PYTHON at the venv it keeps for generating the Python stubs
        // (grpcio, protobuf and grpcio-reflection installed); otherwise any python3 with them.
        let python = ProcessInfo.processInfo.environment["REDOUBT_PYTHON"] ?? "/usr/bin/python3"
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let child = try Child(["serve", "--dev", "--data", dir.path, "--listen", "127.0.0.1:0"])
        let credentials = try await Self.credentials(in: dir, child: child)
        let extra: [String]
        do {
            extra = try await prepare(dir, credentials)
        } catch {
            _ = await child.stop(SIGTERM)
            throw error
        }
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/python/" + name)
        let run = ChildProcess()
        run.executableURL = URL(fileURLWithPath: python)
        run.arguments = [example.path, dir.appendingPathComponent("dev-credentials.json").path] + extra
        let out = Pipe(), err = Pipe()
        run.standardOutput = out
        run.standardError = err
        try run.run()
        await run.exited()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(await child.stop(SIGTERM).status == 0)
        return (run.terminationStatus, stdout, stderr)
    }
}
