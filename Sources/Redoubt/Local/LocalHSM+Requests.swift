import Foundation
import RedoubtStore

/// Requests on governed keys.
///
/// A request is a store object (kind `request`) changed only by commits that carry its expected
/// revision, together with the audit records of the change and, when it executes, the key
/// change or key-use record. Two approvals that race both read revision n; one commits n+1 and
/// the other retries on fresh state, so the operation runs once. Time-only transitions (a
/// timelock passing, a timeout expiring) are made by the next call that reads the request.
extension LocalHSM {
    func requestKey(_ partition: String, _ id: String) -> ObjectKey {
        ObjectKey(partition: partition, kind: ObjectKind.request, id: id)
    }

    /// The identity a request record is sealed under (not its result's: the two blobs cannot be swapped).
    private func requestRecordIdentity(_ partition: String, _ id: String) -> SealIdentity {
        SealIdentity(partition: partition, kind: ObjectKind.request + ".record", objectID: id, version: 1)
    }

    /// A request record as stored: sealed whole under the partition key, since the data to sign,
    /// decrypt or MAC is the requester's and may be confidential.
    func sealedRequest(_ r: RequestRecord) async throws -> Data {
        let sealer = try await sealer(for: r.partition)
        do {
            return try sealer.seal(try RecordCoding.encode(r), identity: requestRecordIdentity(r.partition, r.id))
        } catch {
            throw HSMError(.internalError, "cannot seal request '\(r.id)'")
        }
    }

    /// Opens a stored request record (``sealedRequest(_:)``).
    func openRequest(_ object: StoredObject) async throws -> RequestRecord {
        let sealer = try await sealer(for: object.key.partition)
        let plain: Data
        do {
            plain = try sealer.openData(object.data, identity: requestRecordIdentity(object.key.partition, object.key.id))
        } catch {
            logger.error("request record does not open", metadata: ["redoubt.request": "\(object.key.id)"])
            throw HSMError(.internalError, "request '\(object.key.id)' cannot be unsealed")
        }
        return try RecordCoding.decode(RequestRecord.self, plain)
    }

    /// Now, down to the millisecond: what the store keeps of a date, so that a request's times
    /// compare the same before and after a round trip through it.
    var requestNow: Date { Date(timeIntervalSince1970: (now.timeIntervalSince1970 * 1000).rounded(.down) / 1000) }

    /// The most bytes of data a request may carry.
    static let maximumRequestData = 1 << 16

    // MARK: Submitting

    public func submitRequest(_ session: SessionToken, key: String, operation: ApprovalOperation) async throws -> ApprovalRequest {
        try await submit(try await authenticate(session), key, operation)
    }

    /// Submits `operation` on `key` as a request: for ``submitRequest(_:key:operation:)``, and for
    /// a direct call on a governed key (which passes the key it has `loaded` already).
    func submit(_ caller: Caller, _ key: String, _ operation: ApprovalOperation, loaded: LoadedKey? = nil) async throws -> ApprovalRequest {
        guard caller.role == operation.submitter else {
            throw HSMError.denied(
                "submitting a \(operation.kind.rawValue) request needs the \(operation.submitter.rawValue) role; this session is \(caller.role.rawValue)")
        }
        try Self.checkRequestData(operation)
        let loaded = if let loaded { loaded } else { try await loadKey(caller, key) }
        guard loaded.persistent else { throw HSMError.precondition("key '\(key)' is a session object; session objects are not governed") }
        let rule = loaded.record.policy?.rule(for: operation.kind) ?? .none
        switch operation {
        case .sign, .decrypt, .mac:
            // Fail early on a key that could not do it now anyway (blocked, expired, wrong usage).
            let usage: KeyUsage = operation.kind == .sign ? .sign : operation.kind == .mac ? .mac : .decrypt
            _ = try usableMaterial(loaded, usage, originating: usage != .decrypt, approved: true)
        case .setPolicy(let policy):
            guard loaded.record.policy != nil else {
                throw HSMError.precondition("key '\(key)' has no approval policy; policies are set when a key is created or imported")
            }
            try await checkPolicy(policy, partition: caller.partition, field: "operation.policy")
        case .block, .unblock, .update:
            break
        }
        let record = RequestRecord(
            id: Identifiers.random("r"), partition: caller.partition, keyID: key, operation: operation,
            requester: caller.user, requesterRole: caller.role, createdAt: requestNow, status: .pending, rule: rule,
            decisions: [], executableAt: nil, finishedAt: nil, sealedResult: nil, resultVersion: nil, failure: nil)
        let settled = try await settle(
            caller, record, revision: nil,
            audit: [auditOp(caller, .requestSubmit, object: record.id)])
        return try await view(caller, settled)
    }

