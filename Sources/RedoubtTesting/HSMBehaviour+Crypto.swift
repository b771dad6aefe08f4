import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var cryptoCases: [Case] {
        [
            Case("every signing algorithm signs, and verifies inside and outside the HSM") { try await $0.signatures() },
            Case("every encryption scheme round-trips; a wrong AAD or a changed byte fails") { try await $0.encryption() },
            Case("MACs verify and detect changes") { try await $0.macs() },
            Case("ECDH between two HSM keys gives both sides the same key") { try await $0.keyAgreement() },
            Case("ML-KEM-768 encapsulation and decapsulation agree") { try await $0.kem() },
            Case("random bytes come in 1 byte to 1 MiB") { try await $0.randomBytes() },
        ]
    }
}

extension HSMFixture {
    /// RSASSA-PKCS1-v1_5 over caller-encoded bytes (PKCS #11's CKM_RSA_PKCS): over a SHA-256
    /// DigestInfo it is the hashed scheme's signature; any other bytes up to k − 11 sign too.
    func rawPKCS1Signatures(key: String) async throws {
        let user = alpha.user.token
        let digestInfo = HashAlgorithm.sha256.digestInfoPrefix + Hashing.digest(message, .sha256)
        let raw = try await hsm.sign(user, key: key, input: .message(digestInfo), scheme: .rsaPKCS1v15Raw)
        let hashed = try await hsm.sign(user, key: key, input: .message(message), scheme: .rsaPKCS1v15(.sha256))
        #expect(raw.signature == hashed.signature, "raw PKCS#1 v1.5 over a SHA-256 DigestInfo differs from PKCS#1 v1.5 with SHA-256")
        let publicKey = try await hsm.exportPublicKey(user, id: key, version: nil)
        for bytes in [Data(repeating: 0x42, count: 256 - 11), Data("not a DigestInfo".utf8)] {
            let signature = try await hsm.sign(user, key: key, input: .message(bytes), scheme: .rsaPKCS1v15Raw).signature
            #expect(try await hsm.verify(user, key: key, input: .message(bytes), signature: signature, scheme: .rsaPKCS1v15Raw, version: nil))
            #expect(try VerifyingKey(publicKey).isValidSignature(signature, for: .message(bytes), scheme: .rsaPKCS1v15Raw))
            var changed = bytes
            changed[changed.startIndex] ^= 0x01
            let other = try await hsm.verify(user, key: key, input: .message(changed), signature: signature, scheme: .rsaPKCS1v15Raw, version: nil)
            #expect(!other, "a raw PKCS#1 v1.5 signature verifies other bytes")
        }
        await expectHSMError(.invalidArgument, "signs at most 245 bytes") {
            try await hsm.sign(user, key: key, input: .message(Data(count: 256 - 10)), scheme: .rsaPKCS1v15Raw)
        }
        await expectHSMError(.failedPrecondition, "not digests") {
            try await hsm.sign(user, key: key, input: .digest(Data(count: 32)), scheme: .rsaPKCS1v15Raw)
        }
    }

