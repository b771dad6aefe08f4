import Crypto
import Foundation
import RedoubtStore
import _CryptoExtras

/// Who is calling: the result of authenticating a session token.
struct Caller: Sendable {
    var session: String
    var partition: String
    var user: String
    var role: Role
}

extension LocalHSM {
    // MARK: Credentials

    /// A new API key credential for a user: the record to store and the key text to hand out once.
    func makeAPIKey(user: String, partition: String) -> (CredentialRecord, String) {
        let id = Identifiers.random("c", bytes: 12)
        let secret = Identifiers.secret()
        let record = CredentialRecord(
            id: id, kind: .apiKey, user: user, partition: partition,
            hash: Data(SHA256.hash(data: Data(secret.utf8))), salt: nil, costLog2: nil,
            failedAttempts: 0, lockedUntil: nil)
        return (record, "rdk1.\(id).\(secret)")
    }

    /// A new password credential (scrypt).
    func makePassword(user: String, name: String, partition: String, password: String) throws -> CredentialRecord {
        guard (12...1024).contains(password.utf8.count) else {
            throw HSMError.invalid("password must be 12 to 1024 bytes long")
        }
        let salt = Data(try SecretBytes.random(count: 16).exportedBytes())
        let hash = try Self.passwordHash(password, salt: salt, costLog2: configuration.passwordCostLog2)
        return CredentialRecord(
            id: "pw.\(name)", kind: .password, user: user, partition: partition, hash: hash, salt: salt,
            costLog2: configuration.passwordCostLog2, failedAttempts: 0, lockedUntil: nil)
    }

    static func passwordHash(_ password: String, salt: Data, costLog2: Int) throws -> Data {
        guard (10...20).contains(costLog2) else { throw HSMError(.internalError, "stored password cost out of range") }
        do {
            let key = try KDF.Scrypt.deriveKey(
                from: Data(password.utf8), salt: salt, outputByteCount: 32,
                rounds: 1 << costLog2, blockSize: 8, parallelism: 1)
            return key.withUnsafeBytes { Data($0) }
        } catch {
            throw HSMError(.internalError, "password hashing failed")
        }
    }

    // MARK: Sessions

    public func closeSession(_ session: SessionToken) async throws {
        let caller = try await authenticate(session)
        try await flushAudit(force: true)
        let key = ObjectKey(partition: "", kind: ObjectKind.session, id: caller.session)
        let revision = try await currentRevision(key)
        try await commitAudited([
            .delete(key, expectedRevision: revision),
            .appendAudit(partition: caller.partition, payload: auditPayload(caller, .sessionClose, object: caller.session, result: "ok")),
        ])
        state.withLock {
            $0.sessions[caller.session] = nil
            $0.sessionObjects[caller.session] = nil
            $0.validTokens[session.value] = nil
        }
    }

    func currentRevision(_ key: ObjectKey) async throws -> Int64 {
        guard let object = try await Self.storeCall({ try await store.get(key) }) else { throw HSMError.invalidSession }
        return object.revision
    }

    /// The id of the credential a client certificate is stored under.
    static func certificateCredentialID(_ sha256: Data) -> String {
        "cert." + sha256.map { String(format: "%02x", $0) }.joined()
    }

    /// Refuses a call whose source address (when the transport knows it) the partition does not allow.
    static func checkSource(_ settings: PartitionSettings, partition: String) throws {
        guard let source = HSMCallContext.sourceAddress, !settings.allowsSource(source) else { return }
        throw HSMError.denied("partition '\(partition)' does not accept calls from \(source); its security settings list the allowed source addresses")
    }

    /// Checks a session token: known, secret matches, not expired, not idle too long, and
    /// from an address the partition allows.
    nonisolated(nonsending) func authenticate(_ token: SessionToken) async throws -> Caller {
        let caller = try await authenticateToken(token)
        if HSMCallContext.sourceAddress != nil, !caller.partition.isEmpty {
            let (p, _) = try await partitionRecord(caller.partition)
            try Self.checkSource(p.settings, partition: caller.partition)
        }
        return caller
    }

