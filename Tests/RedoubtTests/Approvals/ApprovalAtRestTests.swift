import Foundation
@testable import Redoubt
@testable import RedoubtCore
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// What a request leaves in the store: nothing of the requester's data in the clear.
@Suite("Approvals: requests at rest")
struct ApprovalAtRestTests {
    let clock = TestClock()

    @Test("a pending request's data and an executed one's result are sealed in the store, and a tampered record is refused")
    func sealedAtRest() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann"], quorum: 1)))
            let secretMessage = Data("wire 1,000,000 to account 12345678 — confidential".utf8)
            let pending = try await kit.submitSign(key, secretMessage)
            let objectKey = ObjectKey(partition: pending.partition, kind: "request", id: pending.id)
            let stored = try #require(try await kit.local.store.get(objectKey))
            #expect(stored.data.range(of: secretMessage) == nil, "the data to sign is in the clear in the store")
            #expect(stored.data.range(of: Data(secretMessage.base64EncodedString().utf8)) == nil, "the data to sign is in the store in base64")
            #expect(stored.data.range(of: Data(pending.id.utf8)) == nil, "the record is not sealed")
            // Approvers still see what they approve, and the requester gets the result.
            #expect(try await kit.fetch(pending, as: kit.officer).operation == .sign(input: .message(secretMessage), scheme: .ed25519))
            try await kit.approve("ann", pending)
            let executed = try await kit.fetch(pending)
            try kit.expectSigned(executed, by: key, secretMessage)
            let after = try #require(try await kit.local.store.get(objectKey))
            #expect(after.data.range(of: secretMessage) == nil)
            let signature = try #require(executed.result?.data)
            #expect(after.data.range(of: signature) == nil, "the result is in the clear in the store")

            // A flipped byte in the sealed record: refused as unreadable, never read as another request.
            var damaged = after.data
            damaged[damaged.count / 2] ^= 0x01
            try await kit.local.store.commit([.update(objectKey, expectedRevision: after.revision, label: key.id, data: damaged)])
            await expectHSMError(.internalError, "cannot be unsealed") { try await kit.fetch(pending) }
        }
    }
}
