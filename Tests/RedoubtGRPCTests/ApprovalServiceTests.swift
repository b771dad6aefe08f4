import Foundation
import GRPCCore
import Redoubt
@testable import RedoubtTesting
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtProto
import Testing

/// ApprovalService through the broker as deployed, called by ``RemoteHSM`` (every conversion in
/// both directions) and by the generated client.
@Suite("ApprovalService over the broker")
struct ApprovalServiceTests {
    @Test("register approvers, create a governed key, submit, approve offline-signed challenges, fetch the result")
    func roundTrip() async throws {
        let served = try await RemoteHSMSupport.serve()
        let remote: RemoteHSM
        do {
            remote = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(served.port)")).start()
        } catch {
            await served.stop()
            throw error
        }
        do {
            let f = try await HSMFixture.make(remote, operatorAPIKey: served.operatorAPIKey)
            let officer = f.alpha.officer.token
            let ann = try PrivateKey.generate(.ed25519), bob = try PrivateKey.generate(.mldsa65)
            let registered = try await remote.registerApprover(officer, name: "ann", publicKey: ann.publicKey)
            #expect(registered.publicKey == ann.publicKey)
            _ = try await remote.registerApprover(officer, name: "bob", publicKey: bob.publicKey)
            #expect(try await remote.listApprovers(officer).map(\.name).sorted() == ["ann", "bob"])

            let policy = KeyPolicy(
                use: ApprovalRule(tokens: [
                    ApprovalToken(
                        groups: [ApproverGroup(approvers: ["ann", "bob"], quorum: 2)],
                        timelock: 0, timeout: 3600)
                ]))
            let key = try await remote.generateKey(officer, spec: KeySpec(algorithm: .ed25519, label: "treasury", extractable: true, policy: policy))
            #expect(key.policy == policy)
            #expect(!key.extractable)
            // A direct Sign answers the request it created, as LocalHSM throws it.
            let direct = try await expectApprovalPending(.sign, key: key.id) {
                try await remote.sign(f.alpha.user.token, key: key.id, input: .message(message), scheme: .ed25519)
            }
            #expect(direct.operation == .sign(input: .message(message), scheme: .ed25519))
            #expect(try await remote.getRequest(officer, id: direct.id).status == .pending)
            let request = try await remote.submitRequest(
                f.alpha.user.token, key: key.id,
                operation: .sign(input: .message(message), scheme: .ed25519))
            #expect(request.status == .pending)
            #expect(request.operation == .sign(input: .message(message), scheme: .ed25519))
            let challenge = try ApprovalChallenge.parse(request.approveChallenge)
            #expect(challenge.requestID == request.id && challenge.keyID == key.id)

            let annSignature = try SigningKey(ann).signature(for: .message(request.approveChallenge), scheme: .ed25519)
            await expectHSMError(.invalidArgument, "signature") {
                try await remote.approveRequest(officer, id: request.id, approver: "bob", signature: annSignature)
            }
            #expect(try await remote.approveRequest(officer, id: request.id, approver: "ann", signature: annSignature).status == .pending)
            let bobSignature = try SigningKey(bob).signature(for: .message(request.approveChallenge), scheme: .mldsa())
            let done = try await remote.approveRequest(officer, id: request.id, approver: "bob", signature: bobSignature)
            #expect(done.status == .executed)
            #expect(done.decisions.map(\.approver) == ["ann", "bob"])
            let fetched = try await remote.getRequest(f.alpha.user.token, id: request.id)
            let result = try #require(fetched.result)
            #expect(try VerifyingKey(try #require(key.publicKey)).isValidSignature(result.data, for: .message(message), scheme: .ed25519))
            #expect(try await remote.listRequests(f.alpha.user.token, filter: ApprovalRequestFilter(status: .executed)).map(\.id) == [request.id])
            await expectHSMError(.notFound) { try await remote.getRequest(f.beta.officer.token, id: request.id) }
        } catch {
            await remote.close()
            await served.stop()
            throw error
        }
        await remote.close()
        await served.stop()
    }

