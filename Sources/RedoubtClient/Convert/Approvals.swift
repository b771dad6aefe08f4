import Foundation
import RedoubtCore
import RedoubtCrypto
import RedoubtProto
import SwiftProtobuf

// Key policies, approvers, operations and requests of ApprovalService, both directions.

extension ApprovalStatus {
    /// ``ApprovalStatus`` ⇄ `redoubt.v1.ApprovalStatus`.
    package static let protoMapping = EnumMapping<Redoubt_V1_ApprovalStatus, ApprovalStatus>(
        prefix: "APPROVAL_STATUS",
        pairs: [
            (.pending, .pending, "PENDING"), (.approved, .approved, "APPROVED"), (.executed, .executed, "EXECUTED"),
            (.rejected, .rejected, "REJECTED"), (.expired, .expired, "EXPIRED"), (.failed, .failed, "FAILED"),
        ])
}

extension KeyPolicy {
    /// A policy of a request; the HSM checks sizes, quorums and names, naming the field.
    package init(proto p: Redoubt_V1_KeyPolicy, at path: FieldPath) throws {
        self.init(
            use: try ApprovalRule(proto: p.use, at: path + "use"),
            block: try ApprovalRule(proto: p.block, at: path + "block"),
            unblock: try ApprovalRule(proto: p.unblock, at: path + "unblock"),
            modify: try ApprovalRule(proto: p.modify, at: path + "modify"))
    }

    /// The proto policy.
    package var proto: Redoubt_V1_KeyPolicy {
        var p = Redoubt_V1_KeyPolicy()
        p.use = use.proto
        p.block = block.proto
        p.unblock = unblock.proto
        p.modify = modify.proto
        return p
    }
}

extension ApprovalRule {
    /// A rule; more tokens, groups or approvers than the HSM allows are refused here already,
    /// before anything is built from them.
    package init(proto p: Redoubt_V1_ApprovalRule, at path: FieldPath) throws {
        guard p.tokens.count <= KeyPolicy.maximumTokens else {
            throw (path + "tokens").invalid("holds \(p.tokens.count) tokens; the limit is \(KeyPolicy.maximumTokens)")
        }
        self.init(tokens: try p.tokens.enumerated().map { i, t in try ApprovalToken(proto: t, at: (path + "tokens")[i]) })
    }

    /// The proto rule.
    package var proto: Redoubt_V1_ApprovalRule {
        var p = Redoubt_V1_ApprovalRule()
        p.tokens = tokens.map(\.proto)
        return p
    }
}

extension ApprovalToken {
    /// A token; `timeout` is required.
    package init(proto p: Redoubt_V1_ApprovalToken, at path: FieldPath) throws {
        guard p.groups.count <= KeyPolicy.maximumGroups else {
            throw (path + "groups").invalid("holds \(p.groups.count) groups; the limit is \(KeyPolicy.maximumGroups)")
        }
        guard p.hasTimeout else { throw (path + "timeout").invalid("is unset; say how long approvals may take") }
        self.init(
            groups: try p.groups.enumerated().map { i, g in try ApproverGroup(proto: g, at: (path + "groups")[i]) },
            timelock: p.hasTimelock ? try p.timelock.timeInterval(at: path + "timelock") : 0,
            timeout: try p.timeout.timeInterval(at: path + "timeout"))
    }

    /// The proto token.
    package var proto: Redoubt_V1_ApprovalToken {
        var p = Redoubt_V1_ApprovalToken()
        p.groups = groups.map(\.proto)
        p.timelock = Google_Protobuf_Duration(timelock)
        p.timeout = Google_Protobuf_Duration(timeout)
        return p
    }
}

extension ApproverGroup {
    /// A group.
    package init(proto p: Redoubt_V1_ApproverGroup, at path: FieldPath) throws {
        guard p.approvers.count <= KeyPolicy.maximumApprovers else {
            throw (path + "approvers").invalid("lists \(p.approvers.count) approvers; the limit is \(KeyPolicy.maximumApprovers)")
        }
        for (i, name) in p.approvers.enumerated() { try (path + "approvers")[i].checkSize(name, limit: 64) }
        self.init(approvers: p.approvers, quorum: Int(p.quorum))
    }

    /// The proto group.
    package var proto: Redoubt_V1_ApproverGroup {
        var p = Redoubt_V1_ApproverGroup()
        p.approvers = approvers
        p.quorum = UInt32(clamping: quorum)
        return p
    }
}

