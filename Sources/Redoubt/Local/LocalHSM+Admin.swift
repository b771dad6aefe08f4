import Foundation
import RedoubtStore

extension LocalHSM {
    // MARK: Partitions

    public func createPartition(_ session: SessionToken, id: String, settings: PartitionSettings) async throws -> CreatedPartition {
        let caller = try await authorize(session, [.operator], "creating a partition")
        guard Identifiers.isValidName(id) else {
            throw HSMError.invalid("partition id must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit")
        }
        let settings = try settings.validated()
        let key = ObjectKey(partition: "", kind: ObjectKind.partition, id: id)
        if try await Self.storeCall({ try await store.get(key) }) != nil {
            throw HSMError(.alreadyExists, "partition '\(id)' already exists")
        }
        let partitionKey: PartitionKey
        let wrapped: Data
        do {
            partitionKey = try PartitionKey.generate()
            wrapped = try master.wrap(partitionKey, partitionID: id)
        } catch {
            throw HSMError(.internalError, "cannot create the partition key")
        }
        let record = PartitionRecord(id: id, settings: settings, createdAt: now, wrappedKey: wrapped)
        let officer = UserRecord(
            id: Identifiers.random("u_"), name: "officer", role: .securityOfficer, partition: id,
            createdAt: now, passwordCredential: nil)
        let (credential, apiKey) = makeAPIKey(user: officer.id, partition: id)
        let officerCaller = Caller(session: caller.session, partition: id, user: caller.user, role: caller.role)
        try await commitManaged(
            [
                .insert(key, label: id, data: try RecordCoding.encode(record)),
                .insert(ObjectKey(partition: id, kind: ObjectKind.user, id: officer.id), label: officer.name, data: try RecordCoding.encode(officer)),
                .insert(ObjectKey(partition: id, kind: ObjectKind.credential, id: credential.id), label: nil, data: try RecordCoding.encode(credential)),
                .appendAudit(partition: id, payload: auditPayload(officerCaller, .partitionCreate, object: id, result: "ok")),
            ], audit: caller, .partitionCreate, object: id)
        state.withLock { $0.sealers[id] = ObjectSealer(partitionKey) }
        return CreatedPartition(partition: record.info, securityOfficer: officer.info, securityOfficerAPIKey: apiKey)
    }

    public func listPartitions(_ session: SessionToken) async throws -> [PartitionInfo] {
        _ = try await authorize(session, [.operator], "listing partitions")
        var out: [PartitionInfo] = []
        var after: String?
        while true {
            let page = try await Self.storeCall { try await store.list(partition: "", kind: ObjectKind.partition, label: nil, after: after, limit: 500) }
            out += try page.map { try RecordCoding.decode(PartitionRecord.self, $0.data).info }
            guard page.count == 500, let last = page.last else { break }
            after = last.key.id
        }
        return out
    }

    public func updatePartition(_ session: SessionToken, id: String, settings: PartitionSettings) async throws -> PartitionInfo {
        let caller = try await authorize(session, [.operator], "changing a partition")
        let settings = try settings.validated()
        var (record, revision) = try await partitionRecord(id)
        record.settings = settings
        let result = try await commitManaged(
            [
                .update(
                    ObjectKey(partition: "", kind: ObjectKind.partition, id: id), expectedRevision: revision, label: id,
                    data: try RecordCoding.encode(record))
            ], audit: caller, .partitionUpdate, object: id)
        let updated = record
        state.withLock { $0.partitions[id] = (updated, result.revisions[ObjectKey(partition: "", kind: ObjectKind.partition, id: id)] ?? revision + 1) }
        return record.info
    }

    // MARK: Users

