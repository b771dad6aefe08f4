import Foundation
import RedoubtStore

extension LocalHSM {
    func approverKey(_ partition: String, _ name: String) -> ObjectKey {
        ObjectKey(partition: partition, kind: ObjectKind.approver, id: name)
    }

    /// The registered approver `name` of `partition`, if any.
    func loadApprover(_ partition: String, _ name: String) async throws -> Approver? {
        guard Approver.isValidName(name),
            let object = try await Self.storeCall({ try await store.get(approverKey(partition, name)) })
        else { return nil }
        return try RecordCoding.decode(ApproverRecord.self, object.data).approver()
    }

    /// Checks a policy: shape, and every approver it names registered in the partition.
    func checkPolicy(_ policy: KeyPolicy, partition: String, field: String) async throws {
        try policy.validate(field: field)
        for name in policy.approverNames.sorted() {
            guard try await loadApprover(partition, name) != nil else {
                throw HSMError.invalid("\(field) names approver '\(name)', who is not registered in partition '\(partition)'")
            }
        }
    }

    public func registerApprover(_ session: SessionToken, name: String, publicKey: PublicKey) async throws -> Approver {
        let caller = try await authorize(session, [.securityOfficer], "registering approvers")
        let (partition, _) = try await partitionRecord(caller.partition)
        guard !partition.settings.readOnly else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }
        guard Approver.isValidName(name) else {
            throw HSMError.invalid("name must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit")
        }
        guard Approver.algorithms.contains(publicKey.algorithm) else {
            throw HSMError.invalid("public_key must be an Ed25519, P-256 or ML-DSA-65 key, not \(publicKey.algorithm)")
        }
        guard try await loadApprover(caller.partition, name) == nil else {
            throw HSMError(.alreadyExists, "an approver named '\(name)' already exists")
        }
        let record = ApproverRecord(name: name, publicKey: publicKey.spkiDER, createdAt: now, createdBy: caller.user)
        try await commitManaged(
            [.insert(approverKey(caller.partition, name), label: name, data: try RecordCoding.encode(record))],
            audit: caller, .approverRegister, object: name)
        return Approver(name: name, publicKey: publicKey)
    }

    public func listApprovers(_ session: SessionToken) async throws -> [Approver] {
        let caller = try await authorize(session, [.securityOfficer, .auditor], "listing approvers")
        var out: [Approver] = []
        var after: String?
        while true {
            let page = try await Self.storeCall {
                try await store.list(partition: caller.partition, kind: ObjectKind.approver, label: nil, after: after, limit: 500)
            }
            out += try page.map { try RecordCoding.decode(ApproverRecord.self, $0.data).approver() }
            guard page.count == 500, let last = page.last else { break }
            after = last.key.id
        }
        return out
    }

    public func removeApprover(_ session: SessionToken, name: String) async throws {
        let caller = try await authorize(session, [.securityOfficer], "removing approvers")
        let (partition, _) = try await partitionRecord(caller.partition)
        guard !partition.settings.readOnly else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }
        guard Approver.isValidName(name),
            let object = try await Self.storeCall({ try await store.get(approverKey(caller.partition, name)) })
        else {
            throw HSMError.notFound("no approver '\(name.prefix(64))'")
        }
        // A key whose policy names the approver would lose a way to satisfy its rules.
        var after: String?
        while true {
            let page = try await Self.storeCall {
                try await store.list(partition: caller.partition, kind: ObjectKind.key, label: nil, after: after, limit: 500)
            }
            for key in page {
                let record = try RecordCoding.decode(KeyRecord.self, key.data)
                if record.state != .destroyed, record.policy?.approverNames.contains(name) == true {
                    throw HSMError.precondition("the policy of key '\(record.id)' names approver '\(name)'; change the policy first")
                }
            }
            guard page.count == 500, let last = page.last else { break }
            after = last.key.id
        }
        try await commitManaged(
            [.delete(approverKey(caller.partition, name), expectedRevision: object.revision)],
            audit: caller, .approverRemove, object: name)
    }
}
