import Foundation
import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// Signatures, who may see and decide what, races and restarts.
@Suite("Approvals: signatures, roles, races, restarts")
struct ApprovalSecurityTests {
    let clock = TestClock()

    @Test("a bad signature, an approver the rule does not name, another key's approver and a copied approval are all refused")
    func refusedApprovals() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann", "bob"], quorum: 2)))
            let other = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["dan", "eve"], quorum: 1)))
            let request = try await kit.submitSign(key)
            let sibling = try await kit.submitSign(key, Data("another message".utf8))
            let hsm = kit.hsm
            // A tampered signature.
            let good = try kit.signature("ann", request)
            await expectHSMError(.invalidArgument, "signature") {
                try await hsm.approveRequest(kit.officer, id: request.id, approver: "ann", signature: good.tampered)
            }
            // Bob's signature handed in as Ann's.
            await expectHSMError(.invalidArgument, "signature") {
                try await hsm.approveRequest(kit.officer, id: request.id, approver: "ann", signature: try kit.signature("bob", request))
            }
            // The rejection challenge's signature does not approve.
            await expectHSMError(.invalidArgument, "signature") {
                try await hsm.approveRequest(kit.officer, id: request.id, approver: "ann", signature: try kit.signature("ann", request, .reject))
            }
            // Ann's approval of the sibling request, copied onto this one.
            await expectHSMError(.invalidArgument, "signature") {
                try await hsm.approveRequest(kit.officer, id: request.id, approver: "ann", signature: try kit.signature("ann", sibling))
            }
            // Dan approves another key: not named here, even with a valid signature of this challenge.
            await expectHSMError(.permissionDenied, "dan", "not named") { try await kit.approve("dan", request) }
            // A name nobody registered.
            await expectHSMError(.permissionDenied, "zed") {
                try await hsm.approveRequest(kit.officer, id: request.id, approver: "zed", signature: good)
            }
            // An approver of the same name in another partition, with its own key, does not count here.
            let beta = try PrivateKey.generate(.ed25519)
            _ = try await hsm.registerApprover(kit.f.beta.officer.token, name: "ann", publicKey: beta.publicKey)
            let betaSignature = try SigningKey(beta).signature(for: .message(request.approveChallenge), scheme: .ed25519)
            await expectHSMError(.invalidArgument, "signature") {
                try await hsm.approveRequest(kit.officer, id: request.id, approver: "ann", signature: betaSignature)
            }
            await expectHSMError(.notFound) {
                try await hsm.approveRequest(kit.f.beta.officer.token, id: request.id, approver: "ann", signature: betaSignature)
            }
            // None of it counted: still pending, no decisions, and the refusals are audited.
            let after = try await kit.fetch(request)
            #expect(after.status == .pending)
            #expect(after.decisions.isEmpty)
            let refused = try await kit.hsm.auditRecords(kit.f.alpha.auditor.token, from: 1, limit: 1000)
                .filter { $0.operation == AuditOperation.requestApprove.rawValue && $0.result != "ok" }
            #expect(refused.count >= 6)
            // The genuine approvals still work.
            try await kit.approve("ann", request)
            #expect(try await kit.approve("bob", request).status == .executed)
            try kit.expectSigned(try await kit.fetch(request), by: key)
            #expect(other.policy?.use.tokens.first?.groups.first?.approvers == ["dan", "eve"])
        }
    }

    @Test("the approver role sees only requests whose rule names it, decides only as itself, and does nothing else")
    func approverRole() async throws {
        try await ApprovalKit.with(clock) { kit in
            let april = kit.f.alpha.approver.token  // the user "april", registered as approver "april"
            let named = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["april", "ann"], quorum: 2)))
            let unnamed = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["bob"], quorum: 1)))
            let mine = try await kit.submitSign(named)
            let notMine = try await kit.submitSign(unnamed)
            let listed = try await kit.hsm.listRequests(april, filter: ApprovalRequestFilter(status: .pending))
            #expect(listed.map(\.id) == [mine.id])
            await expectHSMError(.notFound) { try await kit.hsm.getRequest(april, id: notMine.id) }
            let seen = try await kit.hsm.getRequest(april, id: mine.id)
            #expect(seen.operation == .sign(input: .message(message), scheme: .ed25519))
            #expect(seen.approveChallenge == mine.approveChallenge)
            let parsed = try ApprovalChallenge.parse(seen.approveChallenge)
            #expect(parsed.requestID == mine.id && parsed.keyID == named.id && parsed.partition == "alpha" && parsed.operation == .sign)
            #expect(parsed.operationDigest == seen.operationDigest)
            // April hands in her own decision, not Ann's.
            await expectHSMError(.permissionDenied, "own decisions") {
                try await kit.hsm.approveRequest(april, id: mine.id, approver: "ann", signature: try kit.signature("ann", mine))
            }
            let afterApril = try await kit.hsm.approveRequest(april, id: mine.id, approver: "april", signature: try kit.signature("april", mine))
            #expect(afterApril.decisions.map(\.approver) == ["april"])
            // Nothing else: no keys, no submitting, no approver registry.
            await expectHSMError(.permissionDenied) {
                try await kit.hsm.submitRequest(april, key: named.id, operation: .sign(input: .message(message), scheme: .ed25519))
            }
            await expectHSMError(.permissionDenied) { try await kit.hsm.getKey(april, id: named.id) }
            await expectHSMError(.permissionDenied) { try await kit.hsm.listApprovers(april) }
            await expectHSMError(.permissionDenied) {
                try await kit.hsm.registerApprover(april, name: "mallory", publicKey: try PrivateKey.generate(.ed25519).publicKey)
            }
            // The crypto user sees its own requests; another crypto user's list is its own.
            #expect(Set(try await kit.hsm.listRequests(kit.user, filter: ApprovalRequestFilter()).map(\.id)) == [mine.id, notMine.id])
        }
    }

    @Test("approvals that race execute the operation exactly once")
    func racingApprovals() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann", "bob", "cat", "dan", "eve"], quorum: 2)))
            for _ in 0..<3 {
                let request = try await kit.submitSign(key)
                let signatures = try ["ann", "bob", "cat", "dan", "eve"].map { ($0, try kit.signature($0, request)) }
                let outcomes = await withTaskGroup(of: String.self) { group in
                    for (name, signature) in signatures {
                        group.addTask {
                            do {
                                return try await kit.hsm.approveRequest(kit.officer, id: request.id, approver: name, signature: signature).status.rawValue
                            } catch let error as HSMError {
                                return error.code.description
                            } catch {
                                return "other"
                            }
                        }
                        group.addTask { (try? await kit.fetch(request).status.rawValue) ?? "read failed" }
                    }
                    var all: [String] = []
                    for await outcome in group { all.append(outcome) }
                    return all
                }
                #expect(!outcomes.contains("other") && !outcomes.contains("read failed"), "\(outcomes)")
                try kit.expectSigned(try await kit.fetch(request), by: key)
                #expect(try await kit.audited(.requestExecute, request.id).count == 1)
            }
            #expect(try await kit.audited(.keySign, key.id).count == 3)
        }
    }

    @Test("a request survives a restart in the middle: approvals before and after it count, and the result is fetched after")
    func restartMidRequest() async throws {
        let directory = try StoreDirectory()
        defer { directory.remove() }
        let configuration = LocalHSMSupport.configuration(clock: clock)
        let store = try directory.open()
        let created = try await LocalHSM.initialize(store: store, passphrase: LocalHSMSupport.passphrase, configuration: configuration)
        let fixture = try await HSMFixture.make(created.hsm, operatorAPIKey: created.operatorAPIKey)
        let kit = try await ApprovalKit.make(fixture, created.hsm)
        let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann", "bob", "cat"], quorum: 3, timelock: 60)))
        let request = try await kit.submitSign(key)
        try await kit.approve("ann", request)
        try await created.hsm.close()
        try await store.close()

        let reopenedStore = try directory.open()
        let reopened = try await LocalHSM.open(store: reopenedStore, unseal: .passphrase(LocalHSMSupport.passphrase), configuration: configuration)
        let after = ApprovalKit(f: fixture.on(reopened), hsm: reopened, keys: kit.keys)
        let read = try await after.fetch(request)
        #expect(read.status == .pending)
        #expect(read.decisions.map(\.approver) == ["ann"])
        try await after.approve("bob", request)
        #expect(try await after.approve("cat", request).status == .approved)
        clock.advance(by: 61)
        try after.expectSigned(try await after.fetch(request), by: key)
        #expect(try await reopened.verifyAudit(fixture.alpha.auditor.token).isValid)
        try await reopened.close()
        try await reopenedStore.close()
    }
}
