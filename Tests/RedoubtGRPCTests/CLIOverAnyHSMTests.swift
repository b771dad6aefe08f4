import Foundation
import Redoubt
import RedoubtBroker
@testable import RedoubtTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The `redoubt` CLI as people run it, over any HSM: one scenario — partition, users, keys,
/// signing, approvals, audit, backup — run once on a local store (`--data DIR --dev`) and once
/// through a development broker (`--endpoint HOST:PORT`; the broker runs in the test's process, the
/// CLI always as a process), with the same results.
@Suite("the CLI over any HSM (process)", .serialized)
struct CLIOverAnyHSMTests {
    typealias TestFailure = ServeProcessTests.TestFailure

    /// What one `redoubt` run printed and how it ended.
    struct Run: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String

        var line: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        var description: String { "status \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }

        /// Standard output as a JSON object.
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
                throw TestFailure("not a JSON object: \(stdout)")
            }
            return object
        }
    }

    /// Where the scenario runs: the arguments that select the HSM, and the operator's API key.
    struct Target {
        var name: String
        var connection: [String]
        var operatorAPIKey: String
        /// The `--out` to give `backup create`, and where the file then is.
        var backupArgument: String
        var backupFile: String
        var scratch: URL
    }

    /// What the scenario saw; the same whichever HSM it ran on.
    struct Observed: Equatable {
        var partition: String
        var users: [String]
        var roles: [String]
        var keyAlgorithm: String
        var keyLabel: String
        var keyState: String
        var keyUsage: [String]
        var keyCount: Int
        var verified: [String]
        var approvers: [String]
        var requestStatuses: [String]
        var missingKeyError: String
        var auditOperations: [String]
        var auditIntact: Bool
    }

    // MARK: - Running redoubt

    /// Reads a pipe to its end on a plain thread (not the test runner's cooperative pool).
    static func readAll(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
        }
    }

    /// Runs `redoubt` with `arguments`, killing it if it takes longer than `timeout`.
    static func redoubt(_ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(60)) async throws -> Run {
        try await run(try ServeProcessTests.executable().path, arguments, stdin: stdin, timeout: timeout)
    }

    /// Runs `executable` with `arguments` (no `REDOUBT_` variables), killing it after `timeout`.
    static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(60)) async throws -> Run {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REDOUBT_") }
        env["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = env
        try process.run()
        async let stdout = readAll(out.fileHandleForReading)
        async let stderr = readAll(err.fileHandleForReading)
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let timedOut = await !process.exited(within: timeout)
        if timedOut { kill(process.processIdentifier, SIGKILL) }
        await process.exited()
        let run = Run(
            status: process.terminationStatus, stdout: String(decoding: await stdout, as: UTF8.self),
            stderr: String(decoding: await stderr, as: UTF8.self))
        if timedOut { throw TestFailure("\(executable) \(arguments.joined(separator: " ")) took longer than \(timeout)\n\(run)") }
        return run
    }

    /// Runs `redoubt` and requires it to succeed.
    @discardableResult
    static func succeed(_ arguments: [String], stdin: Data? = nil) async throws -> Run {
        let run = try await redoubt(arguments, stdin: stdin)
        guard run.status == 0 else { throw TestFailure("redoubt \(arguments.joined(separator: " ")) failed\n\(run)") }
        return run
    }

    // MARK: - The scenario

    /// Everything a user does, through the HSM `target` selects.
    static func scenario(_ target: Target) async throws -> Observed {
        let hsm = target.connection
        func session(_ key: String, _ partition: String? = nil) -> [String] {
            hsm + ["--api-key", key] + (partition.map { ["--partition", $0] } ?? [])
        }

        // The operator creates a partition; its security officer adds a crypto user and an auditor.
        let created = try await succeed(["partitions", "create", "cli", "--json"] + session(target.operatorAPIKey)).json()
        let officerKey = try #require(created["security_officer_api_key"] as? String)
        let partition = try #require((created["partition"] as? [String: Any])?["id"] as? String)
        let listed = try await succeed(["partitions", "list"] + session(target.operatorAPIKey))
        #expect(listed.stdout.split(separator: "\n").contains { $0.hasPrefix("cli\timport=true\texport=true") }, "\(listed)")

        let officer = session(officerKey, "cli")
        let app = try await succeed(["users", "add", "app", "--role", "crypto-user", "--json"] + officer).json()
        let appKey = try #require(app["api_key"] as? String)
        #expect((app["user"] as? [String: Any])?["role"] as? String == "CRYPTO_USER")
        let eve = try await succeed(["users", "add", "eve", "--role", "auditor"] + officer)
        #expect(eve.stdout.hasPrefix("user eve ("), "\(eve)")
        let auditorKey = try #require(eve.line.split(separator: " ").last.map(String.init))
        let users = try #require(try await succeed(["users", "list", "--json"] + officer).json()["users"] as? [[String: Any]])
            .sorted { ($0["name"] as? String ?? "") < ($1["name"] as? String ?? "") }

        // The crypto user generates a key, lists it (JSON and lines), signs and verifies.
        let user = session(appKey, "cli")
        let generated = try await succeed(["keys", "create", "--algorithm", "EC-P256", "--label", "signer", "--json"] + user).json()
        let keyID = try #require(generated["id"] as? String)
        let keys = try #require(try await succeed(["keys", "list", "--json"] + user).json()["keys"] as? [[String: Any]])
        let key = try #require(keys.first { $0["id"] as? String == keyID }, "keys list --json lacks \(keyID): \(keys)")
        #expect((key["public_key"] as? String)?.hasPrefix("-----BEGIN PUBLIC KEY-----") == true)
        let lines = try await succeed(["keys", "list"] + user)
        #expect(lines.line == "\(keyID)\tEC-P256\tACTIVE\tv1\tsigner", "\(lines)")
        let shown = try await succeed(["keys", "get", keyID] + user)
        #expect(shown.stdout.hasPrefix("id: \(keyID)\nlabel: signer\nalgorithm: EC-P256\nstate: ACTIVE"), "\(shown)")

        let message = target.scratch.appendingPathComponent("message.txt")
        try Data("pay 100 to bob\n".utf8).write(to: message)
        let altered = target.scratch.appendingPathComponent("altered.txt")
        try Data("pay 900 to bob\n".utf8).write(to: altered)
        let signed = try await succeed(["sign", "--key", keyID, "--in", message.path] + user)
        #expect(signed.stderr.contains("key version 1"))
        let signature = signed.line
        #expect(Data(base64Encoded: signature) != nil, "\(signed)")
        let valid = try await redoubt(["verify", "--key", keyID, "--in", message.path, "--signature", signature] + user)
        #expect(valid.status == 0 && valid.line == "valid", "\(valid)")
        let invalid = try await redoubt(["verify", "--key", keyID, "--in", altered.path, "--signature", signature] + user)
        #expect(invalid.status == 1 && invalid.line == "invalid", "\(invalid)")
        let missing = try await redoubt(["keys", "get", "k" + String(repeating: "0", count: 32)] + user)
        #expect(missing.status != 0 && missing.stdout.isEmpty, "\(missing)")
        let missingError = missing.stderr.split(separator: "\n").first { $0.hasPrefix("Error: ") }.map(String.init) ?? ""

        // Approvals: an approver, a key whose use needs her approval, a signature that waits for it.
        let approverFile = target.scratch.appendingPathComponent("ann.pem").path
        let approverPublic = target.scratch.appendingPathComponent("ann.pub.pem")
        try Data(try await succeed(["approver-key", "generate", "--out", approverFile]).stdout.utf8).write(to: approverPublic)
        try await succeed(["approvers", "add", "ann", "--public-key", approverPublic.path] + officer)
        let approvers = try #require(try await succeed(["approvers", "list", "--json"] + officer).json()["approvers"] as? [[String: Any]])
        let policy = target.scratch.appendingPathComponent("policy.json")
        try Data(#"{"use": {"tokens": [{"groups": [{"approvers": ["ann"], "quorum": 1}], "timeout": 3600}]}}"#.utf8).write(to: policy)
        let governed = try await succeed(["keys", "create", "--algorithm", "ED25519", "--label", "treasury", "--policy", policy.path, "--json"] + officer)
            .json()
        let governedID = try #require(governed["id"] as? String)
        #expect(governed["policy"] != nil)
        let pending = try await redoubt(["sign", "--key", governedID, "--in", message.path] + user)
        #expect(pending.status == 3, "a governed signature is submitted as a request: \(pending)")
        let requestID = pending.line
        #expect(pending.stderr.contains("submitted request \(requestID) (PENDING)"), "\(pending)")
        let before = try await succeed(["requests", "get", requestID, "--json"] + officer).json()
        // The approver checks the operation behind the challenge against her own copy of the message.
        let requestJSON = try await succeed(["requests", "get", requestID, "--json"] + officer)
        let approval = try await succeed(
            ["approve", "--key-file", approverFile, "--request", "-", "--data", message.path], stdin: Data(requestJSON.stdout.utf8))
        #expect(approval.stderr.contains("digest checked"), "\(approval)")
        let approved = try await succeed(
            ["requests", "approve", requestID, "--approver", "ann", "--signature", "-"] + officer,
            stdin: Data(approval.stdout.utf8))
        #expect(approved.line.hasPrefix("request \(requestID): "), "\(approved)")
        let result = target.scratch.appendingPathComponent("treasury.sig")
        try await succeed(["requests", "result", requestID, "--out", result.path] + user)
        // A governed key only signs (through requests): check the signature with its public key.
        let publicKey = try PublicKey(pem: try await succeed(["keys", "public", governedID] + user).stdout)
        let governedValid =
            try VerifyingKey(publicKey).isValidSignature(
                try Data(contentsOf: result), for: .message(try Data(contentsOf: message)),
                scheme: .ed25519) ? "valid" : "invalid"
        let requests = try #require(try await succeed(["requests", "list", "--json"] + officer).json()["requests"] as? [[String: Any]])

        // The auditor reads and verifies the log.
        let auditor = session(auditorKey, "cli")
        let records = try #require(try await succeed(["audit", "list", "--limit", "1000", "--json"] + auditor).json()["records"] as? [[String: Any]])
        let verification = try await succeed(["audit", "verify", "--json"] + auditor).json()
        #expect(verification["records"] as? Int ?? 0 >= records.count)
        let text = try await succeed(["audit", "list", "--limit", "1000"] + auditor)
        // The listing's own sessions have added records since: the lines start with the same ones.
        #expect(text.stdout.split(separator: "\n").count >= records.count)
        #expect(text.stdout.split(separator: "\n").first?.hasPrefix("1\t") == true, "\(text)")
        let keyOperations = records.filter { $0["object"] as? String == keyID }.compactMap { $0["operation"] as? String }
        #expect(keyOperations == ["key.generate", "key.sign", "key.verify", "key.verify"], "\(keyOperations)")
        try await checkpointRoundTrip(auditor, in: target.scratch)
        try await applicationIDs(user, in: target.scratch)

        // The operator backs the store up: a file here, or one in the broker's backup folder.
        let backup = try await succeed(["backup", "create", "--out", target.backupArgument] + session(target.operatorAPIKey))
        #expect(backup.line.hasPrefix("backup \(target.backupFile): "), "\(backup)")
        #expect(FileManager.default.fileExists(atPath: target.backupFile))

        return Observed(
            partition: partition,
            users: users.compactMap { $0["name"] as? String },
            roles: users.compactMap { $0["role"] as? String },
            keyAlgorithm: key["algorithm"] as? String ?? "",
            keyLabel: key["label"] as? String ?? "",
            keyState: key["state"] as? String ?? "",
            keyUsage: key["usage"] as? [String] ?? [],
            keyCount: keys.count,
            verified: [valid.line, invalid.line, governedValid],
            approvers: approvers.compactMap { $0["name"] as? String },
            requestStatuses: [before["status"] as? String ?? "", requests.first { $0["id"] as? String == requestID }?["status"] as? String ?? ""],
            missingKeyError: missingError,
            auditOperations: records.compactMap { $0["operation"] as? String }.filter { !$0.hasPrefix("session.") },
            auditIntact: verification["intact"] as? Bool ?? false)
    }

    // MARK: - The two HSMs

    /// A fresh local store: `redoubt init --dev`, then every command with `--data DIR --dev`.
    static func onLocalStore<T>(_ body: (Target) async throws -> T) async throws -> T {
        let dir = try ServeProcessTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data").path
        let initialised = try await succeed(["init", "--dev", "--data", data])
        let operatorKey = try #require(
            initialised.stdout.split(separator: "\n").first { $0.hasPrefix("operator API key") }?
                .split(separator: " ").last.map(String.init), "\(initialised)")
        let backup = dir.appendingPathComponent("cli.rbk").path
        return try await body(
            Target(
                name: "local", connection: ["--data", data, "--dev"], operatorAPIKey: operatorKey,
                backupArgument: backup, backupFile: backup, scratch: dir))
    }

    /// A development broker (what `redoubt serve --dev` runs, in this process: the CLI is what is
    /// tested here) on a free port: every command with `--endpoint HOST:PORT`.
    static func onBroker<T: Sendable>(_ body: (Target) async throws -> T) async throws -> T {
        let dir = try ServeProcessTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data")
        let configuration = RedoubtServer.Configuration(
            broker: BrokerConfiguration(listen: "127.0.0.1:0"), backend: .development(directory: data.path),
            backupDirectory: data.appendingPathComponent("backups").path)
        return try await withBroker(configuration: configuration) { listening in
            let credentials = try #require(listening.devCredentials)
            return try await body(
                Target(
                    name: "broker", connection: ["--endpoint", "\(listening.endpoint)"], operatorAPIKey: credentials.operatorAPIKey,
                    backupArgument: "cli.rbk", backupFile: data.appendingPathComponent("backups/cli.rbk").path,
                    scratch: dir))
        }
    }

    // MARK: - Tests

    @Test("one scenario on a local store and through a broker: same keys, signatures, approvals and audit")
    func sameScenarioLocalAndThroughBroker() async throws {
        let local = try await Self.onLocalStore(Self.scenario)
        let broker = try await Self.onBroker(Self.scenario)
        #expect(local == broker)
        #expect(local.users == ["app", "eve", "officer"])
        #expect(local.roles == ["CRYPTO_USER", "AUDITOR", "SECURITY_OFFICER"])
        #expect(local.keyAlgorithm == "EC-P256" && local.keyLabel == "signer" && local.keyState == "ACTIVE")
        #expect(local.keyUsage.contains("sign") && local.keyUsage.contains("verify"))
        #expect(local.keyCount == 1)
        #expect(local.verified == ["valid", "invalid", "valid"])
        #expect(local.approvers == ["ann"])
        #expect(local.requestStatuses.first == "PENDING" && local.requestStatuses.last == "EXECUTED", "\(local.requestStatuses)")
        #expect(local.missingKeyError.contains("NOT_FOUND"), "\(local.missingKeyError)")
        #expect(local.auditOperations.contains("key.generate") && local.auditOperations.contains("key.sign"))
        #expect(local.auditIntact)
    }

    @Test("lists are a table with headers on a terminal, and tab-separated lines without one when piped")
    func tablesOnATerminal() async throws {
        try await Self.onLocalStore { target in
            let arguments = ["partitions", "list", "--api-key", target.operatorAPIKey] + target.connection
            _ = try await Self.succeed(["partitions", "create", "cli", "--api-key", target.operatorAPIKey] + target.connection)
            // script(1) gives the CLI a pseudo-terminal as standard output.
            let executable = try ServeProcessTests.executable().path
            let command = ([executable] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
                .joined(separator: " ")
            let onTerminal = try await Self.run("/usr/bin/script", ["-qec", command, "/dev/null"])
            #expect(onTerminal.status == 0, "\(onTerminal)")
            let lines = onTerminal.stdout.replacingOccurrences(of: "\r", with: "").split(separator: "\n").map(String.init)
            // (The terminal carries standard error too: the development-mode warning comes first.)
            let header = try #require(lines.first { $0.hasPrefix("ID ") }, "\(onTerminal)")
            #expect(header.contains("IMPORT") && header.hasSuffix("KEY USE AUDIT"), "\(onTerminal)")
            let row = try #require(lines.first { $0.hasPrefix("cli ") }, "\(onTerminal)")
            let column = try #require(header.range(of: "IMPORT")).lowerBound.utf16Offset(in: header)
            #expect(try #require(row.range(of: "import=")).lowerBound.utf16Offset(in: row) == column, "columns line up: \(onTerminal)")
            #expect(!onTerminal.stdout.contains("\t"))

            let piped = try await Self.succeed(arguments)
            #expect(!piped.stdout.hasPrefix("ID"), "no header when piped: \(piped)")
            #expect(piped.stdout.split(separator: "\n").contains { $0.hasPrefix("cli\timport=") && $0.hasSuffix("key_use_audit=every-use") }, "\(piped)")

            // `partitions update` changes what it is given and keeps the rest.
            let updated = try await Self.succeed(
                ["partitions", "update", "cli", "--key-use-audit", "aggregated", "--api-key", target.operatorAPIKey] + target.connection)
            #expect(updated.stdout.contains("key_use_audit=aggregated") && updated.stdout.contains("import=true"), "\(updated)")
            let after = try await Self.succeed(arguments)
            #expect(after.stdout.split(separator: "\n").contains { $0.hasPrefix("cli\timport=true") && $0.hasSuffix("key_use_audit=aggregated") }, "\(after)")
            let unknown = try await Self.redoubt(
                ["partitions", "update", "nope", "--max-objects", "5", "--api-key", target.operatorAPIKey] + target.connection)
            #expect(unknown.status != 0 && unknown.stderr.contains("no partition 'nope'"), "\(unknown)")
            let badMode = try await Self.redoubt(
                ["partitions", "update", "cli", "--key-use-audit", "sometimes", "--api-key", target.operatorAPIKey] + target.connection)
            #expect(badMode.status != 0 && badMode.stderr.contains("every-use"), "\(badMode)")
        }
    }

    @Test("connection options: broker and local flags conflict, TLS options need a broker, plaintext only to loopback")
    func connectionOptions() async throws {
        let both = try await Self.redoubt(["keys", "list", "--endpoint", "127.0.0.1:1", "--data", "/nonexistent", "--api-key", "x"])
        #expect(both.status != 0 && both.stderr.contains("give one or the other"), "\(both)")
        let tlsAlone = try await Self.redoubt(["keys", "list", "--tls-ca", "/nonexistent", "--api-key", "x"])
        #expect(tlsAlone.status != 0 && tlsAlone.stderr.contains("--tls-ca applies to a broker"), "\(tlsAlone)")
        let halfIdentity = try await Self.redoubt(["keys", "list", "--endpoint", "127.0.0.1:1", "--tls-cert", "/nonexistent", "--api-key", "x"])
        #expect(halfIdentity.status != 0 && halfIdentity.stderr.contains("--tls-cert needs --tls-key"), "\(halfIdentity)")
        let plaintext = try await Self.redoubt(["keys", "list", "--endpoint", "192.0.2.1:8443", "--api-key", "x"])
        #expect(plaintext.status != 0 && plaintext.stderr.contains("plaintext"), "\(plaintext)")
        let unreachable = try await Self.redoubt(["keys", "list", "--endpoint", "127.0.0.1:1", "--api-key", "x", "--call-timeout", "5"])
        #expect(unreachable.status != 0 && unreachable.stderr.contains("UNAVAILABLE"), "\(unreachable)")
    }

    @Test("every command's help has an abstract and examples")
    func helpHasExamples() async throws {
        let commands = [
            ["keys", "create"], ["keys", "list"], ["keys", "get"], ["certs", "create"], ["certs", "list"], ["sign"], ["verify"], ["partitions", "create"],
            ["users", "add"], ["users", "list"], ["audit", "list"], ["audit", "verify"], ["audit", "checkpoint"], ["backup", "create"],
            ["requests", "list"], ["requests", "get"], ["approvers", "add"], ["init"],
        ]
        let root = try await Self.succeed(["--help"])
        #expect(root.stdout.contains("--endpoint") && root.stdout.contains("REDOUBT_ENDPOINT"))
        for command in commands {
            let help = try await Self.succeed(command + ["--help"])
            #expect(help.stdout.hasPrefix("OVERVIEW: "), "\(command)")
            #expect(help.stdout.contains("Examples:\n  redoubt "), "\(command): \(help.stdout)")
            if command != ["init"] {
                #expect(help.stdout.contains("--endpoint <host:port>") && help.stdout.contains("--data <dir>"), "\(command)")
            }
        }
    }
}
