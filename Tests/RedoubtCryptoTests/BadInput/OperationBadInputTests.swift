import Foundation
import PropertyBased
import RedoubtCrypto
import Testing

/// A short name for failure messages.
func schemeName(_ scheme: SignatureScheme) -> String {
    switch scheme {
    case .ecdsa(let h, let e, let l): return "ECDSA-\(h.rawValue)/\(e.rawValue)/\(l.rawValue)"
    case .ed25519: return "Ed25519"
    case .rsaPSS(let h): return "PSS-\(h.rawValue)"
    case .rsaPKCS1v15(let h): return "PKCS1-\(h.rawValue)"
    case .rsaPKCS1v15Raw: return "PKCS1-raw"
    case .mldsa(let c): return "ML-DSA(ctx \(c.count))"
    }
}

/// Wrong-type keys, mismatched schemes, malformed signatures and ciphertexts, and out-of-range
/// lengths: each is the specific `CryptoError` code the API documents.
@Suite("Bad input: operations")
struct OperationBadInputTests {
    @Test("Keys used for what their algorithm cannot do")
    func wrongTypeKeys() throws {
        let x25519 = try PrivateKey.generate(.x25519), ed25519 = try PrivateKey.generate(.ed25519)
        let p256 = try KeyBadInputTests.p256.get(), k1 = try KeyBadInputTests.secp256k1.get()
        let mlkem = try PrivateKey.generate(.mlkem768), rsa = try SharedKeys.rsa2048.get()
        expectCryptoError(.unsupportedOperation, "SigningKey(X25519)") { try SigningKey(x25519) }
        expectCryptoError(.unsupportedOperation, "SigningKey(ML-KEM)") { try SigningKey(mlkem) }
        expectCryptoError(.unsupportedOperation, "VerifyingKey(X25519)") { try VerifyingKey(x25519.publicKey) }
        expectCryptoError(.unsupportedOperation, "AgreementKey(Ed25519)") { try AgreementKey(ed25519) }
        expectCryptoError(.unsupportedOperation, "AgreementKey(secp256k1)") { try AgreementKey(k1) }
        expectCryptoError(.unsupportedOperation, "AgreementKey(RSA)") { try AgreementKey(rsa) }
        expectCryptoError(.unsupportedOperation, "EncryptionKey(EC)") { try EncryptionKey(p256.publicKey) }
        expectCryptoError(.unsupportedOperation, "DecryptionKey(EC)") { try DecryptionKey(p256) }
        expectCryptoError(.unsupportedOperation, "EncapsulationKey(EC)") { try EncapsulationKey(p256.publicKey) }
        expectCryptoError(.unsupportedOperation, "DecapsulationKey(RSA)") { try DecapsulationKey(rsa) }
        expectCryptoError(.invalidKey, "X25519 with an Ed25519 peer") { try AgreementKey(x25519).sharedSecret(with: ed25519.publicKey) }
    }

