import Foundation
@testable import Redoubt
@testable import RedoubtTesting
@testable import RedoubtCore
import Testing

/// The audit operation names come from one catalogue, ``AuditOperation``, and LocalHSM writes no other.
@Suite("Audit: the operation catalogue")
struct AuditCatalogueTests {
    let clock = TestClock()

    @Test("every name has the form <object>.<verb>, and no name is listed twice")
    func namesAreWellFormedAndUnique() throws {
        let form = try Regex("^[a-z_]+\\.[a-z_]+$")
        for operation in AuditOperation.allCases {
            #expect(operation.rawValue.wholeMatch(of: form) != nil, "\(operation) is not <object>.<verb>")
            #expect(operation.description == operation.rawValue)
            #expect(AuditOperation(rawValue: operation.rawValue) == operation)
        }
        let names = AuditOperation.allCases.map(\.rawValue)
        let twice = Dictionary(grouping: names) { $0 }.filter { $1.count > 1 }.keys.sorted()
        #expect(Set(names).count == names.count, "listed twice: \(twice)")
    }

    @Test("a name outside the catalogue (one an older version wrote) reads as no kind, and is kept as written")
    func unknownNames() throws {
        #expect(AuditOperation(rawValue: "request.approved") == nil)
        #expect(AuditOperation(rawValue: "key.generate.session") == nil)
        #expect(AuditOperation(rawValue: "") == nil)
        let old = AuditRecord(
            sequence: 1, time: Date(), actor: "u", role: "SECURITY_OFFICER", session: "s",
            operation: "request.rejected", object: "r", result: "ok")
        #expect(old.kind == nil)
        #expect(old.operation == "request.rejected")
        var current = old
        current.operation = AuditOperation.requestDeny.rawValue
        #expect(current.kind == .requestDeny)
        // On the wire the name is its string.
        #expect(try JSONEncoder().encode([AuditOperation.keySign]) == Data("[\"key.sign\"]".utf8))
        #expect(try JSONDecoder().decode([AuditOperation].self, from: Data("[\"request.grant\"]".utf8)) == [.requestGrant])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([AuditOperation].self, from: Data("[\"key.nope\"]".utf8)) }
    }

