import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var governedCases: [Case] {
        [
            Case("a governed key verifies, encrypts, checks MACs and encapsulates as usual; its secret's uses wait for approval or are refused") {
                try await $0.governedKeyUses()
            }
        ]
    }
}

extension HSMFixture {
    /// A key with a `use` rule: what needs its secret (sign, decrypt, MAC) becomes a request, what
    /// has no request form (derive, unwrap, decapsulate) is refused, and the rest runs at once.
    func governedKeyUses() async throws {
        let officer = alpha.officer.token
        let user = alpha.user.token
        _ = try await hsm.registerApprover(officer, name: "ann", publicKey: try PrivateKey.generate(.ed25519).publicKey)
        let policy = KeyPolicy(
            use: ApprovalRule(tokens: [ApprovalToken(groups: [ApproverGroup(approvers: ["ann"], quorum: 1)], timelock: 0, timeout: 3600)]))

        // A signing key: its signatures verify without anybody's approval; signing is a request.
        let local = try PrivateKey.generate(.ed25519)
        let signer = try await hsm.importKey(
            officer, spec: KeySpec(algorithm: .ed25519, label: "governed-signer", policy: policy),
            material: .pkcs8(try local.pkcs8Representation().exportedBytes()))
        let signature = try SigningKey(local).signature(for: .message(message), scheme: .ed25519)
        #expect(try await hsm.verify(user, key: signer.id, input: .message(message), signature: signature, scheme: .ed25519, version: nil))
        #expect(
            try await hsm.verify(user, key: signer.id, input: .message(Data("forged".utf8)), signature: signature, scheme: .ed25519, version: nil)
                == false)
        _ = try await expectApprovalPending(.sign, key: signer.id) {
            try await hsm.sign(user, key: signer.id, input: .message(message), scheme: .ed25519)
        }

        // A secret key: anyone may encrypt under it; decrypting is a request.
        let vault = try await hsm.generateKey(officer, spec: KeySpec(algorithm: .aes256, label: "governed-vault", policy: policy))
        let sealed = try await hsm.encrypt(user, key: vault.id, plaintext: message, scheme: .aesGCM, aad: Data("ctx".utf8))
        #expect(sealed.count > message.count && sealed.range(of: message) == nil)
        _ = try await expectApprovalPending(.decrypt, key: vault.id) {
            try await hsm.decrypt(user, key: vault.id, ciphertext: sealed, scheme: .aesGCM, aad: Data("ctx".utf8))
        }
        // The standard form has no request: a governed key refuses it.
        await expectHSMError(.failedPrecondition, "governed by an approval policy", "decrypt is refused") {
            try await hsm.decryptStandard(
                user, key: vault.id, ciphertext: sealed.dropFirst(17), scheme: .aesGCM,
                parameters: StandardCipherParameters(iv: sealed.dropFirst(5).prefix(12), aad: Data("ctx".utf8)))
        }

        // A MAC key: a tag made with the same secret (on an ungoverned twin) checks; MACing is a request.
        let secret = KeyMaterial.secret(SecretBytes(Data(repeating: 0x5C, count: 32)))
        let macKey = try await hsm.importKey(officer, spec: KeySpec(algorithm: .genericSecret, label: "governed-mac", policy: policy), material: secret)
        let twin = try await hsm.importKey(officer, spec: KeySpec(algorithm: .genericSecret, label: "twin"), material: secret)
        let tag = try await hsm.mac(user, key: twin.id, data: message, hash: .sha256)
        #expect(try await hsm.verifyMAC(user, key: macKey.id, data: message, tag: tag, hash: .sha256))
        #expect(try await hsm.verifyMAC(user, key: macKey.id, data: Data("changed".utf8), tag: tag, hash: .sha256) == false)
        _ = try await expectApprovalPending(.mac, key: macKey.id) { try await hsm.mac(user, key: macKey.id, data: message, hash: .sha256) }
        await expectHSMError(.failedPrecondition, "mac is refused") {
            try await hsm.macStandard(user, key: macKey.id, data: message, hash: .sha256, version: nil)
        }
        #expect(try await hsm.verifyMACStandard(user, key: macKey.id, data: message, tag: tag.dropFirst(5), hash: .sha256, version: nil))

        // A KEM key: encapsulating uses its public key; decapsulating has no request form.
        let kem = try await hsm.generateKey(officer, spec: KeySpec(algorithm: .mlkem768, label: "governed-kem", policy: policy))
        let sent = try await hsm.encapsulate(user, key: kem.id, spec: KeySpec(algorithm: .genericSecret, label: "sent"))
        #expect(!sent.encapsulated.isEmpty)
        await expectHSMError(.failedPrecondition, "governed by an approval policy", "decapsulate is refused") {
            try await hsm.decapsulate(user, key: kem.id, encapsulated: sent.encapsulated, spec: KeySpec(algorithm: .genericSecret, label: "got"))
        }

        // An agreement key: deriving has no request form either.
        let agreement = try await hsm.generateKey(officer, spec: KeySpec(algorithm: .p256, label: "governed-ecdh", policy: policy))
        await expectHSMError(.failedPrecondition, "derive is refused") {
            try await hsm.deriveKey(
                user, key: agreement.id, peer: try PrivateKey.generate(.p256).publicKey,
                derivation: .hkdf(.sha256, outputByteCount: 32), spec: KeySpec(algorithm: .aes256, label: "derived"))
        }
    }
}
