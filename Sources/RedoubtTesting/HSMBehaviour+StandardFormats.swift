import Crypto
import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var standardFormatCases: [Case] {
        [
            Case("standard-form AES-GCM, AES-CBC, ChaCha20-Poly1305 and RSA-OAEP: what swift-crypto makes and opens, IVs the HSM's for AEAD") {
                try await $0.standardEncryption()
            },
            Case("standard-form ciphertexts name their key version in the call; bad IVs, tags and lengths are refused") {
                try await $0.standardEncryptionRefusals()
            },
            Case("bare HMAC tags equal swift-crypto's, truncated tags check, a changed byte fails") { try await $0.standardMACs() },
            Case("standard wrapped keys: RFC 3394 bytes equal swift-crypto's, and swift-crypto's wrapped key imports as the same key") {
                try await $0.standardWrapping()
            },
            Case("ECDH without a KDF gives swift-crypto's shared secret; HKDF over a secret key gives swift-crypto's HKDF") {
                try await $0.identityAndSecretDerivation()
            },
        ]
    }
}

extension HSMFixture {
    /// An AES-256 key and a 32-byte generic secret imported with known bytes, so that swift-crypto
    /// can check what the HSM makes.
    func knownSecrets() async throws -> (aes: KeyInfo, aesBytes: SymmetricKey, chacha: KeyInfo, chachaBytes: SymmetricKey) {
        let aesBytes = Data((0..<32).map { UInt8($0) }), chachaBytes = Data((0..<32).map { UInt8(0xA0 &+ $0) })
        let aes = try await hsm.importKey(
            alpha.officer.token, spec: KeySpec(algorithm: .aes256, label: "standard-aes"), material: .secret(SecretBytes(aesBytes)))
        let chacha = try await hsm.importKey(
            alpha.officer.token, spec: KeySpec(algorithm: .genericSecret, label: "standard-chacha"), material: .secret(SecretBytes(chachaBytes)))
        return (aes, SymmetricKey(data: aesBytes), chacha, SymmetricKey(data: chachaBytes))
    }