    @Test("Schemes that do not fit the key or the input")
    func wrongSchemes() throws {
        let p256 = try SigningKey(KeyBadInputTests.p256.get())
        let ed = try SigningKey(KeyBadInputTests.ed25519.get())
        let mldsa = try SigningKey(PrivateKey.generate(.mldsa65))
        let rsa = try SigningKey(SharedKeys.rsa2048.get())
        let message = SigningInput.message(Data("hello".utf8))
        let pairs: [(SigningKey, SignatureScheme)] = [
            (p256, .rsaPSS(.sha256)), (p256, .rsaPKCS1v15(.sha256)), (p256, .rsaPKCS1v15Raw), (p256, .ed25519), (p256, .mldsa()),
            (ed, .ecdsa(.sha256)), (rsa, .ecdsa(.sha256)), (rsa, .ed25519), (mldsa, .ecdsa(.sha256)),
            (p256, .ecdsa(.sha256, lowS: .strict)),
        ]
        for (key, scheme) in pairs {
            expectCryptoError(.unsupportedOperation, "sign \(key.privateKey.algorithm) with \(scheme)") { try key.signature(for: message, scheme: scheme) }
            expectCryptoError(.unsupportedOperation, "verify \(key.privateKey.algorithm) with \(scheme)") {
                try key.verifyingKey.isValidSignature(Data(count: 64), for: message, scheme: scheme)
            }
        }
        let digest = SigningInput.digest(Data(count: 32))
        expectCryptoError(.unsupportedOperation, "digest to Ed25519") { try ed.signature(for: digest, scheme: .ed25519) }
        expectCryptoError(.unsupportedOperation, "digest to Ed25519 verify") {
            try ed.verifyingKey.isValidSignature(Data(count: 64), for: digest, scheme: .ed25519)
        }
        expectCryptoError(.unsupportedOperation, "digest to ML-DSA") { try mldsa.signature(for: digest, scheme: .mldsa()) }
        expectCryptoError(.unsupportedOperation, "digest to raw PKCS#1 v1.5") { try rsa.signature(for: digest, scheme: .rsaPKCS1v15Raw) }
        // EMSA-PKCS1-v1_5 takes 11 bytes of a 256-byte block: 245 bytes sign, 246 do not.
        _ = try rsa.signature(for: .message(Data(count: 245)), scheme: .rsaPKCS1v15Raw)
        expectCryptoError(.invalidInput, "raw PKCS#1 v1.5 of 246 bytes") { try rsa.signature(for: .message(Data(count: 246)), scheme: .rsaPKCS1v15Raw) }
        expectCryptoError(.invalidInput, "raw PKCS#1 v1.5 verify of 246 bytes") {
            try rsa.verifyingKey.isValidSignature(Data(count: 256), for: .message(Data(count: 246)), scheme: .rsaPKCS1v15Raw)
        }
        let ecdsaKeys = try KeyAlgorithm.ecdsaCurves.map { try SigningKey(PrivateKey.generate($0)) }
        let digestCases = ecdsaKeys.map { ($0, SignatureScheme.ecdsa(.sha256)) } + [(rsa, .rsaPSS(.sha384)), (rsa, .rsaPKCS1v15(.sha512))]
        for (key, scheme) in digestCases {
            let length = try #require(scheme.hash?.byteCount)
            let signature = try key.signature(for: .digest(Data(count: length)), scheme: scheme)
            for wrong in [0, length - 1, length + 1, 65] where wrong != length {
                let what = "\(key.privateKey.algorithm) \(schemeName(scheme)) digest of \(wrong) bytes"
                expectCryptoError(.invalidInput, "sign: " + what) { try key.signature(for: .digest(Data(count: wrong)), scheme: scheme) }
                expectCryptoError(.invalidInput, "verify: " + what) {
                    try key.verifyingKey.isValidSignature(signature, for: .digest(Data(count: wrong)), scheme: scheme)
                }
            }
        }
        expectCryptoError(.invalidInput, "ML-DSA context of 256 bytes") { try mldsa.signature(for: message, scheme: .mldsa(context: Data(count: 256))) }
        expectCryptoError(.invalidInput, "ML-DSA verify context of 256 bytes") {
            try mldsa.verifyingKey.isValidSignature(Data(count: 3309), for: message, scheme: .mldsa(context: Data(count: 256)))
        }
    }

