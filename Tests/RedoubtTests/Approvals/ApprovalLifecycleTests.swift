import Foundation
import Redoubt
@testable import RedoubtTesting
import Testing

/// Block, unblock and modify through their rules; policies at creation; export; the challenge format.
@Suite("Approvals: key lifecycle and policies")
struct ApprovalLifecycleTests {
    let clock = TestClock()

    @Test("blocking and unblocking go through their rules; while blocked every use fails, an approved sign included")
    func blockAndUnblock() async throws {
        try await ApprovalKit.with(clock) { kit in
            let policy = KeyPolicy(
                use: ApprovalKit.rule(["ann"], quorum: 1), block: ApprovalKit.rule(["bob"], quorum: 1),
                unblock: ApprovalKit.rule(["cat", "dan"], quorum: 2))
            let key = try await kit.governedSigner(policy)
            await expectHSMError(.permissionDenied) { try await kit.hsm.submitRequest(kit.user, key: key.id, operation: .block) }
            await expectHSMError(.permissionDenied) { try await kit.hsm.blockKey(kit.user, id: key.id) }
            let pendingSign = try await kit.submitSign(key)
            // The direct call submits the block as a request.
            let block = try await expectApprovalPending(.block, key: key.id) { try await kit.hsm.blockKey(kit.officer, id: key.id) }
            #expect(try await kit.hsm.getKey(kit.officer, id: key.id).state == .active)
            #expect(try await kit.approve("bob", block).status == .executed)
            #expect(try await kit.hsm.getKey(kit.officer, id: key.id).state == .blocked)
            // The sign approved while blocked fails; new uses are refused up front.
            let failed = try await kit.approve("ann", pendingSign)
            #expect(failed.status == .failed)
            #expect(failed.failure?.contains("blocked") == true)
            #expect(try await kit.fetch(pendingSign).result == nil)
            await expectHSMError(.failedPrecondition, "blocked") { try await kit.submitSign(key) }
            await expectHSMError(.failedPrecondition, "blocked") {
                try await kit.hsm.sign(kit.user, key: key.id, input: .message(message), scheme: .ed25519)
            }
            let unblock = try await expectApprovalPending(.unblock, key: key.id) { try await kit.hsm.unblockKey(kit.officer, id: key.id) }
            #expect(try await kit.approve("cat", unblock).status == .pending)
            #expect(try await kit.approve("dan", unblock).status == .executed)
            #expect(try await kit.hsm.getKey(kit.officer, id: key.id).state == .active)
            let again = try await kit.submitSign(key)
            try await kit.approve("ann", again)
            try kit.expectSigned(try await kit.fetch(again), by: key)
            #expect(try await kit.audited(.keyBlock, key.id).count == 1)
            #expect(try await kit.audited(.keyUnblock, key.id).count == 1)
        }
    }

