import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var batchCases: [Case] {
        [
            Case("batches give each item what its single call gives, in order; a bad item fails alone") { try await $0.batchOutcomes() },
            Case("a batch under an invalid session throws; an empty batch returns nothing; a role that may not use keys fails each item") {
                try await $0.batchRefusals()
            },
        ]
    }
}

extension HSMFixture {
    func batchOutcomes() async throws {
        let user = alpha.user.token
        let p256 = try await generate(KeySpec(algorithm: .p256, label: "batch-p256"))
        let ed = try await generate(KeySpec(algorithm: .ed25519, label: "batch-ed25519"))
        let aes = try await generate(KeySpec(algorithm: .aes256, label: "batch-aes"))
        let hmac = try await generate(KeySpec(algorithm: .genericSecret, label: "batch-hmac"))
        let missing = unknownKeyID()
        let singleError = await hsmError { try await hsm.sign(user, key: missing, input: .message(message), scheme: .ed25519) }

        // Sign: two keys, an unknown key between them (its error is the single call's), a wrong scheme.
        let signed = try await hsm.signBatch(
            user,
            [
                SignItem(key: p256.id, input: .message(message), scheme: .ecdsa(.sha256)),
                SignItem(key: missing, input: .message(message), scheme: .ed25519),
                SignItem(key: ed.id, input: .message(message), scheme: .ed25519),
                SignItem(key: ed.id, input: .message(message), scheme: .ecdsa(.sha256)),
            ])
        try #require(signed.count == 4)
        let p256Signature = try signed[0].get()
        #expect(p256Signature.version == 1)
        #expect(try await hsm.verify(user, key: p256.id, input: .message(message), signature: p256Signature.signature, scheme: .ecdsa(.sha256), version: nil))
        #expect(failure(signed[1]) == singleError, "the unknown key's item fails as the single call does")
        #expect(singleError?.code == .notFound)
        let edSignature = try signed[2].get().signature
        #expect(try await hsm.verify(user, key: ed.id, input: .message(message), signature: edSignature, scheme: .ed25519, version: nil))
        #expect(failure(signed[3]) != nil, "an Ed25519 key signs no ECDSA")

        // Verify: a good signature, a changed message, an unknown key.
        let verified = try await hsm.verifyBatch(
            user,
            [
                VerifyItem(key: ed.id, input: .message(message), signature: edSignature, scheme: .ed25519),
                VerifyItem(key: ed.id, input: .message(Data("other".utf8)), signature: edSignature, scheme: .ed25519),
                VerifyItem(key: missing, input: .message(message), signature: edSignature, scheme: .ed25519),
            ])
        try #require(verified.count == 3)
        #expect(try verified[0].get() == true)
        #expect(try verified[1].get() == false)
        #expect(failure(verified[2])?.code == .notFound)

        // Encrypt then decrypt: each ciphertext decrypts, alone and in a batch; a wrong AAD fails alone.
        let plaintexts = (0..<5).map { Data("message \($0)".utf8) }
        let sealed = try await hsm.encryptBatch(
            user, plaintexts.map { EncryptItem(key: aes.id, plaintext: $0, scheme: .aesGCM, aad: Data("ctx".utf8)) })
        let ciphertexts = try sealed.map { try $0.get() }
        #expect(Set(ciphertexts).count == 5, "every encryption takes its own nonce")
        #expect(try await hsm.decrypt(user, key: aes.id, ciphertext: ciphertexts[3], scheme: .aesGCM, aad: Data("ctx".utf8)) == plaintexts[3])
        var items = ciphertexts.map { DecryptItem(key: aes.id, ciphertext: $0, scheme: .aesGCM, aad: Data("ctx".utf8)) }
        items[1].aad = Data("other".utf8)
        let opened = try await hsm.decryptBatch(user, items)
        try #require(opened.count == 5)
        for i in [0, 2, 3, 4] { #expect(try opened[i].get() == plaintexts[i]) }
        let wrongAAD = await hsmError {
            try await hsm.decrypt(user, key: aes.id, ciphertext: ciphertexts[1], scheme: .aesGCM, aad: Data("other".utf8))
        }
        #expect(failure(opened[1]) == wrongAAD && wrongAAD != nil, "a wrong AAD fails as the single call does")

        // MAC: the same tags as single calls.
        let data = (0..<3).map { Data("data \($0)".utf8) }
        let tags = try await hsm.macBatch(user, data.map { MACItem(key: hmac.id, data: $0, hash: .sha256) })
        for (i, tag) in tags.enumerated() {
            #expect(try tag.get() == (try await hsm.mac(user, key: hmac.id, data: data[i], hash: .sha256)))
        }
    }

    func batchRefusals() async throws {
        let p256 = try await generate(KeySpec(algorithm: .p256, label: "batch-refusals"))
        let item = SignItem(key: p256.id, input: .message(message), scheme: .ecdsa(.sha256))
        #expect(try await hsm.signBatch(alpha.user.token, []).isEmpty)
        #expect(try await hsm.macBatch(alpha.user.token, []).isEmpty)

        let closed = try await newSession(alpha.user)
        try await hsm.closeSession(closed)
        await expectHSMError(.unauthenticated) { try await hsm.signBatch(closed, [item, item]) }
        await expectHSMError(.unauthenticated) {
            try await hsm.encryptBatch(closed, [EncryptItem(key: p256.id, plaintext: message, scheme: .aesGCM)])
        }

        // The auditor may not sign: each item says so, as its single call does.
        let auditor = alpha.auditor.token
        let single = await hsmError { try await hsm.sign(auditor, key: p256.id, input: .message(message), scheme: .ecdsa(.sha256)) }
        #expect(single?.code == .permissionDenied)
        let outcomes = try await hsm.signBatch(auditor, [item, item])
        #expect(outcomes.count == 2 && outcomes.allSatisfy { failure($0) == single })

        // Another partition's key is unknown here, item by item.
        let betaKey = try await generate(KeySpec(algorithm: .p256, label: "beta-key"), by: beta.user)
        let crossed = try await hsm.signBatch(alpha.user.token, [SignItem(key: betaKey.id, input: .message(message), scheme: .ecdsa(.sha256)), item])
        #expect(failure(crossed[0])?.code == .notFound)
        #expect((try? crossed[1].get()) != nil)
    }
}

/// The error of a failed outcome, `nil` for a success.
func failure<T>(_ outcome: Result<T, HSMError>) -> HSMError? {
    if case .failure(let error) = outcome { return error }
    return nil
}

/// The ``HSMError`` `body` throws, `nil` if it returns (or throws something else).
func hsmError<T>(_ body: () async throws -> T) async -> HSMError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error as? HSMError
    }
}
