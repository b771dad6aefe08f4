import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

/// Finding objects and reading what the HSM says about them.
extension Runtime {
    /// How long what the HSM said about an object is used without asking again.
    static let snapshotLifetime = Duration.seconds(2)

    /// How long a search's answer is used again (`searchCacheSeconds`, default 2).
    var searchLifetime: Duration { .milliseconds(Int64((configuration.searchCacheSeconds ?? 2) * 1000)) }
    /// The most objects one search returns.
    static let maximumFound = 10_000

    /// The objects of `slot` that match every attribute of `template`, by their handles.
    func find(slot: Int, template: Template) throws(P11Error) -> [CK_OBJECT_HANDLE] {
        let objectClass = try template.ulong(CKA_CLASS).map(UInt.init)
        let label = try template.string(CKA_LABEL)
        let applicationID = template.bytes(CKA_ID)
        let wantsKeys = objectClass == nil || [CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY].contains(objectClass!)
        let wantsCertificates = objectClass == nil || objectClass == CKO_CERTIFICATE
        // Redoubt labels are 1-128 printable characters, identifiers at most 128 bytes: no other can match.
        if let label, label.isEmpty || label.utf8.count > 128 { return [] }
        if let applicationID, applicationID.count > KeyFilter.maximumApplicationIDByteCount { return [] }
        let limit = Self.maximumFound
        // A search the module made moments ago answers again without the HSM; an empty answer is
        // never remembered, so a key made elsewhere under a new identifier or label shows at once.
        _ = try currentLogin(slot: slot)
        let query = SearchKey(slot: slot, keys: wantsKeys, certificates: wantsCertificates, label: label, applicationID: applicationID)
        let now = ContinuousClock.now
        if let (cached, at) = tables.withLock({ $0.searches[query] }), now - at < searchLifetime {
            return tables.withLock { t in
                cached.compactMap { ref, snapshot in template.matches(ObjectAttributes.all(ref, snapshot)) ? t.handle(for: ref) : nil }
            }
        }
        // Session objects are never listed by the HSM: the module knows the ones its sessions made,
        // and asks the HSM only for those it has no recent snapshot of.
        let sessionObjects: [(id: String, known: KeyInfo?)] =
            wantsKeys
            ? tables.withLock { t in
                Set(t.sessions.values.filter { $0.slot == slot }.flatMap(\.objects)).sorted().map { id in
                    var known: KeyInfo?
                    for kind in [ObjectRef.Kind.privateKey, .secretKey] {
                        if let (snapshot, at) = t.snapshots[ObjectRef(slot: slot, kind: kind, id: id)], now - at < Self.snapshotLifetime,
                            case .key(let key) = snapshot
                        {
                            known = key
                        }
                    }
                    return (id, known)
                }
            } : []
        let snapshots = try call(slot: slot) { hsm, token in
            var found: [(ObjectRef, ObjectSnapshot)] = []
            if wantsKeys {
                for (id, known) in sessionObjects {
                    let fetched: KeyInfo? = if let known { known } else { try? await hsm.getKey(token, id: id) }
                    guard let key = fetched, key.state != .destroyed else { continue }
                    for kind in key.algorithm.isSymmetric ? [ObjectRef.Kind.secretKey] : [.privateKey, .publicKey] {
                        found.append((ObjectRef(slot: slot, kind: kind, id: key.id), .key(key)))
                    }
                }
                var after: String?
                repeat {
                    let page = try await hsm.listKeys(
                        token, filter: KeyFilter(label: label, after: after, limit: 100, applicationID: applicationID.map { $0.isEmpty ? nil : $0 } ?? nil))
                    for key in page where key.state != .destroyed {
                        if key.algorithm.isSymmetric {
                            found.append((ObjectRef(slot: slot, kind: .secretKey, id: key.id), .key(key)))
                        } else {
                            found.append((ObjectRef(slot: slot, kind: .privateKey, id: key.id), .key(key)))
                            found.append((ObjectRef(slot: slot, kind: .publicKey, id: key.id), .key(key)))
                        }
                    }
                    after = page.count == 100 ? page.last?.id : nil
                } while after != nil && found.count < limit
            }
            if wantsCertificates {
                var after: String?
                repeat {
                    let page = try await hsm.listCertificates(
                        token,
                        filter: CertificateFilter(label: label, applicationID: applicationID.map { $0.isEmpty ? nil : $0 } ?? nil, after: after, limit: 100))
                    for certificate in page { found.append((ObjectRef(slot: slot, kind: .certificate, id: certificate.id), .certificate(certificate))) }
                    after = page.count == 100 ? page.last?.id : nil
                } while after != nil && found.count < limit
            }
            return found
        }
        return tables.withLock { t in
            if !snapshots.isEmpty { t.searches[query] = (Array(snapshots.prefix(limit)), now) }
            return snapshots.prefix(limit).compactMap { ref, snapshot in
                guard template.matches(ObjectAttributes.all(ref, snapshot)) else { return nil }
                t.snapshots[ref] = (snapshot, now)
                return t.handle(for: ref)
            }
        }
    }