    /// Whether `key`'s policy has a non-empty rule for `kind`: a direct call of it becomes a request.
    static func governs(_ key: KeyRecord, _ kind: ApprovalOperation.Kind) -> Bool {
        key.policy.map { !$0.rule(for: kind).isEmpty } ?? false
    }

    static func checkRequestData(_ operation: ApprovalOperation) throws {
        let size: Int
        switch operation {
        case .sign(.message(let d), _), .sign(.digest(let d), _), .mac(let d, _): size = d.count
        case .decrypt(let c, _, let aad): size = c.count + aad.count
        case .block, .unblock, .update, .setPolicy: size = 0
        }
        guard size <= maximumRequestData else {
            throw HSMError.invalid("operation data must be at most \(maximumRequestData) bytes for a request")
        }
    }

    // MARK: Reading

    public func getRequest(_ session: SessionToken, id: String) async throws -> ApprovalRequest {
        let caller = try await authorize(session, [.securityOfficer, .auditor, .cryptoUser, .approver], "reading requests")
        let (record, revision) = try await readRequest(caller, id)
        let settled = try await settleLazily(caller, record, revision: revision)
        return try await view(caller, settled)
    }

    public func listRequests(_ session: SessionToken, filter: ApprovalRequestFilter) async throws -> [ApprovalRequest] {
        let caller = try await authorize(session, [.securityOfficer, .auditor, .cryptoUser, .approver], "listing requests")
        guard (1...HSMArgumentChecks.maximumPageSize).contains(filter.limit) else {
            throw HSMError.invalid("limit must be 1 to \(HSMArgumentChecks.maximumPageSize)")
        }
        let name = try await callerName(caller)
        var out: [ApprovalRequest] = []
        var after = filter.after
        while out.count < filter.limit {
            let page = try await Self.storeCall {
                try await store.list(partition: caller.partition, kind: ObjectKind.request, label: filter.keyID, after: after, limit: filter.limit)
            }
            for object in page {
                let record = try await openRequest(object)
                guard Self.visible(record, to: caller, name: name) else { continue }
                let settled = try await settleLazily(caller, record, revision: object.revision)
                if let status = filter.status, settled.status != status { continue }
                out.append(try await view(caller, settled))
                if out.count == filter.limit { break }
            }
            guard page.count == filter.limit, let last = page.last else { break }
            after = last.key.id
        }
        return out
    }

    /// The security officer and auditors see every request; a crypto user its own; an approver
    /// those whose rule names it.
    static func visible(_ r: RequestRecord, to caller: Caller, name: String) -> Bool {
        switch caller.role {
        case .securityOfficer, .auditor: return true
        case .cryptoUser: return r.requester == caller.user
        case .approver: return r.approverNames.contains(name)
        case .operator: return false
        }
    }

    /// The caller's user name (an approver session acts as the approver of that name).
    func callerName(_ caller: Caller) async throws -> String {
        guard
            let object = try await Self.storeCall({
                try await store.get(ObjectKey(partition: caller.partition, kind: ObjectKind.user, id: caller.user))
            })
        else { throw HSMError.invalidSession }
        return try RecordCoding.decode(UserRecord.self, object.data).name
    }

    /// Reads a request visible to the caller; anything else is "no request".
    func readRequest(_ caller: Caller, _ id: String) async throws -> (RequestRecord, Int64) {
        guard ApprovalRequest.isRequestID(id),
            let object = try await Self.storeCall({ try await store.get(requestKey(caller.partition, id)) })
        else {
            throw HSMError.notFound("no request '\(id.prefix(40))'")
        }
        let record = try await openRequest(object)
        guard Self.visible(record, to: caller, name: try await callerName(caller)) else { throw HSMError.notFound("no request '\(id)'") }
        return (record, object.revision)
    }

    /// The public form; the result only for the requester.
    func view(_ caller: Caller, _ r: RequestRecord) async throws -> ApprovalRequest {
        var result: ApprovalResult?
        if caller.user == r.requester, r.status == .executed, let sealed = r.sealedResult {
            let sealer = try await sealer(for: r.partition)
            do {
                let data = try sealer.openData(sealed, identity: SealIdentity(requestKey(r.partition, r.id), version: 1))
                result = ApprovalResult(data: data, version: r.resultVersion)
            } catch {
                logger.error("request result does not open", metadata: ["redoubt.request": "\(r.id)"])
                throw HSMError(.internalError, "the result of request '\(r.id)' cannot be unsealed")
            }
        }
        return r.request(result: result)
    }

    // MARK: Deciding

    public func approveRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest {
        try await decide(session, id, approver, signature, .approve)
    }

    public func rejectRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest {
        try await decide(session, id, approver, signature, .reject)
    }

