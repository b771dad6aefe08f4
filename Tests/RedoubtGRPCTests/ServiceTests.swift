import Foundation
import GRPCCore
import Redoubt
import RedoubtCrypto
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtProto
import SwiftProtobuf
import Testing

/// One happy path per service, through the real generated clients.
@Suite("Broker services end to end")
struct ServiceTests {
    @Test func sessionService() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            // A password user opens a session with the credential in the message.
            _ = try await h.hsm.addUser(SessionToken(t.officerToken), name: "pat", role: .auditor, password: "correct horse battery")
            var request = Redoubt_V1_OpenSessionRequest()
            request.partitionID = t.partition
            request.password.username = "pat"
            request.password.password = "correct horse battery"
            let opened = try await h.sessions.openSession(request)
            #expect(opened.role == .auditor)
            #expect(opened.partitionID == t.partition)
            #expect(opened.idleTimeout.seconds == 1800)
            _ = try await h.sessions.closeSession(Redoubt_V1_CloseSessionRequest(), metadata: BrokerHarness.bearer(opened.token))
            await expectStatus(.unauthenticated, "") {
                _ = try await h.sessions.closeSession(Redoubt_V1_CloseSessionRequest(), metadata: BrokerHarness.bearer(opened.token))
            }
        }
    }

    @Test func partitionService() async throws {
        try await BrokerHarness.run { h in
            let op = BrokerHarness.bearer(try await h.openSession(partition: "", apiKey: h.operatorAPIKey))
            for id in ["c", "a", "b"] {
                var create = Redoubt_V1_CreatePartitionRequest()
                create.partitionID = id
                if id == "c" { create.settings.maximumObjects = 5 }
                let created = try await h.partitions.createPartition(create, metadata: op)
                #expect(created.partition.settings.maximumObjects == (id == "c" ? 5 : 100_000))
                #expect(created.securityOfficerApiKey.hasPrefix("rdk1."))
            }
            var list = Redoubt_V1_ListPartitionsRequest()
            list.pageSize = 2
            let first = try await h.partitions.listPartitions(list, metadata: op)
            #expect(first.partitions.map(\.id) == ["a", "b"])
            list.pageToken = first.nextPageToken
            let second = try await h.partitions.listPartitions(list, metadata: op)
            #expect(second.partitions.map(\.id) == ["c"])
            #expect(second.nextPageToken.isEmpty)
            var update = Redoubt_V1_UpdatePartitionRequest()
            update.partitionID = "c"
            update.settings.readOnly = true
            update.settings.allowedSources.cidrs = ["10.0.0.0/8"]
            let updated = try await h.partitions.updatePartition(update, metadata: op).partition.settings
            #expect(updated.readOnly && updated.maximumObjects == 5 && updated.allowedSources.cidrs == ["10.0.0.0/8"])
        }
    }

    @Test func userService() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            var add = Redoubt_V1_AddUserRequest()
            add.name = "carol"
            add.role = .auditor
            add.password = "a long enough password"
            add.clientCertificateSha256 = Data(repeating: 7, count: 32)
            let added = try await h.users.addUser(add, metadata: t.officer)
            #expect(added.user.hasPassword_p && added.user.hasClientCertificate_p)
            let listed = try await h.users.listUsers(Redoubt_V1_ListUsersRequest(), metadata: t.officer)
            #expect(Set(listed.users.map(\.name)) == ["officer", "alice", "carol"])
            _ = try await h.users.removeUser(Redoubt_V1_RemoveUserRequest(id: added.user.id), metadata: t.officer)
            let after = try await h.users.listUsers(Redoubt_V1_ListUsersRequest(), metadata: t.officer)
            #expect(!after.users.contains { $0.id == added.user.id })
        }
    }

    @Test func keyService() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            let created = try await h.keys.createKey(
                Redoubt_V1_CreateKeyRequest(spec: KeySpec(algorithm: .p256, label: "signer", requestID: "r1")),
                metadata: t.user
            ).key
            #expect(created.algorithm == .ecP256 && created.hasPublicKey)
            let retried = try await h.keys.createKey(
                Redoubt_V1_CreateKeyRequest(spec: KeySpec(algorithm: .p256, label: "signer", requestID: "r1")),
                metadata: t.user
            ).key
            #expect(retried.id == created.id)
            #expect(try await h.keys.getKey(Redoubt_V1_GetKeyRequest(keyID: created.id), metadata: t.user).key == created)
            var update = Redoubt_V1_UpdateKeyRequest()
            update.keyID = created.id
            update.label = "renamed"
            #expect(try await h.keys.updateKey(update, metadata: t.officer).key.label == "renamed")
            #expect(try await h.keys.rotateKey(Redoubt_V1_RotateKeyRequest(keyID: created.id), metadata: t.officer).key.latestVersion == 2)
            #expect(try await h.keys.blockKey(Redoubt_V1_BlockKeyRequest(keyID: created.id), metadata: t.officer).key.state == .blocked)
            #expect(try await h.keys.unblockKey(Redoubt_V1_UnblockKeyRequest(keyID: created.id), metadata: t.officer).key.state == .active)
            let pub = try await h.keys.exportPublicKey(Redoubt_V1_ExportPublicKeyRequest(id: created.id, version: 1), metadata: t.user).publicKey
            #expect(pub.algorithm == .ecP256 && !pub.spkiDer.isEmpty)
            // Import the public key, a secret, and a wrapped copy of an extractable key.
            var importPublic = Redoubt_V1_ImportKeyRequest()
            importPublic.spec.algorithm = .ecP256
            importPublic.spec.label = "peer"
            importPublic.spkiDer = pub.spkiDer
            let imported = try await h.keys.importKey(importPublic, metadata: t.user).key
            #expect(Set(imported.usages) == [.verify])
            let secret = try await h.keys.importKey(
                Redoubt_V1_ImportKeyRequest(
                    spec: KeySpec(algorithm: .aes256, label: "s", extractable: true, sensitive: false),
                    material: .secret(SecretBytes(Data(repeating: 3, count: 32)))),
                metadata: t.user
            ).key
            #expect(
                try await h.keys.exportPlaintext(Redoubt_V1_ExportPlaintextRequest(keyID: secret.id), metadata: t.user).keyMaterial
                    == Data(repeating: 3, count: 32))
            let kek = try await h.key(t, .aes256)
            let wrapped = try await h.keys.exportWrapped(
                Redoubt_V1_ExportWrappedRequest(id: secret.id, wrappingKey: kek.id, scheme: .aesKWP),
                metadata: t.user
            ).wrappedKey
            let unwrapped = try await h.keys.importKey(
                Redoubt_V1_ImportKeyRequest(
                    spec: KeySpec(algorithm: .aes256, label: "u"),
                    material: .wrapped(wrapped, wrappingKey: kek.id, scheme: .aesKWP)),
                metadata: t.user
            ).key
            #expect(!unwrapped.local)
            // Paging over keys.
            var list = Redoubt_V1_ListKeysRequest()
            list.pageSize = 2
            var seen: [String] = []
            repeat {
                let page = try await h.keys.listKeys(list, metadata: t.user)
                seen += page.keys.map(\.id)
                list.pageToken = page.nextPageToken
            } while !list.pageToken.isEmpty
            #expect(seen.count == 5 && seen == seen.sorted())
            #expect(try await h.keys.destroyKey(Redoubt_V1_DestroyKeyRequest(keyID: imported.id), metadata: t.officer).key.state == .destroyed)
            #expect(try await h.keys.restoreKey(Redoubt_V1_RestoreKeyRequest(keyID: imported.id), metadata: t.officer).key.state == .active)
            _ = try await h.keys.destroyKey(Redoubt_V1_DestroyKeyRequest(keyID: imported.id), metadata: t.officer)
            _ = try await h.keys.purgeKey(Redoubt_V1_PurgeKeyRequest(keyID: imported.id), metadata: t.officer)
            await expectStatus(.notFound, "") { _ = try await h.keys.getKey(Redoubt_V1_GetKeyRequest(keyID: imported.id), metadata: t.user) }
        }
    }

    @Test func cryptoService() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            let signer = try await h.key(t, .p256)
            let message = SigningInput.message(Data("hello".utf8))
            let signed = try await h.crypto.sign(
                Redoubt_V1_SignRequest(key: signer.id, input: message, scheme: .ecdsa(.sha256, encoding: .raw)), metadata: t.user)
            #expect(signed.signature.count == 64 && signed.keyVersion == 1)
            #expect(
                try await h.crypto.verify(
                    Redoubt_V1_VerifyRequest(
                        key: signer.id, input: message, signature: signed.signature,
                        scheme: .ecdsa(.sha256, encoding: .raw), version: 1), metadata: t.user
                ).valid)
            let aes = try await h.key(t, .aes256)
            let ct = try await h.crypto.encrypt(
                Redoubt_V1_EncryptRequest(key: aes.id, plaintext: Data("p".utf8), scheme: .aesGCM, aad: Data([1])), metadata: t.user
            ).ciphertext
            #expect(
                try await h.crypto.decrypt(Redoubt_V1_DecryptRequest(key: aes.id, ciphertext: ct, scheme: .aesGCM, aad: Data([1])), metadata: t.user).plaintext
                    == Data("p".utf8))
            let secret = try await h.key(t, .genericSecret)
            let tag = try await h.crypto.mac(Redoubt_V1_MacRequest(key: secret.id, data: Data([5]), hash: .sha256), metadata: t.user).tag
            #expect(try await h.crypto.verifyMac(Redoubt_V1_VerifyMacRequest(key: secret.id, data: Data([5]), tag: tag, hash: .sha256), metadata: t.user).valid)
            #expect(try await h.crypto.random(Redoubt_V1_RandomRequest(count: 33), metadata: t.user).data.count == 33)
            // Wrap and unwrap.
            let movable = try await h.key(t, .aes128, extractable: true)
            let blob = try await h.crypto.wrap(Redoubt_V1_WrapRequest(id: movable.id, wrappingKey: aes.id, scheme: .aesGCM), metadata: t.user).wrappedKey
            let back = try await h.crypto.unwrap(
                Redoubt_V1_UnwrapRequest(
                    wrappedKey: blob, wrappingKey: aes.id, scheme: .aesGCM,
                    spec: KeySpec(algorithm: .aes128, label: "back")), metadata: t.user
            ).key
            #expect(back.algorithm == .aes128)
            // Key agreement with a peer.
            let ecdh = try await h.key(t, .p256)
            let peer = try PrivateKey.generate(.p256).publicKey
            let derived = try await h.crypto.deriveKey(
                Redoubt_V1_DeriveKeyRequest(
                    key: ecdh.id, peer: peer, derivation: .hkdf(.sha256, outputByteCount: 32),
                    spec: KeySpec(algorithm: .aes256, label: "d")), metadata: t.user
            ).key
            #expect(derived.algorithm == .aes256)
            // ML-KEM.
            let kem = try await h.key(t, .mlkem768)
            let enc = try await h.crypto.encapsulate(
                Redoubt_V1_EncapsulateRequest(key: kem.id, spec: KeySpec(algorithm: .aes256, label: "e")), metadata: t.user)
            let dec = try await h.crypto.decapsulate(
                Redoubt_V1_DecapsulateRequest(
                    key: kem.id, encapsulated: enc.encapsulatedKey,
                    spec: KeySpec(algorithm: .aes256, label: "f")), metadata: t.user)
            #expect(dec.key.algorithm == .aes256 && enc.key.algorithm == .aes256)
        }
    }

    @Test("batches: one result per item in order, a bad item gets its own ErrorDetail")
    func batches() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            let signer = try await h.key(t, .ed25519)
            var items = (0..<100).map { Redoubt_V1_SignRequest(key: signer.id, input: .message(Data("m\($0)".utf8)), scheme: .ed25519) }
            items[37].keyID = "k_missing"
            items[50].scheme = Redoubt_V1_SignatureScheme()
            let response = try await h.crypto.signBatch(Redoubt_V1_SignBatchRequest(items: items), metadata: t.user)
            let outcomes = response.outcomes
            #expect(outcomes.count == 100)
            for (i, outcome) in outcomes.enumerated() {
                switch (i, outcome) {
                case (37, .failure(let e)): #expect(e.code == .notFound)
                case (50, .failure(let e)): #expect(e.code == .invalidArgument && e.message.hasPrefix("items[50].scheme"))
                case (_, .success(let r)):
                    let valid = try await h.hsm.verify(
                        SessionToken(t.userToken), key: signer.id, input: .message(Data("m\(i)".utf8)),
                        signature: r.signature, scheme: .ed25519, version: nil)
                    #expect(valid, "item \(i) is out of order")
                default: Issue.record("item \(i): unexpected \(outcome)")
                }
            }
            let verify = (0..<3).map { i in
                Redoubt_V1_VerifyRequest(
                    key: signer.id, input: .message(Data("m\(i)".utf8)),
                    signature: (try? outcomes[i].get().signature) ?? Data(), scheme: .ed25519, version: nil)
            }
            let verified = try await h.crypto.verifyBatch(Redoubt_V1_VerifyBatchRequest(items: verify), metadata: t.user)
            #expect(verified.outcomes.allSatisfy { (try? $0.get().valid) == true })
            let aes = try await h.key(t, .aes256)
            let encrypted = try await h.crypto.encryptBatch(
                Redoubt_V1_EncryptBatchRequest(
                    items: (0..<5).map {
                        Redoubt_V1_EncryptRequest(key: aes.id, plaintext: Data([UInt8($0)]), scheme: .aesGCM, aad: Data())
                    }), metadata: t.user)
            let decrypted = try await h.crypto.decryptBatch(
                Redoubt_V1_DecryptBatchRequest(
                    items: encrypted.outcomes.map {
                        Redoubt_V1_DecryptRequest(key: aes.id, ciphertext: (try? $0.get().ciphertext) ?? Data(), scheme: .aesGCM, aad: Data())
                    }), metadata: t.user)
            #expect(decrypted.outcomes.map { try? $0.get().plaintext } == (0..<5).map { Data([UInt8($0)]) })
            let secret = try await h.key(t, .genericSecret)
            let macs = try await h.crypto.macBatch(
                Redoubt_V1_MacBatchRequest(items: [Redoubt_V1_MacRequest(key: secret.id, data: Data(), hash: .sha512)]),
                metadata: t.user)
            #expect(macs.outcomes.count == 1)
            // An invalid session fails the whole call.
            await expectStatus(.unauthenticated, "") {
                _ = try await h.crypto.signBatch(Redoubt_V1_SignBatchRequest(items: items), metadata: BrokerHarness.bearer("rds1.x.y"))
            }
        }
    }

    @Test("SignStream answers every request by id, bad ones with an ErrorDetail")
    func signStream() async throws {
        try await BrokerHarness.run(limits: BrokerLimits(maximumStreamInFlight: 4)) { h in
            let t = try await h.tenant()
            let signer = try await h.key(t, .ed25519)
            let count = 50
            let answers = try await h.crypto.signStream(
                metadata: t.user,
                requestProducer: { writer in
                    for i in 0..<count {
                        var request = Redoubt_V1_SignRequest(key: signer.id, input: .message(Data("m\(i)".utf8)), scheme: .ed25519)
                        if i == 7 { request.keyID = "" }
                        try await writer.write(Redoubt_V1_SignStreamRequest(id: UInt64(1000 + i), request: request))
                    }
                },
                onResponse: { response in
                    var answers: [UInt64: Result<SignatureResult, HSMError>] = [:]
                    for try await answer in response.messages { answers[answer.id] = answer.outcome }
                    return answers
                })
            #expect(answers.count == count)
            if case .failure(let e)? = answers[1007] {
                #expect(e.code == .invalidArgument && e.message.contains("request.key_id"))
            } else {
                Issue.record("request 7 should fail")
            }
            if case .success(let r)? = answers[1003] {
                #expect(
                    try await h.hsm.verify(
                        SessionToken(t.userToken), key: signer.id, input: .message(Data("m3".utf8)),
                        signature: r.signature, scheme: .ed25519, version: nil))
            } else {
                Issue.record("request 3 should succeed")
            }
        }
    }

    @Test func auditService() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            _ = try await h.key(t, .aes128)
            let records = try await h.audit.listAuditRecords(Redoubt_V1_ListAuditRecordsRequest(from: 0, limit: 2), metadata: t.officer).records
            #expect(records.map(\.sequence) == [1, 2])
            let next = try await h.audit.listAuditRecords(Redoubt_V1_ListAuditRecordsRequest(from: 3, limit: 0), metadata: t.officer).records
            #expect(next.first?.sequence == 3)
            let verified = try await h.audit.verifyAudit(Redoubt_V1_VerifyAuditRequest(), metadata: t.officer)
            #expect(verified.valid && verified.recordsChecked >= 3 && verified.failure.isEmpty)
        }
    }

    @Test("CreateBackup streams progress and ends with the summary; the file is in the backup folder")
    func backupService() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            _ = try await h.key(t, .aes256)
            let events = try await h.backups.createBackup(
                Redoubt_V1_CreateBackupRequest(path: "one.rdbk", partition: nil, overwrite: false),
                metadata: t.operatorMetadata,
                onResponse: { response in
                    var events: [Redoubt_V1_CreateBackupResponse] = []
                    for try await event in response.messages { events.append(event) }
                    return events
                })
            #expect(events.isEmpty == false)
            #expect(events.dropLast().allSatisfy { if case .progress = $0.event { true } else { false } })
            guard case .summary(let summary)? = events.last?.event else {
                Issue.record("no summary")
                return
            }
            #expect(summary.recordCount > 0 && summary.sizeBytes > 0 && summary.partitionID.isEmpty)
            #expect(summary.path.hasSuffix("/one.rdbk"))
            #expect(FileManager.default.fileExists(atPath: summary.path))
            #expect(summary.path.hasPrefix(h.backupDirectory.resolvingSymlinksInPath().path))
        }
    }
}
