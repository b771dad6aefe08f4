import Foundation

/// Who must approve what a key does: one ``ApprovalRule`` for each of use, block, unblock and modify.
///
/// An empty rule needs no approval. A key with a policy is never extractable, and its policy
/// changes only through its ``modify`` rule (``ApprovalOperation/setPolicy(_:)``).
///
/// ```swift
/// let twoOfThree = ApproverGroup(approvers: ["ann", "bob", "cat"], quorum: 2)
/// let policy = KeyPolicy(use: ApprovalRule(tokens: [ApprovalToken(groups: [twoOfThree], timeout: 3600)]))
/// let key = try await hsm.generateKey(officer, spec: KeySpec(algorithm: .p256, label: "treasury", policy: policy))
/// ```
public struct KeyPolicy: Sendable, Hashable, Codable {
    /// Signing, decrypting, MACing… with the key (every use of it).
    public var use: ApprovalRule
    /// Blocking the key.
    public var block: ApprovalRule
    /// Unblocking the key.
    public var unblock: ApprovalRule
    /// Changing the key's attributes or this policy.
    public var modify: ApprovalRule

    /// A policy; rules left out need no approval.
    public init(use: ApprovalRule = .none, block: ApprovalRule = .none, unblock: ApprovalRule = .none, modify: ApprovalRule = .none) {
        self.use = use
        self.block = block
        self.unblock = unblock
        self.modify = modify
    }

    /// The rule that governs `kind`.
    public func rule(for kind: ApprovalOperation.Kind) -> ApprovalRule {
        switch kind {
        case .sign, .decrypt, .mac: return use
        case .block: return block
        case .unblock: return unblock
        case .update, .setPolicy: return modify
        }
    }

    /// Every approver name the policy mentions.
    public var approverNames: Set<String> {
        Set([use, block, unblock, modify].flatMap { $0.tokens.flatMap { $0.groups.flatMap(\.approvers) } })
    }

    /// The most tokens a rule, groups a token and approvers a group may have.
    public static let maximumTokens = 8, maximumGroups = 8, maximumApprovers = 32
    /// The longest timelock or timeout: 366 days.
    public static let maximumInterval: TimeInterval = 366 * 86400

    /// Checks sizes, quorums, names and times; `field` prefixes the messages (`spec.policy`).
    public func validate(field: String = "policy") throws {
        for (name, rule) in [("use", use), ("block", block), ("unblock", unblock), ("modify", modify)] {
            try rule.validate(field: "\(field).\(name)")
        }
    }
}

/// Alternatives: any one satisfied ``ApprovalToken`` suffices. No tokens means no approval.
public struct ApprovalRule: Sendable, Hashable, Codable {
    /// The alternatives (OR).
    public var tokens: [ApprovalToken]

    /// A rule of alternative tokens.
    public init(tokens: [ApprovalToken]) { self.tokens = tokens }

    /// The rule that needs no approval.
    public static var none: ApprovalRule { ApprovalRule(tokens: []) }

    /// Whether the rule needs no approval.
    public var isEmpty: Bool { tokens.isEmpty }

    package func validate(field: String) throws {
        guard tokens.count <= KeyPolicy.maximumTokens else {
            throw HSMError.invalid("\(field).tokens may hold at most \(KeyPolicy.maximumTokens) tokens")
        }
        for (i, token) in tokens.enumerated() { try token.validate(field: "\(field).tokens[\(i)]") }
    }
}

/// Groups that must all reach their quorum (AND), with a timelock and a timeout counted from
/// the request's creation.
public struct ApprovalToken: Sendable, Hashable, Codable {
    /// The groups; every one must reach its quorum.
    public var groups: [ApproverGroup]
    /// Seconds after the request before the operation may run.
    public var timelock: TimeInterval
    /// Seconds after the request within which the approvals must arrive.
    public var timeout: TimeInterval

    /// A token; no timelock unless given.
    public init(groups: [ApproverGroup], timelock: TimeInterval = 0, timeout: TimeInterval) {
        self.groups = groups
        self.timelock = timelock
        self.timeout = timeout
    }

    package func validate(field: String) throws {
        guard (1...KeyPolicy.maximumGroups).contains(groups.count) else {
            throw HSMError.invalid("\(field).groups must hold 1 to \(KeyPolicy.maximumGroups) groups")
        }
        guard timelock.isFinite, (0...KeyPolicy.maximumInterval).contains(timelock) else {
            throw HSMError.invalid("\(field).timelock must be 0 to \(Int(KeyPolicy.maximumInterval)) seconds")
        }
        guard timeout.isFinite, timeout >= 1, timeout <= KeyPolicy.maximumInterval else {
            throw HSMError.invalid("\(field).timeout must be 1 to \(Int(KeyPolicy.maximumInterval)) seconds")
        }
        var seen = Set<String>()
        for (i, group) in groups.enumerated() {
            try group.validate(field: "\(field).groups[\(i)]")
            for name in group.approvers where !seen.insert(name).inserted {
                throw HSMError.invalid("\(field).groups[\(i)] names approver '\(name)' already named by another group of the token")
            }
        }
    }
}

/// Approvers of which at least ``quorum`` must approve (M of N).
public struct ApproverGroup: Sendable, Hashable, Codable {
    /// Approver names, as registered in the partition.
    public var approvers: [String]
    /// How many of them must approve (1 to the number of approvers).
    public var quorum: Int

    /// A group.
    public init(approvers: [String], quorum: Int) {
        self.approvers = approvers
        self.quorum = quorum
    }

    package func validate(field: String) throws {
        guard (1...KeyPolicy.maximumApprovers).contains(approvers.count) else {
            throw HSMError.invalid("\(field).approvers must list 1 to \(KeyPolicy.maximumApprovers) approvers")
        }
        guard (1...approvers.count).contains(quorum) else {
            throw HSMError.invalid("\(field).quorum must be 1 to \(approvers.count) (the number of approvers)")
        }
        for (i, name) in approvers.enumerated() where !Approver.isValidName(name) {
            throw HSMError.invalid("\(field).approvers[\(i)] is not a valid approver name (1-64 characters of A-Z a-z 0-9 . _ -)")
        }
        guard Set(approvers).count == approvers.count else {
            throw HSMError.invalid("\(field).approvers lists an approver twice")
        }
    }
}