    /// The object behind a handle and what the HSM says of it now (or said within the last two seconds).
    func object(_ handle: CK_OBJECT_HANDLE, session: SessionState, fresh: Bool = false) throws(P11Error) -> (ObjectRef, ObjectSnapshot) {
        try object(handle, slot: session.slot, fresh: fresh)
    }

    /// ``object(_:session:fresh:)`` for a session of `slot`.
    func object(_ handle: CK_OBJECT_HANDLE, slot: Int, fresh: Bool = false) throws(P11Error) -> (ObjectRef, ObjectSnapshot) {
        guard let ref = tables.withLock({ $0.handles[handle] }), ref.slot == slot else { throw .objectHandleInvalid }
        // Every object of a partition is private to its users: none is visible without a login.
        do throws(P11Error) {
            _ = try currentLogin(slot: ref.slot)
        } catch  where error.rv == CK_RV(CKR_USER_NOT_LOGGED_IN) {
            throw .objectHandleInvalid
        }
        if !fresh, let (snapshot, at) = tables.withLock({ $0.snapshots[ref] }), ContinuousClock.now - at < Self.snapshotLifetime {
            return (ref, snapshot)
        }
        let snapshot = try call(slot: ref.slot, context: .object) { hsm, token -> ObjectSnapshot in
            switch ref.kind {
            case .certificate: return .certificate(try await hsm.getCertificate(token, id: ref.id))
            default: return .key(try await hsm.getKey(token, id: ref.id))
            }
        }
        if case .key(let key) = snapshot, key.state == .destroyed { throw .objectHandleInvalid }
        tables.withLock { $0.snapshots[ref] = (snapshot, .now) }
        return (ref, snapshot)
    }

    /// ``object(_:session:fresh:)`` for a key handle of an operation's Init: a bad handle is CKR_KEY_HANDLE_INVALID.
    func keyObject(_ handle: CK_OBJECT_HANDLE, slot: Int) throws(P11Error) -> (ObjectRef, ObjectSnapshot) {
        do throws(P11Error) {
            return try object(handle, slot: slot)
        } catch  where error.rv == CK_RV(CKR_OBJECT_HANDLE_INVALID) {
            throw P11Error(CK_RV(CKR_KEY_HANDLE_INVALID), error.message)
        }
    }

    /// Records what the HSM now says of an object this module changed; the slot's remembered
    /// searches are forgotten.
    func remember(_ ref: ObjectRef, _ snapshot: ObjectSnapshot) {
        tables.withLock { t in
            t.snapshots[ref] = (snapshot, .now)
            t.searches = t.searches.filter { $0.key.slot != ref.slot }
        }
    }

    func forget(slot: Int, id: String) {
        tables.withLock { t in
            for kind in [ObjectRef.Kind.privateKey, .publicKey, .secretKey, .certificate] {
                t.snapshots[ObjectRef(slot: slot, kind: kind, id: id)] = nil
            }
            t.searches = t.searches.filter { $0.key.slot != slot }
        }
    }

    /// The handle of an object the module just made or learnt of.
    func handle(for ref: ObjectRef, _ snapshot: ObjectSnapshot) -> CK_OBJECT_HANDLE {
        tables.withLock { t in
            t.snapshots[ref] = (snapshot, .now)
            t.searches = t.searches.filter { $0.key.slot != ref.slot }
            return t.handle(for: ref)
        }
    }

    /// Refuses a write from a read-only session.
    /// The handle of a key the HSM just made for the session: its secret key object, or for an
    /// asymmetric key its private key object (a session object unless CKA_TOKEN was true).
    func newKey(_ hSession: CK_SESSION_HANDLE, slot: Int, _ key: KeyInfo) throws(P11Error) -> CK_OBJECT_HANDLE {
        if !key.persistent { _ = try updateSession(hSession) { $0.objects.insert(key.id) } }
        return handle(for: ObjectRef(slot: slot, kind: key.algorithm.isSymmetric ? .secretKey : .privateKey, id: key.id), .key(key))
    }

    func requireReadWrite(_ session: SessionState) throws(P11Error) {
        guard session.readWrite else { throw P11Error(CK_RV(CKR_SESSION_READ_ONLY), "open a read-write session to change objects") }
    }
}

/// What a search asked the HSM (the template's class, label and identifier), for remembering its answer.
struct SearchKey: Hashable, Sendable {
    var slot: Int
    var keys: Bool
    var certificates: Bool
    var label: String?
    var applicationID: Data?
}
