import Crypto
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every key type and signing mechanism through pkcs11-tool, each signature checked by openssl;
/// and the module in the multithreaded and forking processes servers are.
extension PKCS11ToolTests {
    /// Signs `input` with `mechanism` (extra pkcs11-tool arguments in `options`) and returns the signature file.
    static func sign(_ f: Fixture, id: String, mechanism: String, input: String, options: [String] = [], format: [String] = []) async throws -> String {
        let signature = f.file("sig-\(id)-\(mechanism)-\(UUID().uuidString.prefix(6))")
        let out = try await f.loggedIn(
            ["--sign", "--mechanism", mechanism, "--id", id, "--input-file", input, "--output-file", signature] + options + format)
        try #require(out.status == 0, "\(out)")
        return signature
    }

    /// openssl must say "Verified OK" / "Signature Verified Successfully".
    static func expectVerified(_ out: Output, _ what: String) {
        #expect(
            out.status == 0 && (out.stdout.contains("Verified OK") || out.stdout.contains("Signature Verified Successfully")),
            "\(what): \(out)")
    }

    @Test("EC keys on P-256, P-384, P-521 and secp256k1: ECDSA with SHA-256/384/512 and raw ECDSA over a digest, each verified by openssl")
    func ecdsaEveryCurve() async throws {
        try await Self.withBroker { f in
            let message = try Self.message(f)
            let data = try Data(contentsOf: URL(fileURLWithPath: message))
            let digest = f.file("message.sha256")
            try Data(SHA256.hash(data: data)).write(to: URL(fileURLWithPath: digest))
            for (index, curve) in ["prime256v1", "secp384r1", "secp521r1", "secp256k1"].enumerated() {
                let id = String(format: "ec%02x", index)
                try await f.generate("EC:\(curve)", id: id, label: "p11-\(curve)")
                // P-384 always takes publicKeyPEM's way around OpenSC 0.23's EVP_PKEY bug.
                let pem = try await f.publicKeyPEM(id: id)
                for (mechanism, hash) in [("ECDSA-SHA256", "-sha256"), ("ECDSA-SHA384", "-sha384"), ("ECDSA-SHA512", "-sha512")] {
                    let signature = try await Self.sign(f, id: id, mechanism: mechanism, input: message, format: ["--signature-format", "openssl"])
                    Self.expectVerified(try await f.openssl(["dgst", hash, "-verify", pem, "-signature", signature, message]), "\(curve) \(mechanism)")
                }
                // CKM_ECDSA signs the digest it is given.
                let raw = try await Self.sign(f, id: id, mechanism: "ECDSA", input: digest, format: ["--signature-format", "openssl"])
                Self.expectVerified(
                    try await f.openssl(["pkeyutl", "-verify", "-pubin", "-inkey", pem, "-in", digest, "-sigfile", raw]), "\(curve) raw ECDSA")
            }
        }
    }

    @Test("RSA 2048, 3072 and 4096: PKCS #1 v1.5 and PSS with SHA-256/384/512, RSA-PKCS over SHA-256 and SHA-1 DigestInfos, raw PSS; each verified by openssl")
    func rsaEverySize() async throws {
        try await Self.withBroker { f in
            let message = try Self.message(f)
            let data = try Data(contentsOf: URL(fileURLWithPath: message))
            let digest = f.file("message.sha256"), digestInfo = f.file("message.digestinfo")
            let sha256 = Data(SHA256.hash(data: data))
            try sha256.write(to: URL(fileURLWithPath: digest))
            let prefix: [UInt8] = [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]
            try (Data(prefix) + sha256).write(to: URL(fileURLWithPath: digestInfo))
            let sha1DigestInfo = f.file("message.sha1-digestinfo")
            let sha1Prefix: [UInt8] = [0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14]
            try (Data(sha1Prefix) + Data(Insecure.SHA1.hash(data: data))).write(to: URL(fileURLWithPath: sha1DigestInfo))
            for (index, bits) in [2048, 3072, 4096].enumerated() {
                let id = String(format: "0b%02x", index)
                try await f.generate("rsa:\(bits)", id: id, label: "p11-rsa\(bits)")
                let pem = try await f.publicKeyPEM(id: id)
                for hash in ["256", "384", "512"] {
                    let pkcs1 = try await Self.sign(f, id: id, mechanism: "SHA\(hash)-RSA-PKCS", input: message)
                    #expect((try? Data(contentsOf: URL(fileURLWithPath: pkcs1)).count) == bits / 8)
                    Self.expectVerified(try await f.openssl(["dgst", "-sha\(hash)", "-verify", pem, "-signature", pkcs1, message]), "RSA-\(bits) SHA\(hash)")
                    let pss = try await Self.sign(
                        f, id: id, mechanism: "SHA\(hash)-RSA-PKCS-PSS", input: message, options: ["--mgf", "MGF1-SHA\(hash)", "--salt-len", "-1"])
                    Self.expectVerified(
                        try await f.openssl([
                            "dgst", "-sha\(hash)", "-verify", pem, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1",
                            "-signature", pss, message,
                        ]), "RSA-\(bits) PSS SHA\(hash)")
                }
                // CKM_RSA_PKCS over a DigestInfo is the same signature as SHA256-RSA-PKCS over the message.
                let raw = try await Self.sign(f, id: id, mechanism: "RSA-PKCS", input: digestInfo)
                Self.expectVerified(try await f.openssl(["dgst", "-sha256", "-verify", pem, "-signature", raw, message]), "RSA-\(bits) RSA-PKCS")
                // CKM_RSA_PKCS over other bytes (here a SHA-1 DigestInfo) pads them as they are.
                let rawSHA1 = try await Self.sign(f, id: id, mechanism: "RSA-PKCS", input: sha1DigestInfo)
                Self.expectVerified(
                    try await f.openssl([
                        "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-in", sha1DigestInfo, "-sigfile", rawSHA1, "-pkeyopt", "rsa_padding_mode:pkcs1",
                    ]),
                    "RSA-\(bits) RSA-PKCS over a SHA-1 DigestInfo")
                // CKM_RSA_PKCS_PSS signs a digest.
                let rawPSS = try await Self.sign(
                    f, id: id, mechanism: "RSA-PKCS-PSS", input: digest, options: ["--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256", "--salt-len", "-1"])
                Self.expectVerified(
                    try await f.openssl([
                        "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-in", digest, "-sigfile", rawPSS, "-pkeyopt", "rsa_padding_mode:pss",
                        "-pkeyopt", "digest:sha256", "-pkeyopt", "rsa_pss_saltlen:-1",
                    ]), "RSA-\(bits) raw PSS")
            }
        }
    }

    @Test("RSA-OAEP (SHA-256): openssl encrypts to the token's public key, pkcs11-tool decrypts on the token")
    func rsaOAEP() async throws {
        try await Self.withBroker { f in
            try await f.generate("rsa:2048", id: "0c01", label: "p11-oaep")
            let pem = try await f.publicKeyPEM(id: "0c01")
            let plaintext = f.file("oaep.txt"), ciphertext = f.file("oaep.bin"), decrypted = f.file("oaep.out")
            try Data("a wrapped secret for the token\n".utf8).write(to: URL(fileURLWithPath: plaintext))
            let encrypt = try await f.openssl([
                "pkeyutl", "-encrypt", "-pubin", "-inkey", pem, "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
                "-pkeyopt", "rsa_mgf1_md:sha256", "-in", plaintext, "-out", ciphertext,
            ])
            try #require(encrypt.status == 0, "\(encrypt)")
            let decrypt = try await f.loggedIn([
                "--decrypt", "--mechanism", "RSA-PKCS-OAEP", "--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256", "--id", "0c01",
                "--input-file", ciphertext, "--output-file", decrypted,
            ])
            #expect(decrypt.status == 0, "\(decrypt)")
            #expect((try? Data(contentsOf: URL(fileURLWithPath: decrypted))) == (try? Data(contentsOf: URL(fileURLWithPath: plaintext))))
            // SHA-1 OAEP is not offered: refused, not misread.
            let sha1 = try await f.loggedIn([
                "--decrypt", "--mechanism", "RSA-PKCS-OAEP", "--hash-algorithm", "SHA-1", "--mgf", "MGF1-SHA1", "--id", "0c01",
                "--input-file", ciphertext,
            ])
            #expect(sha1.status != 0 && sha1.all.contains("CKR_MECHANISM_PARAM_INVALID"), "\(sha1)")
        }
    }

    @Test("Ed25519: --keypairgen EC:edwards25519 makes an EC_EDWARDS pair whose public key openssl reads")
    func ed25519() async throws {
        // OpenSC 0.23 (Debian 12) cannot sign with CKM_EDDSA (added in 0.26): signing is covered
        // through the C ABI (RedoubtPKCS11Tests).
        try await Self.withBroker { f in
            try await f.generate("EC:edwards25519", id: "ed01", label: "p11-ed25519")
            let (listed, out) = try await f.objects()
            #expect(Self.keys(listed, "Private Key Object", id: "ed01").first?.heading.contains("EC_EDWARDS") == true, "\(out)")
            // pkcs11-tool 0.23 writes an Ed25519 public key as PEM already.
            let pem = f.file("ed01.pem")
            let read = try await f.loggedIn(["--read-object", "--type", "pubkey", "--id", "ed01", "--output-file", pem])
            try #require(read.status == 0, "\(read)")
            let text = try await f.openssl(["pkey", "-pubin", "-in", pem, "-noout", "-text"])
            #expect(text.status == 0 && text.stdout.contains("ED25519"), "\(text)")
        }
    }

    @Test(
        "--test with RSA, EC and Ed25519 keys on the token: signatures (single and multi-part, CKM_RSA_PKCS over a SHA-1 DigestInfo, checked by openssl), verify and OAEP decryption end with \"No errors\""
    )
    func selfTest() async throws {
        try await Self.withBroker { f in
            try await f.generate("rsa:2048", id: "0d01", label: "p11-test-rsa")
            try await f.generate("EC:prime256v1", id: "0d02", label: "p11-test-ec")
            try await f.generate("EC:edwards25519", id: "0d03", label: "p11-test-ed25519")
            let out = try await f.loggedIn(["--test"])
            #expect(out.status == 0, "\(out)")
            #expect(out.all.contains("No errors"), "\(out)")
            for line in ["all 4 signature functions seem to work", "RSA-PKCS: OK", "SHA256-RSA-PKCS: OK", "all 4 digest functions seem to work"] {
                #expect(out.all.contains(line), "pkcs11-tool --test printed no '\(line)': \(out)")
            }
            #expect(!out.all.contains("ERR"), "\(out)")
        }
    }

    @Test("threads and fork: --test-threads with four threads, --test-fork, and a pre-forking C harness whose child re-initialises and signs")
    func threadsAndFork() async throws {
        try await Self.withBroker { f in
            let threads = try await f.tool(Array(repeating: ["--test-threads", "ILGISLT0"], count: 4).flatMap { $0 })
            #expect(threads.status == 0 && threads.all.contains("all threads have ended with CKR_OK"), "\(threads)")
            let fork = try await f.loggedIn(["--test-fork"])
            #expect(fork.status == 0 && fork.all.contains("forked child process"), "\(fork)")

            // A server's pattern: the parent initialises, logs in and signs, then forks; the child is
            // told CKR_CRYPTOKI_NOT_INITIALIZED until it initialises again, then signs itself.
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("PKCS11Fixtures/pkcs11-fork.c").path
            let include = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Sources/CPKCS11/include").path
            let compiler = try (try? Self.installed("cc", package: "gcc")) ?? Self.installed("clang", package: "clang")
            let harness = f.file("pkcs11-fork")
            let build = try await Self.run(
                compiler, ["-o", harness, source, "-I", include, "-ldl"], environment: ProcessInfo.processInfo.environment, scratch: f.scratch)
            try #require(build.status == 0, "\(build)")
            var env = ProcessInfo.processInfo.environment
            env["REDOUBT_PKCS11_CONFIG"] = f.config
            env["HOME"] = f.home.path
            env["XDG_CONFIG_HOME"] = f.home.path
            let run = try await Self.run(harness, [f.module, f.pin], environment: env, scratch: f.scratch)
            #expect(run.status == 0 && run.stdout.contains("ALL OK"), "\(run)")
            #expect(run.stdout.contains("child C_GetSlotList before C_Initialize: rv=0x190 (want 0x190)"), "\(run)")
            #expect(run.stdout.contains("child C_Sign: rv=0x0"), "\(run)")
        }
    }
}