    func signatures() async throws {
        let user = alpha.user.token
        let digest = Hashing.digest(message, .sha256)
        let cases: [(KeyAlgorithm, SignatureScheme, [SigningInput])] = [
            (.p256, .ecdsa(.sha256), [.message(message), .digest(digest)]),
            (.p256, .ecdsa(.sha256, encoding: .raw), [.message(message), .digest(digest)]),
            (.ed25519, .ed25519, [.message(message)]),
            (.rsa2048, .rsaPSS(.sha256), [.message(message), .digest(digest)]),
            (.secp256k1, .ecdsa(.sha256), [.message(message)]),
            (.mldsa65, .mldsa(context: Data("redoubt".utf8)), [.message(message)]),
        ]
        var rsaKey: String?
        for (algorithm, scheme, inputs) in cases {
            let key = try await generate(KeySpec(algorithm: algorithm, label: "\(algorithm)"))
            if algorithm == .rsa2048 { rsaKey = key.id }
            let publicKey = try await hsm.exportPublicKey(user, id: key.id, version: nil)
            #expect(publicKey.algorithm == algorithm && publicKey == key.publicKey)
            for input in inputs {
                let result = try await hsm.sign(user, key: key.id, input: input, scheme: scheme)
                #expect(result.version == 1)
                let inside = try await hsm.verify(user, key: key.id, input: input, signature: result.signature, scheme: scheme, version: nil)
                #expect(inside, "\(algorithm) \(scheme): the HSM rejects its own signature")
                // The message and its digest are the same input.
                let asMessage = try await hsm.verify(user, key: key.id, input: .message(message), signature: result.signature, scheme: scheme, version: nil)
                #expect(asMessage, "\(algorithm) \(scheme): a digest signature does not verify against the message")
                let outside = try VerifyingKey(publicKey).isValidSignature(result.signature, for: input, scheme: scheme)
                #expect(outside, "\(algorithm) \(scheme): the exported public key rejects the signature")
                let other = try await hsm.verify(
                    user, key: key.id, input: .message(Data("attack at dusk".utf8)),
                    signature: result.signature, scheme: scheme, version: nil)
                #expect(!other, "\(algorithm) \(scheme): a signature verifies another message")
                let changed = try await hsm.verify(user, key: key.id, input: input, signature: result.signature.tampered, scheme: scheme, version: nil)
                #expect(!changed, "\(algorithm) \(scheme): a changed signature verifies")
            }
        }
        try await rawPKCS1Signatures(key: try #require(rsaKey))
        // A scheme that does not fit the key is refused, not guessed.
        let ed = try await generate(KeySpec(algorithm: .ed25519, label: "ed"))
        await expectHSMError(.failedPrecondition) { try await hsm.sign(user, key: ed.id, input: .message(message), scheme: .ecdsa(.sha256)) }
        await expectHSMError(.failedPrecondition, "digest") { try await hsm.sign(user, key: ed.id, input: .digest(digest), scheme: .ed25519) }
        let p256 = try await generate(KeySpec(algorithm: .p256, label: "p256"))
        await expectHSMError(.invalidArgument) { try await hsm.sign(user, key: p256.id, input: .digest(Data(count: 5)), scheme: .ecdsa(.sha256)) }
        #expect(
            try await hsm.verify(user, key: p256.id, input: .message(message), signature: Data([0x30, 0x00]), scheme: .ecdsa(.sha256), version: nil) == false)
    }

