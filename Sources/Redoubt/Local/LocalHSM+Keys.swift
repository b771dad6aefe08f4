import Foundation
import RedoubtStore

extension LocalHSM {
    static func cacheKey(_ partition: String, _ id: String) -> KeyCacheKey { KeyCacheKey(partition: partition, id: id) }

    static func isKeyID(_ id: String) -> Bool {
        KeyIdentifier.isValid(id)
    }

    func objectKey(_ partition: String, _ id: String) -> ObjectKey { ObjectKey(partition: partition, kind: ObjectKind.key, id: id) }

    /// Loads a key visible to the caller: a session object of this session, or a stored key of the
    /// caller's partition. Anything else is "no key" — whether it exists elsewhere or not.
    nonisolated(nonsending) func loadKey(_ caller: Caller, _ id: String) async throws -> LoadedKey {
        // A cached key's id is valid: it is checked on the way to the store.
        let ck = Self.cacheKey(caller.partition, id)
        let (cached, generation) = state.withLock { s in (Self.cachedKey(&s, caller, id), s.dropGeneration) }
        if let cached { return cached }
        guard Self.isKeyID(id) else { throw HSMError.notFound("no key '\(id.prefix(40))'") }
        guard !caller.partition.isEmpty,
            let object = try await Self.storeCall({ try await store.get(objectKey(caller.partition, id)) })
        else { throw HSMError.notFound("no key '\(id)'") }
        let loaded = try await unseal(object, partition: caller.partition)
        // Not cached if another node's change was dropped meanwhile: this read may predate it.
        state.withLock { if $0.dropGeneration == generation { $0.keys[ck] = loaded } }
        return loaded
    }

    /// A key in memory: a session object of the caller's session, or a cached key of its partition.
    static func cachedKey(_ s: inout State, _ caller: Caller, _ id: String) -> LoadedKey? {
        if !s.sessionObjects.isEmpty, let ephemeral = s.sessionObjects[caller.session]?[id] { return ephemeral }
        return s.keys[cacheKey(caller.partition, id)]
    }

    func unseal(_ object: StoredObject, partition: String) async throws -> LoadedKey {
        let record = try RecordCoding.decode(KeyRecord.self, object.data)
        let sealer = try await sealer(for: partition)
        var materials: [Int: LoadedMaterial] = [:]
        for v in record.versions {
            if let sealed = v.sealed {
                let bytes: SecretBytes
                do {
                    bytes = try sealer.open(sealed, identity: SealIdentity(partition: partition, kind: ObjectKind.key, objectID: record.id, version: v.version))
                } catch {
                    logger.error("key blob does not open", metadata: ["redoubt.key": "\(record.id)", "redoubt.version": "\(v.version)"])
                    throw HSMError(.internalError, "key '\(record.id)' cannot be unsealed")
                }
                do { materials[v.version] = try LoadedMaterial.from(bytes, algorithm: record.algorithm) } catch {
                    throw HSMError(.internalError, "key '\(record.id)' is damaged")
                }
            } else if let spki = v.publicKey, let pub = try? PublicKey(spkiDER: spki) {
                materials[v.version] = .publicKey(pub)
            }
        }
        return LoadedKey(record: record, revision: object.revision, persistent: true, materials: materials, partition: partition)
    }

    func sealed(_ material: LoadedMaterial, partition: String, id: String, version: Int) async throws -> KeyVersionRecord {
        let pub = material.publicKey?.spkiDER
        if case .publicKey = material {
            return KeyVersionRecord(version: version, createdAt: now, sealed: nil, publicKey: pub)
        }
        let sealer = try await sealer(for: partition)
        let blob: Data
        do {
            blob = try sealer.seal(
                try material.exportable(),
                identity: SealIdentity(partition: partition, kind: ObjectKind.key, objectID: id, version: version))
        } catch let e as HSMError { throw e } catch {
            throw HSMError(.internalError, "cannot seal the key")
        }
        return KeyVersionRecord(version: version, createdAt: now, sealed: blob, publicKey: pub)
    }

