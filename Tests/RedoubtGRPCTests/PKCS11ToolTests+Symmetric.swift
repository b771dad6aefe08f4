import Foundation
import RedoubtClient
import Testing

/// AES and HMAC through pkcs11-tool over a broker, checked by `openssl enc` and `openssl mac` on a
/// key whose bytes the test knows (imported through the API by the partition's security
/// officer). OpenSC 0.23 (Debian 12) has no AES-GCM in `--encrypt`: CKM_AES_GCM is covered through
/// the C ABI (RedoubtPKCS11Tests).
extension PKCS11ToolTests {
    /// Imports `bytes` as a key of `algorithm` with CKA_ID `id` (hex), through the broker.
    static func importKnown(_ f: Fixture, _ algorithm: KeyAlgorithm, _ bytes: Data, id: String, usage: KeyUsage, extractable: Bool = false) async throws {
        let remote = try RemoteHSM(configuration: .init(endpoint: f.endpoint, callTimeout: .seconds(30))).start()
        do {
            let officer = try await remote.openSession(partition: "dev", credential: .apiKey(f.officerPIN)).token
            let idBytes = Data(
                stride(from: 0, to: id.count, by: 2).map { i in
                    UInt8(id[id.index(id.startIndex, offsetBy: i)..<id.index(id.startIndex, offsetBy: i + 2)], radix: 16) ?? 0
                })
            let spec = KeySpec(algorithm: algorithm, label: "known-\(id)", usage: usage, extractable: extractable, applicationID: idBytes)
            _ = try await remote.importKey(officer, spec: spec, material: .secret(SecretBytes(bytes)))
            try await remote.closeSession(officer)
        } catch {
            await remote.close()
            throw error
        }
        await remote.close()
    }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    @Test("AES-256 and generic secrets made by pkcs11-tool: AES-CBC-PAD round-trips on the token, SHA256-HMAC signs and verifies")
    func generatedSecrets() async throws {
        try await Self.withBroker { f in
            for (type, id) in [("AES:32", "a101"), ("GENERIC:32", "b101")] {
                let made = try await f.loggedIn(["--keygen", "--key-type", type, "--id", id, "--label", "p11-\(id)"])
                try #require(made.status == 0, "\(made)")
            }
            let (listed, out) = try await f.objects()
            #expect(Self.keys(listed, "Secret Key Object", id: "a101").first?.heading.contains("AES") == true, "\(out)")
            let message = try Self.message(f), sealed = f.file("cbc.bin"), opened = f.file("cbc.out"), tag = f.file("hmac.bin")
            let iv = "0f0e0d0c0b0a09080706050403020100"
            let encrypt = try await f.loggedIn([
                "--encrypt", "--mechanism", "AES-CBC-PAD", "--iv", iv, "--id", "a101", "--input-file", message, "--output-file", sealed,
            ])
            try #require(encrypt.status == 0, "\(encrypt)")
            let plain = try Data(contentsOf: URL(fileURLWithPath: message))
            #expect((try Data(contentsOf: URL(fileURLWithPath: sealed))).count == (plain.count / 16 + 1) * 16)
            let decrypt = try await f.loggedIn([
                "--decrypt", "--mechanism", "AES-CBC-PAD", "--iv", iv, "--id", "a101", "--input-file", sealed, "--output-file", opened,
            ])
            #expect(decrypt.status == 0, "\(decrypt)")
            #expect((try? Data(contentsOf: URL(fileURLWithPath: opened))) == plain)

            let sign = try await f.loggedIn(["--sign", "--mechanism", "SHA256-HMAC", "--id", "b101", "--input-file", message, "--output-file", tag])
            try #require(sign.status == 0, "\(sign)")
            #expect((try Data(contentsOf: URL(fileURLWithPath: tag))).count == 32)
            let verify = try await f.loggedIn(["--verify", "--mechanism", "SHA256-HMAC", "--id", "b101", "--input-file", message, "--signature-file", tag])
            #expect(verify.status == 0 && verify.all.contains("Signature is valid"), "\(verify)")
            // The AES key cannot MAC, the HMAC key cannot encrypt with AES.
            let wrongKey = try await f.loggedIn(["--sign", "--mechanism", "SHA256-HMAC", "--id", "a101", "--input-file", message, "--output-file", tag])
            #expect(wrongKey.status != 0, "\(wrongKey)")
        }
    }

