import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var importCases: [Case] {
        [
            Case("PKCS#8 private keys import and sign as themselves") { try await $0.importPKCS8() },
            Case("imported public keys verify and encrypt only") { try await $0.importPublic() },
            Case("secret bytes import as AES keys and generic secrets") { try await $0.importSecret() },
            Case("a key wrapped by one HSM key imports as the same key") { try await $0.importWrapped() },
            Case("a wrapped key of another algorithm than the spec says is refused") { try await $0.importWrappedMismatch() },
        ]
    }
}

extension HSMFixture {
    func importPKCS8() async throws {
        let user = alpha.user.token
        for (algorithm, scheme) in [(KeyAlgorithm.p256, SignatureScheme.ecdsa(.sha256)), (.ed25519, .ed25519), (.mldsa65, .mldsa())] {
            let local = try PrivateKey.generate(algorithm)
            let info = try await hsm.importKey(
                user, spec: KeySpec(algorithm: algorithm, label: "imported"),
                material: .pkcs8(try local.pkcs8Representation().exportedBytes()))
            #expect(info.algorithm == algorithm && !info.local && info.latestVersion == 1)
            #expect(info.publicKey == local.publicKey)
            let signature = try await hsm.sign(user, key: info.id, input: .message(message), scheme: scheme)
            #expect(try VerifyingKey(local.publicKey).isValidSignature(signature.signature, for: .message(message), scheme: scheme))
            let outside = try SigningKey(local).signature(for: .message(message), scheme: scheme)
            #expect(try await hsm.verify(user, key: info.id, input: .message(message), signature: outside, scheme: scheme, version: nil))
        }
        let p256 = try PrivateKey.generate(.p256).pkcs8Representation().exportedBytes()
        await expectHSMError(.invalidArgument, "spec") {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .ed25519, label: "mismatch"), material: .pkcs8(p256))
        }
        await expectHSMError(.invalidArgument) {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .p256, label: "garbage"), material: .pkcs8(Data("not a key".utf8)))
        }
        await expectHSMError(.invalidArgument) {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .p256, label: "empty"), material: .pkcs8(Data()))
        }
    }

    func importPublic() async throws {
        let user = alpha.user.token
        let local = try PrivateKey.generate(.p256)
        let info = try await hsm.importKey(user, spec: KeySpec(algorithm: .p256, label: "peer", usage: [.verify]), material: .publicKey(local.publicKey))
        #expect(info.usage == [.verify] && !info.local && info.publicKey == local.publicKey)
        let outside = try SigningKey(local).signature(for: .message(message), scheme: .ecdsa(.sha256))
        #expect(try await hsm.verify(user, key: info.id, input: .message(message), signature: outside, scheme: .ecdsa(.sha256), version: nil))
        #expect(try await hsm.verify(user, key: info.id, input: .message(message), signature: outside.tampered, scheme: .ecdsa(.sha256), version: nil) == false)
        await expectHSMError(.failedPrecondition, "sign") {
            try await hsm.sign(user, key: info.id, input: .message(message), scheme: .ecdsa(.sha256))
        }
        #expect(try await hsm.exportPublicKey(user, id: info.id, version: nil) == local.publicKey)
        // The default spec (every usage of the algorithm) keeps the public half for a public key…
        let defaulted = try await hsm.importKey(user, spec: KeySpec(algorithm: .p256, label: "defaulted"), material: .publicKey(local.publicKey))
        #expect(defaulted.usage == [.verify])
        // …but private usages asked for explicitly are refused.
        await expectHSMError(.invalidArgument, "usage") {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .p256, label: "greedy", usage: [.verify, .sign]), material: .publicKey(local.publicKey))
        }
        await expectHSMError(.invalidArgument, "spec") {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .ed25519, label: "mismatch", usage: [.verify]), material: .publicKey(local.publicKey))
        }
        // Even when marked extractable it has nothing secret to export.
        let loose = try await hsm.importKey(
            user, spec: KeySpec(algorithm: .p256, label: "loose", usage: [.verify], extractable: true, sensitive: false),
            material: .publicKey(local.publicKey))
        await expectHSMError(.failedPrecondition, "public") { try await hsm.exportPlaintext(user, id: loose.id) }

        // An RSA public key encrypts; the matching private key (imported too) decrypts.
        let rsa = try PrivateKey.generate(.rsa2048)
        let encryptor = try await hsm.importKey(
            user, spec: KeySpec(algorithm: .rsa2048, label: "rsa-pub", usage: [.encrypt]), material: .publicKey(rsa.publicKey))
        let decryptor = try await hsm.importKey(
            user, spec: KeySpec(algorithm: .rsa2048, label: "rsa-priv", usage: [.decrypt]),
            material: .pkcs8(try rsa.pkcs8Representation().exportedBytes()))
        let sealed = try await hsm.encrypt(user, key: encryptor.id, plaintext: message, scheme: .rsaOAEPSHA256, aad: Data())
        #expect(try await hsm.decrypt(user, key: decryptor.id, ciphertext: sealed, scheme: .rsaOAEPSHA256, aad: Data()) == message)
        await expectHSMError(.failedPrecondition) {
            try await hsm.decrypt(user, key: encryptor.id, ciphertext: sealed, scheme: .rsaOAEPSHA256, aad: Data())
        }
    }

    func importSecret() async throws {
        let user = alpha.user.token
        let bytes = try SecretBytes.random(count: 32)
        let aes = try await hsm.importKey(user, spec: KeySpec(algorithm: .aes256, label: "aes", extractable: true, sensitive: false), material: .secret(bytes))
        #expect(aes.algorithm == .aes256 && !aes.local && aes.publicKey == nil)
        #expect(try await hsm.exportPlaintext(user, id: aes.id) == bytes)
        let sealed = try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data())
        #expect(try await hsm.decrypt(user, key: aes.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == message)

        // The same bytes imported twice are the same key.
        let twin = try await hsm.importKey(user, spec: KeySpec(algorithm: .aes256, label: "twin"), material: .secret(bytes))
        #expect(twin.id != aes.id)
        #expect(try await hsm.decrypt(user, key: twin.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == message)

        let secret = try SecretBytes.random(count: 48)
        let hmac = try await hsm.importKey(user, spec: KeySpec(algorithm: .genericSecret, label: "hmac"), material: .secret(secret))
        let hmacTwin = try await hsm.importKey(user, spec: KeySpec(algorithm: .genericSecret, label: "hmac-twin"), material: .secret(secret))
        #expect(try await sameSecret(hmac.id, hmacTwin.id))

        await expectHSMError(.invalidArgument) {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .aes256, label: "short"), material: .secret(try SecretBytes.random(count: 16)))
        }
        await expectHSMError(.invalidArgument) {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .genericSecret, label: "tiny"), material: .secret(try SecretBytes.random(count: 8)))
        }
    }

    func importWrapped() async throws {
        let user = alpha.user.token
        let aesWrapper = try await generate(KeySpec(algorithm: .aes256, label: "kek"))
        let rsaWrapper = try await generate(KeySpec(algorithm: .rsa2048, label: "rsa-kek"))
        let target = try await generate(KeySpec(algorithm: .aes256, label: "target", extractable: true))
        let sealed = try await hsm.encrypt(user, key: target.id, plaintext: message, scheme: .aesGCM, aad: Data())

        for (wrapper, scheme) in [(aesWrapper, WrapScheme.aesKW), (aesWrapper, .aesKWP), (aesWrapper, .aesGCM), (rsaWrapper, .rsaOAEP)] {
            let blob = try await hsm.exportWrapped(user, id: target.id, wrappingKey: wrapper.id, scheme: scheme)
            let copy = try await hsm.importKey(
                user, spec: KeySpec(algorithm: .aes256, label: "copy"), material: .wrapped(blob, wrappingKey: wrapper.id, scheme: scheme))
            #expect(!copy.local && !copy.extractable, "\(scheme)")
            #expect(try await hsm.decrypt(user, key: copy.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == message, "\(scheme)")
            await expectHSMError(.invalidArgument) {
                try await hsm.importKey(
                    user, spec: KeySpec(algorithm: .aes256, label: "forged"),
                    material: .wrapped(blob.tampered, wrappingKey: wrapper.id, scheme: scheme))
            }
        }

        // A private key travels the same way and signs as itself.
        let signer = try await generate(KeySpec(algorithm: .p256, label: "signer", extractable: true))
        let blob = try await hsm.exportWrapped(user, id: signer.id, wrappingKey: aesWrapper.id, scheme: .aesKWP)
        let copy = try await hsm.importKey(
            user, spec: KeySpec(algorithm: .p256, label: "signer-copy"),
            material: .wrapped(blob, wrappingKey: aesWrapper.id, scheme: .aesKWP))
        #expect(copy.publicKey == signer.publicKey)
        let signature = try await hsm.sign(user, key: copy.id, input: .message(message), scheme: .ecdsa(.sha256))
        #expect(try await hsm.verify(user, key: signer.id, input: .message(message), signature: signature.signature, scheme: .ecdsa(.sha256), version: nil))

        // The wrong unwrapping key fails coarsely.
        let otherWrapper = try await generate(KeySpec(algorithm: .aes256, label: "other-kek"))
        await expectHSMError(.invalidArgument, "unwrapping failed") {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .p256, label: "x"), material: .wrapped(blob, wrappingKey: otherWrapper.id, scheme: .aesKWP))
        }
        await expectHSMError(.notFound) {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .p256, label: "x"), material: .wrapped(blob, wrappingKey: unknownKeyID(), scheme: .aesKWP))
        }
    }

    /// The PKCS#8 path checks the key against the spec; the wrapped path must too, or the key
    /// record names one algorithm while its material is another.
    func importWrappedMismatch() async throws {
        let user = alpha.user.token
        let wrapper = try await generate(KeySpec(algorithm: .aes256, label: "kek"))
        let signer = try await generate(KeySpec(algorithm: .p256, label: "signer", extractable: true))
        let blob = try await hsm.exportWrapped(user, id: signer.id, wrappingKey: wrapper.id, scheme: .aesKWP)
        await expectHSMError(.invalidArgument, "spec") {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .ed25519, label: "liar"), material: .wrapped(blob, wrappingKey: wrapper.id, scheme: .aesKWP))
        }
        #expect(try await hsm.listKeys(user, filter: KeyFilter(label: "liar")).isEmpty)
    }
}