extension Approver {
    /// An approver of a request; both fields required.
    package init(proto p: Redoubt_V1_Approver, isSet: Bool, at path: FieldPath) throws {
        guard isSet else { throw path.invalid("is unset; send a name and a public key") }
        guard !p.name.isEmpty else { throw (path + "name").invalid("is empty; send the approver's name") }
        try (path + "name").checkSize(p.name, limit: 64)
        guard p.hasPublicKey else { throw (path + "public_key").invalid("is unset; send the approver's public key") }
        self.init(name: p.name, publicKey: try PublicKey(proto: p.publicKey, at: path + "public_key"))
    }

    /// The proto approver.
    package var proto: Redoubt_V1_Approver {
        var p = Redoubt_V1_Approver()
        p.name = name
        p.publicKey = publicKey.proto
        return p
    }
}

extension ApprovalOperation {
    /// An operation of a request; exactly one member of the oneof is required.
    package init(proto p: Redoubt_V1_ApprovalOperation, isSet: Bool, at path: FieldPath, limit: Int) throws {
        guard isSet, let operation = p.operation else {
            throw path.invalid("is unset; choose one of sign, decrypt, mac, block, unblock, update, set_policy")
        }
        switch operation {
        case .sign(let s):
            self = .sign(
                input: try SigningInput(proto: s.input, isSet: s.hasInput, at: path + "sign.input", limit: limit),
                scheme: try SignatureScheme(proto: s.scheme, isSet: s.hasScheme, at: path + "sign.scheme"))
        case .decrypt(let d):
            try (path + "decrypt.ciphertext").checkSize(d.ciphertext, limit: limit)
            try (path + "decrypt.aad").checkSize(d.aad, limit: limit)
            self = .decrypt(
                ciphertext: d.ciphertext, scheme: try EncryptionScheme.protoMapping.model(d.scheme, at: path + "decrypt.scheme"),
                aad: d.aad)
        case .mac(let m):
            try (path + "mac.data").checkSize(m.data, limit: limit)
            self = .mac(data: m.data, hash: try HashAlgorithm.protoMapping.model(m.hash, at: path + "mac.hash"))
        case .block:
            self = .block
        case .unblock:
            self = .unblock
        case .update(let u):
            self = .update(try KeyAttributeUpdate(proto: u, at: path + "update"))
        case .setPolicy(let policy):
            self = .setPolicy(try KeyPolicy(proto: policy, at: path + "set_policy"))
        }
    }

    /// The proto operation.
    package var proto: Redoubt_V1_ApprovalOperation {
        var p = Redoubt_V1_ApprovalOperation()
        switch self {
        case .sign(let input, let scheme):
            var s = Redoubt_V1_ApprovalOperation.Sign()
            s.input = input.proto
            s.scheme = scheme.proto
            p.sign = s
        case .decrypt(let ciphertext, let scheme, let aad):
            var d = Redoubt_V1_ApprovalOperation.Decrypt()
            d.ciphertext = ciphertext
            d.scheme = EncryptionScheme.protoMapping.proto(scheme)
            d.aad = aad
            p.decrypt = d
        case .mac(let data, let hash):
            var m = Redoubt_V1_ApprovalOperation.Mac()
            m.data = data
            m.hash = HashAlgorithm.protoMapping.proto(hash)
            p.mac = m
        case .block: p.block = Redoubt_V1_ApprovalOperation.Block()
        case .unblock: p.unblock = Redoubt_V1_ApprovalOperation.Unblock()
        case .update(let update): p.update = Redoubt_V1_KeyAttributeUpdate(update)
        case .setPolicy(let policy): p.setPolicy = policy.proto
        }
        return p
    }
}

extension Redoubt_V1_KeyAttributeUpdate {
    /// The proto form of `update`.
    package init(_ update: KeyAttributeUpdate) {
        self.init()
        set(update)
    }
}

extension ApprovalRequest {
    /// The proto request, challenges included.
    package var proto: Redoubt_V1_ApprovalRequest {
        var p = Redoubt_V1_ApprovalRequest()
        p.id = id
        p.partition = partition
        p.keyID = keyID
        p.operation = operation.proto
        p.operationDigest = operationDigest
        p.requester = requester
        p.createTime = Google_Protobuf_Timestamp(createdAt)
        p.status = ApprovalStatus.protoMapping.proto(status)
        p.rule = rule.proto
        p.decisions = decisions.map { d in
            var pd = Redoubt_V1_ApprovalDecision()
            pd.approver = d.approver
            pd.approve = d.decision == .approve
            pd.time = Google_Protobuf_Timestamp(d.at)
            return pd
        }
        if let executableAt { p.executableTime = Google_Protobuf_Timestamp(executableAt) }
        if let finishedAt { p.finishTime = Google_Protobuf_Timestamp(finishedAt) }
        if let result {
            p.result = result.data
            if let version = result.version { p.resultVersion = UInt32(clamping: version) }
        }
        if let failure { p.failure = failure }
        p.approveChallenge = approveChallenge
        p.rejectChallenge = rejectChallenge
        return p
    }

