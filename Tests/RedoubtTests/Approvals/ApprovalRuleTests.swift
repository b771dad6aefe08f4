import Foundation
import Redoubt
@testable import RedoubtTesting
import Testing

/// Quorums, groups, tokens, timelocks and timeouts, on a hand-moved clock.
@Suite("Approvals: rules")
struct ApprovalRuleTests {
    let clock = TestClock()

    @Test("a direct use of a governed key becomes a pending request; M-1 approvals never execute, and the request expires at its timeout")
    func quorumMinusOne() async throws {
        try await ApprovalKit.with(clock) { kit in
            // Within the session idle timeout (30 minutes), so the sessions live through the clock moves.
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann", "bob", "cat"], quorum: 2, timeout: 1200)))
            let request = try await expectApprovalPending(.sign, key: key.id) {
                try await kit.hsm.sign(kit.user, key: key.id, input: .message(message), scheme: .ed25519)
            }
            #expect(request.status == .pending)
            #expect(request.result == nil)
            let afterOne = try await kit.approve("ann", request)
            #expect(afterOne.status == .pending)
            clock.advance(by: 1199)
            #expect(try await kit.fetch(request).status == .pending)
            clock.advance(by: 2)
            let expired = try await kit.fetch(request)
            #expect(expired.status == .expired)
            #expect(expired.result == nil)
            await expectHSMError(.failedPrecondition, "EXPIRED") { try await kit.approve("bob", request) }
            #expect(try await kit.audited(.requestExecute, request.id).isEmpty)
            #expect(try await kit.audited(.requestExpire, request.id).count == 1)
        }
    }

    @Test("the same approver twice counts once; a second approver completes the quorum and the requester gets the result")
    func sameApproverTwice() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann", "bob", "cat"], quorum: 2)))
            let request = try await kit.submitSign(key)
            try await kit.approve("ann", request)
            await expectHSMError(.alreadyExists, "ann", "already decided") { try await kit.approve("ann", request) }
            #expect(try await kit.fetch(request).status == .pending)
            let done = try await kit.approve("cat", request)  // ML-DSA-65
            #expect(done.status == .executed)
            #expect(done.result == nil, "the result is for the requester only")
            try kit.expectSigned(try await kit.fetch(request), by: key)
            #expect(try await kit.fetch(request, as: kit.officer).result == nil)
            #expect(try await kit.audited(.requestExecute, request.id).count == 1)
            #expect(try await kit.audited(.keySign, key.id).count == 1)
        }
    }

    @Test("two groups are AND-ed: approvals from one group never satisfy the other")
    func groupsAnded() async throws {
        try await ApprovalKit.with(clock) { kit in
            let token = ApprovalToken(
                groups: [
                    ApproverGroup(approvers: ["ann", "bob"], quorum: 1),
                    ApproverGroup(approvers: ["cat", "dan"], quorum: 1),
                ], timeout: 3600)
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalRule(tokens: [token])))
            let request = try await kit.submitSign(key)
            try await kit.approve("ann", request)
            #expect(try await kit.approve("bob", request).status == .pending)
            #expect(try await kit.approve("dan", request).status == .executed)
            try kit.expectSigned(try await kit.fetch(request), by: key)
        }
    }

    @Test("two tokens are OR-ed: either one suffices, each with its own timelock")
    func tokensOred() async throws {
        try await ApprovalKit.with(clock) { kit in
            let slow = ApprovalToken(groups: [ApproverGroup(approvers: ["ann"], quorum: 1)], timelock: 600, timeout: 3600)
            let fast = ApprovalToken(groups: [ApproverGroup(approvers: ["bob", "cat"], quorum: 2)], timeout: 3600)
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalRule(tokens: [slow, fast])))
            // The second token alone.
            let first = try await kit.submitSign(key)
            try await kit.approve("bob", first)
            #expect(try await kit.approve("cat", first).status == .executed)
            // The first token alone: approved at once, executed after its timelock.
            let second = try await kit.submitSign(key)
            let approved = try await kit.approve("ann", second)
            #expect(approved.status == .approved)
            let executableAt = try #require(approved.executableAt)
            #expect(abs(executableAt.timeIntervalSince(second.createdAt) - 600) < 0.01)
            clock.advance(by: 599)
            let waiting = try await kit.fetch(second)
            #expect(waiting.status == .approved)
            #expect(waiting.result == nil)
            clock.advance(by: 2)
            try kit.expectSigned(try await kit.fetch(second), by: key)
        }
    }

    @Test("timelock: executes on the first read after it passes; timeout: approvals after it do not count")
    func timelockAndTimeout() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann", "bob"], quorum: 2, timelock: 300, timeout: 120)))
            // Approvals inside the timeout, execution after the timelock (which may be later).
            let request = try await kit.submitSign(key)
            try await kit.approve("ann", request)
            clock.advance(by: 100)
            #expect(try await kit.approve("bob", request).status == .approved)
            clock.advance(by: 150)
            #expect(try await kit.fetch(request).status == .approved)
            clock.advance(by: 51)
            try kit.expectSigned(try await kit.fetch(request), by: key)
            // The second approval comes too late.
            let late = try await kit.submitSign(key)
            try await kit.approve("ann", late)
            clock.advance(by: 121)
            await expectHSMError(.failedPrecondition, "EXPIRED") { try await kit.approve("bob", late) }
            #expect(try await kit.fetch(late).status == .expired)
        }
    }

    @Test("rejections end a request once no token can be satisfied any more")
    func rejection() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann", "bob", "cat"], quorum: 2)))
            let request = try await kit.submitSign(key)
            #expect(try await kit.reject("ann", request).status == .pending)
            let rejected = try await kit.reject("bob", request)
            #expect(rejected.status == .rejected)
            await expectHSMError(.failedPrecondition, "REJECTED") { try await kit.approve("cat", request) }
            #expect(try await kit.audited(.requestExecute, request.id).isEmpty)
        }
    }

    @Test("an empty rule needs no approval: a submitted request executes at once")
    func emptyRule() async throws {
        try await ApprovalKit.with(clock) { kit in
            let key = try await kit.governedSigner(KeyPolicy(block: ApprovalKit.rule(["ann"], quorum: 1)))
            let direct = try await kit.hsm.sign(kit.user, key: key.id, input: .message(message), scheme: .ed25519)
            #expect(!direct.signature.isEmpty)
            let request = try await kit.submitSign(key)
            try kit.expectSigned(request, by: key)
        }
    }
}
