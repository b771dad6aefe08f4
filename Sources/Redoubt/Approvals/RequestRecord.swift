import Foundation

/// One decision as stored, with the signature that proves it.
struct StoredDecision: Codable, Sendable {
    var approver: String
    var decision: ApprovalChallenge.Decision
    var at: Date
    var signature: Data
}

/// A request as stored (kind `request`, label = key id).
struct RequestRecord: Codable, Sendable {
    var id: String
    var partition: String
    var keyID: String
    var operation: ApprovalOperation
    var requester: String
    var requesterRole: Role
    var createdAt: Date
    var status: ApprovalStatus
    var rule: ApprovalRule
    var decisions: [StoredDecision]
    var executableAt: Date?
    var finishedAt: Date?
    /// The result, sealed under the partition key.
    var sealedResult: Data?
    var resultVersion: Int?
    var failure: String?

    /// Every approver the rule names.
    var approverNames: Set<String> { Set(rule.tokens.flatMap { $0.groups.flatMap(\.approvers) }) }

    func request(result: ApprovalResult?) -> ApprovalRequest {
        ApprovalRequest(
            id: id, partition: partition, keyID: keyID, operation: operation, requester: requester, createdAt: createdAt,
            status: status, rule: rule,
            decisions: decisions.map { ApprovalDecision(approver: $0.approver, decision: $0.decision, at: $0.at) },
            executableAt: executableAt, finishedAt: finishedAt, result: result, failure: failure)
    }
}

/// The rule arithmetic, free of I/O: which tokens are satisfied, which can still be.
enum RequestEvaluation {
    /// What a pending or approved request should become at `now`.
    enum Step: Equatable {
        case unchanged
        case approve(executableAt: Date)
        case execute
        case reject
        case expire
    }

    /// Tokens whose every group has its quorum of approvals that arrived within the token's timeout.
    static func satisfiedTokens(_ r: RequestRecord) -> [Int] {
        r.rule.tokens.indices.filter { i in
            let token = r.rule.tokens[i]
            let deadline = r.createdAt.addingTimeInterval(token.timeout)
            let approved = Set(r.decisions.filter { $0.decision == .approve && $0.at <= deadline }.map(\.approver))
            return token.groups.allSatisfy { g in g.approvers.filter(approved.contains).count >= g.quorum }
        }
    }

    /// Whether some token can still be satisfied at `now`: not timed out, and enough approvers in
    /// every group have not rejected.
    static func satisfiable(_ r: RequestRecord, now: Date) -> Bool {
        let rejected = Set(r.decisions.filter { $0.decision == .reject }.map(\.approver))
        return r.rule.tokens.contains { token in
            now <= r.createdAt.addingTimeInterval(token.timeout)
                && token.groups.allSatisfy { g in g.approvers.filter { !rejected.contains($0) }.count >= g.quorum }
        }
    }

    /// The next step for `r` at `now`.
    static func step(_ r: RequestRecord, now: Date) -> Step {
        switch r.status {
        case .executed, .rejected, .expired, .failed:
            return .unchanged
        case .approved:
            guard let at = r.executableAt else { return .execute }
            return now >= at ? .execute : .unchanged
        case .pending:
            if r.rule.isEmpty { return .execute }
            let satisfied = satisfiedTokens(r)
            if let earliest = satisfied.map({ r.createdAt.addingTimeInterval(r.rule.tokens[$0].timelock) }).min() {
                return now >= earliest ? .execute : .approve(executableAt: earliest)
            }
            if satisfiable(r, now: now) { return .unchanged }
            let timedOut = r.rule.tokens.allSatisfy { now > r.createdAt.addingTimeInterval($0.timeout) }
            return timedOut ? .expire : .reject
        }
    }
}