    /// A request from a response.
    package init(proto p: Redoubt_V1_ApprovalRequest, isSet: Bool = true, at path: FieldPath) throws {
        guard isSet else { throw path.invalid("is unset") }
        let status = try ApprovalStatus.protoMapping.model(p.status, at: path + "status")
        self.init(
            id: p.id, partition: p.partition, keyID: p.keyID,
            operation: try ApprovalOperation(proto: p.operation, isSet: p.hasOperation, at: path + "operation", limit: Int.max),
            requester: p.requester,
            createdAt: try p.createTime.date(at: path + "create_time"),
            status: status,
            rule: try ApprovalRule(proto: p.rule, at: path + "rule"),
            decisions: try p.decisions.enumerated().map { i, d in
                ApprovalDecision(
                    approver: d.approver, decision: d.approve ? .approve : .reject,
                    at: try d.time.date(at: (path + "decisions")[i] + "time"))
            },
            executableAt: p.hasExecutableTime ? try p.executableTime.date(at: path + "executable_time") : nil,
            finishedAt: p.hasFinishTime ? try p.finishTime.date(at: path + "finish_time") : nil,
            result: status == .executed && (!p.result.isEmpty || p.resultVersion != 0)
                ? ApprovalResult(data: p.result, version: p.resultVersion == 0 ? nil : Int(p.resultVersion)) : nil,
            failure: p.failure.isEmpty ? nil : p.failure)
    }
}

extension Redoubt_V1_ListRequestsRequest {
    /// The filter of a list request.
    package func filter(at path: FieldPath = .root) throws -> ApprovalRequestFilter {
        ApprovalRequestFilter(
            status: status == .unspecified ? nil : try ApprovalStatus.protoMapping.model(status, at: path + "status"),
            keyID: keyID.isEmpty ? nil : keyID,
            after: try Paging.lastID(pageToken, at: path + "page_token"),
            limit: try Paging.pageSize(limit, at: path + "limit"))
    }

    /// The request of `filter`.
    package init(_ filter: ApprovalRequestFilter) {
        self.init()
        if let s = filter.status { status = ApprovalStatus.protoMapping.proto(s) }
        keyID = filter.keyID ?? ""
        if let after = filter.after { pageToken = Paging.token(after: after) }
        limit = Int32(clamping: filter.limit)
    }
}

extension Redoubt_V1_DecideRequestRequest {
    /// The request id, approver and signature; all required.
    package func decoded(at path: FieldPath = .root) throws -> (id: String, approver: String, signature: Data) {
        let id = try requiredID(requestID, at: path + "request_id")
        guard !approver.isEmpty else { throw (path + "approver").invalid("is empty; send the approver's name") }
        try (path + "approver").checkSize(approver, limit: 64)
        guard !signature.isEmpty else { throw (path + "signature").invalid("is empty; send the approver's signature of the challenge") }
        try (path + "signature").checkSize(signature, limit: 8192)
        return (id, approver, signature)
    }

    /// The request handing in `signature`.
    package init(id: String, approver: String, signature: Data) {
        self.init()
        requestID = id
        self.approver = approver
        self.signature = signature
    }
}

/// A response (or batch ErrorDetail) that carries `pending_request` instead of its result when
/// the key's policy needs approvals: the operation was submitted as a request with status PENDING.
package protocol PendingRequestCarrier: SwiftProtobuf.Message {
    /// The request created instead of the result.
    var pendingRequest: Redoubt_V1_ApprovalRequest { get set }
    /// Whether `pending_request` is set.
    var hasPendingRequest: Bool { get }
}

extension PendingRequestCarrier {
    /// The message with only `pending_request` set, to `request`.
    package init(pending request: ApprovalRequest) {
        self.init()
        pendingRequest = request.proto
    }

    /// The request of `pending_request`; `nil` when it is unset (the message holds a result).
    package func decodedPendingRequest(at path: FieldPath = .root) throws -> ApprovalRequest? {
        guard hasPendingRequest else { return nil }
        return try ApprovalRequest(proto: pendingRequest, at: path + "pending_request")
    }
}

extension Redoubt_V1_SignResponse: PendingRequestCarrier {}
extension Redoubt_V1_DecryptResponse: PendingRequestCarrier {}
extension Redoubt_V1_MacResponse: PendingRequestCarrier {}
extension Redoubt_V1_UpdateKeyResponse: PendingRequestCarrier {}
extension Redoubt_V1_BlockKeyResponse: PendingRequestCarrier {}
extension Redoubt_V1_UnblockKeyResponse: PendingRequestCarrier {}
extension Redoubt_V1_ErrorDetail: PendingRequestCarrier {}