    /// Records a decision; a refused one is audited too.
    func decide(
        _ session: SessionToken, _ id: String, _ approver: String, _ signature: Data,
        _ decision: ApprovalChallenge.Decision
    ) async throws -> ApprovalRequest {
        let caller = try await authorize(session, [.approver, .securityOfficer, .cryptoUser], "handing in approvals")
        do {
            return try await decideChecked(caller, id, approver, signature, decision)
        } catch {
            let code = (error as? HSMError)?.code.description ?? HSMError.Code.internalError.description
            try? await recordUse(caller, Self.auditOperation(decision), key: String(id.prefix(40)), result: code)
            throw error
        }
    }

    private func decideChecked(
        _ caller: Caller, _ id: String, _ approver: String, _ signature: Data,
        _ decision: ApprovalChallenge.Decision
    ) async throws -> ApprovalRequest {
        guard Approver.isValidName(approver) else { throw HSMError.invalid("approver is not a valid approver name") }
        guard (1...8192).contains(signature.count) else { throw HSMError.invalid("signature must be 1 to 8192 bytes") }
        if caller.role == .approver {
            let name = try await callerName(caller)
            guard name == approver else {
                throw HSMError.denied("an approver session hands in its own decisions only (approver '\(name)')")
            }
        }
        for _ in 0..<16 {
            let (current, revision) = try await readRequest(caller, id)
            guard current.approverNames.contains(approver) else {
                throw HSMError.denied("approver '\(approver)' is not named by the rule of request '\(id)'")
            }
            guard let registered = try await loadApprover(caller.partition, approver) else {
                throw HSMError.denied("approver '\(approver)' is not registered in partition '\(caller.partition)'")
            }
            guard registered.isValidSignature(signature, for: current.request(result: nil).challenge(decision).bytes) else {
                throw HSMError.invalid("signature is not approver '\(approver)''s signature of this request's \(decision.rawValue) challenge")
            }
            var record = current
            let step = RequestEvaluation.step(record, now: now)
            if step != .unchanged || record.status != .pending {
                if step != .unchanged {
                    do { record = try await settle(caller, record, revision: revision, audit: []) } catch  where Self.isConflict(error) { continue }
                }
                throw HSMError.precondition("request '\(id)' is \(record.status.rawValue); it takes no more decisions")
            }
            guard !record.decisions.contains(where: { $0.approver == approver }) else {
                throw HSMError(.alreadyExists, "approver '\(approver)' has already decided on request '\(id)'")
            }
            record.decisions.append(StoredDecision(approver: approver, decision: decision, at: requestNow, signature: signature))
            do {
                let settled = try await settle(
                    caller, record, revision: revision,
                    audit: [auditOp(caller, Self.auditOperation(decision), object: "\(id):\(approver)")])
                return try await view(caller, settled)
            } catch  where Self.isConflict(error) {
                continue
            }
        }
        throw HSMError(.unavailable, "request '\(id)' keeps changing concurrently; retry")
    }

    /// The record of an approver's decision.
    static func auditOperation(_ decision: ApprovalChallenge.Decision) -> AuditOperation {
        switch decision {
        case .approve: return .requestApprove
        case .reject: return .requestReject
        }
    }

    // MARK: Advancing

    func auditOp(_ caller: Caller, _ operation: AuditOperation, object: String, result: String = "ok") -> WriteOperation {
        .appendAudit(partition: caller.partition, payload: auditPayload(caller, operation, object: object, result: result))
    }

    /// Makes the transitions time has made due, re-reading after a lost race.
    func settleLazily(_ caller: Caller, _ record: RequestRecord, revision: Int64) async throws -> RequestRecord {
        var (record, revision) = (record, revision)
        for _ in 0..<16 {
            guard RequestEvaluation.step(record, now: now) != .unchanged else { return record }
            do { return try await settle(caller, record, revision: revision, audit: []) } catch  where Self.isConflict(error) {
                guard let object = try await Self.storeCall({ try await store.get(requestKey(record.partition, record.id)) }) else {
                    throw HSMError.notFound("no request '\(record.id)'")
                }
                record = try await openRequest(object)
                revision = object.revision
            }
        }
        throw HSMError(.unavailable, "request '\(record.id)' keeps changing concurrently; retry")
    }

    /// Advances `record` as far as it goes now and commits it (inserted when `revision` is nil)
    /// with `audit` and the records of what happened, in one commit.
    func settle(_ caller: Caller, _ record: RequestRecord, revision: Int64?, audit: [WriteOperation]) async throws -> RequestRecord {
        var r = record
        var ops = audit
        var keyChanged = false
        switch RequestEvaluation.step(r, now: now) {
        case .unchanged:
            if revision != nil && audit.isEmpty { return r }
        case .approve(let at):
            r.status = .approved
            r.executableAt = at
            ops.append(auditOp(caller, .requestGrant, object: r.id))
        case .reject:
            r.status = .rejected
            r.finishedAt = requestNow
            ops.append(auditOp(caller, .requestDeny, object: r.id))
        case .expire:
            r.status = .expired
            r.finishedAt = requestNow
            ops.append(auditOp(caller, .requestExpire, object: r.id))
        case .execute:
            let (executionOps, changed) = try await execute(caller, &r)
            ops += executionOps
            keyChanged = changed
        }
        let key = requestKey(r.partition, r.id)
        let data = try await sealedRequest(r)
        let write: WriteOperation =
            revision.map { .update(key, expectedRevision: $0, label: r.keyID, data: data) }
            ?? .insert(key, label: r.keyID, data: data)
        try await commitAudited([write] + ops)
        if keyChanged {
            state.withLock { $0.keys[Self.cacheKey(r.partition, r.keyID)] = nil }
        }
        return r
    }

