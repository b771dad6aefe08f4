import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var partitionCases: [Case] {
        [
            Case("importAllowed=false refuses private and secret imports, not public keys") { try await $0.importSwitch() },
            Case("a read-only partition refuses key changes but still uses keys") { try await $0.readOnlyKeys() },
            Case("a read-only partition refuses purging") { try await $0.readOnlyPurge() },
            Case("a read-only partition refuses user changes") { try await $0.readOnlyUsers() },
            Case("maximumObjects caps persistent keys") { try await $0.objectQuota() },
            Case("cryptoUsersMayCreateKeys=false leaves key creation to the officer") { try await $0.officerCreatesKeys() },
            Case("partition settings and ids are validated") { try await $0.settingsValidated() },
            Case("another partition's key is indistinguishable from a missing one") { try await $0.foreignKeys() },
            Case("listing never shows another partition's keys or users") { try await $0.foreignListings() },
            Case("a repeated request id returns the first key") { try await $0.requestIDs() },
        ]
    }
}

extension HSMFixture {
    func importSwitch() async throws {
        let user = alpha.user.token
        let wrapper = try await generate(KeySpec(algorithm: .aes256, label: "kek"))
        let target = try await generate(KeySpec(algorithm: .aes256, label: "target", extractable: true))
        let blob = try await hsm.exportWrapped(user, id: target.id, wrappingKey: wrapper.id, scheme: .aesKWP)
        let local = try PrivateKey.generate(.p256)
        let before = try await listedIDs()

        try await updateSettings { $0.importAllowed = false }
        let refused: [(String, KeySpec, KeyMaterial)] = [
            ("pkcs8", KeySpec(algorithm: .p256, label: "in"), .pkcs8(try local.pkcs8Representation().exportedBytes())),
            ("secret", KeySpec(algorithm: .aes256, label: "in"), .secret(try SecretBytes.random(count: 32))),
            ("wrapped", KeySpec(algorithm: .aes256, label: "in"), .wrapped(blob, wrappingKey: wrapper.id, scheme: .aesKWP)),
        ]
        for (what, spec, material) in refused {
            for member in [alpha.user, alpha.officer] {
                let error = await expectHSMError(.failedPrecondition, "import") { try await hsm.importKey(member.token, spec: spec, material: material) }
                #expect(error != nil, "\(what) import was allowed")
            }
        }
        #expect(try await listedIDs() == before)
        let peer = try await hsm.importKey(user, spec: KeySpec(algorithm: .p256, label: "peer", usage: [.verify]), material: .publicKey(local.publicKey))
        #expect(peer.publicKey == local.publicKey)
        // Generating is not importing.
        _ = try await generate(KeySpec(algorithm: .aes256, label: "fresh"))
    }

    func readOnlyKeys() async throws {
        let officer = alpha.officer.token
        let user = alpha.user.token
        let signer = try await generate(KeySpec(algorithm: .p256, label: "signer"))
        let aes = try await generate(KeySpec(algorithm: .aes256, label: "aes"))
        let before = try await hsm.getKey(officer, id: signer.id)

        try await updateSettings { $0.readOnly = true }
        let changes: [(String, () async throws -> Void)] = [
            ("generate", { _ = try await hsm.generateKey(user, spec: KeySpec(algorithm: .p256, label: "new")) }),
            ("generate as officer", { _ = try await hsm.generateKey(officer, spec: KeySpec(algorithm: .p256, label: "new")) }),
            (
                "import",
                { _ = try await hsm.importKey(user, spec: KeySpec(algorithm: .aes256, label: "new"), material: .secret(try SecretBytes.random(count: 32))) }
            ),
            ("update", { _ = try await hsm.updateKey(officer, id: signer.id, update: KeyAttributeUpdate(label: "renamed")) }),
            ("rotate", { _ = try await hsm.rotateKey(officer, id: signer.id) }),
            ("block", { _ = try await hsm.blockKey(officer, id: signer.id) }),
            ("destroy", { _ = try await hsm.destroyKey(officer, id: signer.id) }),
        ]
        for (what, change) in changes {
            let error = await expectHSMError(.failedPrecondition, "read-only") { try await change() }
            #expect(error != nil, "\(what) in a read-only partition")
        }
        let after = try await hsm.getKey(officer, id: signer.id)
        #expect(KeyAttributes(after) == KeyAttributes(before))
        #expect(try await listedIDs() == [signer.id, aes.id])
        // Uses change nothing stored and go on.
        let signature = try await hsm.sign(user, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
        #expect(try await hsm.verify(user, key: signer.id, input: .message(message), signature: signature.signature, scheme: .ecdsa(.sha256), version: nil))
        let sealed = try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data())
        #expect(try await hsm.decrypt(user, key: aes.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == message)

        try await updateSettings { $0.readOnly = false }
        #expect(try await hsm.updateKey(officer, id: signer.id, update: KeyAttributeUpdate(label: "renamed")).label == "renamed")
    }