    func standardEncryption() async throws {
        let user = alpha.user.token
        let aad = Data("record 42".utf8)
        let k = try await knownSecrets()

        // AES-GCM: the HSM's 12-byte IV; the tag follows the ciphertext, 16 or 12 bytes.
        for tagBytes in [16, 12] {
            let out = try await hsm.encryptStandard(
                user, key: k.aes.id, plaintext: message, scheme: .aesGCM, parameters: StandardCipherParameters(aad: aad, tagByteCount: tagBytes))
            #expect(out.iv.count == 12 && out.version == 1 && out.ciphertext.count == message.count + tagBytes)
            let again = try await hsm.encryptStandard(
                user, key: k.aes.id, plaintext: message, scheme: .aesGCM, parameters: StandardCipherParameters(aad: aad, tagByteCount: tagBytes))
            #expect(again.iv != out.iv, "AES-GCM repeated an IV")
            // swift-crypto makes the full tag; a shorter one is its prefix.
            let body = out.ciphertext.prefix(message.count)
            let box = try AES.GCM.seal(message, using: k.aesBytes, nonce: try AES.GCM.Nonce(data: out.iv), authenticating: aad)
            #expect(Data(box.ciphertext) == body && Data(box.tag).prefix(tagBytes) == out.ciphertext.suffix(tagBytes), "AES-GCM tag \(tagBytes)")
            let opened = try await hsm.decryptStandard(
                user, key: k.aes.id, ciphertext: out.ciphertext, scheme: .aesGCM,
                parameters: StandardCipherParameters(iv: out.iv, aad: aad, tagByteCount: tagBytes))
            #expect(opened == message)
        }
        // A ciphertext swift-crypto made with its own nonce opens in the HSM.
        let sealed = try AES.GCM.seal(message, using: k.aesBytes, authenticating: aad)
        let opened = try await hsm.decryptStandard(
            user, key: k.aes.id, ciphertext: Data(sealed.ciphertext) + Data(sealed.tag), scheme: .aesGCM,
            parameters: StandardCipherParameters(iv: Data(sealed.nonce), aad: aad))
        #expect(opened == message)

        // ChaCha20-Poly1305.
        let chacha = try await hsm.encryptStandard(
            user, key: k.chacha.id, plaintext: message, scheme: .chaCha20Poly1305, parameters: StandardCipherParameters(aad: aad))
        let chachaBox = try ChaChaPoly.SealedBox(
            nonce: try ChaChaPoly.Nonce(data: chacha.iv), ciphertext: chacha.ciphertext.prefix(message.count), tag: chacha.ciphertext.suffix(16))
        #expect(try ChaChaPoly.open(chachaBox, using: k.chachaBytes, authenticating: aad) == message)

        // AES-CBC with PKCS #7 padding: the caller's IV (deterministic, as swift-crypto's), or the HSM's.
        let iv = Data(repeating: 0x24, count: 16)
        let cbc = try await hsm.encryptStandard(user, key: k.aes.id, plaintext: message, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: iv))
        let expectedCBC = try AES._CBC.encrypt(message, using: k.aesBytes, iv: try AES._CBC.IV(ivBytes: iv))
        #expect(cbc.iv == iv && cbc.ciphertext == expectedCBC)
        let random = try await hsm.encryptStandard(user, key: k.aes.id, plaintext: message, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters())
        #expect(random.iv.count == 16 && random.iv != iv && random.ciphertext.count == 16)
        #expect(
            try await hsm.decryptStandard(
                user, key: k.aes.id, ciphertext: random.ciphertext, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: random.iv))
                == message)

        // RSA-OAEP: bare, as the public key makes it outside.
        let rsa = try await generate(KeySpec(algorithm: .rsa2048, label: "standard-rsa"))
        let publicKey = try await hsm.exportPublicKey(user, id: rsa.id, version: nil)
        let outside = try EncryptionKey(publicKey).encrypt(message)
        #expect(
            try await hsm.decryptStandard(user, key: rsa.id, ciphertext: outside, scheme: .rsaOAEPSHA256, parameters: StandardCipherParameters()) == message)
        let inside = try await hsm.encryptStandard(user, key: rsa.id, plaintext: message, scheme: .rsaOAEPSHA256, parameters: StandardCipherParameters())
        #expect(inside.iv.isEmpty && inside.ciphertext.count == 256)
        // With a label (RFC 8017): the same label opens it, none does not.
        let label = Data("invoice 42".utf8)
        let labelled = try EncryptionKey(publicKey).encrypt(message, label: label)
        #expect(
            try await hsm.decryptStandard(user, key: rsa.id, ciphertext: labelled, scheme: .rsaOAEPSHA256, parameters: StandardCipherParameters(label: label))
                == message)
        await expectHSMError(.invalidArgument, "decryption") {
            try await hsm.decryptStandard(user, key: rsa.id, ciphertext: labelled, scheme: .rsaOAEPSHA256, parameters: StandardCipherParameters())
        }
        let sealedWithLabel = try await hsm.encryptStandard(
            user, key: rsa.id, plaintext: message, scheme: .rsaOAEPSHA256, parameters: StandardCipherParameters(label: label))
        let privateless = try await hsm.decryptStandard(
            user, key: rsa.id, ciphertext: sealedWithLabel.ciphertext, scheme: .rsaOAEPSHA256, parameters: StandardCipherParameters(label: label))
        #expect(privateless == message)
        await expectHSMError(.invalidArgument, "only RSA-OAEP takes a label") {
            try await hsm.encryptStandard(user, key: k.aes.id, plaintext: message, scheme: .aesGCM, parameters: StandardCipherParameters(label: label))
        }
    }

    func standardEncryptionRefusals() async throws {
        let user = alpha.user.token
        let k = try await knownSecrets()
        // Nonce safety is the HSM's: an AEAD encryption takes no IV.
        await expectHSMError(.invalidArgument, "chosen by the engine") {
            try await hsm.encryptStandard(
                user, key: k.aes.id, plaintext: message, scheme: .aesGCM, parameters: StandardCipherParameters(iv: Data(count: 12)))
        }
        await expectHSMError(.invalidArgument, "12 to 16 bytes") {
            try await hsm.encryptStandard(user, key: k.aes.id, plaintext: message, scheme: .aesGCM, parameters: StandardCipherParameters(tagByteCount: 8))
        }
        let out = try await hsm.encryptStandard(user, key: k.aes.id, plaintext: message, scheme: .aesGCM, parameters: StandardCipherParameters())
        await expectHSMError(.invalidArgument, "needs the IV") {
            try await hsm.decryptStandard(user, key: k.aes.id, ciphertext: out.ciphertext, scheme: .aesGCM, parameters: StandardCipherParameters())
        }
        await expectHSMError(.invalidArgument, "decryption") {
            try await hsm.decryptStandard(
                user, key: k.aes.id, ciphertext: out.ciphertext.tampered, scheme: .aesGCM, parameters: StandardCipherParameters(iv: out.iv))
        }
        await expectHSMError(.invalidArgument, "shorter than its 16-byte tag") {
            try await hsm.decryptStandard(
                user, key: k.aes.id, ciphertext: out.ciphertext.prefix(10), scheme: .aesGCM, parameters: StandardCipherParameters(iv: out.iv))
        }
        await expectHSMError(.invalidArgument, "IV must be 16 bytes") {
            try await hsm.encryptStandard(
                user, key: k.aes.id, plaintext: message, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: Data(count: 8)))
        }
        await expectHSMError(.invalidArgument, "multiple of 16") {
            try await hsm.decryptStandard(
                user, key: k.aes.id, ciphertext: Data(count: 20), scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: Data(count: 16)))
        }
        await expectHSMError(.failedPrecondition) {
            try await hsm.encryptStandard(user, key: k.chacha.id, plaintext: message, scheme: .aesGCM, parameters: StandardCipherParameters())
        }

        // The call names the version: after a rotation, version 1's ciphertext opens with version 1 only.
        let rotated = try await generate(KeySpec(algorithm: .aes256, label: "standard-rotated"))
        let v1 = try await hsm.encryptStandard(
            user, key: rotated.id, plaintext: message, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: Data(count: 16)))
        _ = try await hsm.rotateKey(alpha.officer.token, id: rotated.id)
        let v2 = try await hsm.encryptStandard(
            user, key: rotated.id, plaintext: message, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: Data(count: 16)))
        #expect(v1.version == 1 && v2.version == 2 && v1.ciphertext != v2.ciphertext)
        #expect(
            try await hsm.decryptStandard(
                user, key: rotated.id, ciphertext: v1.ciphertext, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: Data(count: 16), version: 1))
                == message)
        // The latest version cannot open it: the padding check fails (or, rarely, garbage decrypts).
        let latest = try? await hsm.decryptStandard(
            user, key: rotated.id, ciphertext: v1.ciphertext, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: Data(count: 16)))
        #expect(latest != message)
        await expectHSMError(.notFound, "no version 9") {
            try await hsm.encryptStandard(
                user, key: rotated.id, plaintext: message, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(version: 9))
        }
    }

    func standardMACs() async throws {
        let user = alpha.user.token
        let k = try await knownSecrets()
        for hash in HashAlgorithm.allCases {
            let tag = try await hsm.macStandard(user, key: k.chacha.id, data: message, hash: hash, version: nil)
            let expected: Data
            switch hash {
            case .sha256: expected = Data(HMAC<SHA256>.authenticationCode(for: message, using: k.chachaBytes))
            case .sha384: expected = Data(HMAC<SHA384>.authenticationCode(for: message, using: k.chachaBytes))
            case .sha512: expected = Data(HMAC<SHA512>.authenticationCode(for: message, using: k.chachaBytes))
            }
            #expect(tag == expected, "HMAC-\(hash)")
            #expect(try await hsm.verifyMACStandard(user, key: k.chacha.id, data: message, tag: tag, hash: hash, version: nil))
            #expect(try await hsm.verifyMACStandard(user, key: k.chacha.id, data: message, tag: tag.prefix(tag.count / 2), hash: hash, version: 1))
            #expect(try await hsm.verifyMACStandard(user, key: k.chacha.id, data: message, tag: tag.tampered, hash: hash, version: nil) == false)
            #expect(try await hsm.verifyMACStandard(user, key: k.chacha.id, data: message, tag: tag.prefix(8), hash: hash, version: nil) == false)
        }
        // The versioned tag's body is the bare tag.
        let versioned = try await hsm.mac(user, key: k.chacha.id, data: message, hash: .sha256)
        let bare = try await hsm.macStandard(user, key: k.chacha.id, data: message, hash: .sha256, version: 1)
        #expect(versioned.suffix(32) == bare)
    }
}

