import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var attributeCases: [Case] {
        [
            Case("usage is enforced, and a spec cannot ask for more than the algorithm does") { try await $0.usageEnforced() },
            Case("export follows extractable, sensitive and the partition switch") { try await $0.exportRules() },
            Case("neverExtractable and alwaysSensitive record the key's history") { try await $0.historyFlags() },
            Case("attributes change only towards stricter, each allowed change applied") { try await $0.stricterOnly() },
            Case("a non-modifiable key refuses every security change") { try await $0.notModifiable() },
            Case("a non-modifiable key keeps its label too (PKCS#11 CKA_MODIFIABLE)") { try await $0.labelFrozen() },
            Case("a non-destroyable key cannot be destroyed") { try await $0.notDestroyable() },
            Case("a key is unusable before its not-before date") { try await $0.notYetValid() },
        ]
    }
}

extension HSMFixture {
    func usageEnforced() async throws {
        let token = alpha.user.token
        let verifyOnly = try await generate(KeySpec(algorithm: .p256, label: "verify-only", usage: [.verify]))
        #expect(verifyOnly.usage == [.verify])
        await expectHSMError(.failedPrecondition, "sign") {
            try await hsm.sign(token, key: verifyOnly.id, input: .message(message), scheme: .ecdsa(.sha256))
        }
        let signOnly = try await generate(KeySpec(algorithm: .p256, label: "sign-only", usage: [.sign]))
        let signature = try await hsm.sign(token, key: signOnly.id, input: .message(message), scheme: .ecdsa(.sha256))
        await expectHSMError(.failedPrecondition, "verify") {
            try await hsm.verify(
                token, key: signOnly.id, input: .message(message), signature: signature.signature,
                scheme: .ecdsa(.sha256), version: nil)
        }
        let peer = try await hsm.exportPublicKey(token, id: verifyOnly.id, version: nil)
        await expectHSMError(.failedPrecondition, "derive") {
            try await hsm.deriveKey(
                token, key: signOnly.id, peer: peer, derivation: .hkdf(.sha256, outputByteCount: 32),
                spec: KeySpec(algorithm: .aes256, label: "derived"))
        }
        let decryptOnly = try await generate(KeySpec(algorithm: .aes256, label: "decrypt-only", usage: [.decrypt]))
        await expectHSMError(.failedPrecondition, "encrypt") {
            try await hsm.encrypt(token, key: decryptOnly.id, plaintext: message, scheme: .aesGCM, aad: Data())
        }
        let macOnly = try await generate(KeySpec(algorithm: .genericSecret, label: "mac-only", usage: [.mac]))
        await expectHSMError(.failedPrecondition, "encrypt") {
            try await hsm.encrypt(token, key: macOnly.id, plaintext: message, scheme: .chaCha20Poly1305, aad: Data())
        }
        let noWrap = try await generate(KeySpec(algorithm: .aes256, label: "no-wrap", usage: [.encrypt, .decrypt]))
        let target = try await generate(KeySpec(algorithm: .aes128, label: "target", extractable: true))
        await expectHSMError(.failedPrecondition, "wrap") {
            try await hsm.exportWrapped(token, id: target.id, wrappingKey: noWrap.id, scheme: .aesKWP)
        }
        // A spec beyond the algorithm's capabilities, or with no usage at all, is bad input.
        await expectHSMError(.invalidArgument, "usage") { try await generate(KeySpec(algorithm: .aes256, label: "x", usage: [.sign])) }
        await expectHSMError(.invalidArgument, "usage") { try await generate(KeySpec(algorithm: .ed25519, label: "x", usage: [.derive])) }
        await expectHSMError(.invalidArgument, "usage") { try await generate(KeySpec(algorithm: .p256, label: "x", usage: [])) }
        await expectHSMError(.invalidArgument, "label") { try await generate(KeySpec(algorithm: .p256, label: "")) }
        await expectHSMError(.invalidArgument, "label") { try await generate(KeySpec(algorithm: .p256, label: String(repeating: "l", count: 129))) }
        await expectHSMError(.invalidArgument, "secret_length_bytes") {
            try await generate(KeySpec(algorithm: .genericSecret, label: "x", secretByteCount: 8))
        }
    }