    /// `PartitionSettings.readOnly`: "Whether the partition refuses every change." Purging deletes a stored key.
    func readOnlyPurge() async throws {
        let officer = alpha.officer.token
        let key = try await generate(KeySpec(algorithm: .p256, label: "trash"))
        _ = try await hsm.destroyKey(officer, id: key.id)
        try await updateSettings { $0.readOnly = true }
        await expectHSMError(.failedPrecondition, "read-only") { try await hsm.purgeKey(officer, id: key.id) }
        #expect(try await listedIDs(includeDestroyed: true) == [key.id])
    }

    /// `PartitionSettings.readOnly`: "Whether the partition refuses every change." Users are stored in the partition.
    func readOnlyUsers() async throws {
        let officer = alpha.officer.token
        try await updateSettings { $0.readOnly = true }
        await expectHSMError(.failedPrecondition, "read-only") {
            try await hsm.addUser(officer, name: "newcomer", role: .cryptoUser, password: nil)
        }
        await expectHSMError(.failedPrecondition, "read-only") { try await hsm.removeUser(officer, id: alpha.auditor.user.id) }
        #expect(try await hsm.listUsers(officer).count == 4)
    }

    func objectQuota() async throws {
        let officer = alpha.officer.token
        try await updateSettings { $0.maximumObjects = 2 }
        let first = try await generate(KeySpec(algorithm: .aes128, label: "one"))
        _ = try await generate(KeySpec(algorithm: .aes128, label: "two"), by: alpha.officer)
        await expectHSMError(.resourceExhausted, "maximum") { try await generate(KeySpec(algorithm: .aes128, label: "three")) }
        await expectHSMError(.resourceExhausted, "maximum") {
            try await hsm.importKey(alpha.user.token, spec: KeySpec(algorithm: .aes128, label: "three"), material: .secret(try SecretBytes.random(count: 16)))
        }
        #expect(try await listedIDs().count == 2)
        // Beta's quota is its own.
        _ = try await generate(KeySpec(algorithm: .aes128, label: "beta-one"), by: beta.user)
        _ = try await generate(KeySpec(algorithm: .aes128, label: "beta-two"), by: beta.user)
        _ = try await generate(KeySpec(algorithm: .aes128, label: "beta-three"), by: beta.user)
        // A purged key frees its slot.
        _ = try await hsm.destroyKey(officer, id: first.id)
        try await hsm.purgeKey(officer, id: first.id)
        _ = try await generate(KeySpec(algorithm: .aes128, label: "three"))
        #expect(try await listedIDs().count == 2)
    }

    func officerCreatesKeys() async throws {
        let user = alpha.user.token
        try await updateSettings { $0.cryptoUsersMayCreateKeys = false }
        await expectHSMError(.permissionDenied, "security officer") { try await generate(KeySpec(algorithm: .p256, label: "mine")) }
        await expectHSMError(.permissionDenied, "security officer") {
            try await hsm.importKey(user, spec: KeySpec(algorithm: .aes256, label: "mine"), material: .secret(try SecretBytes.random(count: 32)))
        }
        let key = try await generate(KeySpec(algorithm: .p256, label: "officer's"), by: alpha.officer)
        _ = try await hsm.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
        // Beta still lets its users create keys.
        _ = try await generate(KeySpec(algorithm: .p256, label: "beta"), by: beta.user)
    }