    // MARK: Creating keys

    func checkSpec(_ spec: KeySpec, publicOnly: Bool) throws {
        try HSMArgumentChecks.keySpec(spec)
        var allowed = spec.algorithm.capabilities
        if publicOnly { allowed.formIntersection([.verify, .encrypt, .wrap, .encapsulate]) }
        guard allowed.isSuperset(of: spec.usage) else {
            throw HSMError.invalid(
                "usages: a \(publicOnly ? "public " : "")\(spec.algorithm) key cannot \(Self.usageName(spec.usage.subtracting(allowed))) "
                    + "(it can \(Self.usageName(allowed)))")
        }
        if let nb = spec.notBefore, let exp = spec.expiresAt, nb >= exp {
            throw HSMError.invalid("not_before must be earlier than expires_at")
        }
        if let r = spec.requestID, !(1...128).contains(r.utf8.count) {
            throw HSMError.invalid("request_id must be 1 to 128 bytes")
        }
        if spec.requestID != nil, !spec.persistent {
            // A session key is not stored, so a retry could not find it: it would make a second key.
            throw HSMError.invalid("request_id is only for persistent keys (persistent = false here): a retried session key would be a second key")
        }
        if spec.algorithm == .genericSecret, let n = spec.secretByteCount, !SecretKey.genericSecretByteRange.contains(n) {
            throw HSMError.invalid("secret_length_bytes must be 16 to 128, not \(n)")
        }
    }

    /// Stores (or keeps in the session) a new key object and audits it.
    /// Only partition roles that manage or use keys create them; checked before any work is done.
    func requireKeyCreator(_ caller: Caller) throws {
        guard caller.role == .securityOfficer || caller.role == .cryptoUser else {
            throw HSMError.denied("creating keys needs the SECURITY_OFFICER or CRYPTO_USER role; this session is \(caller.role.rawValue)")
        }
    }

    func createKey(_ caller: Caller, spec: KeySpec, material: LoadedMaterial, local: Bool, creation: KeyCreation) async throws -> KeyInfo {
        try requireKeyCreator(caller)
        let (partition, _) = try await partitionRecord(caller.partition)
        if caller.role == .cryptoUser && !partition.settings.cryptoUsersMayCreateKeys {
            throw HSMError.denied("in partition '\(partition.id)' only the security officer creates keys")
        }
        let publicOnly: Bool
        if case .publicKey = material { publicOnly = true } else { publicOnly = false }
        try checkSpec(spec, publicOnly: publicOnly)
        guard !partition.settings.readOnly || !spec.persistent else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }

        if spec.persistent, let requestID = spec.requestID,
            let claimed = try await Self.storeCall({ try await store.requestClaim(partition: caller.partition, requestID: requestID) })
        {
            // A retried create: the key the first attempt made.
            return try await loadKey(caller, claimed.id).info
        }
        if let policy = spec.policy {
            guard spec.persistent else { throw HSMError.invalid("spec.policy: a session object cannot have an approval policy") }
            try await checkPolicy(policy, partition: caller.partition, field: "spec.policy")
        }
        // A governed key is never extractable.
        let extractable = spec.policy == nil && spec.extractable
        let id = Identifiers.random("k")
        let version = try await sealed(material, partition: caller.partition, id: id, version: 1)
        var record = KeyRecord(
            id: id, label: spec.label, algorithm: spec.algorithm, usage: spec.usage, extractable: extractable,
            sensitive: spec.sensitive, neverExtractable: local && !extractable,
            alwaysSensitive: local && spec.sensitive, modifiable: spec.modifiable, destroyable: spec.destroyable,
            local: local, notBefore: spec.notBefore, expiresAt: spec.expiresAt, state: .active,
            stateBeforeDestroy: nil, destroyedAt: nil,
            minimumVersion: 1, versions: [version], createdAt: now, createdBy: caller.user, publicOnly: publicOnly)
        record.policy = spec.policy
        record.applicationID = spec.applicationID.isEmpty ? nil : spec.applicationID
        record.subject = spec.subject.isEmpty ? nil : spec.subject
        var loaded = LoadedKey(record: record, revision: 1, persistent: spec.persistent, materials: [1: material], partition: caller.partition)
        guard spec.persistent else {
            try await commitManaged([], audit: caller, creation.session, object: id)
            state.withLock { $0.sessionObjects[caller.session, default: [:]][id] = loaded }
            return loaded.info
        }
        // Reserve a place under the quota; given back if the commit fails. Counted (again) when
        // this node has no count, or when other nodes' changes may have taken it to the quota.
        var reserved = state.withLock { $0.reserveKey(caller.partition, maximum: partition.settings.maximumObjects) }
        if reserved == nil {
            let counted = try await Self.storeCall { try await store.count(partition: caller.partition, kind: ObjectKind.key) }
            reserved = state.withLock { s in
                s.keyCounts[caller.partition] = counted
                s.keyCountSlack[caller.partition] = nil
                return s.reserveKey(caller.partition, maximum: partition.settings.maximumObjects)
            }
        }
        guard reserved == true else {
            throw HSMError(.resourceExhausted, "partition '\(partition.id)' holds its maximum of \(partition.settings.maximumObjects) keys")
        }
        var committed = false
        defer {
            if !committed {
                state.withLock { s in s.keyCounts[caller.partition].map { s.keyCounts[caller.partition] = max(0, $0 - 1) } }
            }
        }
        var ops: [WriteOperation] = [.insert(objectKey(caller.partition, id), label: spec.label, data: try RecordCoding.encode(record))]
        ops += applicationIDIndexWrites(ObjectKind.keyApplicationID, caller.partition, id, from: nil, to: record.applicationID)
        if let requestID = spec.requestID {
            ops.append(.claimRequestID(partition: caller.partition, requestID: requestID, object: objectKey(caller.partition, id)))
        }
        do {
            let result = try await commitManaged(ops, audit: caller, creation.stored, object: id)
            committed = true
            loaded.revision = result.revisions[objectKey(caller.partition, id)] ?? 1
        } catch let error as HSMError where error.code == .alreadyExists {
            if let requestID = spec.requestID,
                let claimed = try await Self.storeCall({ try await store.requestClaim(partition: caller.partition, requestID: requestID) })
            {
                return try await loadKey(caller, claimed.id).info
            }
            throw error
        }
        let cached = loaded
        state.withLock { $0.keys[Self.cacheKey(caller.partition, id)] = cached }
        return cached.info
    }

    public func generateKey(_ session: SessionToken, spec: KeySpec) async throws -> KeyInfo {
        let caller = try await authenticate(session)
        try requireKeyCreator(caller)
        try checkSpec(spec, publicOnly: false)
        let material: LoadedMaterial
        do { material = try LoadedMaterial.generate(spec.algorithm, secretByteCount: spec.secretByteCount) } catch let e as CryptoError {
            throw HSMError(e)
        }
        return try await createKey(caller, spec: spec, material: material, local: true, creation: .generate)
    }

    public func importKey(_ session: SessionToken, spec requested: KeySpec, material: KeyMaterial) async throws -> KeyInfo {
        let caller = try await authenticate(session)
        var spec = requested
        if case .publicKey = material, spec.usage == spec.algorithm.capabilities {
            // The default usage of a spec is everything the algorithm can do; a public key does the public half.
            spec.usage.formIntersection([.verify, .encrypt, .wrap, .encapsulate])
        }
        try requireKeyCreator(caller)
        if case .publicKey = material {
        } else {
            let (partition, _) = try await partitionRecord(caller.partition)
            guard partition.settings.importAllowed else {
                throw HSMError.precondition("partition '\(partition.id)' does not allow importing private or secret keys")
            }
        }
        let loaded: LoadedMaterial
        do {
            switch material {
            case .pkcs8(let der):
                let key = try PrivateKey(pkcs8DER: der)
                guard key.algorithm == spec.algorithm else {
                    throw HSMError.invalid("the PKCS#8 key is \(key.algorithm), the spec says \(spec.algorithm)")
                }
                loaded = .privateKey(key)
            case .publicKey(let key):
                guard key.algorithm == spec.algorithm else {
                    throw HSMError.invalid("the public key is \(key.algorithm), the spec says \(spec.algorithm)")
                }
                loaded = .publicKey(key)
            case .secret(let bytes):
                loaded = .secret(try SecretKey(algorithm: spec.algorithm, material: bytes))
            case .wrapped(let blob, let wrappingID, let scheme):
                let wrapping = try await loadKey(caller, wrappingID)
                let bytes = try unwrapBytes(caller, wrapping, blob, scheme: scheme)
                loaded = try LoadedMaterial.from(bytes, algorithm: spec.algorithm)
                if case .privateKey(let k) = loaded, k.algorithm != spec.algorithm {
                    throw HSMError.invalid("the wrapped key is \(k.algorithm), the spec says \(spec.algorithm)")
                }
                try await recordUse(caller, .keyUnwrap, key: wrappingID, result: "ok")
            }
        } catch let e as CryptoError {
            throw HSMError(e)
        }
        return try await createKey(caller, spec: spec, material: loaded, local: false, creation: .importKey)
    }

    // MARK: Reading keys

    public func getKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        let caller = try await authorize(session, [.securityOfficer, .cryptoUser, .auditor], "reading keys")
        return try await loadKey(caller, id).info
    }

    public func listKeys(_ session: SessionToken, filter: KeyFilter) async throws -> [KeyInfo] {
        let caller = try await authorize(session, [.securityOfficer, .cryptoUser, .auditor], "listing keys")
        try HSMArgumentChecks.keyList(filter)
        if let applicationID = filter.applicationID, !applicationID.isEmpty {
            return try await listKeys(caller, byApplicationID: applicationID, filter)
        }
        var out: [KeyInfo] = []
        var after = filter.after
        while out.count < filter.limit {
            let page = try await Self.storeCall {
                try await store.list(partition: caller.partition, kind: ObjectKind.key, label: filter.label, after: after, limit: filter.limit)
            }
            for object in page {
                let record = try RecordCoding.decode(KeyRecord.self, object.data)
                if record.state == .destroyed && !filter.includeDestroyed { continue }
                out.append(record.info(persistent: true))
                if out.count == filter.limit { break }
            }
            guard page.count == filter.limit, let last = page.last else { break }
            after = last.key.id
        }
        return out
    }

    public func exportPublicKey(_ session: SessionToken, id: String, version: Int?) async throws -> PublicKey {
        let caller = try await authorize(session, [.securityOfficer, .cryptoUser], "exporting public keys")
        let key = try await loadKey(caller, id)
        let v = version ?? key.record.latestVersion
        guard let pub = key.materials[v]?.publicKey else {
            throw key.materials[v] == nil
                ? HSMError.notFound("key '\(id)' has no version \(v)")
                : HSMError.precondition("key '\(id)' is a secret key and has no public key")
        }
        return pub
    }
}

/// How a new key object comes to be, as its audit record names it: once for a stored key, once for
/// a session object.
struct KeyCreation: Sendable {
    /// The record of a stored (persistent) key.
    var stored: AuditOperation
    /// The record of a session object.
    var session: AuditOperation

    static let generate = KeyCreation(stored: .keyGenerate, session: .keyGenerateSession)
    static let importKey = KeyCreation(stored: .keyImport, session: .keyImportSession)
    static let storeDerived = KeyCreation(stored: .keyStoreDerived, session: .keyStoreDerivedSession)
    static let storeEncapsulated = KeyCreation(stored: .keyStoreEncapsulated, session: .keyStoreEncapsulatedSession)
    static let storeDecapsulated = KeyCreation(stored: .keyStoreDecapsulated, session: .keyStoreDecapsulatedSession)
}

/// A stored key's place in the node's key cache: its partition and id.
struct KeyCacheKey: Hashable, Sendable {
    var partition: String
    var id: String
}