    @Test("over the broker a governed Sign, BlockKey and SignBatch item answer the pending request they created, not an error status")
    func pendingOverTheBroker() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            let officer = SessionToken(t.officerToken), user = SessionToken(t.userToken)
            let ann = try PrivateKey.generate(.ed25519)
            _ = try await h.hsm.registerApprover(officer, name: "ann", publicKey: ann.publicKey)
            let rule = ApprovalRule(tokens: [ApprovalToken(groups: [ApproverGroup(approvers: ["ann"], quorum: 1)], timelock: 0, timeout: 3600)])
            let governed = try await h.hsm.generateKey(officer, spec: KeySpec(algorithm: .ed25519, label: "g", policy: KeyPolicy(use: rule, block: rule)))
            let plain = try await h.key(t, .ed25519)

            // The raw RPC: OK, only pending_request set.
            let signed = try await h.crypto.sign(Redoubt_V1_SignRequest(key: governed.id, input: .message(message), scheme: .ed25519), metadata: t.user)
            #expect(signed.hasPendingRequest)
            #expect(signed.pendingRequest.status == .pending)
            #expect(ApprovalRequest.isRequestID(signed.pendingRequest.id))
            #expect(signed.pendingRequest.keyID == governed.id)
            #expect(signed.signature.isEmpty && signed.keyVersion == 0)
            #expect(try await h.hsm.getRequest(user, id: signed.pendingRequest.id).status == .pending)

            let blocked = try await h.keys.blockKey(Redoubt_V1_BlockKeyRequest(keyID: governed.id), metadata: t.officer)
            #expect(blocked.hasPendingRequest && !blocked.hasKey)
            #expect(blocked.pendingRequest.status == .pending)
            #expect(try await h.hsm.getKey(officer, id: governed.id).state == .active)

            // A batch: the governed item carries its own request in its ErrorDetail; the other signs.
            let items = [
                Redoubt_V1_SignRequest(key: governed.id, input: .message(message), scheme: .ed25519),
                Redoubt_V1_SignRequest(key: plain.id, input: .message(message), scheme: .ed25519),
            ]
            let batch = try await h.crypto.signBatch(Redoubt_V1_SignBatchRequest(items: items), metadata: t.user)
            #expect(batch.items.count == 2)
            let detail = batch.items.first?.error ?? Redoubt_V1_ErrorDetail()
            #expect(detail.code == .failedPrecondition)
            #expect(detail.hasPendingRequest && detail.pendingRequest.status == .pending)
            #expect(detail.message.contains(detail.pendingRequest.id))
            #expect(![signed.pendingRequest.id, blocked.pendingRequest.id, ""].contains(detail.pendingRequest.id))
            switch batch.outcomes.first {
            case .failure(let error)?: #expect(error.pendingRequest?.id == detail.pendingRequest.id)
            default: Issue.record("the governed item did not fail: \(String(describing: batch.outcomes.first))")
            }
            let second = try #require(try? batch.outcomes.last?.get())
            #expect(try await h.hsm.verify(user, key: plain.id, input: .message(message), signature: second.signature, scheme: .ed25519, version: nil))

            // The request of the raw Sign runs once approved; its requester fetches the signature.
            let request = try await h.hsm.getRequest(user, id: signed.pendingRequest.id)
            let approval = try SigningKey(ann).signature(for: .message(request.approveChallenge), scheme: .ed25519)
            #expect(try await h.hsm.approveRequest(officer, id: request.id, approver: "ann", signature: approval).status == .executed)
            let result = try #require(try await h.hsm.getRequest(user, id: request.id).result)
            #expect(try VerifyingKey(try #require(governed.publicKey)).isValidSignature(result.data, for: .message(message), scheme: .ed25519))
        }
    }
}
