import Foundation
import Redoubt
import RedoubtCrypto
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtProto
import SwiftProtobuf
import Testing

/// Policies, operations and requests through their protos and back.
@Suite("Conversions: approvals")
struct ApprovalConversionTests {
    let date = Date(timeIntervalSince1970: 1_750_000_000.125)
    let policy = KeyPolicy(
        use: ApprovalRule(tokens: [
            ApprovalToken(
                groups: [ApproverGroup(approvers: ["ann", "bob"], quorum: 2), ApproverGroup(approvers: ["cat"], quorum: 1)],
                timelock: 90.5, timeout: 3600),
            ApprovalToken(groups: [ApproverGroup(approvers: ["dan"], quorum: 1)], timeout: 60),
        ]),
        block: ApprovalRule(tokens: [ApprovalToken(groups: [ApproverGroup(approvers: ["eve"], quorum: 1)], timeout: 30)]))

    @Test("ApprovalStatus maps one to one")
    func statuses() throws {
        for status in ApprovalStatus.allCases {
            let p = ApprovalStatus.protoMapping.proto(status)
            #expect(p.rawValue != 0)
            #expect(try ApprovalStatus.protoMapping.model(p, at: .root + "status") == status)
        }
    }

    @Test("a policy, every operation and a request round-trip")
    func roundTrips() throws {
        #expect(try KeyPolicy(proto: policy.proto, at: .root + "policy") == policy)
        let spec = KeySpec(algorithm: .p256, label: "governed", policy: policy)
        #expect(try KeySpec(proto: spec.proto, requestID: "", at: .root + "spec").policy == policy)
        let operations: [ApprovalOperation] = [
            .sign(input: .message(Data("m".utf8)), scheme: .ecdsa(.sha384, encoding: .raw, lowS: .standard)),
            .sign(input: .digest(Data(repeating: 1, count: 32)), scheme: .ecdsa(.sha256)),
            .decrypt(ciphertext: Data([1, 2, 3]), scheme: .aesGCM, aad: Data([4])),
            .mac(data: Data([5]), hash: .sha512),
            .block, .unblock,
            .update(KeyAttributeUpdate(label: "x", usage: [.sign], modifiable: false, expiresAt: date, minimumVersion: 2)),
            .setPolicy(policy),
        ]
        for operation in operations {
            #expect(try ApprovalOperation(proto: operation.proto, isSet: true, at: .root + "operation", limit: 1000) == operation)
        }
        let request = ApprovalRequest(
            id: "r" + String(repeating: "ab", count: 16), partition: "alpha", keyID: "k" + String(repeating: "cd", count: 16),
            operation: operations[0], requester: "u_1", createdAt: date, status: .executed, rule: policy.use,
            decisions: [
                ApprovalDecision(approver: "ann", decision: .approve, at: date),
                ApprovalDecision(approver: "cat", decision: .reject, at: date),
            ],
            executableAt: date, finishedAt: date, result: ApprovalResult(data: Data([9]), version: 3))
        let proto = request.proto
        #expect(proto.approveChallenge == request.approveChallenge)
        #expect(proto.operationDigest == request.operationDigest)
        #expect(try ApprovalRequest(proto: proto, at: .root + "request") == request)
    }

    @Test("a pending request travels in a response's and an ErrorDetail's pending_request and comes back as the same error")
    func pendingRequests() throws {
        let request = ApprovalRequest(
            id: "r" + String(repeating: "0f", count: 16), partition: "alpha", keyID: "k_1",
            operation: .block, requester: "u_1", createdAt: date, status: .pending, rule: policy.block, decisions: [])
        let error = HSMError.approvalPending(request)
        #expect(error.code == .failedPrecondition && error.pendingRequest == request)
        #expect(error.message.contains(request.id) && error.message.contains("k_1") && error.message.contains("PENDING"))
        #expect(HSMError(.failedPrecondition, "x").pendingRequest == nil)

        // Server: OK with only pending_request set; any other error stays a status.
        let answer = try #require(StatusMapping.pendingAnswer(for: error, as: Redoubt_V1_BlockKeyResponse.self))
        #expect(answer.hasPendingRequest && !answer.hasKey)
        #expect(StatusMapping.pendingAnswer(for: HSMError(.failedPrecondition, "blocked"), as: Redoubt_V1_SignResponse.self) == nil)
        // Client: the same error back; a response holding its result is no error.
        #expect(try StatusMapping.pendingError(for: answer) == error)
        #expect(try StatusMapping.pendingError(for: Redoubt_V1_SignResponse()) == nil)
        // A pending_request that does not decode is the broker's fault, not a pending request.
        var broken = Redoubt_V1_SignResponse(pending: request)
        broken.pendingRequest.status = .unspecified
        #expect(throws: HSMError.self) { try StatusMapping.pendingError(for: broken) }

        // Batch items: ErrorDetail keeps code, message and request both ways.
        let detail = Redoubt_V1_ErrorDetail(error)
        #expect(detail.code == .failedPrecondition && detail.pendingRequest.id == request.id)
        #expect(HSMError(detail) == error)
        #expect(!Redoubt_V1_ErrorDetail(HSMError(.notFound, "no key")).hasPendingRequest)
    }

    @Test("oversized policies and unset operations are INVALID_ARGUMENT naming the field")
    func refusals() {
        var rule = Redoubt_V1_ApprovalRule()
        rule.tokens = Array(repeating: Redoubt_V1_ApprovalToken(), count: 9)
        #expect(throws: HSMError.self) { try ApprovalRule(proto: rule, at: .root + "use") }
        do {
            _ = try ApprovalOperation(proto: Redoubt_V1_ApprovalOperation(), isSet: true, at: .root + "operation", limit: 10)
            Issue.record("accepted an empty operation")
        } catch let error as HSMError {
            #expect(error.code == .invalidArgument && error.message.hasPrefix("operation is unset"))
        } catch { Issue.record("\(error)") }
    }
}