    @Test("attributes and the policy change only through the modify rule")
    func modify() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann"], quorum: 1), modify: ApprovalKit.rule(["bob"], quorum: 1)))
            // Rotating and destroying change the key too: not while the modify rule needs approvals.
            await expectHSMError(.failedPrecondition, "modify rule") { try await kit.hsm.destroyKey(kit.officer, id: key.id) }
            await expectHSMError(.failedPrecondition, "modify rule") { try await kit.hsm.rotateKey(kit.officer, id: key.id) }
            let rename = try await expectApprovalPending(.update, key: key.id) {
                try await kit.hsm.updateKey(kit.officer, id: key.id, update: KeyAttributeUpdate(label: "renamed"))
            }
            #expect(rename.operation == .update(KeyAttributeUpdate(label: "renamed")))
            #expect(try await kit.hsm.getKey(kit.officer, id: key.id).label == "governed")
            try await kit.approve("bob", rename)
            #expect(try await kit.hsm.getKey(kit.officer, id: key.id).label == "renamed")
            // A new policy: the use rule becomes empty.
            let relaxed = KeyPolicy(modify: ApprovalKit.rule(["bob"], quorum: 1))
            let change = try await kit.hsm.submitRequest(kit.officer, key: key.id, operation: .setPolicy(relaxed))
            #expect(try await kit.hsm.getKey(kit.officer, id: key.id).policy?.use.isEmpty == false)
            try await kit.approve("bob", change)
            let changed = try await kit.hsm.getKey(kit.officer, id: key.id)
            #expect(changed.policy == relaxed)
            #expect(!changed.extractable)
            #expect(!(try await kit.hsm.sign(kit.user, key: key.id, input: .message(message), scheme: .ed25519)).signature.isEmpty)
            // A policy naming an unregistered approver is refused up front.
            await expectHSMError(.invalidArgument, "operation.policy", "zed") {
                try await kit.hsm.submitRequest(kit.officer, key: key.id, operation: .setPolicy(KeyPolicy(use: ApprovalKit.rule(["zed"], quorum: 1))))
            }
            // With an empty modify rule, a governed key is destroyed directly.
            let loose = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann"], quorum: 1)))
            #expect(try await kit.hsm.destroyKey(kit.officer, id: loose.id).state == .destroyed)
            // A key created without a policy does not get one later.
            let plain = try await kit.hsm.generateKey(kit.officer, spec: KeySpec(algorithm: .ed25519, label: "plain"))
            await expectHSMError(.failedPrecondition, "no approval policy") {
                try await kit.hsm.submitRequest(kit.officer, key: plain.id, operation: .setPolicy(relaxed))
            }
        }
    }

    @Test("a governed key is never extractable; policies are validated with messages naming the field")
    func policiesAtCreation() async throws {
        try await ApprovalKit.with(clock) { kit in
            let policy = KeyPolicy(use: ApprovalKit.rule(["ann"], quorum: 1))
            let aes = try await kit.hsm.generateKey(
                kit.officer,
                spec: KeySpec(
                    algorithm: .aes256, label: "governed aes", extractable: true,
                    sensitive: false, policy: policy))
            #expect(!aes.extractable && aes.neverExtractable)
            #expect(aes.policy == policy)
            let wrapper = try await kit.hsm.generateKey(kit.user, spec: KeySpec(algorithm: .aes256, label: "wrapper"))
            await expectHSMError(.failedPrecondition) { try await kit.hsm.exportPlaintext(kit.user, id: aes.id) }
            await expectHSMError(.failedPrecondition) { try await kit.hsm.exportWrapped(kit.user, id: aes.id, wrappingKey: wrapper.id, scheme: .aesKWP) }
            let cases: [(KeyPolicy, [String])] = [
                (KeyPolicy(use: ApprovalKit.rule(["ann", "bob"], quorum: 0)), ["spec.policy.use.tokens[0].groups[0].quorum"]),
                (KeyPolicy(use: ApprovalKit.rule(["ann", "bob"], quorum: 3)), ["quorum", "1 to 2"]),
                (KeyPolicy(block: ApprovalKit.rule(["ann", "ann"], quorum: 1)), ["spec.policy.block", "twice"]),
                (KeyPolicy(use: ApprovalKit.rule(["nobody"], quorum: 1)), ["spec.policy", "nobody", "not registered"]),
                (KeyPolicy(use: ApprovalKit.rule(["ann"], quorum: 1, timeout: 0)), ["timeout"]),
                (KeyPolicy(use: ApprovalKit.rule(["ann"], quorum: 1, timelock: -1)), ["timelock"]),
                (KeyPolicy(use: ApprovalRule(tokens: [ApprovalToken(groups: [], timeout: 60)])), ["groups"]),
                (
                    KeyPolicy(
                        use: ApprovalRule(tokens: [
                            ApprovalToken(
                                groups: [
                                    ApproverGroup(approvers: ["ann"], quorum: 1),
                                    ApproverGroup(approvers: ["ann", "bob"], quorum: 1),
                                ], timeout: 60)
                        ])),
                    ["another group"]
                ),
            ]
            for (bad, fragments) in cases {
                let error = await expectHSMError(.invalidArgument) {
                    try await kit.hsm.generateKey(kit.officer, spec: KeySpec(algorithm: .p256, label: "bad", policy: bad))
                }
                for fragment in fragments { #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "") lacks \(fragment)") }
            }
            await expectHSMError(.invalidArgument, "session object") {
                try await kit.hsm.generateKey(kit.user, spec: KeySpec(algorithm: .p256, label: "ephemeral", persistent: false, policy: policy))
            }
            // Approvers in use stay; others go.
            await expectHSMError(.failedPrecondition, aes.id) { try await kit.hsm.removeApprover(kit.officer, name: "ann") }
            try await kit.hsm.removeApprover(kit.officer, name: "eve")
            #expect(!(try await kit.hsm.listApprovers(kit.officer)).map(\.name).contains("eve"))
            await expectHSMError(.alreadyExists) {
                try await kit.hsm.registerApprover(kit.officer, name: "ann", publicKey: try PrivateKey.generate(.ed25519).publicKey)
            }
            await expectHSMError(.invalidArgument, "Ed25519, P-256 or ML-DSA-65") {
                try await kit.hsm.registerApprover(kit.officer, name: "rsa", publicKey: try PrivateKey.generate(.p384).publicKey)
            }
        }
    }

    @Test("decrypt and MAC requests run once approved; the plaintext is only for the requester")
    func decryptAndMAC() async throws {
        try await ApprovalKit.with(clock) { kit in
            let policy = KeyPolicy(use: ApprovalKit.rule(["ann"], quorum: 1))
            let aes = try await kit.hsm.generateKey(kit.officer, spec: KeySpec(algorithm: .aes256, label: "vault", policy: KeyPolicy()))
            let ciphertext = try await kit.hsm.encrypt(kit.user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data("ctx".utf8))
            let change = try await kit.hsm.submitRequest(kit.officer, key: aes.id, operation: .setPolicy(policy))
            #expect(change.status == .executed)
            let request = try await kit.hsm.submitRequest(
                kit.user, key: aes.id, operation: .decrypt(ciphertext: ciphertext, scheme: .aesGCM, aad: Data("ctx".utf8)))
            try await kit.approve("ann", request)
            #expect(try await kit.fetch(request).result?.data == message)
            #expect(try await kit.fetch(request, as: kit.f.alpha.auditor.token).result == nil)
            let secret = try await kit.hsm.generateKey(kit.officer, spec: KeySpec(algorithm: .genericSecret, label: "mac", policy: policy))
            let mac = try await kit.hsm.submitRequest(kit.user, key: secret.id, operation: .mac(data: message, hash: .sha256))
            try await kit.approve("ann", mac)
            #expect(try await kit.fetch(mac).result?.data.count == 37)
        }
    }
}