    func exportRules() async throws {
        let token = alpha.user.token
        let wrapper = try await generate(KeySpec(algorithm: .aes256, label: "wrapper"))
        let locked = try await generate(KeySpec(algorithm: .aes256, label: "default"))
        #expect(locked.extractable == false && locked.sensitive)
        await expectHSMError(.failedPrecondition, "not extractable") { try await hsm.exportPlaintext(token, id: locked.id) }
        await expectHSMError(.failedPrecondition, "not extractable") {
            try await hsm.exportWrapped(token, id: locked.id, wrappingKey: wrapper.id, scheme: .aesKWP)
        }

        // Sensitive: only wrapped, and the wrapped copy is the same key.
        let sensitive = try await generate(KeySpec(algorithm: .aes256, label: "sensitive", extractable: true, sensitive: true))
        await expectHSMError(.failedPrecondition, "sensitive") { try await hsm.exportPlaintext(token, id: sensitive.id) }
        let blob = try await hsm.exportWrapped(token, id: sensitive.id, wrappingKey: wrapper.id, scheme: .aesKWP)
        let copy = try await hsm.importKey(
            token, spec: KeySpec(algorithm: .aes256, label: "copy"),
            material: .wrapped(blob, wrappingKey: wrapper.id, scheme: .aesKWP))
        let ciphertext = try await hsm.encrypt(token, key: sensitive.id, plaintext: message, scheme: .aesGCM, aad: Data("a".utf8))
        #expect(try await hsm.decrypt(token, key: copy.id, ciphertext: ciphertext, scheme: .aesGCM, aad: Data("a".utf8)) == message)

        // Not sensitive: in the clear too, and the bytes are the key.
        let open = try await generate(KeySpec(algorithm: .aes256, label: "open", extractable: true, sensitive: false))
        let bytes = try await hsm.exportPlaintext(token, id: open.id)
        #expect(bytes.count == 32)
        let reimported = try await hsm.importKey(token, spec: KeySpec(algorithm: .aes256, label: "reimported"), material: .secret(bytes))
        let sealed = try await hsm.encrypt(token, key: open.id, plaintext: message, scheme: .aesGCM, aad: Data())
        #expect(try await hsm.decrypt(token, key: reimported.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == message)

        // The partition switch overrides both.
        try await updateSettings { $0.exportAllowed = false }
        await expectHSMError(.failedPrecondition, "export") { try await hsm.exportPlaintext(token, id: open.id) }
        await expectHSMError(.failedPrecondition, "export") {
            try await hsm.exportWrapped(token, id: sensitive.id, wrappingKey: wrapper.id, scheme: .aesKWP)
        }
        await expectHSMError(.failedPrecondition, "export") {
            try await hsm.exportWrapped(token, id: open.id, wrappingKey: wrapper.id, scheme: .aesGCM)
        }
        try await updateSettings { $0.exportAllowed = true }
        #expect(try await hsm.exportPlaintext(token, id: open.id) == bytes)
    }

    func historyFlags() async throws {
        let token = alpha.user.token
        let generated = try await generate(KeySpec(algorithm: .aes256, label: "generated"))
        #expect(generated.local && generated.neverExtractable && generated.alwaysSensitive)
        let loose = try await generate(KeySpec(algorithm: .aes256, label: "loose", extractable: true, sensitive: false))
        #expect(loose.local && !loose.neverExtractable && !loose.alwaysSensitive)

        // Tightening later does not rewrite history.
        let tightened = try await hsm.updateKey(alpha.officer.token, id: loose.id, update: KeyAttributeUpdate(extractable: false, sensitive: true))
        #expect(!tightened.extractable && tightened.sensitive)
        #expect(!tightened.neverExtractable && !tightened.alwaysSensitive)
        let reread = try await hsm.getKey(token, id: loose.id)
        #expect(!reread.neverExtractable && !reread.alwaysSensitive)

        // Imported keys were outside the HSM once: neither flag, and not local.
        let imported = try await hsm.importKey(
            token, spec: KeySpec(algorithm: .aes256, label: "imported"),
            material: .secret(try SecretBytes.random(count: 32)))
        #expect(!imported.local && !imported.neverExtractable && !imported.alwaysSensitive)
        #expect(!imported.extractable && imported.sensitive)
        let pkcs8 = try PrivateKey.generate(.p256).pkcs8Representation().exportedBytes()
        let importedPrivate = try await hsm.importKey(token, spec: KeySpec(algorithm: .p256, label: "pkcs8"), material: .pkcs8(pkcs8))
        #expect(!importedPrivate.local && !importedPrivate.neverExtractable && !importedPrivate.alwaysSensitive)
    }