    func settingsValidated() async throws {
        let bad: [(String, (inout PartitionSettings) -> Void)] = [
            ("maximum_objects", { $0.maximumObjects = -1 }),
            ("maximum_session_lifetime", { $0.maximumSessionLifetime = 10 }),
            ("session_idle_timeout", { $0.sessionIdleTimeout = 1 }),
            ("session_idle_timeout", { $0.sessionIdleTimeout = $0.maximumSessionLifetime + 1 }),
        ]
        for (field, change) in bad {
            var settings = PartitionSettings.defaults
            change(&settings)
            await expectHSMError(.invalidArgument, field) { try await hsm.updatePartition(operatorToken, id: "alpha", settings: settings) }
            await expectHSMError(.invalidArgument, field) { try await hsm.createPartition(operatorToken, id: "gamma", settings: settings) }
        }
        for id in ["", "-leading", "has space", "a/b", String(repeating: "p", count: 65), "ünï"] {
            await expectHSMError(.invalidArgument, "partition id") { try await hsm.createPartition(operatorToken, id: id, settings: .defaults) }
        }
        await expectHSMError(.alreadyExists) { try await hsm.createPartition(operatorToken, id: "alpha", settings: .defaults) }
        await expectHSMError(.notFound) { try await hsm.updatePartition(operatorToken, id: "gamma", settings: .defaults) }
        #expect(try await hsm.listPartitions(operatorToken).map(\.id).sorted() == ["alpha", "beta"])
    }

