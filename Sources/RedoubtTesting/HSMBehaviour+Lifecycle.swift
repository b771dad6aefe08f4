import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var lifecycleCases: [Case] {
        [
            Case("a blocked key refuses every use until unblocked") { try await $0.blocking() },
            Case("destroy moves a key to the trash; restore brings it back; purge ends it") { try await $0.trash() },
            Case("rotation adds a version; old signatures verify with theirs") { try await $0.rotationSignatures() },
            Case("ciphertexts and tags name their version; a minimum version retires old ones") { try await $0.rotationCiphertexts() },
            Case("imported keys cannot rotate; rotation keeps a secret's length") { try await $0.rotationLimits() },
        ]
    }
}

extension HSMFixture {
    func blocking() async throws {
        let officer = alpha.officer.token
        let user = alpha.user.token
        let signer = try await generate(KeySpec(algorithm: .p256, label: "signer"))
        let aes = try await generate(KeySpec(algorithm: .aes256, label: "aes"))
        let macKey = try await generate(KeySpec(algorithm: .genericSecret, label: "mac"))
        let kem = try await generate(KeySpec(algorithm: .mlkem768, label: "kem"))
        let target = try await generate(KeySpec(algorithm: .aes128, label: "target", extractable: true, sensitive: false))
        let peer = try await hsm.exportPublicKey(user, id: signer.id, version: nil)
        let signature = try await hsm.sign(user, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256)).signature
        let ciphertext = try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data())
        let tag = try await hsm.mac(user, key: macKey.id, data: message, hash: .sha256)
        let encapsulated = try await hsm.encapsulate(user, key: kem.id, spec: KeySpec(algorithm: .genericSecret, label: "ss")).encapsulated
        let wrapped = try await hsm.exportWrapped(user, id: target.id, wrappingKey: aes.id, scheme: .aesKWP)
        let secretSpec = KeySpec(algorithm: .genericSecret, label: "out")

        for key in [signer, aes, macKey, kem, target] {
            #expect(try await hsm.blockKey(officer, id: key.id).state == .blocked)
            #expect(try await hsm.getKey(user, id: key.id).state == .blocked)
        }
        let uses: [(String, () async throws -> Void)] = [
            ("sign", { _ = try await hsm.sign(user, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256)) }),
            (
                "verify",
                { _ = try await hsm.verify(user, key: signer.id, input: .message(message), signature: signature, scheme: .ecdsa(.sha256), version: nil) }
            ),
            ("derive", { _ = try await hsm.deriveKey(user, key: signer.id, peer: peer, derivation: .hkdf(.sha256, outputByteCount: 32), spec: secretSpec) }),
            ("encrypt", { _ = try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data()) }),
            ("decrypt", { _ = try await hsm.decrypt(user, key: aes.id, ciphertext: ciphertext, scheme: .aesGCM, aad: Data()) }),
            ("mac", { _ = try await hsm.mac(user, key: macKey.id, data: message, hash: .sha256) }),
            ("verifyMAC", { _ = try await hsm.verifyMAC(user, key: macKey.id, data: message, tag: tag, hash: .sha256) }),
            ("encapsulate", { _ = try await hsm.encapsulate(user, key: kem.id, spec: secretSpec) }),
            ("decapsulate", { _ = try await hsm.decapsulate(user, key: kem.id, encapsulated: encapsulated, spec: secretSpec) }),
            ("export in the clear", { _ = try await hsm.exportPlaintext(user, id: target.id) }),
            ("export wrapped", { _ = try await hsm.exportWrapped(user, id: target.id, wrappingKey: kem.id, scheme: .aesKWP) }),
            (
                "unwrap with a blocked key",
                {
                    _ = try await hsm.importKey(
                        user, spec: KeySpec(algorithm: .aes128, label: "in"), material: .wrapped(wrapped, wrappingKey: aes.id, scheme: .aesKWP))
                }
            ),
        ]
        for (what, use) in uses {
            let error = await expectHSMError(.failedPrecondition, "blocked") { try await use() }
            #expect(error != nil, "\(what) with a blocked key")
        }
        // Wrapping with a blocked key is a use of that key.
        _ = try await hsm.unblockKey(officer, id: target.id)
        await expectHSMError(.failedPrecondition, "blocked") {
            try await hsm.exportWrapped(user, id: target.id, wrappingKey: aes.id, scheme: .aesKWP)
        }
        await expectHSMError(.failedPrecondition, "not active") { try await hsm.blockKey(officer, id: aes.id) }
        await expectHSMError(.failedPrecondition, "not blocked") { try await hsm.unblockKey(officer, id: target.id) }

        for key in [signer, aes, macKey, kem] {
            #expect(try await hsm.unblockKey(officer, id: key.id).state == .active)
        }
        #expect(try await hsm.verify(user, key: signer.id, input: .message(message), signature: signature, scheme: .ecdsa(.sha256), version: nil))
        #expect(try await hsm.decrypt(user, key: aes.id, ciphertext: ciphertext, scheme: .aesGCM, aad: Data()) == message)
        #expect(try await hsm.verifyMAC(user, key: macKey.id, data: message, tag: tag, hash: .sha256))
        _ = try await hsm.decapsulate(user, key: kem.id, encapsulated: encapsulated, spec: secretSpec)
        _ = try await hsm.exportWrapped(user, id: target.id, wrappingKey: aes.id, scheme: .aesKWP)
    }

    func trash() async throws {
        let officer = alpha.officer.token
        let user = alpha.user.token
        let key = try await generate(KeySpec(algorithm: .p256, label: "doomed"))
        let bystander = try await generate(KeySpec(algorithm: .p256, label: "bystander"))
        let signature = try await hsm.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256)).signature

        await expectHSMError(.failedPrecondition, "destroyed") { try await hsm.purgeKey(officer, id: key.id) }
        await expectHSMError(.failedPrecondition, "not in the trash") { try await hsm.restoreKey(officer, id: key.id) }

        #expect(try await hsm.destroyKey(officer, id: key.id).state == .destroyed)
        #expect(try await hsm.getKey(user, id: key.id).state == .destroyed)
        #expect(try await listedIDs() == [bystander.id])
        #expect(try await listedIDs(includeDestroyed: true) == [key.id, bystander.id])
        await expectHSMError(.failedPrecondition, "destroyed") {
            try await hsm.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
        }
        await expectHSMError(.failedPrecondition, "destroyed") {
            try await hsm.verify(user, key: key.id, input: .message(message), signature: signature, scheme: .ecdsa(.sha256), version: nil)
        }
        await expectHSMError(.failedPrecondition, "trash") { try await hsm.destroyKey(officer, id: key.id) }

        #expect(try await hsm.restoreKey(officer, id: key.id).state == .active)
        #expect(try await listedIDs() == [key.id, bystander.id])
        #expect(try await hsm.verify(user, key: key.id, input: .message(message), signature: signature, scheme: .ecdsa(.sha256), version: nil))

        _ = try await hsm.destroyKey(officer, id: key.id)
        try await hsm.purgeKey(officer, id: key.id)
        await expectHSMError(.notFound) { try await hsm.getKey(user, id: key.id) }
        await expectHSMError(.notFound) { try await hsm.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256)) }
        await expectHSMError(.notFound) { try await hsm.purgeKey(officer, id: key.id) }
        await expectHSMError(.notFound) { try await hsm.restoreKey(officer, id: key.id) }
        #expect(try await listedIDs(includeDestroyed: true) == [bystander.id])
    }

    func rotationSignatures() async throws {
        let officer = alpha.officer.token
        let user = alpha.user.token
        let key = try await generate(KeySpec(algorithm: .p256, label: "rotating"))
        #expect(key.latestVersion == 1 && key.minimumVersion == 1)
        let first = try await hsm.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
        #expect(first.version == 1)

        let rotated = try await hsm.rotateKey(officer, id: key.id)
        #expect(rotated.latestVersion == 2 && rotated.minimumVersion == 1)
        #expect(rotated.publicKey != key.publicKey)
        #expect(try await hsm.getKey(user, id: key.id).latestVersion == 2)
        let second = try await hsm.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
        #expect(second.version == 2)

        func verifies(_ s: SignatureResult, version: Int?) async throws -> Bool {
            try await hsm.verify(user, key: key.id, input: .message(message), signature: s.signature, scheme: .ecdsa(.sha256), version: version)
        }
        #expect(try await verifies(first, version: 1))
        #expect(try await verifies(first, version: nil) == false)
        #expect(try await verifies(second, version: nil))
        #expect(try await verifies(second, version: 2))
        #expect(try await verifies(second, version: 1) == false)
        await expectHSMError(.notFound, "version") { try await verifies(first, version: 3) }

        let v1 = try await hsm.exportPublicKey(user, id: key.id, version: 1)
        let v2 = try await hsm.exportPublicKey(user, id: key.id, version: 2)
        #expect(v1 == key.publicKey && v2 == rotated.publicKey && v1 != v2)
        #expect(try await hsm.exportPublicKey(user, id: key.id, version: nil) == v2)
        #expect(try VerifyingKey(v1).isValidSignature(first.signature, for: .message(message), scheme: .ecdsa(.sha256)))
        #expect(try VerifyingKey(v2).isValidSignature(second.signature, for: .message(message), scheme: .ecdsa(.sha256)))
        await expectHSMError(.notFound, "version") { try await hsm.exportPublicKey(user, id: key.id, version: 3) }

        // Retiring version 1 retires its signatures.
        _ = try await hsm.updateKey(officer, id: key.id, update: KeyAttributeUpdate(minimumVersion: 2))
        await expectHSMError(.failedPrecondition, "minimum version") { try await verifies(first, version: 1) }
        #expect(try await verifies(second, version: 2))
    }

    func rotationCiphertexts() async throws {
        let officer = alpha.officer.token
        let user = alpha.user.token
        let aad = Data("header".utf8)
        let aes = try await generate(KeySpec(algorithm: .aes256, label: "rotating"))
        let macKey = try await generate(KeySpec(algorithm: .genericSecret, label: "rotating-mac"))
        let old = try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: aad)
        let oldTag = try await hsm.mac(user, key: macKey.id, data: message, hash: .sha256)

        #expect(try await hsm.rotateKey(officer, id: aes.id).latestVersion == 2)
        #expect(try await hsm.rotateKey(officer, id: macKey.id).latestVersion == 2)
        let new = try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: aad)
        let newTag = try await hsm.mac(user, key: macKey.id, data: message, hash: .sha256)
        #expect(newTag != oldTag)
        #expect(try await hsm.decrypt(user, key: aes.id, ciphertext: old, scheme: .aesGCM, aad: aad) == message)
        #expect(try await hsm.decrypt(user, key: aes.id, ciphertext: new, scheme: .aesGCM, aad: aad) == message)
        #expect(try await hsm.verifyMAC(user, key: macKey.id, data: message, tag: oldTag, hash: .sha256))
        #expect(try await hsm.verifyMAC(user, key: macKey.id, data: message, tag: newTag, hash: .sha256))

        let raised = try await hsm.updateKey(officer, id: aes.id, update: KeyAttributeUpdate(minimumVersion: 2))
        #expect(raised.minimumVersion == 2 && raised.latestVersion == 2)
        await expectHSMError(.failedPrecondition, "minimum version") {
            try await hsm.decrypt(user, key: aes.id, ciphertext: old, scheme: .aesGCM, aad: aad)
        }
        #expect(try await hsm.decrypt(user, key: aes.id, ciphertext: new, scheme: .aesGCM, aad: aad) == message)
        await expectHSMError(.failedPrecondition, "minimum_version") {
            try await hsm.updateKey(officer, id: aes.id, update: KeyAttributeUpdate(minimumVersion: 1))
        }
        _ = try await hsm.updateKey(officer, id: macKey.id, update: KeyAttributeUpdate(minimumVersion: 2))
        await expectHSMError(.failedPrecondition, "minimum version") {
            try await hsm.verifyMAC(user, key: macKey.id, data: message, tag: oldTag, hash: .sha256)
        }
    }

    func rotationLimits() async throws {
        let officer = alpha.officer.token
        let user = alpha.user.token
        let imported = try await hsm.importKey(
            user, spec: KeySpec(algorithm: .aes256, label: "imported"),
            material: .secret(try SecretBytes.random(count: 32)))
        await expectHSMError(.failedPrecondition, "imported") { try await hsm.rotateKey(officer, id: imported.id) }
        #expect(try await hsm.getKey(user, id: imported.id).latestVersion == 1)
        let pkcs8 = try PrivateKey.generate(.ed25519).pkcs8Representation().exportedBytes()
        let importedPrivate = try await hsm.importKey(user, spec: KeySpec(algorithm: .ed25519, label: "imported"), material: .pkcs8(pkcs8))
        await expectHSMError(.failedPrecondition, "imported") { try await hsm.rotateKey(officer, id: importedPrivate.id) }

        let long = try await generate(KeySpec(algorithm: .genericSecret, label: "long", extractable: true, sensitive: false, secretByteCount: 64))
        #expect(try await hsm.exportPlaintext(user, id: long.id).count == 64)
        _ = try await hsm.rotateKey(officer, id: long.id)
        #expect(try await hsm.exportPlaintext(user, id: long.id).count == 64)

        let blocked = try await generate(KeySpec(algorithm: .p256, label: "blocked"))
        _ = try await hsm.blockKey(officer, id: blocked.id)
        await expectHSMError(.failedPrecondition, "blocked") { try await hsm.rotateKey(officer, id: blocked.id) }
    }
}
