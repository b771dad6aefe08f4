import Crypto
import Foundation
@testable import RedoubtTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `libredoubt-pkcs11.so` as its consumers load it: OpenSC's `pkcs11-tool` (package opensc,
/// installed by scripts/bootstrap) over a `redoubt serve --dev` child process, configured by the
/// `pkcs11.json` the broker writes, with `openssl` checking what it signs.
@Suite("pkcs11-tool and openssl against libredoubt-pkcs11 (process)", .serialized)
struct PKCS11ToolTests {
    typealias Failure = ServeProcessTests.TestFailure

    /// What a finished tool printed.
    struct Output: CustomStringConvertible {
        var command: String
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + "\n" + stderr }
        var description: String { "$ \(command)\nexit status \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
    }

    /// An object listed by `pkcs11-tool -O`: its heading ("Private Key Object; EC") and its fields.
    struct Listed {
        var heading: String
        var fields: [String: String]
        var label: String? { fields["label"] }
        var id: String? { fields["ID"] }
    }

    /// `name` on PATH, or a failure saying how to install it.
    static func installed(_ name: String, package: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        throw Failure("\(name) is not installed (Debian package \(package)): run scripts/bootstrap")
    }

    /// The module beside the built `redoubt` executable.
    static func module() throws -> String {
        let path = try ServeProcessTests.executable().deletingLastPathComponent().appendingPathComponent("libredoubt-pkcs11.so").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw Failure("\(path) is not built: run `swift build` (product redoubt-pkcs11)")
        }
        return path
    }

    /// Runs `executable` with `arguments` and `environment`, its output in files under `scratch`;
    /// a run longer than two minutes is killed and fails.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String], scratch: URL) async throws -> Output {
        let name = UUID().uuidString
        let out = scratch.appendingPathComponent("\(name).out"), err = scratch.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = ChildProcess()
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
        let ended = await process.exited(within: .seconds(120))
        if !ended {
            kill(process.processIdentifier, SIGKILL)
            await process.exited()
        }
        let output = Output(
            command: ([executable] + arguments).joined(separator: " "), status: process.terminationStatus,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "", stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
        if !ended { throw Failure("timed out after 120 s (killed)\n\(output)") }
        return output
    }

    /// A dev broker in a child process, the module configured for it, and the tools.
    struct Fixture {
        let dir: URL
        let scratch: URL
        let home: URL
        let module: String
        let pkcs11Tool: String
        let opensslTool: String
        /// The dev crypto user's API key: the user PIN.
        let pin: String
        /// The partition's security officer's API key: the SO PIN.
        let officerPIN: String
        let endpoint: String
        var config: String { dir.appendingPathComponent("pkcs11.json").path }

        /// A file in the scratch directory.
        func file(_ name: String) -> String { scratch.appendingPathComponent(name).path }

        /// `pkcs11-tool --module LIB arguments…` with `REDOUBT_PKCS11_CONFIG=config` and an empty
        /// HOME and XDG_CONFIG_HOME (no user configuration).
        func tool(_ arguments: [String], config: String? = nil) async throws -> Output {
            var env = ProcessInfo.processInfo.environment
            env["HOME"] = home.path
            env["XDG_CONFIG_HOME"] = home.path
            env["REDOUBT_PKCS11_CONFIG"] = config ?? self.config
            env["SWIFT_BACKTRACE"] = "enable=no"
            return try await PKCS11ToolTests.run(pkcs11Tool, ["--module", module] + arguments, environment: env, scratch: scratch)
        }

        /// `pkcs11-tool` logged in as the dev crypto user.
        func loggedIn(_ arguments: [String]) async throws -> Output {
            try await tool(["--login", "--pin", pin] + arguments)
        }

        func openssl(_ arguments: [String]) async throws -> Output {
            try await PKCS11ToolTests.run(opensslTool, arguments, environment: ProcessInfo.processInfo.environment, scratch: scratch)
        }

        /// Generates a key pair (`EC:prime256v1`, `rsa:2048`) and checks that it worked.
        func generate(_ keyType: String, id: String, label: String) async throws {
            let out = try await loggedIn(["--keypairgen", "--key-type", keyType, "--id", id, "--label", label])
            try #require(out.status == 0, "\(out)")
        }

        /// The objects `pkcs11-tool -O` lists, logged in.
        func objects() async throws -> (listed: [Listed], output: Output) {
            let out = try await loggedIn(["-O"])
            try #require(out.status == 0, "\(out)")
            return (PKCS11ToolTests.parseObjects(out.stdout), out)
        }

        /// Exports public key `id` with pkcs11-tool and converts it to PEM with openssl.
        func publicKeyPEM(id: String) async throws -> String {
            let der = file("pub-\(id).der"), pem = file("pub-\(id).pem")
            let read = try await loggedIn(["--read-object", "--type", "pubkey", "--id", id, "--output-file", der])
            if read.status != 0, read.stderr.contains("cannot create EVP_PKEY") {
                // OpenSC 0.23 fails to build some valid EC public keys (every P-384 one, about 1 in 50
                // P-256 ones, the same with SoftHSM2): the SubjectPublicKeyInfo is made here from
                // the CKA_EC_PARAMS and CKA_EC_POINT that -O lists, and openssl parses it below.
                try PKCS11ToolTests.ecSPKI(try await objects().listed, id: id).write(to: URL(fileURLWithPath: der))
            } else {
                try #require(read.status == 0, "\(read)")
            }
            let convert = try await openssl(["pkey", "-pubin", "-inform", "DER", "-in", der, "-out", pem])
            try #require(convert.status == 0, "\(convert)")
            return pem
        }
    }

    /// Starts `redoubt serve --dev`, waits for its endpoint, runs `body`, and stops the broker.
    static func withBroker(_ body: (Fixture) async throws -> Void) async throws {
        let pkcs11Tool = try installed("pkcs11-tool", package: "opensc")
        let openssl = try installed("openssl", package: "openssl")
        let module = try module()
        let dir = try ServeProcessTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let scratch = dir.appendingPathComponent("scratch"), home = dir.appendingPathComponent("home")
        for sub in [scratch, home] { try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true) }
        let data = dir.appendingPathComponent("data")
        let child = try ServeProcessTests.Child(["serve", "--dev", "--data", data.path, "--listen", "127.0.0.1:0"])
        do {
            let creds = try await ServeProcessTests.credentials(in: data, child: child)
            let fixture = Fixture(
                dir: data, scratch: scratch, home: home, module: module, pkcs11Tool: pkcs11Tool, opensslTool: openssl,
                pin: try #require(creds["api_key"]), officerPIN: try #require(creds["security_officer_api_key"]),
                endpoint: try #require(creds["endpoint"]))
            try #require(FileManager.default.fileExists(atPath: fixture.config), "serve --dev wrote no \(fixture.config)")
            try await body(fixture)
        } catch {
            _ = await child.stop(SIGTERM)
            throw error
        }
        let stopped = await child.stop(SIGTERM)
        #expect(stopped.status == 0, "the broker: \(stopped.stderr)")
    }

    /// The DER SubjectPublicKeyInfo of EC public key `id` from the `EC_PARAMS` (a named curve's
    /// OID) and `EC_POINT` (a DER OCTET STRING) that `pkcs11-tool -O` lists.
    static func ecSPKI(_ listed: [Listed], id: String) throws -> Data {
        func bytes(_ hex: String) -> Data {
            Data(
                stride(from: 0, to: hex.count - 1, by: 2).compactMap { i -> UInt8? in
                    let start = hex.index(hex.startIndex, offsetBy: i)
                    return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
                })
        }
        let key = try #require(keys(listed, "Public Key Object", id: id).first, "no public key \(id)")
        let curve = bytes(try #require(key.fields["EC_PARAMS"], "no EC_PARAMS"))
        let wrapped = bytes(try #require(key.fields["EC_POINT"], "no EC_POINT"))
        // The point inside its OCTET STRING (short or one-byte long length).
        let point = wrapped.count > 2 && wrapped[wrapped.startIndex + 1] == 0x81 ? wrapped.dropFirst(3) : wrapped.dropFirst(2)
        func der(_ tag: UInt8, _ body: Data) -> Data {
            let n = body.count
            let length: [UInt8] = n < 0x80 ? [UInt8(n)] : (n < 0x100 ? [0x81, UInt8(n)] : [0x82, UInt8(n >> 8), UInt8(n & 0xff)])
            return Data([tag] + length) + body
        }
        let ecPublicKey = Data([0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01])
        return der(0x30, der(0x30, ecPublicKey + curve) + der(0x03, Data([0]) + point))
    }

    /// Splits `pkcs11-tool -O` output into objects: a heading line, then indented `name: value` lines.
    static func parseObjects(_ text: String) -> [Listed] {
        var objects: [Listed] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if !line.hasPrefix(" ") && !line.hasPrefix("\t") {
                objects.append(Listed(heading: String(line), fields: [:]))
            } else if let colon = line.firstIndex(of: ":"), !objects.isEmpty {
                let name = line[..<colon].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if objects[objects.count - 1].fields[name] == nil { objects[objects.count - 1].fields[name] = value }
            }
        }
        return objects
    }

    static func keys(_ listed: [Listed], _ kind: String, id: String) -> [Listed] {
        listed.filter { $0.heading.hasPrefix(kind) && $0.id == id }
    }

    /// A message to sign, under 1 KiB (one C_Sign call).
    static func message(_ fixture: Fixture, name: String = "message.txt") throws -> String {
        let path = fixture.file(name)
        try Data("Redoubt PKCS #11 consumer test: pay 100 EUR to account 42\n".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("-I names the manufacturer Redoubt; -L lists a slot whose token label is dev")
    func infoAndSlots() async throws {
        try await Self.withBroker { f in
            let info = try await f.tool(["-I"])
            #expect(info.status == 0, "\(info)")
            #expect(info.stdout.split(separator: "\n").contains { $0.hasPrefix("Manufacturer") && $0.contains("Redoubt") }, "\(info)")
            let slots = try await f.tool(["-L"])
            #expect(slots.status == 0, "\(slots)")
            let labels = slots.stdout.split(separator: "\n").filter { $0.contains("token label") }
                .map { $0.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "" }
            #expect(labels.contains("dev"), "\(slots)")
        }
    }

    @Test("-M lists ECDSA, ECDSA-SHA256, SHA256-RSA-PKCS, RSA-PKCS-PSS and SHA256")
    func mechanisms() async throws {
        try await Self.withBroker { f in
            let out = try await f.tool(["-M"])
            #expect(out.status == 0, "\(out)")
            let names = Set(
                out.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces).split(separator: ",").first.map(String.init) ?? "" })
            for name in ["ECDSA", "ECDSA-SHA256", "SHA256-RSA-PKCS", "RSA-PKCS-PSS", "SHA256"] {
                #expect(names.contains(name), "\(name) missing from\n\(out)")
            }
        }
    }

    @Test("logged in, --keypairgen EC:prime256v1 makes a private and a public key that -O lists with their label and ID")
    func keyPairGeneration() async throws {
        try await Self.withBroker { f in
            try await f.generate("EC:prime256v1", id: "0a01", label: "p11-ec")
            let (listed, out) = try await f.objects()
            let privateKeys = Self.keys(listed, "Private Key Object", id: "0a01")
            let publicKeys = Self.keys(listed, "Public Key Object", id: "0a01")
            #expect(privateKeys.count == 1 && privateKeys.first?.label == "p11-ec", "\(out)")
            #expect(publicKeys.count == 1 && publicKeys.first?.label == "p11-ec", "\(out)")
            #expect(privateKeys.first?.heading.contains("EC") == true, "\(out)")
        }
    }

    @Test("ECDSA-SHA256: pkcs11-tool signs (DER), openssl and pkcs11-tool verify, a tampered message fails")
    func ecdsa() async throws {
        try await Self.withBroker { f in
            try await f.generate("EC:prime256v1", id: "0a01", label: "p11-ec")
            let message = try Self.message(f), signature = f.file("message.ecdsa")
            let sign = try await f.loggedIn([
                "--sign", "--mechanism", "ECDSA-SHA256", "--id", "0a01", "--input-file", message, "--output-file", signature,
                "--signature-format", "openssl",
            ])
            try #require(sign.status == 0, "\(sign)")
            let der = try Data(contentsOf: URL(fileURLWithPath: signature))
            #expect(der.first == 0x30 && der.count >= 8 && der.count <= 72, "not a DER ECDSA signature: \(der.count) bytes")

            let pem = try await f.publicKeyPEM(id: "0a01")
            let verified = try await f.openssl(["dgst", "-sha256", "-verify", pem, "-signature", signature, message])
            #expect(verified.status == 0 && verified.stdout.contains("Verified OK"), "\(verified)")

            let ownVerify = try await f.loggedIn([
                "--verify", "--mechanism", "ECDSA-SHA256", "--id", "0a01", "--input-file", message, "--signature-file", signature,
                "--signature-format", "openssl",
            ])
            #expect(ownVerify.status == 0 && ownVerify.all.contains("Signature is valid"), "\(ownVerify)")

            let tampered = f.file("tampered.txt")
            var bytes = try Data(contentsOf: URL(fileURLWithPath: message))
            bytes[bytes.startIndex + 5] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: tampered))
            let rejected = try await f.openssl(["dgst", "-sha256", "-verify", pem, "-signature", signature, tampered])
            #expect(rejected.status != 0 && rejected.all.contains("Verification failure"), "\(rejected)")
        }
    }

    @Test("RSA 2048: SHA256-RSA-PKCS and SHA256-RSA-PKCS-PSS signatures verify with openssl")
    func rsa() async throws {
        try await Self.withBroker { f in
            try await f.generate("rsa:2048", id: "0a02", label: "p11-rsa")
            let message = try Self.message(f)
            let pem = try await f.publicKeyPEM(id: "0a02")

            let pkcs1 = f.file("message.pkcs1")
            let signPKCS1 = try await f.loggedIn([
                "--sign", "--mechanism", "SHA256-RSA-PKCS", "--id", "0a02", "--input-file", message, "--output-file", pkcs1,
            ])
            try #require(signPKCS1.status == 0, "\(signPKCS1)")
            #expect((try? Data(contentsOf: URL(fileURLWithPath: pkcs1)).count) == 256)
            let verifyPKCS1 = try await f.openssl(["dgst", "-sha256", "-verify", pem, "-signature", pkcs1, message])
            #expect(verifyPKCS1.status == 0 && verifyPKCS1.stdout.contains("Verified OK"), "\(verifyPKCS1)")

            // The mechanism names the hash (pkcs11-tool takes --hash-algorithm for RSA-PKCS-PSS only);
            // salt length -1 is the digest's length, as openssl's rsa_pss_saltlen:-1.
            let pss = f.file("message.pss")
            let signPSS = try await f.loggedIn([
                "--sign", "--mechanism", "SHA256-RSA-PKCS-PSS", "--mgf", "MGF1-SHA256", "--salt-len", "-1",
                "--id", "0a02", "--input-file", message, "--output-file", pss,
            ])
            try #require(signPSS.status == 0, "\(signPSS)")
            let verifyPSS = try await f.openssl([
                "dgst", "-sha256", "-verify", pem, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1", "-signature", pss, message,
            ])
            #expect(verifyPSS.status == 0 && verifyPSS.stdout.contains("Verified OK"), "\(verifyPSS)")
            // The PKCS #1 v1.5 signature is not a PSS one: the check means something.
            let crossed = try await f.openssl([
                "dgst", "-sha256", "-verify", pem, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1", "-signature", pkcs1, message,
            ])
            #expect(crossed.status != 0, "\(crossed)")
        }
    }

    @Test("--hash with SHA256 writes the SHA-256 of the input")
    func digest() async throws {
        try await Self.withBroker { f in
            let input = f.file("hash-input.bin"), output = f.file("hash-output.bin")
            let data = Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) })  // several update chunks
            try data.write(to: URL(fileURLWithPath: input))
            let out = try await f.tool(["--hash", "--mechanism", "SHA256", "--input-file", input, "--output-file", output])
            #expect(out.status == 0, "\(out)")
            let digest = try Data(contentsOf: URL(fileURLWithPath: output))
            #expect(digest == Data(SHA256.hash(data: data)), "got \(digest.map { String(format: "%02x", $0) }.joined())\n\(out)")
        }
    }

    @Test("--generate-random 32 writes 32 bytes")
    func random() async throws {
        try await Self.withBroker { f in
            let first = f.file("random-1.bin"), second = f.file("random-2.bin")
            for path in [first, second] {
                let out = try await f.tool(["--generate-random", "32", "--output-file", path])
                #expect(out.status == 0, "\(out)")
            }
            let a = try Data(contentsOf: URL(fileURLWithPath: first)), b = try Data(contentsOf: URL(fileURLWithPath: second))
            #expect(a.count == 32 && b.count == 32)
            #expect(a != b, "two draws of 32 random bytes are equal")
        }
    }

    @Test("a wrong PIN fails with CKR_PIN_INCORRECT")
    func wrongPIN() async throws {
        try await Self.withBroker { f in
            // The right key with its last character changed: well formed, wrong secret.
            var wrong = f.pin
            let last = wrong.removeLast()
            wrong.append(last == "A" ? "B" : "A")
            let out = try await f.tool(["--login", "--pin", wrong, "-O"])
            #expect(out.status != 0, "\(out)")
            #expect(out.all.contains("CKR_PIN_INCORRECT"), "\(out)")
        }
    }

    @Test("--delete-object: refused to the crypto user (CKR_ACTION_PROHIBITED), done by the security officer; -O then lists neither half")
    func deleteObject() async throws {
        try await Self.withBroker { f in
            try await f.generate("EC:prime256v1", id: "0a01", label: "p11-ec")
            try await f.generate("EC:prime256v1", id: "0a03", label: "p11-keep")
            let (before, listing) = try await f.objects()
            try #require(Self.keys(before, "Private Key Object", id: "0a01").count == 1, "\(listing)")
            // Destroying keys is the security officer's (Redoubt's roles): the crypto user is refused.
            // pkcs11-tool 0.23 does not name PKCS #11 3.0's CKR_ACTION_PROHIBITED, only its value.
            let refused = try await f.loggedIn(["--delete-object", "--type", "privkey", "--id", "0a01"])
            #expect(refused.status != 0 && refused.all.contains("C_DestroyObject") && refused.all.contains("(0x1b)"), "\(refused)")
            let (still, stillListing) = try await f.objects()
            #expect(Self.keys(still, "Private Key Object", id: "0a01").count == 1, "\(stillListing)")

            let delete = try await f.tool(["--login", "--login-type", "so", "--so-pin", f.officerPIN, "--delete-object", "--type", "privkey", "--id", "0a01"])
            #expect(delete.status == 0, "\(delete)")
            let (after, out) = try await f.objects()
            #expect(Self.keys(after, "Private Key Object", id: "0a01").isEmpty, "\(out)")
            // A key pair is one Redoubt key: its public half goes with it.
            #expect(Self.keys(after, "Public Key Object", id: "0a01").isEmpty, "\(out)")
            #expect(Self.keys(after, "Private Key Object", id: "0a03").count == 1, "\(out)")
        }
    }

    @Test("a configuration file writable by others (0666) is refused: -L fails; the same file at 0600 works")
    func refusesWritableConfig() async throws {
        try await Self.withBroker { f in
            let content = try Data(contentsOf: URL(fileURLWithPath: f.config))
            let open = f.file("pkcs11-0666.json"), closed = f.file("pkcs11-0600.json")
            for (path, mode) in [(open, mode_t(0o666)), (closed, mode_t(0o600))] {
                try content.write(to: URL(fileURLWithPath: path))
                try #require(chmod(path, mode) == 0)
            }
            let refused = try await f.tool(["-L"], config: open)
            #expect(refused.status != 0 && refused.all.contains("C_Initialize"), "\(refused)")
            #expect(!refused.stdout.contains("token label"), "\(refused)")
            let accepted = try await f.tool(["-L"], config: closed)
            #expect(accepted.status == 0 && accepted.stdout.contains("token label"), "\(accepted)")
        }
    }
}