    func stricterOnly() async throws {
        let officer = alpha.officer.token
        let start = wholeSeconds(-86400)
        let end = wholeSeconds(30 * 86400)
        let key = try await generate(KeySpec(algorithm: .p256, label: "before", extractable: true, sensitive: false))
        #expect(key.usage == [.sign, .verify, .derive])

        func allowed(
            _ what: String, _ update: KeyAttributeUpdate, sourceLocation: SourceLocation = #_sourceLocation,
            _ check: (KeyInfo) -> Bool
        ) async throws {
            let updated = try await hsm.updateKey(officer, id: key.id, update: update)
            #expect(check(updated), "\(what): not applied in the answer", sourceLocation: sourceLocation)
            #expect(check(try await hsm.getKey(alpha.user.token, id: key.id)), "\(what): not applied", sourceLocation: sourceLocation)
        }
        func refused(_ what: String, _ fragment: String, _ update: KeyAttributeUpdate, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let before = KeyAttributes(try await hsm.getKey(officer, id: key.id))
            let error = await expectHSMError(.failedPrecondition, fragment, sourceLocation: sourceLocation) {
                try await hsm.updateKey(officer, id: key.id, update: update)
            }
            #expect(error != nil, "\(what) was allowed", sourceLocation: sourceLocation)
            #expect(
                KeyAttributes(try await hsm.getKey(officer, id: key.id)) == before, "\(what): a refused update changed the key", sourceLocation: sourceLocation)
        }

        try await allowed("label", KeyAttributeUpdate(label: "after")) { $0.label == "after" }
        try await allowed("usage shrinks", KeyAttributeUpdate(usage: [.sign, .verify])) { $0.usage == [.sign, .verify] }
        try await refused("usage grows back", "usage", KeyAttributeUpdate(usage: [.sign, .verify, .derive]))
        try await refused("usage to nothing", "usage", KeyAttributeUpdate(usage: []))
        try await allowed("extractable off", KeyAttributeUpdate(extractable: false)) { !$0.extractable }
        try await refused("extractable on", "extractable", KeyAttributeUpdate(extractable: true))
        try await allowed("sensitive on", KeyAttributeUpdate(sensitive: true)) { $0.sensitive }
        try await refused("sensitive off", "sensitive", KeyAttributeUpdate(sensitive: false))
        try await allowed("not-before set", KeyAttributeUpdate(notBefore: start)) { $0.notBefore == start }
        try await refused("not-before earlier", "not_before", KeyAttributeUpdate(notBefore: start.addingTimeInterval(-60)))
        try await allowed("not-before later", KeyAttributeUpdate(notBefore: start.addingTimeInterval(60))) { $0.notBefore == start.addingTimeInterval(60) }
        try await allowed("expiry set", KeyAttributeUpdate(expiresAt: end)) { $0.expiresAt == end }
        try await refused("expiry later", "expires_at", KeyAttributeUpdate(expiresAt: end.addingTimeInterval(60)))
        try await allowed("expiry earlier", KeyAttributeUpdate(expiresAt: end.addingTimeInterval(-60))) { $0.expiresAt == end.addingTimeInterval(-60) }
        try await refused("not-before past expiry", "not_before", KeyAttributeUpdate(notBefore: end))
        try await refused("minimum version above latest", "minimum_version", KeyAttributeUpdate(minimumVersion: 2))
        try await refused("minimum version lowered", "minimum_version", KeyAttributeUpdate(minimumVersion: 0))
        try await allowed("destroyable off", KeyAttributeUpdate(destroyable: false)) { !$0.destroyable }
        try await refused("destroyable on", "destroyable", KeyAttributeUpdate(destroyable: true))
        try await allowed("modifiable off", KeyAttributeUpdate(modifiable: false)) { !$0.modifiable }
        // The key still works within what is left.
        let signature = try await hsm.sign(alpha.user.token, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
        #expect(signature.version == 1)
    }

