import Crypto
import Foundation
import PropertyBased
import RedoubtCrypto
import Testing

/// encrypt → decrypt, wrap → unwrap, agree → agree, encapsulate → decapsulate over generated inputs.
@Suite("Round trip: ciphers, wrapping, agreement, KEM")
struct CipherRoundTripTests {
    @Test(
        "AES-GCM and ChaCha20-Poly1305 with AAD",
        arguments: [
            (KeyAlgorithm.aes128, CipherScheme.aesGCM), (.aes192, .aesGCM), (.aes256, .aesGCM),
            (.genericSecret, .chaCha20Poly1305),
        ])
    func aead(_ algorithm: KeyAlgorithm, _ scheme: CipherScheme) async throws {
        let key = try SecretKey.generate(algorithm)
        let otherKey = try SecretKey.generate(algorithm)
        await propertyCheck(count: 40, input: Bytes.message, Bytes.aad, Gen.int(in: 0...32767)) { plaintext, aad, bit in
            let box = try key.encrypt(plaintext, scheme: scheme, aad: aad)
            #expect(box.count == 12 + plaintext.count + 16, "nonce ‖ ciphertext ‖ tag")
            #expect(try key.decrypt(box, scheme: scheme, aad: aad) == plaintext)
            // The same parts through `open`.
            #expect(
                try key.open(
                    nonce: box.prefix(12), ciphertext: box.dropFirst(12).dropLast(16), tag: box.suffix(16),
                    aad: aad, scheme: scheme) == plaintext)
            // Fresh nonce every time.
            #expect(try key.encrypt(plaintext, scheme: scheme, aad: aad) != box)
            expectCryptoError(.authenticationFailure, "tampered box") { try key.decrypt(box.flippingBit(bit), scheme: scheme, aad: aad) }
            expectCryptoError(.authenticationFailure, "wrong AAD") { try key.decrypt(box, scheme: scheme, aad: aad.flippingBit(bit)) }
            expectCryptoError(.authenticationFailure, "wrong key") { try otherKey.decrypt(box, scheme: scheme, aad: aad) }
        }
    }

    @Test(
        "AES-GCM's standard form: the nonce apart, the tag cut to 12-16 bytes, equal to swift-crypto's with that nonce",
        arguments: [KeyAlgorithm.aes128, .aes192, .aes256])
    func gcmStandard(_ algorithm: KeyAlgorithm) async throws {
        let key = try SecretKey.generate(algorithm)
        let symmetric = SymmetricKey(data: key.material.exportedBytes())
        await propertyCheck(count: 20, input: Bytes.message, Bytes.aad, Gen.int(in: 12...16)) { plaintext, aad, tagCount in
            let out = try key.encryptStandard(plaintext, scheme: .aesGCM, aad: aad, tagByteCount: tagCount)
            #expect(out.iv.count == 12 && out.ciphertext.count == plaintext.count + tagCount)
            let full = try AES.GCM.seal(plaintext, using: symmetric, nonce: try AES.GCM.Nonce(data: out.iv), authenticating: aad)
            #expect(out.ciphertext == full.ciphertext + full.tag.prefix(tagCount), "not swift-crypto's ciphertext and tag prefix")
            #expect(try key.decryptStandard(out.ciphertext, scheme: .aesGCM, iv: out.iv, aad: aad, tagByteCount: tagCount) == plaintext)
            #expect(try key.encryptStandard(plaintext, scheme: .aesGCM, aad: aad, tagByteCount: tagCount).iv != out.iv, "a nonce was repeated")
        }
        expectCryptoError(.invalidInput, "an 11-byte tag") { try key.encryptStandard(Data([1]), scheme: .aesGCM, tagByteCount: 11) }
        expectCryptoError(.invalidInput, "a caller's nonce") { try key.encryptStandard(Data([1]), scheme: .aesGCM, iv: Data(count: 12)) }
    }

    @Test("AES-CBC-PKCS7", arguments: [KeyAlgorithm.aes128, .aes192, .aes256])
    func cbc(_ algorithm: KeyAlgorithm) async throws {
        let key = try SecretKey.generate(algorithm)
        await propertyCheck(count: 40, input: Bytes.message) { plaintext in
            let box = try key.encrypt(plaintext, scheme: .aesCBCPKCS7)
            #expect(box.count == 16 + (plaintext.count / 16 + 1) * 16, "IV ‖ padded ciphertext")
            #expect(try key.decrypt(box, scheme: .aesCBCPKCS7) == plaintext)
            #expect(try key.encrypt(plaintext, scheme: .aesCBCPKCS7) != box, "fresh IV every time")
        }
    }

    @Test("RSA-OAEP-SHA256 encryption and wrapping (2048)")
    func rsaOAEP() async throws {
        let privateKey = try SharedKeys.rsa2048.get()
        let encryptor = try EncryptionKey(privateKey.publicKey)
        let decryptor = try DecryptionKey(privateKey)
        #expect(encryptor.maximumPlaintextCount == 190)
        await propertyCheck(count: 25, input: Bytes.data(0...190), Gen.int(in: 0...2047)) { plaintext, bit in
            let ciphertext = try encryptor.encrypt(plaintext)
            #expect(ciphertext.count == 256)
            #expect(try decryptor.decrypt(ciphertext).exportedBytes() == plaintext)
            expectCryptoError(.authenticationFailure, "tampered OAEP") { try decryptor.decrypt(ciphertext.flippingBit(bit)) }
            if !plaintext.isEmpty {
                let wrapped = try encryptor.wrap(SecretBytes(plaintext))
                #expect(try decryptor.unwrap(wrapped) == SecretBytes(plaintext))
            }
        }
    }

    @Test("AES-KW, AES-KWP (1…100 bytes) and AES-GCM wrapping", arguments: [KeyAlgorithm.aes128, .aes192, .aes256])
    func wrap(_ algorithm: KeyAlgorithm) async throws {
        let kek = try SecretKey.generate(algorithm)
        await propertyCheck(count: 40, input: Bytes.data(1...100), Gen.int(in: 2...32), Gen.int(in: 0...32767)) { key, blocks, bit in
            let secret = SecretBytes(key)
            // KWP: any length; output is the padded length plus the 8-byte integrity block.
            let kwp = try kek.wrap(secret, scheme: .aesKWP)
            #expect(kwp.count == (key.count + 7) / 8 * 8 + 8)
            #expect(try kek.unwrap(kwp, scheme: .aesKWP) == secret)
            expectCryptoError(.authenticationFailure, "tampered KWP") { try kek.unwrap(kwp.flippingBit(bit), scheme: .aesKWP) }
            // KW: multiples of 8 from 16 bytes.
            let kwKey = try SecretBytes(Random.bytes(count: blocks * 8))
            let kw = try kek.wrap(kwKey, scheme: .aesKW)
            #expect(kw.count == blocks * 8 + 8)
            #expect(try kek.unwrap(kw, scheme: .aesKW) == kwKey)
            #expect(try kek.wrap(kwKey, scheme: .aesKW) == kw, "KW is deterministic")
            expectCryptoError(.authenticationFailure, "tampered KW") { try kek.unwrap(kw.flippingBit(bit), scheme: .aesKW) }
            // GCM wrapping.
            let gcm = try kek.wrap(secret, scheme: .aesGCM)
            #expect(try kek.unwrap(gcm, scheme: .aesGCM) == secret)
            expectCryptoError(.authenticationFailure, "tampered GCM wrap") { try kek.unwrap(gcm.flippingBit(bit), scheme: .aesGCM) }
        }
    }

    /// RFC 5649 §6: the two known-answer wraps with a 192-bit KEK.
    @Test(
        "AES-KWP RFC 5649 §6 test vectors",
        arguments: [
            ("c37b7e6492584340bed12207808941155068f738", "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"),
            ("466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"),
        ])
    func rfc5649(_ keyHex: String, _ wrappedHex: String) throws {
        let kek = try SecretKey(
            algorithm: .aes192,
            material: SecretBytes(#require(Data(hex: "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8"))))
        let key = try #require(Data(hex: keyHex)), wrapped = try #require(Data(hex: wrappedHex))
        #expect(try kek.wrap(SecretBytes(key), scheme: .aesKWP) == wrapped)
        #expect(try kek.unwrap(wrapped, scheme: .aesKWP).exportedBytes() == key)
    }

    @Test(
        "ECDH and X25519: both sides agree, and so do their HKDF outputs",
        arguments: [KeyAlgorithm.p256, .p384, .p521, .x25519])
    func agreement(_ algorithm: KeyAlgorithm) async throws {
        let secretLength = algorithm == .p521 ? 66 : algorithm == .p384 ? 48 : 32
        await propertyCheck(count: 20, input: Bytes.data(0...64), Bytes.data(0...64), Gen.int(in: 1...255)) { salt, info, length in
            let alice = try PrivateKey.generate(algorithm), bob = try PrivateKey.generate(algorithm)
            let ab = try AgreementKey(alice).sharedSecret(with: bob.publicKey)
            let ba = try AgreementKey(bob).sharedSecret(with: alice.publicKey)
            #expect(ab == ba)
            #expect(ab.count == secretLength)
            let eve = try PrivateKey.generate(algorithm)
            #expect(try AgreementKey(eve).sharedSecret(with: bob.publicKey) != ab)
            for hash in HashAlgorithm.allCases {
                let derivation = KeyDerivation.hkdf(hash, salt: salt, info: info, outputByteCount: length)
                let k1 = try AgreementKey(alice).deriveKey(with: bob.publicKey, derivation: derivation)
                let k2 = try AgreementKey(bob).deriveKey(with: alice.publicKey, derivation: derivation)
                #expect(k1 == k2)
                #expect(k1.count == length)
                #expect(try KDF.derive(ab, derivation) == k1, "deriveKey is HKDF over the shared secret")
            }
        }
    }

    @Test("ML-KEM: encapsulate and decapsulate agree", arguments: [KeyAlgorithm.mlkem768, .mlkem1024])
    func mlkem(_ algorithm: KeyAlgorithm) async throws {
        let privateKey = try PrivateKey.generate(algorithm)
        let decapsulator = try DecapsulationKey(privateKey)
        let encapsulator = try EncapsulationKey(privateKey.publicKey)
        let ciphertextLength = algorithm == .mlkem768 ? 1088 : 1568
        await propertyCheck(count: 25, input: Gen.int(in: 0...(8 * 1088 - 1))) { bit in
            let result = try encapsulator.encapsulate()
            #expect(result.sharedSecret.count == 32)
            #expect(result.encapsulated.count == ciphertextLength)
            #expect(try decapsulator.decapsulate(result.encapsulated) == result.sharedSecret)
            // Implicit rejection: a tampered ciphertext yields an unrelated secret, not an error.
            #expect(try decapsulator.decapsulate(result.encapsulated.flippingBit(bit)) != result.sharedSecret)
            #expect(try encapsulator.encapsulate().sharedSecret != result.sharedSecret)
        }
    }
}