    @Test("ECDSA signatures: truncated, oversized, garbage, trailing data (DER and raw)", arguments: KeyAlgorithm.ecdsaCurves)
    func ecdsaSignatures(_ algorithm: KeyAlgorithm) async throws {
        let key = try SigningKey(PrivateKey.generate(algorithm))
        let verifier = key.verifyingKey
        let message = SigningInput.message(Data("message".utf8))
        let der = try key.signature(for: message, scheme: .ecdsa(.sha256, encoding: .der))
        let raw = try key.signature(for: message, scheme: .ecdsa(.sha256, encoding: .raw))
        func check(_ sig: Data, _ encoding: ECDSASignatureEncoding) throws -> Bool {
            try verifier.isValidSignature(sig, for: message, scheme: .ecdsa(.sha256, encoding: encoding))
        }
        expectCryptoError(.malformedSignature, "empty DER") { try check(Data(), .der) }
        expectCryptoError(.malformedSignature, "DER + trailing byte") { try check(der + [0], .der) }
        expectCryptoError(.malformedSignature, "oversized DER") { try check(Data(count: 8193), .der) }
        expectCryptoError(.malformedSignature, "raw as DER") { try check(Data([0x04]) + raw, .der) }
        expectCryptoError(.malformedSignature, "empty raw") { try check(Data(), .raw) }
        expectCryptoError(.malformedSignature, "raw + 1") { try check(raw + [0], .raw) }
        expectCryptoError(.malformedSignature, "DER as raw") { try check(der, .raw) }
        expectCryptoError(.malformedSignature, "oversized raw") { try check(Data(count: 8193), .raw) }
        await propertyCheck(count: 25, input: Gen.int(in: 1...(raw.count - 1)), Bytes.data(1...200)) { cut, garbage in
            expectCryptoError(.malformedSignature, "\(algorithm) DER truncated to \(cut % der.count)") { try check(der.prefix(cut % der.count), .der) }
            expectCryptoError(.malformedSignature, "\(algorithm) raw truncated to \(cut)") { try check(raw.prefix(cut), .raw) }
            if garbage.first != 0x30 {
                expectCryptoError(.malformedSignature, "\(algorithm) garbage DER") { try check(garbage, .der) }
            }
        }
        // Well-formed but wrong: false, not an error. Zero r and s: false (never valid).
        #expect(try !check(raw.flippingBit(raw.count * 4), .raw))
        #expect((try? check(Data(count: raw.count), .raw)) != true)
    }

    @Test("Ed25519, ML-DSA and RSA signatures of the wrong length are false; oversized ones are malformed")
    func otherSignatures() throws {
        let message = SigningInput.message(Data("message".utf8))
        let cases: [(SigningKey, SignatureScheme)] = try [
            (SigningKey(KeyBadInputTests.ed25519.get()), .ed25519), (SigningKey(PrivateKey.generate(.mldsa65)), .mldsa()),
            (SigningKey(SharedKeys.rsa2048.get()), .rsaPSS(.sha256)), (SigningKey(SharedKeys.rsa2048.get()), .rsaPKCS1v15(.sha256)),
        ]
        for (key, scheme) in cases {
            let sig = try key.signature(for: message, scheme: scheme)
            for bad in [Data(), sig.dropLast(), sig + [0], Data(count: sig.count)] {
                #expect(try !key.verifyingKey.isValidSignature(bad, for: message, scheme: scheme), "\(scheme): \(bad.count) bytes")
            }
            expectCryptoError(.malformedSignature, "\(scheme) oversized") {
                try key.verifyingKey.isValidSignature(Data(count: 8193), for: message, scheme: scheme)
            }
        }
    }