    /// A token already checked by this node is found by its text (no parsing, no hashing).
    private nonisolated(nonsending) func authenticateToken(_ token: SessionToken) async throws -> Caller {
        let now = self.now
        // One lock on the common path: no refresh due, and the token known.
        let (due, fast) = state.withLock { s -> (Bool, Caller?) in
            if refreshDue(&s, now: now) { return (true, nil) }
            return (false, Self.knownSession(&s, token, now: now))
        }
        if let fast { return fast }
        if due {
            try await refresh()
            if let session = state.withLock({ Self.knownSession(&$0, token, now: now) }) { return session }
        }
        return try await authenticateFully(token, now: now)
    }

    /// The caller of a token this node checked, if its session is valid and needs nothing stored
    /// (it was last stored within a quarter of its idle timeout); marks it used.
    static func knownSession(_ s: inout State, _ token: SessionToken, now: Date) -> Caller? {
        guard let id = s.validTokens[token.value], let persisted = s.sessionPersisted[id], let i = s.sessions.index(forKey: id) else { return nil }
        let session = s.sessions.values[i]
        guard now < session.expiresAt, now.timeIntervalSince(persisted) <= session.idleTimeout / 4 else { return nil }
        s.sessions.values[i].lastUsed = now
        return Caller(session: session.id, partition: session.partition, user: session.user, role: session.role)
    }

    private func authenticateFully(_ token: SessionToken, now: Date) async throws -> Caller {
        let parts = token.value.split(separator: ".", omittingEmptySubsequences: false)
        guard token.value.utf8.count <= 256, parts.count == 3, parts[0] == "rds1", Identifiers.isValidName(String(parts[1])) else {
            throw HSMError.invalidSession
        }
        let id = String(parts[1])
        var (record, persisted, generation) = state.withLock { ($0.sessions[id], $0.sessionPersisted[id], $0.dropGeneration) }
        if record == nil {
            guard let object = try await Self.storeCall({ try await store.get(ObjectKey(partition: "", kind: ObjectKind.session, id: id)) }) else {
                throw HSMError.invalidSession
            }
            let loaded = try RecordCoding.decode(SessionRecord.self, object.data)
            record = loaded
            persisted = loaded.lastUsed
        }
        guard var session = record, constantTimeEqual(Data(SHA256.hash(data: Data(parts[2].utf8))), session.secretHash) else {
            throw HSMError.invalidSession
        }
        guard now < session.expiresAt, now.timeIntervalSince(session.lastUsed) <= session.idleTimeout else {
            state.withLock {
                $0.sessions[id] = nil
                $0.sessionObjects[id] = nil
                $0.validTokens[token.value] = nil
            }
            throw HSMError.invalidSession
        }
        // Store the last use once it is more than a quarter of the idle timeout old, so every node
        // (and this one after a cache drop) sees a session in steady use as alive.
        let persistDue = now.timeIntervalSince(persisted ?? .distantPast) > session.idleTimeout / 4
        session.lastUsed = now
        let updated = session
        state.withLock {
            // Not cached if another node's change was dropped meanwhile (the session may be gone).
            guard $0.dropGeneration == generation else { return }
            $0.sessions[id] = updated
            $0.validTokens[token.value] = id
            if persistDue { $0.sessionPersisted[id] = now } else if let persisted { $0.sessionPersisted[id] = persisted }
        }
        if persistDue {
            // Other nodes honour the idle timeout from the stored last use.
            let key = ObjectKey(partition: "", kind: ObjectKind.session, id: id)
            if let object = try? await store.get(key) {
                _ = try? await commit([.update(key, expectedRevision: object.revision, label: nil, data: try RecordCoding.encode(updated))])
            }
        }
        return Caller(session: id, partition: session.partition, user: session.user, role: session.role)
    }

    /// Authenticates and checks the role.
    nonisolated(nonsending) func authorize(_ token: SessionToken, _ roles: Set<Role>, _ what: String) async throws -> Caller {
        let caller = try await authenticate(token)
        guard roles.contains(caller.role) else {
            let allowed = roles.map(\.rawValue).sorted().joined(separator: " or ")
            throw HSMError.denied("\(what) needs the \(allowed) role; this session is \(caller.role.rawValue)")
        }
        return caller
    }
}