extension HSMFixture {
    func identityAndSecretDerivation() async throws {
        let user = alpha.user.token
        // ECDH with CKD_NULL's meaning: the new key is the shared secret, as swift-crypto computes it.
        let mine = try await generate(KeySpec(algorithm: .p256, label: "ecdh-identity"))
        let peer = P256.KeyAgreement.PrivateKey()
        let peerPublic = try PublicKey(rawRepresentation: peer.publicKey.x963Representation, algorithm: .p256)
        let derived = try await hsm.deriveKey(
            user, key: mine.id, peer: peerPublic, derivation: .identity(outputByteCount: 32),
            spec: KeySpec(algorithm: .aes256, label: "ecdh-secret", usage: [.encrypt, .decrypt]))
        let myPublic = try P256.KeyAgreement.PublicKey(x963Representation: try #require(mine.publicKey).rawRepresentation)
        let shared = try peer.sharedSecretFromKeyAgreement(with: myPublic).withUnsafeBytes { Data($0) }
        let iv = Data(repeating: 7, count: 16)
        let out = try await hsm.encryptStandard(user, key: derived.id, plaintext: message, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: iv))
        let reference = try AES._CBC.encrypt(message, using: SymmetricKey(data: shared), iv: try AES._CBC.IV(ivBytes: iv))
        #expect(out.ciphertext == reference, "the derived key is not the shared secret")
        await expectHSMError(.invalidArgument, "whole 32-byte shared secret") {
            try await hsm.deriveKey(
                user, key: mine.id, peer: peerPublic, derivation: .identity(outputByteCount: 16), spec: KeySpec(algorithm: .aes128, label: "short"))
        }

        // HKDF over a secret key's bytes.
        let k = try await knownSecrets()
        let info = Data("redoubt hkdf".utf8), salt = Data("salt".utf8)
        let fromSecret = try await hsm.deriveKey(
            user, key: k.chacha.id, derivation: .hkdf(.sha256, salt: salt, info: info, outputByteCount: 32),
            spec: KeySpec(algorithm: .aes256, label: "hkdf-secret", usage: [.encrypt, .decrypt]))
        let expected = HKDF<SHA256>.deriveKey(inputKeyMaterial: k.chachaBytes, salt: salt, info: info, outputByteCount: 32)
        let sealed = try await hsm.encryptStandard(
            user, key: fromSecret.id, plaintext: message, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: iv))
        let hkdfReference = try AES._CBC.encrypt(message, using: expected, iv: try AES._CBC.IV(ivBytes: iv))
        #expect(sealed.ciphertext == hkdfReference, "HKDF over the secret differs")
        await expectHSMError(.invalidArgument, "identity is for key agreement") {
            try await hsm.deriveKey(user, key: k.chacha.id, derivation: .identity(), spec: KeySpec(algorithm: .genericSecret, label: "copy"))
        }
        await expectHSMError(.failedPrecondition, "not a secret key") {
            try await hsm.deriveKey(user, key: mine.id, derivation: .hkdf(.sha256, outputByteCount: 32), spec: KeySpec(algorithm: .aes256, label: "no"))
        }
    }
}

