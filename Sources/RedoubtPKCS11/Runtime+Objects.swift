import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

/// Finding objects and reading what the HSM says about them.
extension Runtime {
    /// How long what the HSM said about an object is used without asking again.
    static let snapshotLifetime = Duration.seconds(2)
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
        let snapshots = try call(slot: slot) { hsm, token in
            var found: [(ObjectRef, ObjectSnapshot)] = []
            if wantsKeys {
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
        let now = ContinuousClock.now
        return tables.withLock { t in
            snapshots.prefix(limit).compactMap { ref, snapshot in
                guard template.matches(ObjectAttributes.all(ref, snapshot)) else { return nil }
                t.snapshots[ref] = (snapshot, now)
                return t.handle(for: ref)
            }
        }
    }

    /// The object behind a handle and what the HSM says of it now (or said within the last two seconds).
    func object(_ handle: CK_OBJECT_HANDLE, session: SessionState, fresh: Bool = false) throws(P11Error) -> (ObjectRef, ObjectSnapshot) {
        guard let ref = tables.withLock({ $0.handles[handle] }), ref.slot == session.slot else { throw .objectHandleInvalid }
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
        remember(ref, snapshot)
        return (ref, snapshot)
    }

    /// ``object(_:session:fresh:)`` for a key handle of an operation's Init: a bad handle is CKR_KEY_HANDLE_INVALID.
    func keyObject(_ handle: CK_OBJECT_HANDLE, session: SessionState) throws(P11Error) -> (ObjectRef, ObjectSnapshot) {
        do throws(P11Error) {
            return try object(handle, session: session)
        } catch  where error.rv == CK_RV(CKR_OBJECT_HANDLE_INVALID) {
            throw P11Error(CK_RV(CKR_KEY_HANDLE_INVALID), error.message)
        }
    }

    func remember(_ ref: ObjectRef, _ snapshot: ObjectSnapshot) {
        tables.withLock { $0.snapshots[ref] = (snapshot, .now) }
    }

    func forget(slot: Int, id: String) {
        tables.withLock { t in
            for kind in [ObjectRef.Kind.privateKey, .publicKey, .secretKey, .certificate] {
                t.snapshots[ObjectRef(slot: slot, kind: kind, id: id)] = nil
            }
        }
    }

    /// The handle of an object the module just made or learnt of.
    func handle(for ref: ObjectRef, _ snapshot: ObjectSnapshot) -> CK_OBJECT_HANDLE {
        tables.withLock { t in
            t.snapshots[ref] = (snapshot, .now)
            return t.handle(for: ref)
        }
    }

    /// Refuses a write from a read-only session.
    func requireReadWrite(_ session: SessionState) throws(P11Error) {
        guard session.readWrite else { throw P11Error(CK_RV(CKR_SESSION_READ_ONLY), "open a read-write session to change objects") }
    }
}