    @Test("a known AES-256 key: pkcs11-tool's AES-CBC-PAD equals openssl enc both ways; SHA256-HMAC equals openssl mac")
    func knownSecretsAgainstOpenSSL() async throws {
        try await Self.withBroker { f in
            let aes = Data((0..<32).map { UInt8(($0 * 11) & 0xff) }), mac = Data((0..<32).map { UInt8(0x40 + $0) })
            try await Self.importKnown(f, .aes256, aes, id: "a201", usage: [.encrypt, .decrypt])
            try await Self.importKnown(f, .genericSecret, mac, id: "b201", usage: [.mac])
            let message = try Self.message(f)
            let iv = "00112233445566778899aabbccddeeff"
            let token = f.file("token.bin"), reference = f.file("openssl.bin"), opened = f.file("token.out")
            let encrypt = try await f.loggedIn([
                "--encrypt", "--mechanism", "AES-CBC-PAD", "--iv", iv, "--id", "a201", "--input-file", message, "--output-file", token,
            ])
            try #require(encrypt.status == 0, "\(encrypt)")
            let enc = try await f.openssl(["enc", "-aes-256-cbc", "-K", Self.hex(aes), "-iv", iv, "-in", message, "-out", reference])
            try #require(enc.status == 0, "\(enc)")
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: token)) == Data(contentsOf: URL(fileURLWithPath: reference)), "pkcs11-tool and openssl enc differ")
            // openssl's ciphertext decrypts on the token.
            let decrypt = try await f.loggedIn([
                "--decrypt", "--mechanism", "AES-CBC-PAD", "--iv", iv, "--id", "a201", "--input-file", reference, "--output-file", opened,
            ])
            #expect(decrypt.status == 0, "\(decrypt)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: opened)) == Data(contentsOf: URL(fileURLWithPath: message)))

            let tag = f.file("hmac.bin")
            let sign = try await f.loggedIn(["--sign", "--mechanism", "SHA256-HMAC", "--id", "b201", "--input-file", message, "--output-file", tag])
            try #require(sign.status == 0, "\(sign)")
            let reference256 = try await f.openssl(["mac", "-digest", "SHA256", "-macopt", "hexkey:\(Self.hex(mac))", "-in", message, "HMAC"])
            try #require(reference256.status == 0, "\(reference256)")
            let expected = reference256.stdout.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            #expect(Self.hex(try Data(contentsOf: URL(fileURLWithPath: tag))) == expected, "pkcs11-tool's HMAC differs from openssl mac")
        }
    }

    @Test(
        "AES key wrap: pkcs11-tool --wrap equals openssl enc -id-aes256-wrap(-pad), openssl's wrapped key unwraps on the token and encrypts as openssl does; a non-extractable key is refused"
    )
    func wrapAgainstOpenSSL() async throws {
        try await Self.withBroker { f in
            let kek = Data((0..<32).map { UInt8(0x21 + $0) }), target = Data((0..<32).map { UInt8(0x99 ^ $0) })
            try await Self.importKnown(f, .aes256, kek, id: "c201", usage: [.wrap, .unwrap])
            try await Self.importKnown(f, .aes256, target, id: "c202", usage: [.encrypt, .decrypt], extractable: true)
            try await Self.importKnown(f, .aes256, Data(repeating: 3, count: 32), id: "c203", usage: [.encrypt, .decrypt])
            let targetFile = f.file("target.key")
            try target.write(to: URL(fileURLWithPath: targetFile))
            // pkcs11-tool 0.23 names CKM_AES_KEY_WRAP only; CKM_AES_KEY_WRAP_PAD (RFC 5649 here) by number.
            for (mechanism, cipher, iv) in [("AES-KEY-WRAP", "-id-aes256-wrap", "A6A6A6A6A6A6A6A6"), ("0x210A", "-id-aes256-wrap-pad", "A65959A6")] {
                let token = f.file("wrapped-\(mechanism).bin"), reference = f.file("openssl-\(mechanism).bin")
                let wrap = try await f.loggedIn(["--wrap", "--mechanism", mechanism, "--id", "c201", "--application-id", "c202", "--output-file", token])
                try #require(wrap.status == 0, "\(wrap)")
                let enc = try await f.openssl(["enc", cipher, "-K", Self.hex(kek), "-iv", iv, "-in", targetFile, "-out", reference])
                try #require(enc.status == 0, "\(enc)")
                #expect(
                    try Data(contentsOf: URL(fileURLWithPath: token)) == Data(contentsOf: URL(fileURLWithPath: reference)), "\(mechanism) differs from openssl")
            }
            // A key openssl wrapped unwraps on the token and encrypts there as openssl does under it.
            let fresh = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
            let freshFile = f.file("fresh.key"), wrappedFresh = f.file("fresh.wrapped")
            try fresh.write(to: URL(fileURLWithPath: freshFile))
            let enc = try await f.openssl(["enc", "-id-aes256-wrap-pad", "-K", Self.hex(kek), "-iv", "A65959A6", "-in", freshFile, "-out", wrappedFresh])
            try #require(enc.status == 0, "\(enc)")
            let unwrap = try await f.loggedIn([
                "--unwrap", "--mechanism", "0x210A", "--id", "c201", "--input-file", wrappedFresh, "--key-type", "AES:", "--application-id", "c204",
                "--application-label", "unwrapped",
            ])
            try #require(unwrap.status == 0, "\(unwrap)")
            let message = try Self.message(f), token = f.file("fresh-cbc.bin"), reference = f.file("fresh-cbc-openssl.bin")
            let iv = "000102030405060708090a0b0c0d0e0f"
            let encrypt = try await f.loggedIn([
                "--encrypt", "--mechanism", "AES-CBC-PAD", "--iv", iv, "--id", "c204", "--input-file", message, "--output-file", token,
            ])
            try #require(encrypt.status == 0, "\(encrypt)")
            let cbc = try await f.openssl(["enc", "-aes-256-cbc", "-K", Self.hex(fresh), "-iv", iv, "-in", message, "-out", reference])
            try #require(cbc.status == 0, "\(cbc)")
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: token)) == Data(contentsOf: URL(fileURLWithPath: reference)), "the unwrapped key is not openssl's")

            let locked = try await f.loggedIn([
                "--wrap", "--mechanism", "AES-KEY-WRAP", "--id", "c201", "--application-id", "c203", "--output-file", f.file("no.bin"),
            ])
            #expect(locked.status != 0 && locked.all.contains("CKR_KEY_UNEXTRACTABLE"), "\(locked)")
        }
    }

    @Test("ECDH: pkcs11-tool --derive on a token P-256 key with an openssl-made peer gives the secret openssl pkeyutl -derive gives")
    func ecdhAgainstOpenSSL() async throws {
        try await Self.withBroker { f in
            try await f.generate("EC:prime256v1", id: "e101", label: "p11-ecdh")
            let peer = f.file("peer.pem"), peerDER = f.file("peer.der"), secret = f.file("secret.bin"), reference = f.file("reference.bin")
            let made = try await f.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", peer])
            try #require(made.status == 0, "\(made)")
            let pub = try await f.openssl(["pkey", "-in", peer, "-pubout", "-outform", "DER", "-out", peerDER])
            try #require(pub.status == 0, "\(pub)")
            // pkcs11-tool derives a non-sensitive, extractable generic secret and reads its CKA_VALUE.
            let derive = try await f.loggedIn(["--derive", "--mechanism", "ECDH1-DERIVE", "--id", "e101", "--input-file", peerDER, "--output-file", secret])
            try #require(derive.status == 0, "\(derive)")
            let tokenPEM = try await f.publicKeyPEM(id: "e101")
            let ref = try await f.openssl(["pkeyutl", "-derive", "-inkey", peer, "-peerkey", tokenPEM, "-out", reference])
            try #require(ref.status == 0, "\(ref)")
            let derived = try Data(contentsOf: URL(fileURLWithPath: secret)), expected = try Data(contentsOf: URL(fileURLWithPath: reference))
            #expect(derived.count == 32 && derived == expected, "pkcs11-tool's ECDH secret differs from openssl's")
        }
    }
}
