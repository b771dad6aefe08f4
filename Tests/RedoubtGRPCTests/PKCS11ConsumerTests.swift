import Foundation
@testable import RedoubtTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `libredoubt-pkcs11.so` under the consumers people run it with: OpenSSL through libp11's pkcs11
/// engine (a certificate and TLS 1.3 servers), OpenSSH (ssh-keygen -D, ssh-agent, SSH signatures and a
/// signed git commit), GnuTLS's p11tool and p11-kit, and nginx with forked workers. Each test runs
/// its own `redoubt serve --dev` child through `PKCS11ToolTests.withBroker`. The tools come from
/// scripts/bootstrap; a missing one fails the test.
@Suite("OpenSSL engine, OpenSSH, p11tool, p11-kit and nginx against libredoubt-pkcs11 (process)", .serialized)
struct PKCS11ConsumerTests {
    typealias Fixture = PKCS11ToolTests.Fixture
    typealias Output = PKCS11ToolTests.Output
    typealias Failure = ServeProcessTests.TestFailure

    /// `name` on PATH or in /usr/sbin, or a failure naming the Debian package and scripts/bootstrap.
    static func tool(_ name: String, package: String) throws -> String {
        if let found = try? PKCS11ToolTests.installed(name, package: package) { return found }
        if FileManager.default.isExecutableFile(atPath: "/usr/sbin/\(name)") { return "/usr/sbin/\(name)" }
        return try PKCS11ToolTests.installed(name, package: package)
    }

    /// libp11's engine (`pkcs11.so`) in OpenSSL's engines directory, as `openssl version -e` names it.
    static func engine(_ f: Fixture) async throws -> String {
        let version = try await f.openssl(["version", "-e"])
        let dir = version.stdout.split(separator: "\"").dropFirst().first.map(String.init) ?? "/usr/lib/x86_64-linux-gnu/engines-3"
        let path = "\(dir)/pkcs11.so"
        guard FileManager.default.fileExists(atPath: path) else {
            throw Failure("\(path) is missing (Debian package libengine-pkcs11-openssl): run scripts/bootstrap")
        }
        return path
    }

    /// A consumer's environment: an empty HOME and XDG_CONFIG_HOME, the module configured by `config`
    /// (default: the broker's pkcs11.json, which needs a login) with its log on stderr, nothing
    /// inherited that would change OpenSSL or ssh, and `extra` on top.
    static func environment(_ f: Fixture, config: String? = nil, _ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for name in ["OPENSSL_CONF", "OPENSSL_ENGINES", "PKCS11_MODULE_PATH", "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GIT_DIR"] {
            env.removeValue(forKey: name)
        }
        env["HOME"] = f.home.path
        env["XDG_CONFIG_HOME"] = f.home.appendingPathComponent(".config").path
        env["REDOUBT_PKCS11_CONFIG"] = config ?? f.config
        env["SWIFT_BACKTRACE"] = "enable=no"
        env["REDOUBT_PKCS11_DEBUG"] = "1"  // a failing call's CKR and reason on stderr
        env.merge(extra) { $1 }
        return env
    }

