import Crypto
import Foundation
import RedoubtStore

/// Signing in (``LocalHSM/openSession(partition:credential:)``) so that an attacker learns
/// nothing from a failure, and an insider cannot lock anyone else out.
///
/// - One answer: an unknown partition, an unknown credential, a wrong secret, a credential of
///   another kind and a locked credential all fail with UNAUTHENTICATED "invalid credentials".
/// - One cost: a password attempt always runs scrypt at the configured cost (over a fixed salt
///   when there is no such user), every failure commits one audit record (`session.open`,
///   result `invalid_credentials` or `locked`) — in the partition when it exists, else in the
///   operator's log — and a refusal quicker than ``LocalHSM/Configuration/failedSignInMinimum``
///   (20 ms) waits out the rest, so a known and an unknown name take the same time
///   (`redoubt bench signin` measures it).
/// - Locks per source: ``LocalHSM/Configuration/lockoutThreshold`` consecutive failures from one
///   source address lock the credential for that address only, for
///   ``LocalHSM/Configuration/lockoutDuration``. Someone who knows an API key's id (an auditor
///   reads them in `session.open` records) can lock it for their own address, never for the
///   owner's. Calls without a source address (in-process) share one bucket.
/// - A JWT (``Credential/jwt(_:)``) is checked by `verifyToken` (`TokenSignIn/`); its refusals
///   answer and take alike too, each audited with its reason, and lock nothing.
extension LocalHSM {
    /// The salt of the scrypt run for a name that has no password: fixed, so it costs what a real one does.
    private static let absentPasswordSalt = Data(repeating: 0x5A, count: 16)

    public func openSession(partition: String, credential: Credential) async throws -> SessionInfo {
        let started = ContinuousClock.now
        do {
            return try await signIn(partition: partition, credential: credential)
        } catch let error as HSMError where error.code == .unauthenticated {
            // However it was refused, a refusal takes at least the configured minimum.
            let minimum = Duration.milliseconds(Int64(configuration.failedSignInMinimum * 1000))
            if minimum > .zero { try? await Task.sleep(until: started + minimum, clock: .continuous) }
            throw error
        }
    }

    private func signIn(partition: String, credential: Credential) async throws -> SessionInfo {
        guard partition.isEmpty || Identifiers.isValidName(partition) else { throw HSMError.invalidCredentials }
        let credentialID: String
        let secret: String
        switch credential {
        case .jwt(let token):
            return try await signIn(partition: partition, token: token)
        case .apiKey(let text):
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard text.utf8.count <= 256, parts.count == 3, parts[0] == "rdk1" else { throw HSMError.invalidCredentials }
            credentialID = String(parts[1])
            secret = String(parts[2])
        case .password(let user, let password):
            guard Identifiers.isValidName(user), password.utf8.count <= 1024 else { throw HSMError.invalidCredentials }
            credentialID = "pw.\(user)"
            secret = password
        case .clientCertificate(let sha256):
            guard sha256.count == 32 else { throw HSMError.invalidCredentials }
            credentialID = Self.certificateCredentialID(sha256)
            secret = ""
        }
        guard Identifiers.isValidName(credentialID) || credentialID.hasPrefix("pw.") || credentialID.hasPrefix("cert.") else {
            throw HSMError.invalidCredentials
        }
        let source = HSMCallContext.sourceAddress ?? LoginThrottle.unknownSource
        let key = ObjectKey(partition: partition, kind: ObjectKind.credential, id: credentialID)
        guard let object = try await Self.storeCall({ try await store.get(key) }) else {
            await failUnknown(credential, key: key)
            throw HSMError.invalidCredentials
        }
        var record = try RecordCoding.decode(CredentialRecord.self, object.data)
        let now = self.now
        // The secret is checked even when the source is locked: a lock costs what a wrong guess does.
        let presented: Data?
        switch (record.kind, credential) {
        case (.apiKey, .apiKey): presented = Data(SHA256.hash(data: Data(secret.utf8)))
        case (.password, .password):
            guard let salt = record.salt, let cost = record.costLog2 else { throw HSMError.invalidCredentials }
            presented = try Self.passwordHash(secret, salt: salt, costLog2: cost)
        case (.certificate, .clientCertificate(let sha256)): presented = sha256
        default: presented = nil
        }
        let locked = record.lockedUntil(from: source, now: now) != nil
        guard let presented, !locked, constantTimeEqual(presented, record.hash) else {
            await countFailedLogin(key, partition: partition, source: source, locked: locked)
            throw HSMError.invalidCredentials
        }
        guard
            let userObject = try await Self.storeCall({
                try await store.get(ObjectKey(partition: partition, kind: ObjectKind.user, id: record.user))
            })
        else { throw HSMError.invalidCredentials }
        let user = try RecordCoding.decode(UserRecord.self, userObject.data)
        let info = try await startSession(partition: partition, user: user, credential: record.id, notAfter: nil)
        if record.resetFailures(from: source) {
            // Best effort: a concurrent failure may win the race, which only errs on the safe side.
            _ = try? await commit([.update(key, expectedRevision: object.revision, label: object.label, data: try RecordCoding.encode(record))])
        }
        return info
    }