    @Test("Ciphertexts: truncated, oversized, tampered tags, wrong AAD, wrong key type")
    func ciphertexts() throws {
        let aes = try SecretKey.generate(.aes256), chacha = try SecretKey.generate(.genericSecret)
        let aad = Data("header".utf8), plaintext = Data("attack at dawn".utf8)
        for (key, scheme) in [(aes, CipherScheme.aesGCM), (chacha, .chaCha20Poly1305)] {
            let box = try key.encrypt(plaintext, scheme: scheme, aad: aad)
            expectCryptoError(.invalidInput, "\(scheme) empty") { try key.decrypt(Data(), scheme: scheme, aad: aad) }
            expectCryptoError(.invalidInput, "\(scheme) 27 bytes") { try key.decrypt(box.prefix(27), scheme: scheme, aad: aad) }
            expectCryptoError(.authenticationFailure, "\(scheme) truncated tag") { try key.decrypt(box.dropLast(), scheme: scheme, aad: aad) }
            expectCryptoError(.authenticationFailure, "\(scheme) extra byte") { try key.decrypt(box + [0], scheme: scheme, aad: aad) }
            expectCryptoError(.authenticationFailure, "\(scheme) wrong AAD") { try key.decrypt(box, scheme: scheme, aad: Data()) }
            expectCryptoError(.authenticationFailure, "\(scheme) garbage") { try key.decrypt(Data(count: 40), scheme: scheme, aad: aad) }
            expectCryptoError(.invalidInput, "\(scheme) oversized") { try key.decrypt(Data(count: SecretKey.maximumMessageCount + 65), scheme: scheme) }
            expectCryptoError(.invalidInput, "\(scheme) tag of 15") {
                try key.open(nonce: box.prefix(12), ciphertext: box.dropFirst(12).dropLast(16), tag: box.suffix(15), aad: aad, scheme: scheme)
            }
        }
        expectCryptoError(.invalidInput, "oversized plaintext") { try aes.encrypt(Data(count: SecretKey.maximumMessageCount + 1), scheme: .aesGCM) }
        expectCryptoError(.invalidInput, "GCM empty nonce") { try aes.open(nonce: Data(), ciphertext: Data(), tag: Data(count: 16), scheme: .aesGCM) }
        expectCryptoError(.invalidInput, "GCM nonce of 129 bytes") {
            try aes.open(nonce: Data(count: 129), ciphertext: Data(), tag: Data(count: 16), scheme: .aesGCM)
        }
        expectCryptoError(.authenticationFailure, "GCM nonce of 128 bytes, wrong tag") {
            try aes.open(nonce: Data(count: 128), ciphertext: Data(), tag: Data(count: 16), scheme: .aesGCM)
        }
        expectCryptoError(.invalidInput, "ChaCha nonce of 8") {
            try chacha.open(nonce: Data(count: 8), ciphertext: Data(), tag: Data(count: 16), scheme: .chaCha20Poly1305)
        }
        expectCryptoError(.unsupportedOperation, "CBC has no tag") {
            try aes.open(nonce: Data(count: 16), ciphertext: Data(), tag: Data(count: 16), scheme: .aesCBCPKCS7)
        }
        expectCryptoError(.unsupportedOperation, "AES-GCM with a generic secret") { try chacha.encrypt(plaintext, scheme: .aesGCM) }
        expectCryptoError(.unsupportedOperation, "ChaCha with an AES key") { try aes.encrypt(plaintext, scheme: .chaCha20Poly1305) }
        expectCryptoError(.unsupportedOperation, "ChaCha with a 16-byte secret") {
            try SecretKey.generate(.genericSecret, byteCount: 16).encrypt(plaintext, scheme: .chaCha20Poly1305)
        }
        // CBC.
        let cbc = try aes.encrypt(plaintext, scheme: .aesCBCPKCS7)
        expectCryptoError(.invalidInput, "CBC with AAD") { try aes.encrypt(plaintext, scheme: .aesCBCPKCS7, aad: aad) }
        expectCryptoError(.invalidInput, "CBC decrypt with AAD") { try aes.decrypt(cbc, scheme: .aesCBCPKCS7, aad: aad) }
        expectCryptoError(.invalidInput, "CBC IV only") { try aes.decrypt(cbc.prefix(16), scheme: .aesCBCPKCS7) }
        expectCryptoError(.invalidInput, "CBC not block-aligned") { try aes.decrypt(cbc.dropLast(), scheme: .aesCBCPKCS7) }
        expectCryptoError(.authenticationFailure, "CBC wrong key (bad padding)") {
            // One in ~256 random decryptions has valid padding by chance: try a few keys.
            for _ in 0..<8 { _ = try SecretKey.generate(.aes256).decrypt(cbc, scheme: .aesCBCPKCS7) }
        }
    }