    func foreignKeys() async throws {
        let key = try await generate(KeySpec(algorithm: .p256, label: "alpha-signer", extractable: true))
        let aes = try await generate(KeySpec(algorithm: .aes256, label: "alpha-aes"))
        let betaKey = try await generate(KeySpec(algorithm: .aes256, label: "beta-aes", extractable: true), by: beta.user)
        let betaUser = beta.user.token
        let betaOfficer = beta.officer.token
        let peer = try await hsm.exportPublicKey(alpha.user.token, id: key.id, version: nil)
        let spec = KeySpec(algorithm: .genericSecret, label: "x")

        let calls: [(String, (String) async throws -> Void)] = [
            ("getKey", { _ = try await hsm.getKey(betaUser, id: $0) }),
            ("sign", { _ = try await hsm.sign(betaUser, key: $0, input: .message(message), scheme: .ecdsa(.sha256)) }),
            ("verify", { _ = try await hsm.verify(betaUser, key: $0, input: .message(message), signature: Data(), scheme: .ecdsa(.sha256), version: nil) }),
            ("encrypt", { _ = try await hsm.encrypt(betaUser, key: $0, plaintext: message, scheme: .aesGCM, aad: Data()) }),
            ("derive", { _ = try await hsm.deriveKey(betaUser, key: $0, peer: peer, derivation: .hkdf(.sha256, outputByteCount: 32), spec: spec) }),
            ("exportPublicKey", { _ = try await hsm.exportPublicKey(betaUser, id: $0, version: nil) }),
            ("exportPlaintext", { _ = try await hsm.exportPlaintext(betaUser, id: $0) }),
            ("exportWrapped", { _ = try await hsm.exportWrapped(betaUser, id: $0, wrappingKey: betaKey.id, scheme: .aesKWP) }),
            ("wrap with", { _ = try await hsm.exportWrapped(betaUser, id: betaKey.id, wrappingKey: $0, scheme: .aesKWP) }),
            (
                "unwrap with",
                {
                    _ = try await hsm.importKey(betaUser, spec: spec, material: .wrapped(Data(count: 40), wrappingKey: $0, scheme: .aesKWP))
                }
            ),
            ("updateKey", { _ = try await hsm.updateKey(betaOfficer, id: $0, update: KeyAttributeUpdate(label: "mine")) }),
            ("rotateKey", { _ = try await hsm.rotateKey(betaOfficer, id: $0) }),
            ("blockKey", { _ = try await hsm.blockKey(betaOfficer, id: $0) }),
            ("destroyKey", { _ = try await hsm.destroyKey(betaOfficer, id: $0) }),
            ("purgeKey", { try await hsm.purgeKey(betaOfficer, id: $0) }),
        ]
        for (what, call) in calls {
            for target in [key.id, aes.id] {
                let unknown = unknownKeyID()
                let missing = await expectHSMError(.notFound) { try await call(unknown) }
                let foreign = await expectHSMError(.notFound) { try await call(target) }
                #expect(foreign != nil, "\(what) reached another partition's key")
                #expect(
                    foreign?.message.replacingOccurrences(of: target, with: "<id>") == missing?.message.replacingOccurrences(of: unknown, with: "<id>"),
                    "\(what): another partition's key reads differently from a missing one")
            }
        }
        // Nothing happened to alpha's keys.
        let after = try await hsm.getKey(alpha.officer.token, id: key.id)
        #expect(after.state == .active && after.label == "alpha-signer" && after.latestVersion == 1)
        // Beta's officer cannot remove alpha's users either.
        await expectHSMError(.notFound) { try await hsm.removeUser(betaOfficer, id: alpha.user.user.id) }
        #expect(try await hsm.random(alpha.user.token, count: 1).count == 1)
    }

    func foreignListings() async throws {
        var alphaKeys: Set<String> = []
        var betaKeys: Set<String> = []
        for label in ["shared-label", "alpha-only"] {
            alphaKeys.insert(try await generate(KeySpec(algorithm: .aes128, label: label)).id)
        }
        for label in ["shared-label", "beta-only"] {
            betaKeys.insert(try await generate(KeySpec(algorithm: .aes128, label: label), by: beta.user).id)
        }
        let destroyed = try await generate(KeySpec(algorithm: .aes128, label: "shared-label"))
        _ = try await hsm.destroyKey(alpha.officer.token, id: destroyed.id)
        alphaKeys.insert(destroyed.id)

        for member in [beta.user, beta.officer, beta.auditor] {
            #expect(try await listedIDs(member, includeDestroyed: true) == betaKeys)
            let byLabel = try await hsm.listKeys(member.token, filter: KeyFilter(label: "shared-label", includeDestroyed: true))
            #expect(byLabel.count == 1 && betaKeys.contains(byLabel[0].id))
        }
        #expect(try await listedIDs(alpha.user, includeDestroyed: true) == alphaKeys)
        // Paging from another partition's id shows only this partition's keys.
        let paged = try await hsm.listKeys(beta.user.token, filter: KeyFilter(includeDestroyed: true, after: "k", limit: 1000))
        #expect(Set(paged.map(\.id)).isDisjoint(with: alphaKeys))
        let betaUsers = Set(try await hsm.listUsers(beta.officer.token).map(\.id))
        let alphaUsers = Set(try await hsm.listUsers(alpha.officer.token).map(\.id))
        #expect(betaUsers.isDisjoint(with: alphaUsers) && betaUsers.count == 4)
        #expect(try await hsm.listUsers(beta.officer.token).allSatisfy { $0.partition == "beta" })
    }

    func requestIDs() async throws {
        let spec = KeySpec(algorithm: .p256, label: "idempotent", requestID: "create-signer-1")
        let first = try await generate(spec)
        let retry = try await generate(spec)
        #expect(retry.id == first.id && retry.publicKey == first.publicKey)
        // Whoever retries, within the partition.
        #expect(try await generate(spec, by: alpha.officer).id == first.id)
        #expect(try await hsm.listKeys(alpha.user.token, filter: KeyFilter(label: "idempotent")).map(\.id) == [first.id])

        let other = try await generate(KeySpec(algorithm: .p256, label: "idempotent", requestID: "create-signer-2"))
        #expect(other.id != first.id)
        // Another partition's request ids are its own.
        let betaKey = try await generate(spec, by: beta.user)
        #expect(betaKey.id != first.id)
        #expect(try await generate(spec, by: beta.user).id == betaKey.id)
        #expect(try await hsm.listKeys(alpha.user.token, filter: KeyFilter(label: "idempotent")).count == 2)

        let importSpec = KeySpec(algorithm: .aes256, label: "imported-once", requestID: "import-1")
        let bytes = try SecretBytes.random(count: 32)
        let imported = try await hsm.importKey(alpha.user.token, spec: importSpec, material: .secret(bytes))
        #expect(try await hsm.importKey(alpha.user.token, spec: importSpec, material: .secret(bytes)).id == imported.id)
        #expect(try await hsm.listKeys(alpha.user.token, filter: KeyFilter(label: "imported-once")).count == 1)
        await expectHSMError(.invalidArgument, "request_id") {
            try await generate(KeySpec(algorithm: .p256, label: "x", requestID: String(repeating: "r", count: 129)))
        }
        // A session key is never stored, so a request id could not make its retry safe: refused,
        // and nothing is created.
        let sessionKeysBefore = try await hsm.listKeys(alpha.user.token, filter: KeyFilter(label: "session-retry")).count
        await expectHSMError(.invalidArgument, "request_id is only for persistent keys") {
            try await generate(KeySpec(algorithm: .p256, label: "session-retry", persistent: false, requestID: "session-1"))
        }
        #expect(try await hsm.listKeys(alpha.user.token, filter: KeyFilter(label: "session-retry")).count == sessionKeysBefore)
    }
}