    /// A JWT sign-in (see `LocalHSM+TokenSignIn.swift`): a refusal is audited with its reason,
    /// in the partition when it exists, else in the operator's log.
    private func signIn(partition: String, token: String) async throws -> SessionInfo {
        let verified: (user: UserRecord, binding: String, expires: Date)
        do {
            verified = try await verifyToken(token, partition: partition)
        } catch let refusal as TokenRefusal {
            await auditRefusal(partition: partition, object: refusal.binding.map { "jwt.\($0)" } ?? "jwt", result: refusal.reason)
            throw HSMError.invalidCredentials
        }
        return try await startSession(partition: partition, user: verified.user, credential: "jwt.\(verified.binding)", notAfter: verified.expires)
    }

    /// Opens a session for `user`, audited as signed in with `credential`; it ends at the
    /// partition's maximum lifetime, or at `notAfter` when that is sooner.
    private func startSession(partition: String, user: UserRecord, credential: String, notAfter: Date?) async throws -> SessionInfo {
        var lifetime: TimeInterval = 12 * 3600, idle: TimeInterval = 1800
        if !partition.isEmpty {
            let (p, _) = try await partitionRecord(partition)
            try Self.checkSource(p.settings, partition: partition)
            lifetime = p.settings.maximumSessionLifetime
            idle = p.settings.sessionIdleTimeout
        }
        let now = self.now
        var expires = now.addingTimeInterval(lifetime)
        if let notAfter, notAfter < expires {
            // Whole milliseconds, as the store keeps them, never past the token's expiry.
            expires = Date(timeIntervalSince1970: (notAfter.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        }
        let sessionID = Identifiers.random("s", bytes: 12)
        let sessionSecret = Identifiers.secret()
        let session = SessionRecord(
            id: sessionID, partition: partition, user: user.id, role: user.role,
            secretHash: Data(SHA256.hash(data: Data(sessionSecret.utf8))), createdAt: now,
            expiresAt: expires, idleTimeout: idle, lastUsed: now)
        try await commitAudited([
            .insert(ObjectKey(partition: "", kind: ObjectKind.session, id: sessionID), label: nil, data: try RecordCoding.encode(session)),
            .appendAudit(
                partition: partition,
                payload: auditPayload(
                    actor: user.id, role: user.role.rawValue, session: sessionID,
                    operation: .sessionOpen, object: credential, result: "ok")),
        ])
        state.withLock {
            $0.sessions[sessionID] = session
            $0.sessionPersisted[sessionID] = now
        }
        return SessionInfo(
            token: SessionToken("rds1.\(sessionID).\(sessionSecret)"), id: sessionID, partition: partition,
            user: user.id, role: user.role, expiresAt: session.expiresAt, idleTimeout: idle)
    }

    /// A sign-in with a credential nobody has: scrypt for a password (what a real one costs) and
    /// one audit record, in the partition when it exists, else in the operator's log. The rest of
    /// the difference in time is hidden by the refusal floor of ``openSession(partition:credential:)``.
    private func failUnknown(_ credential: Credential, key: ObjectKey) async {
        if case .password(_, let password) = credential {
            _ = try? Self.passwordHash(password, salt: Self.absentPasswordSalt, costLog2: configuration.passwordCostLog2)
        }
        await auditRefusal(partition: key.partition, object: key.id, result: "invalid_credentials")
    }

    /// One `session.open` record of a refused sign-in by nobody known, in `partition` when it
    /// exists, else in the operator's log. Never throws.
    private func auditRefusal(partition: String, object: String, result: String) async {
        let exists = partition.isEmpty ? true : ((try? await partitionRecord(partition)) != nil)
        let payload = auditPayload(actor: "-", role: "-", session: "-", operation: .sessionOpen, object: object, result: result)
        _ = try? await commitAudited([.appendAudit(partition: exists ? partition : "", payload: payload)])
    }

    /// Counts a failed sign-in from `source`, locking the credential for that source at the
    /// threshold; a sign-in refused because the source is locked is audited as `locked` and
    /// extends nothing. Concurrent failures all count: a lost race re-reads and retries. Never
    /// throws: the caller answers "invalid credentials" whatever happens here.
    func countFailedLogin(_ key: ObjectKey, partition: String, source: String, locked: Bool) async {
        for _ in 0..<16 {
            guard let object = try? await store.get(key), var record = try? RecordCoding.decode(CredentialRecord.self, object.data) else { return }
            var result = "locked"
            if !locked {
                let nowLocked = record.recordFailure(
                    from: source, now: now, threshold: configuration.lockoutThreshold, duration: configuration.lockoutDuration)
                result = nowLocked ? "locked" : "invalid_credentials"
            }
            guard let data = try? RecordCoding.encode(record) else { return }
            do {
                try await commitAudited([
                    .update(key, expectedRevision: object.revision, label: object.label, data: data),
                    .appendAudit(
                        partition: partition,
                        payload: auditPayload(
                            actor: record.user, role: "-", session: "-",
                            operation: .sessionOpen, object: record.id, result: result)),
                ])
                return
            } catch {
                continue  // another attempt changed the credential first: count again on the new revision
            }
        }
        logger.warning("failed-login bookkeeping gave up after repeated conflicts", metadata: ["redoubt.credential": "\(key.id)"])
    }
}

extension CredentialRecord {
    /// Until when `source` may not sign in with this credential; `nil` when it may.
    func lockedUntil(from source: String, now: Date) -> Date? {
        var until = throttles?[source]?.lockedUntil
        if source == LoginThrottle.unknownSource, let legacy = lockedUntil { until = max(until ?? legacy, legacy) }
        guard let until, until > now else { return nil }
        return until
    }

    /// Counts a failure from `source`; locks it at `threshold`. Returns whether it locked now.
    /// Forgets sources with neither a lock nor a failure within `duration`, and beyond
    /// ``LoginThrottle/maximumSources`` the oldest.
    mutating func recordFailure(from source: String, now: Date, threshold: Int, duration: TimeInterval) -> Bool {
        var all = throttles ?? [:]
        var throttle = all[source] ?? LoginThrottle(failures: 0, lockedUntil: nil, lastFailure: now)
        if source == LoginThrottle.unknownSource, failedAttempts > 0 {
            throttle.failures += failedAttempts
            failedAttempts = 0
        }
        throttle.failures += 1
        throttle.lastFailure = now
        var lockedNow = false
        if throttle.failures >= threshold {
            throttle.lockedUntil = now.addingTimeInterval(duration)
            throttle.failures = 0
            lockedNow = true
        }
        all[source] = throttle
        all = all.filter { entry in
            entry.key == source || (entry.value.lockedUntil.map { $0 > now } ?? false) || now.timeIntervalSince(entry.value.lastFailure) < duration
        }
        if all.count > LoginThrottle.maximumSources {
            let kept = all.sorted { $0.value.lastFailure > $1.value.lastFailure }.prefix(LoginThrottle.maximumSources)
            all = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
            all[source] = throttle
        }
        throttles = all
        return lockedNow
    }

    /// Forgets `source`'s failures after a successful sign-in; returns whether anything changed.
    mutating func resetFailures(from source: String) -> Bool {
        var changed = false
        if throttles?[source] != nil {
            throttles?[source] = nil
            changed = true
        }
        if source == LoginThrottle.unknownSource, failedAttempts > 0 {
            failedAttempts = 0
            changed = true
        }
        return changed
    }
}
