import Foundation

/// Where a request stands.
public enum ApprovalStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Waiting for approvals.
    case pending = "PENDING"
    /// A token is satisfied; waiting for its timelock to pass.
    case approved = "APPROVED"
    /// The operation ran; the requester may fetch the result.
    case executed = "EXECUTED"
    /// Rejections leave no token satisfiable.
    case rejected = "REJECTED"
    /// No token was satisfied before its timeout.
    case expired = "EXPIRED"
    /// The operation ran and failed (the key was blocked, expired…); see ``ApprovalRequest/failure``.
    case failed = "FAILED"

    /// Whether the request can no longer change.
    public var isFinal: Bool { self == .executed || self == .rejected || self == .expired || self == .failed }
}

/// One approver's recorded decision.
public struct ApprovalDecision: Sendable, Hashable, Codable {
    /// The approver's name.
    public var approver: String
    /// Approve or reject.
    public var decision: ApprovalChallenge.Decision
    /// When it was recorded.
    public var at: Date

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(approver: String, decision: ApprovalChallenge.Decision, at: Date) {
        self.approver = approver
        self.decision = decision
        self.at = at
    }
}

/// What an executed request produced.
public struct ApprovalResult: Sendable, Hashable {
    /// The signature, plaintext or tag; empty for block, unblock and modifications.
    public var data: Data
    /// The key version used, for signatures.
    public var version: Int?

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(data: Data, version: Int?) {
        self.data = data
        self.version = version
    }
}

/// A request: an operation on a governed key waiting for, or done after, its approvals.
public struct ApprovalRequest: Sendable, Hashable {
    /// The unguessable request id (`r` and 32 hex digits).
    public var id: String
    /// The partition.
    public var partition: String
    /// The key.
    public var keyID: String
    /// The operation and its exact data.
    public var operation: ApprovalOperation
    /// The user id of the requester.
    public var requester: String
    /// When it was submitted; timelocks and timeouts count from here.
    public var createdAt: Date
    /// The status.
    public var status: ApprovalStatus
    /// The rule that governs it, as it was when the request was made.
    public var rule: ApprovalRule
    /// The decisions recorded so far (one per approver).
    public var decisions: [ApprovalDecision]
    /// When an approved request may run (the satisfied token's timelock).
    public var executableAt: Date?
    /// When the request ran, failed, was rejected or expired.
    public var finishedAt: Date?
    /// The result: only for the requester, only once executed.
    public var result: ApprovalResult?
    /// Why the operation failed, for a failed request.
    public var failure: String?

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(
        id: String, partition: String, keyID: String, operation: ApprovalOperation, requester: String, createdAt: Date,
        status: ApprovalStatus, rule: ApprovalRule, decisions: [ApprovalDecision], executableAt: Date? = nil,
        finishedAt: Date? = nil, result: ApprovalResult? = nil, failure: String? = nil
    ) {
        self.id = id
        self.partition = partition
        self.keyID = keyID
        self.operation = operation
        self.requester = requester
        self.createdAt = createdAt
        self.status = status
        self.rule = rule
        self.decisions = decisions
        self.executableAt = executableAt
        self.finishedAt = finishedAt
        self.result = result
        self.failure = failure
    }

    /// SHA-256 of the operation's canonical data.
    public var operationDigest: Data { operation.digest }

    /// The challenge for `decision` on this request.
    public func challenge(_ decision: ApprovalChallenge.Decision) -> ApprovalChallenge {
        ApprovalChallenge(
            requestID: id, partition: partition, keyID: keyID, operation: operation.kind,
            operationDigest: operationDigest, decision: decision)
    }

    /// The bytes an approver signs to approve.
    public var approveChallenge: Data { challenge(.approve).bytes }
    /// The bytes an approver signs to reject.
    public var rejectChallenge: Data { challenge(.reject).bytes }

    /// Whether `id` has the form of a request id.
    public static func isRequestID(_ id: String) -> Bool {
        id.utf8.count == 33 && id.hasPrefix("r") && id.utf8.dropFirst().allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// Which requests to list.
public struct ApprovalRequestFilter: Sendable, Hashable {
    /// Only requests in this status.
    public var status: ApprovalStatus?
    /// Only requests for this key.
    public var keyID: String?
    /// Continue after this request id.
    public var after: String?
    /// At most this many (1–1000).
    public var limit: Int

    /// A filter.
    public init(status: ApprovalStatus? = nil, keyID: String? = nil, after: String? = nil, limit: Int = 100) {
        self.status = status
        self.keyID = keyID
        self.after = after
        self.limit = limit
    }
}