    func notModifiable() async throws {
        let officer = alpha.officer.token
        let key = try await generate(KeySpec(algorithm: .aes256, label: "frozen", extractable: true, sensitive: false, modifiable: false))
        #expect(!key.modifiable)
        let updates: [(String, KeyAttributeUpdate)] = [
            ("usage", KeyAttributeUpdate(usage: [.encrypt])), ("extractable", KeyAttributeUpdate(extractable: false)),
            ("sensitive", KeyAttributeUpdate(sensitive: true)), ("destroyable", KeyAttributeUpdate(destroyable: false)),
            ("modifiable", KeyAttributeUpdate(modifiable: false)), ("expiry", KeyAttributeUpdate(expiresAt: wholeSeconds(3600))),
            ("not-before", KeyAttributeUpdate(notBefore: wholeSeconds(-3600))), ("minimum version", KeyAttributeUpdate(minimumVersion: 1)),
        ]
        for (what, update) in updates {
            let error = await expectHSMError(.failedPrecondition, "not modifiable") { try await hsm.updateKey(officer, id: key.id, update: update) }
            #expect(error != nil, "\(what) changed on a non-modifiable key")
        }
        #expect(KeyAttributes(try await hsm.getKey(officer, id: key.id)) == KeyAttributes(key))

        // Turning modifiable off later freezes the key the same way.
        let thawed = try await generate(KeySpec(algorithm: .aes256, label: "thawed"))
        _ = try await hsm.updateKey(officer, id: thawed.id, update: KeyAttributeUpdate(modifiable: false))
        await expectHSMError(.failedPrecondition, "not modifiable") {
            try await hsm.updateKey(officer, id: thawed.id, update: KeyAttributeUpdate(usage: [.encrypt, .decrypt]))
        }
    }

    /// `KeyAttributeUpdate`: "The label may always change."
    func labelFrozen() async throws {
        let key = try await generate(KeySpec(algorithm: .aes256, label: "frozen", modifiable: false))
        await expectHSMError(.failedPrecondition, "not modifiable") {
            try await hsm.updateKey(alpha.officer.token, id: key.id, update: KeyAttributeUpdate(label: "renamed"))
        }
        #expect(try await hsm.getKey(alpha.officer.token, id: key.id).label == "frozen")
        let open = try await generate(KeySpec(algorithm: .aes256, label: "open"))
        let renamed = try await hsm.updateKey(alpha.officer.token, id: open.id, update: KeyAttributeUpdate(label: "renamed"))
        #expect(renamed.label == "renamed")
    }

    func notDestroyable() async throws {
        let officer = alpha.officer.token
        let key = try await generate(KeySpec(algorithm: .p256, label: "keeper", destroyable: false))
        await expectHSMError(.failedPrecondition, "not destroyable") { try await hsm.destroyKey(officer, id: key.id) }
        #expect(try await hsm.getKey(officer, id: key.id).state == .active)
        _ = try await hsm.sign(alpha.user.token, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
        await expectHSMError(.failedPrecondition, "destroyed") { try await hsm.purgeKey(officer, id: key.id) }
    }

    func notYetValid() async throws {
        let token = alpha.user.token
        let later = wholeSeconds(86400)
        let key = try await generate(KeySpec(algorithm: .p256, label: "tomorrow", notBefore: later))
        #expect(key.notBefore == later)
        await expectHSMError(.failedPrecondition, "not valid before") {
            try await hsm.sign(token, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
        }
        let aes = try await generate(KeySpec(algorithm: .aes256, label: "tomorrow", notBefore: later))
        await expectHSMError(.failedPrecondition, "not valid before") {
            try await hsm.encrypt(token, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data())
        }
        await expectHSMError(.invalidArgument, "not_before") {
            try await generate(KeySpec(algorithm: .p256, label: "backwards", notBefore: later, expiresAt: later.addingTimeInterval(-1)))
        }
    }
}
