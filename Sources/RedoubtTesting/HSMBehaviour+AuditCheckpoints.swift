import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var auditCheckpointCases: [Case] {
        [
            Case("an exported audit checkpoint is signed, anchors the chain, and a doctored one is refused") {
                try await $0.auditCheckpoints()
            }
        ]
    }
}

extension HSMFixture {
    func auditCheckpoints() async throws {
        let auditor = alpha.auditor.token
        let key = try await hsm.generateKey(alpha.user.token, spec: KeySpec(algorithm: .p256, label: "checkpointed"))
        _ = try await hsm.sign(alpha.user.token, key: key.id, input: .message(Data("one".utf8)), scheme: .ecdsa(.sha256))
        let first = try await hsm.auditCheckpoint(auditor)
        let log = try await hsm.auditRecords(auditor, from: 1, limit: 1000)
        #expect(first.partition == "alpha")
        #expect(first.sequence == log.last?.sequence, "the checkpoint does not cover the whole log")
        #expect(first.hash.count == 32 && first.publicKey.count == 32 && first.signature.count == 64)
        #expect(first.isSignatureValid(), "the checkpoint's signature does not verify")
        #expect(first.isSignatureValid(pinned: first.publicKey))
        #expect(!first.isSignatureValid(pinned: Data(repeating: 7, count: 32)), "a checkpoint verified against a key it does not carry")

        // The officer's export of the same head names the same key; beta's covers beta's chain.
        let officers = try await hsm.auditCheckpoint(alpha.officer.token)
        #expect(officers.publicKey == first.publicKey && officers.sequence >= first.sequence)
        let betas = try await hsm.auditCheckpoint(beta.auditor.token)
        #expect(betas.partition == "beta" && betas.publicKey == first.publicKey)

        // Later records extend the chain; the kept checkpoint still anchors it.
        _ = try await hsm.sign(alpha.user.token, key: key.id, input: .message(Data("two".utf8)), scheme: .ecdsa(.sha256))
        let verified = try await hsm.verifyAudit(auditor, against: first)
        #expect(verified.isValid, "\(verified.failure ?? "")")
        #expect(verified.anchoredThrough >= first.sequence)
        #expect(verified.records > first.sequence)
        let plain = try await hsm.verifyAudit(auditor)
        #expect(plain.isValid && plain.anchoredThrough >= first.sequence)

        // A doctored checkpoint fails verification with a reason; it is never taken for the HSM's own.
        var later = first
        later.sequence += 1000
        let forged = try await hsm.verifyAudit(auditor, against: later)
        #expect(!forged.isValid && forged.failure?.contains("not signed") == true, "\(forged.failure ?? "valid")")
        var otherHash = first
        otherHash.hash = Data(repeating: 1, count: 32)
        #expect(try await hsm.verifyAudit(auditor, against: otherHash).isValid == false)
        let elsewhere = try await hsm.verifyAudit(auditor, against: betas)
        #expect(!elsewhere.isValid && elsewhere.failure?.contains("partition") == true, "\(elsewhere.failure ?? "valid")")
        // None of that broke the chain itself.
        #expect(try await hsm.verifyAudit(auditor).isValid)
        await expectHSMError(.permissionDenied) { _ = try await hsm.auditCheckpoint(alpha.user.token) }
    }
}