    public func addUser(
        _ session: SessionToken, name: String, role: Role, password: String?,
        clientCertificateSHA256: Data?
    ) async throws -> NewUser {
        let caller = try await authenticate(session)
        // The operator adds operators; a partition's security officer adds its users.
        switch (caller.role, role) {
        case (.operator, .operator): break
        case (.securityOfficer, .securityOfficer), (.securityOfficer, .cryptoUser), (.securityOfficer, .auditor), (.securityOfficer, .approver): break
        case (.operator, _): throw HSMError.denied("the operator cannot add partition users; the partition's security officer does")
        default: throw HSMError.denied("adding users needs the SECURITY_OFFICER role; this session is \(caller.role.rawValue)")
        }
        if !caller.partition.isEmpty {
            let (partition, _) = try await partitionRecord(caller.partition)
            guard !partition.settings.readOnly else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }
        }
        guard Identifiers.isValidName(name) else {
            throw HSMError.invalid("user name must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit")
        }
        let existing = try await Self.storeCall {
            try await store.list(partition: caller.partition, kind: ObjectKind.user, label: name, after: nil, limit: 1)
        }
        guard existing.isEmpty else { throw HSMError(.alreadyExists, "a user named '\(name)' already exists") }
        var user = UserRecord(
            id: Identifiers.random("u_"), name: name, role: role, partition: caller.partition,
            createdAt: now, passwordCredential: nil)
        let (credential, apiKey) = makeAPIKey(user: user.id, partition: caller.partition)
        var ops: [WriteOperation] = [
            .insert(
                ObjectKey(partition: caller.partition, kind: ObjectKind.credential, id: credential.id), label: nil,
                data: try RecordCoding.encode(credential))
        ]
        if let password {
            let pw = try makePassword(user: user.id, name: name, partition: caller.partition, password: password)
            user.passwordCredential = pw.id
            ops.append(
                .insert(
                    ObjectKey(partition: caller.partition, kind: ObjectKind.credential, id: pw.id), label: nil,
                    data: try RecordCoding.encode(pw)))
        }
        if let fingerprint = clientCertificateSHA256 {
            guard fingerprint.count == 32 else {
                throw HSMError.invalid("client_certificate_sha256 must be the 32-byte SHA-256 of the certificate's DER encoding")
            }
            let id = Self.certificateCredentialID(fingerprint)
            let taken = try await Self.storeCall {
                try await store.get(ObjectKey(partition: caller.partition, kind: ObjectKind.credential, id: id))
            }
            guard taken == nil else { throw HSMError(.alreadyExists, "that client certificate already belongs to a user of this partition") }
            let record = CredentialRecord(
                id: id, kind: .certificate, user: user.id, partition: caller.partition, hash: fingerprint,
                salt: nil, costLog2: nil, failedAttempts: 0, lockedUntil: nil)
            user.certificateCredential = id
            ops.append(
                .insert(
                    ObjectKey(partition: caller.partition, kind: ObjectKind.credential, id: id), label: nil,
                    data: try RecordCoding.encode(record)))
        }
        ops.append(
            .insert(
                ObjectKey(partition: caller.partition, kind: ObjectKind.user, id: user.id), label: name,
                data: try RecordCoding.encode(user)))
        try await commitManaged(ops, audit: caller, .userAdd, object: user.id)
        return NewUser(user: user.info, apiKey: apiKey)
    }

    public func listUsers(_ session: SessionToken) async throws -> [UserInfo] {
        let caller = try await authorize(session, [.securityOfficer, .operator, .auditor], "listing users")
        let page = try await Self.storeCall {
            try await store.list(partition: caller.partition, kind: ObjectKind.user, label: nil, after: nil, limit: 10_000)
        }
        return try page.map { try RecordCoding.decode(UserRecord.self, $0.data).info }
    }

    public func removeUser(_ session: SessionToken, id: String) async throws {
        let caller = try await authorize(session, [.securityOfficer, .operator], "removing users")
        guard id != caller.user else { throw HSMError.precondition("a user cannot remove itself") }
        if !caller.partition.isEmpty {
            let (partition, _) = try await partitionRecord(caller.partition)
            guard !partition.settings.readOnly else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }
        }
        let key = ObjectKey(partition: caller.partition, kind: ObjectKind.user, id: id)
        guard let object = try await Self.storeCall({ try await store.get(key) }) else { throw HSMError.notFound("no user '\(id)'") }
        var ops: [WriteOperation] = [.delete(key, expectedRevision: object.revision)]
        // Its credentials go with it.
        var after: String?
        repeat {
            let page = try await Self.storeCall {
                try await store.list(partition: caller.partition, kind: ObjectKind.credential, label: nil, after: after, limit: 500)
            }
            for c in page where (try? RecordCoding.decode(CredentialRecord.self, c.data))?.user == id {
                ops.append(.delete(c.key, expectedRevision: c.revision))
            }
            after = page.count == 500 ? page.last?.key.id : nil
        } while after != nil
        try await commitManaged(ops, audit: caller, .userRemove, object: id)
        // Its sessions end (here at once; elsewhere when caches refresh and the lookup fails).
        state.withLock { s in
            for (sid, rec) in s.sessions where rec.user == id {
                s.sessions[sid] = nil
                s.sessionObjects[sid] = nil
            }
        }
        var sessionAfter: String?
        repeat {
            let page = try await Self.storeCall {
                try await store.list(partition: "", kind: ObjectKind.session, label: nil, after: sessionAfter, limit: 500)
            }
            let doomed = page.filter { (try? RecordCoding.decode(SessionRecord.self, $0.data))?.user == id }
            if !doomed.isEmpty {
                _ = try? await commit(WriteBatch(doomed.map { .delete($0.key, expectedRevision: $0.revision) }))
            }
            sessionAfter = page.count == 500 ? page.last?.key.id : nil
        } while sessionAfter != nil
    }
}