    @Test("Wrapping: lengths, tampering, wrong key types")
    func wrapping() throws {
        let kek = try SecretKey.generate(.aes128), generic = try SecretKey.generate(.genericSecret)
        let key16 = try SecretBytes.random(count: 16)
        expectCryptoError(.invalidInput, "KW of 12 bytes") { try kek.wrap(SecretBytes.random(count: 12), scheme: .aesKW) }
        expectCryptoError(.invalidInput, "KW of 8 bytes") { try kek.wrap(SecretBytes.random(count: 8), scheme: .aesKW) }
        expectCryptoError(.invalidInput, "KWP of 0 bytes") { try kek.wrap(SecretBytes(Data()), scheme: .aesKWP) }
        expectCryptoError(.invalidInput, "KW unwrap of 16") { try kek.unwrap(Data(count: 16), scheme: .aesKW) }
        expectCryptoError(.invalidInput, "KW unwrap of 25") { try kek.unwrap(Data(count: 25), scheme: .aesKW) }
        expectCryptoError(.authenticationFailure, "KW unwrap of garbage") { try kek.unwrap(Data(count: 24), scheme: .aesKW) }
        expectCryptoError(.invalidInput, "KWP unwrap of 15") { try kek.unwrap(Data(count: 15), scheme: .aesKWP) }
        expectCryptoError(.authenticationFailure, "KWP unwrap of garbage") { try kek.unwrap(Data(count: 16), scheme: .aesKWP) }
        expectCryptoError(.authenticationFailure, "KWP unwrap under another KEK") {
            try SecretKey.generate(.aes128).unwrap(kek.wrap(key16, scheme: .aesKWP), scheme: .aesKWP)
        }
        expectCryptoError(.invalidInput, "unwrap over 1 MiB") { try kek.unwrap(Data(count: (1 << 20) + 72), scheme: .aesKWP) }
        expectCryptoError(.unsupportedOperation, "wrap under a generic secret") { try generic.wrap(key16, scheme: .aesKW) }
        expectCryptoError(.unsupportedOperation, "unwrap under a generic secret") { try generic.unwrap(Data(count: 24), scheme: .aesKW) }
        expectCryptoError(.unsupportedOperation, "RSA-OAEP via SecretKey.wrap") { try kek.wrap(key16, scheme: .rsaOAEP) }
        expectCryptoError(.unsupportedOperation, "RSA-OAEP via SecretKey.unwrap") { try kek.unwrap(Data(count: 256), scheme: .rsaOAEP) }
        // RSA-OAEP.
        let rsa = try SharedKeys.rsa2048.get()
        let encryptor = try EncryptionKey(rsa.publicKey), decryptor = try DecryptionKey(rsa)
        expectCryptoError(.invalidInput, "OAEP plaintext of 191 bytes") { try encryptor.encrypt(Data(count: 191)) }
        for length in [0, 1, 255, 257, 512] {
            expectCryptoError(.authenticationFailure, "OAEP ciphertext of \(length) bytes") { try decryptor.decrypt(Data(count: length)) }
        }
        expectCryptoError(.authenticationFailure, "OAEP garbage") { try decryptor.decrypt(Data(repeating: 0x42, count: 256)) }
        // ML-KEM.
        let kem = try DecapsulationKey(PrivateKey.generate(.mlkem768))
        for length in [0, 1087, 1089, 1568] {
            expectCryptoError(.invalidInput, "ML-KEM-768 ciphertext of \(length)") { try kem.decapsulate(Data(count: length)) }
        }
    }

    @Test("KDF and random lengths")
    func lengths() throws {
        let secret = try SecretBytes.random(count: 32)
        for hash in HashAlgorithm.allCases {
            for bad in [0, -1, 255 * hash.byteCount + 1, Int.max] {
                expectCryptoError(.invalidInput, "HKDF-\(hash) of \(bad) bytes") { try KDF.derive(secret, .hkdf(hash, outputByteCount: bad)) }
            }
            #expect(try KDF.derive(secret, .hkdf(hash, outputByteCount: 255 * hash.byteCount)).count == 255 * hash.byteCount)
        }
        expectCryptoError(.invalidInput, "HKDF salt over 64 KiB") { try KDF.derive(secret, .hkdf(.sha256, salt: Data(count: 65537), outputByteCount: 32)) }
        expectCryptoError(.invalidInput, "HKDF info over 64 KiB") { try KDF.derive(secret, .hkdf(.sha256, info: Data(count: 65537), outputByteCount: 32)) }
        for bad in [0, -1, Random.maximumByteCount + 1, Int.max, Int.min] {
            expectCryptoError(.invalidInput, "Random.bytes(\(bad))") { try Random.bytes(count: bad) }
            expectCryptoError(.invalidInput, "SecretBytes.random(\(bad))") { try SecretBytes.random(count: bad) }
        }
        #expect(try Random.bytes(count: Random.maximumByteCount).count == Random.maximumByteCount)
        #expect(try Random.bytes(count: 1).count == 1)
        #expect(try Random.bytes(count: 32) != Random.bytes(count: 32))
    }
}