    /// Runs the operation of an approved request. Returns the writes to commit with the request
    /// (a key change, the audit records) and whether the key changed. A refusal by the key (blocked,
    /// expired, no longer allowed) fails the request; a store failure is thrown.
    func execute(_ caller: Caller, _ r: inout RequestRecord) async throws -> ([WriteOperation], Bool) {
        let actor = Caller(session: caller.session, partition: r.partition, user: r.requester, role: r.requesterRole)
        let keyOperation = Self.auditOperation(r.operation.kind)
        var ops: [WriteOperation] = []
        var keyChanged = false
        r.finishedAt = requestNow
        do {
            var result: (data: Data, version: Int?)?
            switch r.operation {
            case .sign(let input, let scheme):
                let signature = try signing(try await loadKey(actor, r.keyID), input: input, scheme: scheme, approved: true)
                result = (signature.signature, signature.version)
            case .decrypt(let ciphertext, let scheme, let aad):
                result = (try decrypting(try await loadKey(actor, r.keyID), ciphertext: ciphertext, scheme: scheme, aad: aad, approved: true), nil)
            case .mac(let data, let hash):
                result = (try macing(try await loadKey(actor, r.keyID), data: data, hash: hash, approved: true), nil)
            case .block, .unblock, .update, .setPolicy:
                ops.append(try await changeKey(actor, r.keyID, r.operation))
                keyChanged = true
            }
            if let result {
                let sealer = try await sealer(for: r.partition)
                do {
                    r.sealedResult = try sealer.seal(result.data, identity: SealIdentity(requestKey(r.partition, r.id), version: 1))
                } catch {
                    throw HSMError(.internalError, "cannot seal the result")
                }
                r.resultVersion = result.version
            }
            r.status = .executed
            ops.append(auditOp(actor, keyOperation, object: r.keyID))
            ops.append(auditOp(caller, .requestExecute, object: r.id))
        } catch {
            let refused = (error as? HSMError) ?? (error as? CryptoError).map { HSMError($0) }
            let refusals: [HSMError.Code] = [.failedPrecondition, .invalidArgument, .notFound]
            guard let refused, refusals.contains(refused.code), !Self.isConflict(refused) else {
                throw error
            }
            ops = [
                auditOp(actor, keyOperation, object: r.keyID, result: refused.code.description),
                auditOp(caller, .requestExecute, object: r.id, result: refused.code.description),
            ]
            keyChanged = false
            r.status = .failed
            r.failure = refused.message
        }
        return (ops, keyChanged)
    }

    /// The record of the key use or change an approved request of `kind` makes.
    static func auditOperation(_ kind: ApprovalOperation.Kind) -> AuditOperation {
        switch kind {
        case .sign: return .keySign
        case .decrypt: return .keyDecrypt
        case .mac: return .keyMAC
        case .block: return .keyBlock
        case .unblock: return .keyUnblock
        case .update: return .keyUpdate
        case .setPolicy: return .keySetPolicy
        }
    }

    /// The key write of an approved block, unblock or modification, at the key's current revision.
    func changeKey(_ actor: Caller, _ id: String, _ operation: ApprovalOperation) async throws -> WriteOperation {
        let (partition, _) = try await partitionRecord(actor.partition)
        guard !partition.settings.readOnly else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }
        guard let object = try await Self.storeCall({ try await store.get(objectKey(actor.partition, id)) }) else {
            throw HSMError.notFound("no key '\(id)'")
        }
        var record = try RecordCoding.decode(KeyRecord.self, object.data)
        switch operation {
        case .block: try Self.block(&record)
        case .unblock: try Self.unblock(&record)
        case .update(let update): try Self.apply(update, to: &record)
        case .setPolicy(let policy):
            try await checkPolicy(policy, partition: actor.partition, field: "operation.policy")
            record.policy = policy
            record.extractable = false
        case .sign, .decrypt, .mac:
            throw HSMError(.internalError, "not a key change")
        }
        return .update(
            objectKey(actor.partition, id), expectedRevision: object.revision, label: record.label,
            data: try RecordCoding.encode(record))
    }
}