    /// Runs `executable` like `PKCS11ToolTests.run`, with `input` (a file) as its standard input.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], scratch: URL, input: String? = nil
    ) async throws -> Output {
        guard let input else { return try await PKCS11ToolTests.run(executable, arguments, environment: environment, scratch: scratch) }
        let name = UUID().uuidString
        let out = scratch.appendingPathComponent("\(name).out"), err = scratch.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let inHandle = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        defer { [inHandle, outHandle, errHandle].forEach { try? $0.close() } }
        process.standardInput = inHandle
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        let ended = await process.exited(within: .seconds(120))
        if !ended {
            kill(process.processIdentifier, SIGKILL)
            await process.exited()
        }
        let output = Output(
            command: ([executable] + arguments).joined(separator: " ") + " < \(input)", status: process.terminationStatus,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "", stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
        if !ended { throw Failure("timed out after 120 s (killed)\n\(output)") }
        return output
    }

    /// A long-running child (a server, an agent) with its output in files; `stop` ends it.
    final class Background: @unchecked Sendable {
        let process = ChildProcess()
        let command: String
        let out: URL, err: URL

        init(_ executable: String, _ arguments: [String], environment: [String: String], scratch: URL) throws {
            let name = UUID().uuidString
            out = scratch.appendingPathComponent("\(name).out")
            err = scratch.appendingPathComponent("\(name).err")
            _ = FileManager.default.createFile(atPath: out.path, contents: nil)
            _ = FileManager.default.createFile(atPath: err.path, contents: nil)
            command = ([executable] + arguments).joined(separator: " ")
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = environment
            process.standardInput = FileHandle.nullDevice
            let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
            defer {
                try? outHandle.close()
                try? errHandle.close()
            }
            process.standardOutput = outHandle
            process.standardError = errHandle
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }
        var stdout: String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }
        var description: String {
            "$ \(command)\nrunning: \(process.isRunning)\nstdout:\n\(stdout)\nstderr:\n\(stderr)"
        }

        /// Sends `signal`, waits up to 15 s, then SIGKILL.
        func stop(_ signal: Int32 = SIGTERM) async {
            if process.isRunning { kill(pid, signal) }
            if !(await process.exited(within: .seconds(15))) {
                kill(pid, SIGKILL)
                await process.exited()
            }
        }
    }

    /// Runs `body`, then stops `child` whether `body` threw or not.
    static func stopping<T>(_ child: Background, _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await child.stop()
            return result
        } catch {
            await child.stop()
            throw error
        }
    }

    /// Polls `condition` every 200 ms for up to `seconds`.
    static func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return try condition()
    }

    /// Writes `text` to `path` with mode 0600.
    static func writeSecret(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        guard chmod(path, 0o600) == 0 else { throw Failure("chmod 0600 \(path): errno \(errno)") }
    }

    /// The broker's pkcs11.json with an `apiKeyFile` (the dev crypto user's key) in its slot, so the
    /// slot logs in by itself: for consumers that cannot type a PIN. Both files are mode 0600.
    static func autoLoginConfig(_ f: Fixture, in directory: URL? = nil) throws -> String {
        let dir = directory ?? f.scratch
        let keyFile = dir.appendingPathComponent("dev-api-key").path
        try writeSecret(f.pin, to: keyFile)
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.config))) as? [String: Any])
        var slots = try #require(config["slots"] as? [[String: Any]])
        try #require(slots.count == 1, "\(config)")
        slots[0]["apiKeyFile"] = keyFile
        config["slots"] = slots
        let path = dir.appendingPathComponent("pkcs11-auto.json").path
        try writeSecret(String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self), to: path)
        return path
    }

    /// An openssl.cnf that loads libp11's engine with the module; with `pin`, the engine logs in
    /// with it (libp11 0.4.12 takes at most 32 characters from `-passin` or a URI's pin-value, and an
    /// API key is longer, so the PIN goes into the engine section).
    static func engineConfig(_ f: Fixture, engine: String, pin: String? = nil, name: String = "openssl-pkcs11.cnf") throws -> String {
        let path = f.file(name)
        try writeSecret(
            """
            openssl_conf = openssl_init
            [openssl_init]
            engines = engine_sect
            [engine_sect]
            pkcs11 = pkcs11_sect
            [pkcs11_sect]
            engine_id = pkcs11
            dynamic_path = \(engine)
            MODULE_PATH = \(f.module)
            \(pin.map { "PIN = \($0)" } ?? "")
            init = 0

            """, to: path)
        return path
    }

    /// The base64 key blobs of OpenSSH public key lines of type `type` in `text`.
    static func sshBlobs(_ text: String, type: String) -> [String] {
        var blobs: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count >= 2 && String(fields[0]) == type { blobs.append(String(fields[1])) }
        }
        return blobs
    }

    /// A self-signed certificate for 127.0.0.1 made by `openssl req` with the token's private key
    /// `label` through the engine; checks that the certificate holds the token's public key (`tokenKey`,
    /// PEM) and that its signature verifies.
    static func engineCertificate(_ f: Fixture, label: String, tokenKey: String, env: [String: String]) async throws -> String {
        let cert = f.file("\(label).crt")
        let req = try await run(
            f.opensslTool,
            [
                "req", "-engine", "pkcs11", "-keyform", "engine", "-key", "pkcs11:token=dev;object=\(label);type=private", "-new", "-x509",
                "-days", "2", "-sha256", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-out", cert,
            ], environment: env, scratch: f.scratch)
        try #require(req.status == 0, "\(req)")
        let certKey = try await f.openssl(["x509", "-in", cert, "-noout", "-pubkey"])
        let expected = try String(contentsOfFile: tokenKey, encoding: .utf8)
        #expect(
            certKey.status == 0 && certKey.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected.trimmingCharacters(in: .whitespacesAndNewlines),
            "the certificate's key is not the token's:\n\(certKey)\ntoken:\n\(expected)")
        let verify = try await f.openssl(["verify", "-CAfile", cert, cert])
        #expect(verify.status == 0 && verify.stdout.contains(": OK"), "\(verify)")
        return cert
    }

    /// Generates `keyType` on the token, makes a certificate through the engine, serves TLS 1.3 with
    /// `openssl s_server` on that key and fetches a page with `openssl s_client`, which verifies the
    /// certificate and must report `peerSignature`.
    static func tlsThroughEngine(_ f: Fixture, keyType: String, id: String, label: String, peerSignature: String) async throws {
        try await f.generate(keyType, id: id, label: label)
        let tokenKey = try await f.publicKeyPEM(id: id)
        let enginePath = try await engine(f)
        let env = environment(f, ["OPENSSL_CONF": try engineConfig(f, engine: enginePath, pin: f.pin)])
        let cert = try await engineCertificate(f, label: label, tokenKey: tokenKey, env: env)

        let port = try ClusterProcessTests.freePort()
        let server = try Background(
            f.opensslTool,
            [
                "s_server", "-engine", "pkcs11", "-keyform", "engine", "-key", "pkcs11:token=dev;object=\(label);type=private", "-cert", cert,
                "-tls1_3", "-accept", "127.0.0.1:\(port)", "-www",
            ], environment: env, scratch: f.scratch)
        try await stopping(server) {
            let listening = await waitUntil(60) { server.stdout.contains("ACCEPT") || !server.process.isRunning }
            try #require(listening && server.process.isRunning, "s_server did not start:\n\(server.description)")
            let request = f.file("request-\(label).txt")
            try Data("GET / HTTP/1.0\r\n\r\n".utf8).write(to: URL(fileURLWithPath: request))
            let client = try await run(
                f.opensslTool,
                ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_3", "-CAfile", cert, "-verify_return_error", "-verify_ip", "127.0.0.1", "-ign_eof"],
                environment: environment(f), scratch: f.scratch, input: request)
            #expect(client.status == 0, "\(client)\n\(server.description)")
            #expect(client.stdout.contains("New, TLSv1.3"), "\(client)")
            #expect(client.stdout.contains("Verify return code: 0 (ok)"), "\(client)")
            #expect(client.all.contains("Peer signature type: \(peerSignature)"), "\(client)")
            #expect(client.stdout.contains("HTTP/1.0 200 ok"), "the server did not answer:\n\(client)\n\(server.description)")
        }
    }

    @Test(
        "OpenSSL pkcs11 engine, ECDSA P-256: openssl req makes a self-signed certificate holding the token's key; s_server on it completes TLS 1.3 and answers")
    func opensslEngineECDSA() async throws {
        try await PKCS11ToolTests.withBroker { f in
            try await Self.tlsThroughEngine(f, keyType: "EC:prime256v1", id: "e101", label: "tls-ec", peerSignature: "ECDSA")
        }
    }

    @Test(
        "OpenSSL pkcs11 engine, RSA-2048 (TLS 1.3: RSA-PSS).: the engine is the process's default RSA method, and the module still reads RSA keys"
    )
    func opensslEngineRSA() async throws {
        try await PKCS11ToolTests.withBroker { f in
            try await Self.tlsThroughEngine(f, keyType: "rsa:2048", id: "e102", label: "tls-rsa", peerSignature: "RSA-PSS")
        }
    }

    @Test(
        "OpenSSH: ssh-keygen -D lists the token's ECDSA and RSA keys; ssh-agent loads them (ssh-add -s), signs with ssh-keygen -Y sign, a git commit is signed; all verify"
    )
    func openSSH() async throws {
        try await PKCS11ToolTests.withBroker { f in
            let sshKeygen = try Self.tool("ssh-keygen", package: "openssh-client")
            let sshAgent = try Self.tool("ssh-agent", package: "openssh-client")
            let sshAdd = try Self.tool("ssh-add", package: "openssh-client")
            let git = try Self.tool("git", package: "git")
            try await f.generate("EC:prime256v1", id: "5501", label: "ssh-ec")
            try await f.generate("rsa:2048", id: "5502", label: "ssh-rsa")
            // The token's keys in OpenSSH form, from pkcs11-tool's export.
            var expected: [String: String] = [:]
            for (id, type) in [("5501", "ecdsa-sha2-nistp256"), ("5502", "ssh-rsa")] {
                let converted = try await Self.run(
                    sshKeygen, ["-i", "-m", "PKCS8", "-f", try await f.publicKeyPEM(id: id)], environment: Self.environment(f), scratch: f.scratch)
                expected[type] = try #require(Self.sshBlobs(converted.stdout, type: type).first, "\(converted)")
            }

            let config = try Self.autoLoginConfig(f)
            let listed = try await Self.run(sshKeygen, ["-D", f.module], environment: Self.environment(f, config: config), scratch: f.scratch)
            #expect(listed.status == 0, "\(listed)")
            for (type, blob) in expected {
                #expect(Self.sshBlobs(listed.stdout, type: type) == [blob], "ssh-keygen -D: no \(type) line for the token's key\n\(listed)")
            }

            // The module is outside /usr/lib: the agent must allow it (-P, matched on the real path).
            let realModule = URL(fileURLWithPath: f.module).resolvingSymlinksInPath()
            let socket = f.file("agent.sock")
            let agent = try Background(
                sshAgent, ["-D", "-a", socket, "-P", realModule.deletingLastPathComponent().path + "/*"],
                environment: Self.environment(f, config: config), scratch: f.scratch)
            try await Self.stopping(agent) {
                let up = await Self.waitUntil(20) { FileManager.default.fileExists(atPath: socket) || !agent.process.isRunning }
                try #require(up && agent.process.isRunning, "ssh-agent did not start:\n\(agent.description)")
                // ssh-add -s always asks for a PIN; with the apiKeyFile slot any PIN does.
                let askpass = f.file("askpass.sh")
                try Data("#!/bin/sh\necho any-pin\n".utf8).write(to: URL(fileURLWithPath: askpass))
                try #require(chmod(askpass, 0o700) == 0)
                let env = Self.environment(
                    f, config: config, ["SSH_AUTH_SOCK": socket, "SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"])
                let added = try await Self.run(sshAdd, ["-s", f.module], environment: env, scratch: f.scratch)
                try #require(added.status == 0 && added.all.contains("Card added"), "\(added)\n\(agent.description)")
                let agentKeys = try await Self.run(sshAdd, ["-L"], environment: env, scratch: f.scratch)
                #expect(agentKeys.status == 0, "\(agentKeys)")
                for (type, blob) in expected {
                    #expect(Self.sshBlobs(agentKeys.stdout, type: type) == [blob], "ssh-add -L: no \(type) line for the token's key\n\(agentKeys)")
                }

                // SSH signatures (ssh-keygen -Y) through the agent: a public key file makes
                // ssh-keygen ask the agent, which asks the token.
                let allowed = f.file("allowed_signers")
                let signers = expected.map { "redoubt@example.com \($0.key) \($0.value)" }.joined(separator: "\n") + "\n"
                try Data(signers.utf8).write(to: URL(fileURLWithPath: allowed))
                for (type, blob) in expected.sorted(by: { $0.key < $1.key }) {
                    let publicKey = f.file("\(type).pub"), message = f.file("\(type)-message.txt")
                    try Data("\(type) \(blob)\n".utf8).write(to: URL(fileURLWithPath: publicKey))
                    try Data("a commit signed by \(type) on the token\n".utf8).write(to: URL(fileURLWithPath: message))
                    let signed = try await Self.run(sshKeygen, ["-Y", "sign", "-f", publicKey, "-n", "git", message], environment: env, scratch: f.scratch)
                    #expect(signed.status == 0 && FileManager.default.fileExists(atPath: message + ".sig"), "\(signed)\n\(agent.description)")
                    let verified = try await Self.run(
                        sshKeygen, ["-Y", "verify", "-f", allowed, "-I", "redoubt@example.com", "-n", "git", "-s", message + ".sig"],
                        environment: env, scratch: f.scratch, input: message)
                    #expect(verified.status == 0 && verified.all.contains("Good \"git\" signature for redoubt@example.com"), "\(verified)")
                    let tampered = f.file("\(type)-tampered.txt")
                    try Data("a commit signed by someone else\n".utf8).write(to: URL(fileURLWithPath: tampered))
                    let rejected = try await Self.run(
                        sshKeygen, ["-Y", "verify", "-f", allowed, "-I", "redoubt@example.com", "-n", "git", "-s", message + ".sig"],
                        environment: env, scratch: f.scratch, input: tampered)
                    #expect(rejected.status != 0, "a tampered message verified:\n\(rejected)")
                }

                // A git commit signed with the ECDSA key on the token (gpg.format=ssh, through the agent).
                let repo = f.file("repo")
                var gitEnv = env
                gitEnv["GIT_CONFIG_NOSYSTEM"] = "1"
                gitEnv["GIT_CONFIG_GLOBAL"] = "/dev/null"
                let initialised = try await Self.run(git, ["init", "-q", repo], environment: gitEnv, scratch: f.scratch)
                try #require(initialised.status == 0, "\(initialised)")
                let commit = try await Self.run(
                    git,
                    [
                        "-C", repo, "-c", "user.name=Redoubt", "-c", "user.email=redoubt@example.com", "-c", "gpg.format=ssh", "-c",
                        "user.signingkey=\(f.file("ecdsa-sha2-nistp256.pub"))", "commit", "-q", "-S", "--allow-empty", "-m", "signed on the token",
                    ], environment: gitEnv, scratch: f.scratch)
                #expect(commit.status == 0, "\(commit)")
                let verifyCommit = try await Self.run(
                    git, ["-C", repo, "-c", "gpg.ssh.allowedSignersFile=\(allowed)", "verify-commit", "HEAD"], environment: gitEnv, scratch: f.scratch)
                #expect(
                    verifyCommit.status == 0 && verifyCommit.all.contains("Good \"git\" signature for redoubt@example.com with ECDSA key"),
                    "\(verifyCommit)")
            }
        }
    }
}
