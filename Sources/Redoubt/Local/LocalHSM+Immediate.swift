import Foundation
import RedoubtCore

// Key uses that run to their end on the caller's thread, without an `async` call, when all they
// need is in memory: the session known to this node, the key cached, the partition's audit mode
// cached, and room in the audit queue. For an embedded caller that is not in a task already (the
// PKCS #11 module's C entry points), entering one costs more than a symmetric use itself.
//
// They answer nil whenever something would have to wait (the store, a cache refresh, an approval
// request, a commit of the audit queue) or the use fails; the caller then makes the ordinary
// `async` call, which checks everything again and records the failure. So the checks, the
// operation and the audit record are the ordinary call's (`usableMaterial`, the shared bodies,
// `queueUse`), and a use that ran here is audited exactly as one that ran there.

extension LocalHSM {
    /// ``sign(_:key:input:scheme:)``, if it can run without waiting (else nil).
    package func signImmediately(_ session: SessionToken, key: String, input: SigningInput, scheme: SignatureScheme) -> SignatureResult? {
        useImmediately(session, key, .keySign, submits: .sign) { k in try signing(k, input: input, scheme: scheme) }
    }

    /// ``encryptStandard(_:key:plaintext:scheme:parameters:)``, if it can run without waiting (else nil).
    package func encryptStandardImmediately(
        _ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) -> StandardEncryption? {
        useImmediately(session, key, .keyEncrypt) { k in try encryptingStandard(k, plaintext: plaintext, scheme: scheme, parameters: parameters) }
    }

    /// ``decryptStandard(_:key:ciphertext:scheme:parameters:)``, if it can run without waiting (else nil).
    package func decryptStandardImmediately(
        _ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) -> Data? {
        useImmediately(session, key, .keyDecrypt) { k in try decryptingStandard(k, ciphertext: ciphertext, scheme: scheme, parameters: parameters) }
    }

    /// ``macStandard(_:key:data:hash:version:)``, if it can run without waiting (else nil).
    package func macStandardImmediately(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm, version: Int?) -> Data? {
        useImmediately(session, key, .keyMAC) { k in try macking(k, data: data, hash: hash, version: version) }
    }

    /// ``verifyMACStandard(_:key:data:tag:hash:version:)``, if it can run without waiting (else nil).
    package func verifyMACStandardImmediately(_ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm, version: Int?) -> Bool? {
        useImmediately(session, key, .keyVerifyMAC) { k in try verifyingMAC(k, data: data, tag: tag, hash: hash, version: version) }
    }

    /// ``use(_:_:_:submits:_:)`` for a use that succeeds with everything in memory; nil otherwise
    /// (nothing recorded: the ordinary call then runs and records the outcome).
    func useImmediately<T>(
        _ session: SessionToken, _ keyID: String, _ operation: AuditOperation, submits kind: ApprovalOperation.Kind? = nil,
        _ body: (LoadedKey) throws -> T
    ) -> T? {
        // A call from an address the partition may limit: the ordinary call reads the partition.
        guard HSMCallContext.sourceAddress == nil else { return nil }
        let now = self.now
        let found = state.withLock { s -> (Caller, LoadedKey, KeyUseAudit)? in
            // A refresh due is the ordinary call's to make (it marks it made).
            guard now.timeIntervalSince(s.lastRefresh) < configuration.cacheRefreshInterval,
                let caller = Self.knownSession(&s, session, now: now), caller.role == .cryptoUser,
                let key = Self.cachedKey(&s, caller, keyID),
                let mode = s.partitions[caller.partition]?.record.settings.keyUseAudit
            else { return nil }
            return (caller, key, mode)
        }
        guard let (caller, key, mode) = found else { return nil }
        // A governed use becomes a request (stored); a full audit queue is committed by its caller.
        if let kind, Self.governs(key.record, kind) { return nil }
        guard auditQueueTakesOneMore(now: now), let result = try? body(key) else { return nil }
        if queueUse(caller, operation, key: keyID, result: "ok", aggregate: mode == .aggregated, now: now) != .queued {
            // Checked above, so only a race with another caller gets here: never wait.
            startBackgroundFlush()
        }
        return result
    }
}
