import Foundation
import RedoubtStore

extension LocalHSM {
    /// Applies a change to a key (read from the store, so concurrent changes are seen), commits it
    /// with its audit record, and updates the cache.
    /// A key whose policy has a rule for `submits` does not change: the change is submitted as a
    /// request and ``HSMError/approvalPending(_:)`` thrown. A key whose policy has a rule for
    /// `governed` (a change with no request of its own) refuses it.
    func mutateKey(
        _ session: SessionToken, _ id: String, _ operation: AuditOperation, roles: Set<Role> = [.securityOfficer],
        sessionObjectRoles: Set<Role> = [],
        newMaterial: LoadedMaterial? = nil, submits request: ApprovalOperation? = nil,
        governed: ApprovalOperation.Kind? = nil,
        _ change: (inout KeyRecord, _ now: Date) throws -> Void
    ) async throws -> KeyInfo {
        let what = operation.rawValue.replacingOccurrences(of: "key.", with: "") + " of keys"
        let caller = try await authorize(session, roles.union(sessionObjectRoles), what)
        var loaded = try await loadKey(caller, id)
        try Self.requireRole(caller, roles, loaded, what)
        if loaded.persistent {
            let (partition, _) = try await partitionRecord(caller.partition)
            guard !partition.settings.readOnly else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }
            guard let object = try await Self.storeCall({ try await store.get(objectKey(caller.partition, id)) }) else {
                throw HSMError.notFound("no key '\(id)'")
            }
            loaded.record = try RecordCoding.decode(KeyRecord.self, object.data)
            loaded.revision = object.revision
        }
        if let request, Self.governs(loaded.record, request.kind) {
            throw HSMError.approvalPending(try await submit(caller, id, request, loaded: loaded))
        }
        if let governed, Self.governs(loaded.record, governed) {
            // Rotating and destroying change the key too, and have no request of their own.
            throw HSMError.precondition(
                "key '\(id)' is governed by an approval policy whose modify rule needs approvals; relax it first with an approved set_policy request")
        }
        let applicationIDBefore = loaded.record.applicationID
        try change(&loaded.record, now)
        if let newMaterial, let v = loaded.record.versions.last?.version {
            loaded.materials[v] = newMaterial
        }
        if loaded.persistent {
            let result = try await commitManaged(
                [
                    .update(
                        objectKey(caller.partition, id), expectedRevision: loaded.revision, label: loaded.record.label,
                        data: try RecordCoding.encode(loaded.record))
                ] + applicationIDIndexWrites(ObjectKind.keyApplicationID, caller.partition, id, from: applicationIDBefore, to: loaded.record.applicationID),
                audit: caller, operation, object: id)
            loaded.revision = result.revisions[objectKey(caller.partition, id)] ?? loaded.revision + 1
            let cached = loaded
            state.withLock { $0.keys[Self.cacheKey(caller.partition, id)] = cached }
        } else {
            try await commitManaged([], audit: caller, operation, object: id)
            let cached = loaded
            state.withLock { $0.sessionObjects[caller.session]?[id] = cached }
        }
        return loaded.info
    }

    public func updateKey(_ session: SessionToken, id: String, update: KeyAttributeUpdate) async throws -> KeyInfo {
        try await mutateKey(session, id, .keyUpdate, submits: .update(update)) { r, _ in try Self.apply(update, to: &r) }
    }

    /// Applies an attribute change, refusing anything that is not stricter.
    static func apply(_ update: KeyAttributeUpdate, to r: inout KeyRecord) throws {
        let securityChange =
            update.usage != nil || update.extractable != nil || update.sensitive != nil || update.modifiable != nil
            || update.destroyable != nil || update.notBefore != nil || update.expiresAt != nil || update.minimumVersion != nil
        let nameChange = update.label != nil || update.applicationID != nil || update.subject != nil
        guard r.modifiable || (!securityChange && !nameChange) else {
            // CKA_MODIFIABLE false: nothing changes, the label and identifiers included.
            throw HSMError.precondition("key '\(r.id)' is not modifiable")
        }
        if let label = update.label {
            guard (1...128).contains(label.count) else { throw HSMError.invalid("label must be 1 to 128 characters") }
            r.label = label
        }
        try HSMArgumentChecks.keyIdentifiers(applicationID: update.applicationID, subject: update.subject)
        if let applicationID = update.applicationID { r.applicationID = applicationID.isEmpty ? nil : applicationID }
        if let subject = update.subject { r.subject = subject.isEmpty ? nil : subject }
        if let usage = update.usage {
            guard r.usage.isSuperset(of: usage), !usage.isEmpty else {
                throw HSMError.precondition("usage may only shrink (and not to nothing)")
            }
            r.usage = usage
        }
        if let e = update.extractable {
            guard !e || r.extractable else { throw HSMError.precondition("extractable may only change to false") }
            r.extractable = e
        }
        if let s = update.sensitive {
            guard s || !r.sensitive else { throw HSMError.precondition("sensitive may only change to true") }
            r.sensitive = s
        }
        if let m = update.modifiable {
            guard !m || r.modifiable else { throw HSMError.precondition("modifiable may only change to false") }
            r.modifiable = m
        }
        if let d = update.destroyable {
            guard !d || r.destroyable else { throw HSMError.precondition("destroyable may only change to false") }
            r.destroyable = d
        }
        if let nb = update.notBefore {
            guard r.notBefore.map({ nb >= $0 }) ?? true else { throw HSMError.precondition("not_before may only move later") }
            r.notBefore = nb
        }
        if let exp = update.expiresAt {
            guard r.expiresAt.map({ exp <= $0 }) ?? true else { throw HSMError.precondition("expires_at may only move earlier") }
            r.expiresAt = exp
        }
        if let nb = r.notBefore, let exp = r.expiresAt, nb >= exp {
            throw HSMError.precondition("not_before must stay earlier than expires_at")
        }
        if let mv = update.minimumVersion {
            guard mv >= r.minimumVersion, mv <= r.latestVersion else {
                throw HSMError.precondition("minimum_version may only rise, up to the latest version \(r.latestVersion)")
            }
            r.minimumVersion = mv
        }

    }

    public func rotateKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        let caller = try await authorize(session, [.securityOfficer], "rotation of keys")
        let current = try await loadKey(caller, id)
        guard current.record.local else {
            throw HSMError.precondition("key '\(id)' was imported; import a new key instead of rotating it")
        }
        guard current.record.state == .active else { throw HSMError.precondition("key '\(id)' is \(current.record.state.rawValue.lowercased())") }
        let material: LoadedMaterial
        do {
            material = try LoadedMaterial.generate(
                current.record.algorithm,
                secretByteCount: current.materials.values.first.flatMap {
                    if case .secret(let k) = $0 { return k.material.count } else { return nil }
                })
        } catch let e as CryptoError { throw HSMError(e) }
        let nextVersion = current.record.latestVersion + 1
        let versionRecord =
            current.persistent
            ? try await sealed(material, partition: caller.partition, id: id, version: nextVersion)
            : KeyVersionRecord(version: nextVersion, createdAt: now, sealed: nil, publicKey: material.publicKey?.spkiDER)
        return try await mutateKey(session, id, .keyRotate, newMaterial: material, governed: .setPolicy) { r, _ in
            guard r.latestVersion + 1 == nextVersion else { throw HSMError(.failedPrecondition, "the key was rotated concurrently; retry") }
            r.versions.append(versionRecord)
        }
    }

    public func blockKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await mutateKey(session, id, .keyBlock, submits: .block) { r, _ in try Self.block(&r) }
    }

    public func unblockKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await mutateKey(session, id, .keyUnblock, submits: .unblock) { r, _ in try Self.unblock(&r) }
    }

    static func block(_ r: inout KeyRecord) throws {
        guard r.state == .active else { throw HSMError.precondition("key '\(r.id)' is \(r.state.rawValue.lowercased()), not active") }
        r.state = .blocked
    }

    static func unblock(_ r: inout KeyRecord) throws {
        guard r.state == .blocked else { throw HSMError.precondition("key '\(r.id)' is not blocked") }
        r.state = .active
    }

    /// Refuses a caller whose role is not in `roles`, unless the key is a session object of its
    /// own session (only such a caller can load one): what a session made, it may destroy.
    static func requireRole(_ caller: Caller, _ roles: Set<Role>, _ loaded: LoadedKey, _ what: String) throws {
        guard !roles.contains(caller.role), loaded.persistent else { return }
        let allowed = roles.map(\.rawValue).sorted().joined(separator: " or ")
        throw HSMError.denied("\(what) needs the \(allowed) role; this session is \(caller.role.rawValue) (it may destroy only the session objects it made)")
    }

    public func destroyKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await mutateKey(session, id, .keyDestroy, sessionObjectRoles: [.cryptoUser], governed: .setPolicy) { r, now in
            guard r.destroyable else { throw HSMError.precondition("key '\(r.id)' is not destroyable") }
            guard r.state != .destroyed else { throw HSMError.precondition("key '\(r.id)' is already in the trash") }
            r.stateBeforeDestroy = r.state
            r.state = .destroyed
            r.destroyedAt = now
        }
    }

    public func restoreKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await mutateKey(session, id, .keyRestore, governed: .setPolicy) { r, _ in
            guard r.state == .destroyed else { throw HSMError.precondition("key '\(r.id)' is not in the trash") }
            // A key blocked before it was destroyed comes back blocked.
            r.state = r.stateBeforeDestroy ?? .active
            r.stateBeforeDestroy = nil
            r.destroyedAt = nil
        }
    }

    public func purgeKey(_ session: SessionToken, id: String) async throws {
        let caller = try await authorize(session, [.securityOfficer, .cryptoUser], "purging keys")
        let loaded = try await loadKey(caller, id)
        try Self.requireRole(caller, [.securityOfficer], loaded, "purging keys")
        if loaded.persistent {
            let (partition, _) = try await partitionRecord(caller.partition)
            guard !partition.settings.readOnly else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }
        }
        guard loaded.record.state == .destroyed else { throw HSMError.precondition("key '\(id)' must be destroyed (in the trash) before it is purged") }
        if loaded.persistent {
            guard let object = try await Self.storeCall({ try await store.get(objectKey(caller.partition, id)) }) else {
                throw HSMError.notFound("no key '\(id)'")
            }
            let stored = try RecordCoding.decode(KeyRecord.self, object.data)
            try await commitManaged(
                [.delete(objectKey(caller.partition, id), expectedRevision: object.revision)]
                    + applicationIDIndexWrites(ObjectKind.keyApplicationID, caller.partition, id, from: stored.applicationID, to: nil),
                audit: caller, .keyPurge, object: id)
            state.withLock {
                $0.keys[Self.cacheKey(caller.partition, id)] = nil
                if let n = $0.keyCounts[caller.partition] { $0.keyCounts[caller.partition] = max(0, n - 1) }
            }
        } else {
            try await commitManaged([], audit: caller, .keyPurge, object: id)
            state.withLock { $0.sessionObjects[caller.session]?[id] = nil }
        }
    }

    // MARK: Export

    public func exportWrapped(_ session: SessionToken, id: String, wrappingKey: String, scheme: WrapScheme) async throws -> Data {
        let caller = try await authorize(session, [.cryptoUser], "exporting wrapped keys")
        let target = try await loadKey(caller, id)
        try await checkExport(caller, target)
        let wrapping = try await loadKey(caller, wrappingKey)
        let (material, version) = try usableMaterial(wrapping, .wrap, originating: true)
        let bytes = try target.materials[target.record.latestVersion].map { try $0.exportable() }
        guard let bytes else { throw HSMError(.internalError, "key '\(id)' has no material") }
        let wrapped: Data
        do {
            switch (material, scheme) {
            case (.secret(let k), .aesKW), (.secret(let k), .aesKWP), (.secret(let k), .aesGCM):
                wrapped = try k.wrap(bytes, scheme: scheme)
            case (.privateKey(let k), .rsaOAEP):
                wrapped = try EncryptionKey(k.publicKey).wrap(bytes)
            case (.publicKey(let k), .rsaOAEP):
                wrapped = try EncryptionKey(k).wrap(bytes)
            default:
                throw HSMError.precondition("a \(wrapping.record.algorithm) key cannot wrap with \(scheme.rawValue)")
            }
        } catch let e as CryptoError { throw HSMError(e) }
        try await recordUse(caller, .keyExportWrapped, key: id, result: "ok")
        return VersionedBlob.encode(version: version, wrapped)
    }

    public func exportPlaintext(_ session: SessionToken, id: String) async throws -> SecretBytes {
        let caller = try await authorize(session, [.cryptoUser], "exporting keys")
        let target = try await loadKey(caller, id)
        try await checkExport(caller, target)
        guard !target.record.sensitive else { throw HSMError.precondition("key '\(id)' is sensitive: it leaves the HSM only wrapped") }
        guard let material = target.materials[target.record.latestVersion] else { throw HSMError(.internalError, "key '\(id)' has no material") }
        let bytes = try material.exportable()
        try await recordUse(caller, .keyExportPlaintext, key: id, result: "ok")
        return bytes
    }

    func checkExport(_ caller: Caller, _ target: LoadedKey) async throws {
        let (partition, _) = try await partitionRecord(caller.partition)
        guard partition.settings.exportAllowed else { throw HSMError.precondition("partition '\(partition.id)' does not allow key export") }
        guard target.record.policy == nil else {
            throw HSMError.precondition("key '\(target.record.id)' has an approval policy and is never exportable")
        }
        guard target.record.extractable else { throw HSMError.precondition("key '\(target.record.id)' is not extractable") }
        guard target.record.state == .active else {
            throw HSMError.precondition("key '\(target.record.id)' is \(target.record.state.rawValue.lowercased())")
        }
        guard !target.record.publicOnly else { throw HSMError.precondition("key '\(target.record.id)' is public only: export its public key") }
    }
}