extension HSMFixture {
    func standardWrapping() async throws {
        let user = alpha.user.token
        let kekBytes = SymmetricKey(size: .bits256), targetBytes = SymmetricKey(size: .bits256)
        func raw(_ k: SymmetricKey) -> SecretBytes { SecretBytes(k.withUnsafeBytes { Data($0) }) }
        let kek = try await hsm.importKey(
            alpha.officer.token, spec: KeySpec(algorithm: .aes256, label: "standard-kek", usage: [.wrap, .unwrap]), material: .secret(raw(kekBytes)))
        let target = try await hsm.importKey(
            alpha.officer.token, spec: KeySpec(algorithm: .aes256, label: "standard-target", usage: [.encrypt, .decrypt], extractable: true),
            material: .secret(raw(targetBytes)))
        let out = try await hsm.exportWrappedStandard(user, id: target.id, wrappingKey: kek.id, scheme: .aesKW)
        let reference = try AES.KeyWrap.wrap(targetBytes, using: kekBytes)
        #expect(out.version == 1 && out.wrapped == reference, "RFC 3394 bytes differ from swift-crypto's")

        // A key wrapped outside imports, and encrypts as the original.
        let outsideBytes = SymmetricKey(size: .bits256)
        let wrapped = try AES.KeyWrap.wrap(outsideBytes, using: kekBytes)
        let imported = try await hsm.importWrappedStandard(
            user, spec: KeySpec(algorithm: .aes256, label: "standard-imported", usage: [.encrypt, .decrypt]), wrapped: wrapped, wrappingKey: kek.id,
            scheme: .aesKW)
        let iv = Data(repeating: 3, count: 16)
        let sealed = try await hsm.encryptStandard(
            user, key: imported.id, plaintext: message, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: iv))
        let expected = try AES._CBC.encrypt(message, using: outsideBytes, iv: try AES._CBC.IV(ivBytes: iv))
        #expect(sealed.ciphertext == expected)
        var altered = wrapped
        altered[altered.startIndex + 3] ^= 1
        await expectHSMError(.invalidArgument, "unwrapping failed") {
            try await hsm.importWrappedStandard(
                user, spec: KeySpec(algorithm: .aes256, label: "altered"), wrapped: altered, wrappingKey: kek.id, scheme: .aesKW, version: 1)
        }
        await expectHSMError(.notFound) {
            try await hsm.importWrappedStandard(
                user, spec: KeySpec(algorithm: .aes256, label: "no-version"), wrapped: wrapped, wrappingKey: kek.id, scheme: .aesKW, version: 7)
        }
        await expectHSMError(.invalidArgument, "not a key version") {
            try await hsm.importWrappedStandard(
                user, spec: KeySpec(algorithm: .aes256, label: "version-zero"), wrapped: wrapped, wrappingKey: kek.id, scheme: .aesKW, version: 0)
        }
        // Named version 1 and the latest give the same key.
        let named = try await hsm.importWrappedStandard(
            user, spec: KeySpec(algorithm: .aes256, label: "standard-named", usage: [.encrypt, .decrypt]), wrapped: wrapped, wrappingKey: kek.id,
            scheme: .aesKW, version: 1)
        let again = try await hsm.encryptStandard(
            user, key: named.id, plaintext: message, scheme: .aesCBCPKCS7, parameters: StandardCipherParameters(iv: iv))
        #expect(again.ciphertext == expected)
    }
}