    @Test("every record LocalHSM writes names an operation of the catalogue, approvals included")
    func localHSMWritesOnlyCataloguedNames() async throws {
        try await ApprovalKit.with(clock) { kit in
            let hsm = kit.hsm
            let (officer, user) = (kit.officer, kit.user)

            // Keys: stored and session objects, their use, their lifecycle.
            let signer = try await hsm.generateKey(officer, spec: KeySpec(algorithm: .p256, label: "signer"))
            let peer = try await hsm.generateKey(officer, spec: KeySpec(algorithm: .p256, label: "peer"))
            let aes = try await hsm.generateKey(
                officer,
                spec: KeySpec(
                    algorithm: .aes256, label: "aes", extractable: true,
                    sensitive: false))
            let ephemeral = try await hsm.generateKey(
                user,
                spec: KeySpec(
                    algorithm: .aes256, label: "ephemeral",
                    persistent: false))
            let signature = try await hsm.sign(user, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
            #expect(
                try await hsm.verify(
                    user, key: signer.id, input: .message(message), signature: signature.signature,
                    scheme: .ecdsa(.sha256), version: nil))
            let sealed = try await hsm.encrypt(user, key: ephemeral.id, plaintext: message, scheme: .aesGCM, aad: Data())
            #expect(try await hsm.decrypt(user, key: ephemeral.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == message)
            let kdf = KeyDerivation.hkdf(.sha256, salt: Data("salt".utf8), info: Data("catalogue".utf8), outputByteCount: 32)
            let peerKey = try await hsm.exportPublicKey(user, id: peer.id, version: nil)
            _ = try await hsm.deriveKey(
                user, key: signer.id, peer: peerKey, derivation: kdf,
                spec: KeySpec(algorithm: .aes256, label: "derived"))
            _ = try await hsm.deriveKey(
                user, key: signer.id, peer: peerKey, derivation: kdf,
                spec: KeySpec(algorithm: .aes256, label: "derived", persistent: false))
            _ = try await hsm.exportPlaintext(user, id: aes.id)
            _ = try await hsm.random(user, count: 16)
            await expectHSMError(.notFound) {
                try await hsm.sign(user, key: unknownKeyID(), input: .message(message), scheme: .ecdsa(.sha256))
            }
            _ = try await hsm.updateKey(officer, id: aes.id, update: KeyAttributeUpdate(label: "renamed"))
            _ = try await hsm.rotateKey(officer, id: aes.id)
            _ = try await hsm.blockKey(officer, id: aes.id)
            _ = try await hsm.unblockKey(officer, id: aes.id)
            _ = try await hsm.destroyKey(officer, id: aes.id)
            _ = try await hsm.restoreKey(officer, id: aes.id)
            _ = try await hsm.destroyKey(officer, id: aes.id)
            try await hsm.purgeKey(officer, id: aes.id)
            let certificate = try await hsm.createCertificate(
                officer, spec: CertificateSpec(label: "cert", certificateDER: HSMBehaviour.testCertificate))
            try await hsm.deleteCertificate(officer, id: certificate.id)

            // Requests: one submitted, approved (granted, behind a timelock) and executed; one rejected;
            // one expired; one refused decision.
            let rule = ApprovalKit.rule(["ann", "bob"], quorum: 2, timelock: 60, timeout: 600)
            let governed = try await kit.governedSigner(KeyPolicy(use: rule))
            let approved = try await kit.submitSign(governed)
            try await kit.approve("ann", approved)
            #expect(try await kit.approve("bob", approved).status == .approved)
            clock.advance(by: 61)
            try kit.expectSigned(try await kit.fetch(approved), by: governed)
            let rejected = try await kit.submitSign(governed)
            #expect(try await kit.reject("ann", rejected).status == .rejected)
            await expectHSMError(.failedPrecondition) { try await kit.approve("bob", rejected) }
            let expired = try await kit.submitSign(governed)
            clock.advance(by: 601)
            #expect(try await kit.fetch(expired, as: officer).status == .expired)

            // Users, approvers, sessions, and the cluster level.
            let extra = try await hsm.addUser(officer, name: "extra", role: .auditor, password: nil)
            try await hsm.removeUser(officer, id: extra.user.id)
            try await hsm.removeApprover(officer, name: "april")
            let short = try await hsm.openSession(partition: "alpha", credential: .apiKey(kit.f.alpha.auditor.apiKey))
            try await hsm.closeSession(short.token)
            await expectHSMError(.unauthenticated) {
                try await hsm.openSession(
                    partition: "alpha",
                    credential: .password(user: HSMFixture.userName, password: "not it!"))
            }
            let operatorToken = try await hsm.openSession(partition: "", credential: .apiKey(kit.f.operatorAPIKey)).token
            _ = try await hsm.updatePartition(operatorToken, id: "beta", settings: .defaults)
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("redoubt-catalogue-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let local = try kit.local
            try await local.backup(operatorToken, to: directory.appendingPathComponent("one.backup").path)
            try await local.scheduledBackup(to: directory.appendingPathComponent("two.backup").path)

            let alpha = try await kit.f.auditLog()
            let cluster = try await hsm.auditRecords(operatorToken, from: 1, limit: 1000)
            for record in alpha + cluster {
                #expect(record.kind != nil, "'\(record.operation)' (record \(record.sequence)) is not in the catalogue")
            }

            let kinds = Set((alpha + cluster).compactMap(\.kind))
            let expected: [AuditOperation] = [
                .clusterInit, .partitionCreate, .partitionUpdate, .userAdd, .userRemove, .sessionOpen, .sessionClose,
                .keyGenerate, .keyGenerateSession, .keyStoreDerived, .keyStoreDerivedSession,
                .keyUpdate, .keyRotate, .keyBlock, .keyUnblock, .keyDestroy, .keyRestore, .keyPurge,
                .certificateCreate, .certificateDelete, .keySign, .keyVerify, .keyEncrypt, .keyDecrypt, .keyDerive, .keyExportPlaintext, .randomGenerate,
                .approverRegister, .approverRemove,
                .requestSubmit, .requestApprove, .requestReject, .requestGrant, .requestDeny, .requestExpire, .requestExecute,
                .backupCreate, .backupCreateScheduled,
            ]
            #expect(expected.filter { !kinds.contains($0) } == [], "not recorded")

            // The approved request: submitted, two approvals, granted, the signature, executed — in that order.
            let approvedTrail = alpha.filter {
                $0.object.hasPrefix(approved.id) || ($0.kind == .keySign && $0.object == governed.id)
            }
            #expect(
                approvedTrail.compactMap(\.kind)
                    == [.requestSubmit, .requestApprove, .requestApprove, .requestGrant, .keySign, .requestExecute])
            #expect(
                approvedTrail.filter { $0.kind == .requestApprove }.map(\.object)
                    == ["\(approved.id):ann", "\(approved.id):bob"])
            // The rejected one: submitted, rejected by ann, denied; bob's late approval refused and recorded as such.
            let rejectedTrail = alpha.filter { $0.object.hasPrefix(rejected.id) }
            #expect(
                rejectedTrail.map { "\($0.operation) \($0.result)" } == [
                    "\(AuditOperation.requestSubmit) ok", "\(AuditOperation.requestReject) ok", "\(AuditOperation.requestDeny) ok",
                    "\(AuditOperation.requestApprove) FAILED_PRECONDITION",
                ])
            #expect(alpha.filter { $0.object == expired.id }.compactMap(\.kind) == [.requestSubmit, .requestExpire])
        }
    }
}
