import Foundation
import Redoubt
@testable import RedoubtTesting
import Testing

/// A direct call of an operation a key's policy governs: it returns a PENDING request instead of
/// a result (``HSMError/approvalPending(_:)``), the same request ``HSM/submitRequest(_:key:operation:)`` makes.
@Suite("Approvals: direct calls on governed keys")
struct ApprovalDirectCallTests {
    let clock = TestClock()

    @Test("a direct sign returns a pending request; approvers see it and approve it; it runs once and the requester fetches a valid signature")
    func directSign() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann", "april"], quorum: 2)))
            let pending = try await expectApprovalPending(.sign, key: key.id) {
                try await kit.hsm.sign(kit.user, key: key.id, input: .message(message), scheme: .ed25519)
            }
            #expect(pending.operation == .sign(input: .message(message), scheme: .ed25519))
            #expect(pending.rule == ApprovalKit.rule(["ann", "april"], quorum: 2))
            // Audited as a submission, not as a use: nothing was signed.
            #expect(try await kit.audited(.requestSubmit, pending.id).count == 1)
            #expect(try await kit.audited(.keySign, key.id).isEmpty)
            // The requester and the approvers the rule names see it.
            #expect(try await kit.fetch(pending).status == .pending)
            let april = kit.f.alpha.approver.token
            let seen = try await kit.hsm.listRequests(april, filter: ApprovalRequestFilter(status: .pending, keyID: key.id))
            #expect(seen.map(\.id) == [pending.id])
            #expect(try await kit.approve("ann", pending).status == .pending)
            let done = try await kit.hsm.approveRequest(april, id: pending.id, approver: "april", signature: try kit.signature("april", pending))
            #expect(done.status == .executed)
            try kit.expectSigned(try await kit.fetch(pending), by: key)
            // Once: one execution, one use, and no more decisions.
            #expect(try await kit.audited(.requestExecute, pending.id).count == 1)
            #expect(try await kit.audited(.keySign, key.id).count == 1)
            await expectHSMError(.failedPrecondition, "EXECUTED") { try await kit.approve("ann", pending) }
            // Each direct call is a request of its own.
            let second = try await expectApprovalPending(.sign, key: key.id) {
                try await kit.hsm.sign(kit.user, key: key.id, input: .message(message), scheme: .ed25519)
            }
            #expect(second.id != pending.id)
        }
    }

    @Test("a direct block on a key with a block rule is a pending request until approved; empty rules run directly")
    func directBlock() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(block: ApprovalKit.rule(["bob"], quorum: 1)))
            // The use rule is empty: signing runs at once, as without a policy.
            let signature = try await kit.hsm.sign(kit.user, key: key.id, input: .message(message), scheme: .ed25519)
            #expect(
                try await kit.hsm.verify(
                    kit.user, key: key.id, input: .message(message), signature: signature.signature,
                    scheme: .ed25519, version: nil))
            let block = try await expectApprovalPending(.block, key: key.id) { try await kit.hsm.blockKey(kit.officer, id: key.id) }
            #expect(try await kit.hsm.getKey(kit.officer, id: key.id).state == .active)
            #expect(try await kit.audited(.requestSubmit, block.id).count == 1)
            #expect(try await kit.audited(.keyBlock, key.id).isEmpty)
            #expect(try await kit.approve("bob", block).status == .executed)
            #expect(try await kit.hsm.getKey(kit.officer, id: key.id).state == .blocked)
            #expect(try await kit.audited(.keyBlock, key.id).count == 1)
            // The unblock rule is empty: unblocking runs at once.
            #expect(try await kit.hsm.unblockKey(kit.officer, id: key.id).state == .active)
        }
    }

    @Test("a direct call that cannot be a request fails as submitRequest fails, and creates none")
    func directRefusals() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann"], quorum: 1)))
            let big = Data(repeating: 7, count: (1 << 16) + 1)
            await expectHSMError(.invalidArgument, "at most") {
                try await kit.hsm.sign(kit.user, key: key.id, input: .message(big), scheme: .ed25519)
            }
            // Roles as for submitting: signing is for crypto users.
            await expectHSMError(.permissionDenied) {
                try await kit.hsm.sign(kit.officer, key: key.id, input: .message(message), scheme: .ed25519)
            }
            #expect(try await kit.hsm.listRequests(kit.officer, filter: ApprovalRequestFilter(keyID: key.id)).isEmpty)
        }
    }
}