    func encryption() async throws {
        let user = alpha.user.token
        let aad = Data("record 42".utf8)
        let aes = try await generate(KeySpec(algorithm: .aes256, label: "aes"))
        let chacha = try await generate(KeySpec(algorithm: .genericSecret, label: "chacha", secretByteCount: 32))
        let rsa = try await generate(KeySpec(algorithm: .rsa2048, label: "rsa"))
        let cases: [(KeyInfo, EncryptionScheme, Data)] = [
            (aes, .aesGCM, aad), (chacha, .chaCha20Poly1305, aad), (aes, .aesCBCPKCS7, Data()),
            (rsa, .rsaOAEPSHA256, Data()),
        ]
        for (key, scheme, aad) in cases {
            let ciphertext = try await hsm.encrypt(user, key: key.id, plaintext: message, scheme: scheme, aad: aad)
            #expect(!ciphertext.isEmpty && ciphertext.range(of: message) == nil, "\(scheme): the plaintext shows")
            #expect(try await hsm.encrypt(user, key: key.id, plaintext: message, scheme: scheme, aad: aad) != ciphertext, "\(scheme) is deterministic")
            #expect(try await hsm.decrypt(user, key: key.id, ciphertext: ciphertext, scheme: scheme, aad: aad) == message, "\(scheme)")
            #expect(
                try await hsm.decrypt(
                    user, key: key.id, ciphertext: try await hsm.encrypt(user, key: key.id, plaintext: Data(), scheme: scheme, aad: aad),
                    scheme: scheme, aad: aad
                ).isEmpty, "\(scheme): empty plaintext")
            if scheme == .aesGCM || scheme == .chaCha20Poly1305 {
                await expectHSMError(.invalidArgument, "decryption") {
                    try await hsm.decrypt(user, key: key.id, ciphertext: ciphertext, scheme: scheme, aad: Data("record 43".utf8))
                }
                await expectHSMError(.invalidArgument, "decryption") {
                    try await hsm.decrypt(user, key: key.id, ciphertext: ciphertext.tampered, scheme: scheme, aad: aad)
                }
            } else {
                await expectHSMError(.invalidArgument) {
                    try await hsm.encrypt(user, key: key.id, plaintext: message, scheme: scheme, aad: Data("x".utf8))
                }
            }
        }
        // Another key of the same kind cannot open it.
        let otherAES = try await generate(KeySpec(algorithm: .aes256, label: "other"))
        let sealed = try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: aad)
        await expectHSMError(.invalidArgument) { try await hsm.decrypt(user, key: otherAES.id, ciphertext: sealed, scheme: .aesGCM, aad: aad) }
        // Schemes that do not fit the key, and ciphertexts that are not the HSM's.
        await expectHSMError(.failedPrecondition) { try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .chaCha20Poly1305, aad: Data()) }
        await expectHSMError(.failedPrecondition) { try await hsm.encrypt(user, key: chacha.id, plaintext: message, scheme: .aesGCM, aad: Data()) }
        await expectHSMError(.failedPrecondition) { try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .rsaOAEPSHA256, aad: Data()) }
        await expectHSMError(.invalidArgument, "ciphertext") { try await hsm.decrypt(user, key: aes.id, ciphertext: Data(), scheme: .aesGCM, aad: Data()) }
        await expectHSMError(.invalidArgument, "ciphertext") {
            try await hsm.decrypt(user, key: aes.id, ciphertext: Data([9, 9, 9, 9, 9, 9]), scheme: .aesGCM, aad: Data())
        }
        await expectHSMError(.invalidArgument) {
            try await hsm.encrypt(user, key: rsa.id, plaintext: Data(count: 300), scheme: .rsaOAEPSHA256, aad: Data())
        }
    }

    func macs() async throws {
        let user = alpha.user.token
        let key = try await generate(KeySpec(algorithm: .genericSecret, label: "hmac", secretByteCount: 48))
        let other = try await generate(KeySpec(algorithm: .genericSecret, label: "hmac-2"))
        for hash in HashAlgorithm.allCases {
            let tag = try await hsm.mac(user, key: key.id, data: message, hash: hash)
            #expect(try await hsm.mac(user, key: key.id, data: message, hash: hash) == tag, "\(hash): HMAC is deterministic")
            #expect(try await hsm.verifyMAC(user, key: key.id, data: message, tag: tag, hash: hash))
            #expect(try await hsm.verifyMAC(user, key: key.id, data: Data("attack at dusk".utf8), tag: tag, hash: hash) == false)
            #expect(try await hsm.verifyMAC(user, key: key.id, data: message, tag: tag.tampered, hash: hash) == false)
            #expect(try await hsm.verifyMAC(user, key: other.id, data: message, tag: tag, hash: hash) == false)
            // A tag truncated to half the hash length (RFC 2104 §5) still checks; one byte less,
            // or a byte too many, does not. (The versioned blob's header is at its front.)
            let half = hash.byteCount / 2
            #expect(try await hsm.verifyMAC(user, key: key.id, data: message, tag: tag.dropLast(half), hash: hash), "\(hash): half a tag")
            #expect(try await hsm.verifyMAC(user, key: key.id, data: message, tag: tag.dropLast(half + 1), hash: hash) == false, "\(hash)")
            #expect(try await hsm.verifyMAC(user, key: key.id, data: message, tag: tag + [0], hash: hash) == false, "\(hash)")
        }
        let sha256 = try await hsm.mac(user, key: key.id, data: message, hash: .sha256)
        #expect(try await hsm.verifyMAC(user, key: key.id, data: message, tag: sha256, hash: .sha512) == false)
        await expectHSMError(.invalidArgument, "tag") { try await hsm.verifyMAC(user, key: key.id, data: message, tag: Data(), hash: .sha256) }
        let aes = try await generate(KeySpec(algorithm: .aes256, label: "no-mac"))
        await expectHSMError(.failedPrecondition, "mac") { try await hsm.mac(user, key: aes.id, data: message, hash: .sha256) }
    }

    func keyAgreement() async throws {
        let user = alpha.user.token
        let a = try await generate(KeySpec(algorithm: .p256, label: "alice"))
        let b = try await generate(KeySpec(algorithm: .p256, label: "bob"))
        let pubA = try await hsm.exportPublicKey(user, id: a.id, version: nil)
        let pubB = try await hsm.exportPublicKey(user, id: b.id, version: nil)
        let kdf = KeyDerivation.hkdf(.sha256, salt: Data("salt".utf8), info: Data("redoubt test".utf8), outputByteCount: 32)

        let macA = try await hsm.deriveKey(user, key: a.id, peer: pubB, derivation: kdf, spec: KeySpec(algorithm: .genericSecret, label: "ab"))
        let macB = try await hsm.deriveKey(user, key: b.id, peer: pubA, derivation: kdf, spec: KeySpec(algorithm: .genericSecret, label: "ba"))
        #expect(macA.algorithm == .genericSecret && macA.id != macB.id)
        #expect(try await sameSecret(macA.id, macB.id), "the two sides derived different secrets")

        let aesA = try await hsm.deriveKey(user, key: a.id, peer: pubB, derivation: kdf, spec: KeySpec(algorithm: .aes256, label: "ab-aes"))
        let aesB = try await hsm.deriveKey(user, key: b.id, peer: pubA, derivation: kdf, spec: KeySpec(algorithm: .aes256, label: "ba-aes"))
        let sealed = try await hsm.encrypt(user, key: aesA.id, plaintext: message, scheme: .aesGCM, aad: Data())
        #expect(try await hsm.decrypt(user, key: aesB.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == message)

        // Other KDF parameters give another key; a peer on another curve or a non-secret spec is bad input.
        let otherInfo = KeyDerivation.hkdf(.sha256, salt: Data("salt".utf8), info: Data("other".utf8), outputByteCount: 32)
        let macC = try await hsm.deriveKey(user, key: a.id, peer: pubB, derivation: otherInfo, spec: KeySpec(algorithm: .genericSecret, label: "ac"))
        #expect(try await sameSecret(macA.id, macC.id) == false)
        let p384 = try PrivateKey.generate(.p384).publicKey
        await expectHSMError(.invalidArgument) {
            try await hsm.deriveKey(user, key: a.id, peer: p384, derivation: kdf, spec: KeySpec(algorithm: .genericSecret, label: "x"))
        }
        await expectHSMError(.invalidArgument, "spec.algorithm") {
            try await hsm.deriveKey(user, key: a.id, peer: pubB, derivation: kdf, spec: KeySpec(algorithm: .p256, label: "x"))
        }
        await expectHSMError(.invalidArgument) {
            try await hsm.deriveKey(user, key: a.id, peer: pubB, derivation: .hkdf(.sha256, outputByteCount: 16), spec: KeySpec(algorithm: .aes256, label: "x"))
        }
    }

    func kem() async throws {
        let user = alpha.user.token
        let key = try await generate(KeySpec(algorithm: .mlkem768, label: "kem"))
        #expect(key.publicKey?.algorithm == .mlkem768)
        let sent = try await hsm.encapsulate(user, key: key.id, spec: KeySpec(algorithm: .genericSecret, label: "sender"))
        let received = try await hsm.decapsulate(
            user, key: key.id, encapsulated: sent.encapsulated, spec: KeySpec(algorithm: .genericSecret, label: "receiver"))
        #expect(sent.key.algorithm == .genericSecret && received.algorithm == .genericSecret)
        #expect(try await sameSecret(sent.key.id, received.id), "encapsulation and decapsulation disagree")

        let again = try await hsm.encapsulate(user, key: key.id, spec: KeySpec(algorithm: .genericSecret, label: "sender-2"))
        #expect(again.encapsulated != sent.encapsulated)
        #expect(try await sameSecret(sent.key.id, again.key.id) == false)
        // ML-KEM rejects implicitly: a changed ciphertext yields an unrelated key, not an error.
        let forged = try await hsm.decapsulate(
            user, key: key.id, encapsulated: sent.encapsulated.tampered, spec: KeySpec(algorithm: .genericSecret, label: "forged"))
        #expect(try await sameSecret(sent.key.id, forged.id) == false)
        await expectHSMError(.invalidArgument) {
            try await hsm.decapsulate(user, key: key.id, encapsulated: Data(count: 10), spec: KeySpec(algorithm: .genericSecret, label: "short"))
        }
        // The shared secret as an AES-256 key works too.
        let aesSent = try await hsm.encapsulate(user, key: key.id, spec: KeySpec(algorithm: .aes256, label: "aes-sender"))
        let aesReceived = try await hsm.decapsulate(
            user, key: key.id, encapsulated: aesSent.encapsulated, spec: KeySpec(algorithm: .aes256, label: "aes-receiver"))
        let sealed = try await hsm.encrypt(user, key: aesSent.key.id, plaintext: message, scheme: .aesGCM, aad: Data())
        #expect(try await hsm.decrypt(user, key: aesReceived.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == message)
    }

    func randomBytes() async throws {
        let user = alpha.user.token
        let a = try await hsm.random(user, count: 32)
        let b = try await hsm.random(user, count: 32)
        #expect(a.count == 32 && b.count == 32 && a != b)
        #expect(try await hsm.random(user, count: 1).count == 1)
        #expect(try await hsm.random(alpha.officer.token, count: 1 << 20).count == 1 << 20)
        for count in [0, -1, (1 << 20) + 1, Int.max, Int.min] {
            let error = await expectHSMError(.invalidArgument, "count") { try await hsm.random(user, count: count) }
            #expect(error != nil, "random(\(count))")
        }
    }
}
