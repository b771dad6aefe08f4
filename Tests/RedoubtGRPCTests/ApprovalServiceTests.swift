import Foundation
import GRPCCore
import Redoubt
@testable import RedoubtBehaviourSuite
import RedoubtGRPC
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
            remote = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(served.port)"))
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

            let policy = KeyPolicy(use: ApprovalRule(tokens: [ApprovalToken(groups: [ApproverGroup(approvers: ["ann", "bob"], quorum: 2)],
                                                                            timelock: 0, timeout: 3600)]))
            let key = try await remote.generateKey(officer, spec: KeySpec(algorithm: .ed25519, label: "treasury", extractable: true, policy: policy))
            #expect(key.policy == policy)
            #expect(!key.extractable)
            await expectHSMError(.failedPrecondition, "governed") {
                try await remote.sign(f.alpha.user.token, key: key.id, input: .message(message), scheme: .ed25519)
            }
            let request = try await remote.submitRequest(f.alpha.user.token, key: key.id,
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
}
