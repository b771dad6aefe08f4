import Foundation

/// The name of what an audit record records: the catalogue of every operation an HSM writes to
/// the audit log, in one form, `<object>.<verb in the imperative>` (`key.sign`, `request.expire`).
///
/// An ``AuditRecord`` keeps the name as its ``AuditRecord/operation`` string: that string is on the
/// wire and in the hash chain. ``AuditRecord/kind`` reads it back as a value of this catalogue, or
/// `nil` for a name the catalogue does not hold (one written by an older version).
///
/// Each record's `object` names what was acted on: a key id, a user id, a request id, a partition
/// id, a file name, or `-` where there is none.
///
/// ```swift
/// let signatures = try await hsm.auditRecords(session, from: 1, limit: 1000).filter { $0.kind == .keySign }
/// ```
public struct AuditOperation: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible, CaseIterable {
    /// The name as written to the audit log.
    public let rawValue: String

    /// The operation of this name, or `nil` if the catalogue has no such name.
    public init?(rawValue: String) {
        guard Self.names.contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(_ name: String) {
        rawValue = name
    }

    public var description: String { rawValue }

    // MARK: Cluster

    /// The cluster was initialised: the master key envelope and the operator were stored (cluster
    /// level; object: the master key's id).
    public static let clusterInit = AuditOperation("cluster.init")

    // MARK: Partitions

    /// The operator created a partition with its security officer (recorded at cluster level and
    /// in the new partition; object: the partition id).
    public static let partitionCreate = AuditOperation("partition.create")
    /// The operator changed a partition's settings (cluster level; object: the partition id).
    public static let partitionUpdate = AuditOperation("partition.update")

    // MARK: Users

    /// A user was added (object: the new user's id).
    public static let userAdd = AuditOperation("user.add")
    /// A user was removed with its credentials (object: the user's id).
    public static let userRemove = AuditOperation("user.remove")

    // MARK: Sessions

    /// A session was opened (object: the credential's id, or `jwt.<binding>` for a JWT); also
    /// recorded, with the reason as the result, for a failed login on a known credential and for
    /// every refused JWT (`jwt_issuer`, `jwt_signature`, …: see the broker's operating guide).
    public static let sessionOpen = AuditOperation("session.open")
    /// A session was closed by its holder (object: the session id).
    public static let sessionClose = AuditOperation("session.close")

    // MARK: Keys (lifecycle)

    /// A key was generated and stored (object: the new key's id).
    public static let keyGenerate = AuditOperation("key.generate")
    /// A key was generated as a session object, kept only for its session (object: the new key's id).
    public static let keyGenerateSession = AuditOperation("key.generate_session")
    /// A key was imported and stored (object: the new key's id).
    public static let keyImport = AuditOperation("key.import")
    /// A key was imported as a session object (object: the new key's id).
    public static let keyImportSession = AuditOperation("key.import_session")
    /// The secret of a key agreement was stored as a new key (object: the new key's id; the agreement
    /// itself is a ``keyDerive`` record on the private key).
    public static let keyStoreDerived = AuditOperation("key.store_derived")
    /// The secret of a key agreement was kept as a session object (object: the new key's id).
    public static let keyStoreDerivedSession = AuditOperation("key.store_derived_session")
    /// The shared secret of an encapsulation was stored as a new key (object: the new key's id; the
    /// encapsulation itself is a ``keyEncapsulate`` record on the public key).
    public static let keyStoreEncapsulated = AuditOperation("key.store_encapsulated")
    /// The shared secret of an encapsulation was kept as a session object (object: the new key's id).
    public static let keyStoreEncapsulatedSession = AuditOperation("key.store_encapsulated_session")
    /// The shared secret of a decapsulation was stored as a new key (object: the new key's id; the
    /// decapsulation itself is a ``keyDecapsulate`` record on the private key).
    public static let keyStoreDecapsulated = AuditOperation("key.store_decapsulated")
    /// The shared secret of a decapsulation was kept as a session object (object: the new key's id).
    public static let keyStoreDecapsulatedSession = AuditOperation("key.store_decapsulated_session")
    /// A key's attributes were changed, directly or by an approved request (object: the key id).
    public static let keyUpdate = AuditOperation("key.update")
    /// A key's approval policy was replaced by an approved `set_policy` request (object: the key id).
    public static let keySetPolicy = AuditOperation("key.set_policy")
    /// A key was given a new version (object: the key id).
    public static let keyRotate = AuditOperation("key.rotate")
    /// A key was blocked, directly or by an approved request (object: the key id).
    public static let keyBlock = AuditOperation("key.block")
    /// A blocked key was unblocked, directly or by an approved request (object: the key id).
    public static let keyUnblock = AuditOperation("key.unblock")
    /// A key was destroyed: moved to the trash, from where it can still be restored (object: the key id).
    public static let keyDestroy = AuditOperation("key.destroy")
    /// A destroyed key was taken back out of the trash (object: the key id).
    public static let keyRestore = AuditOperation("key.restore")
    /// A destroyed key was deleted for good (object: the key id).
    public static let keyPurge = AuditOperation("key.purge")

    // MARK: Certificates

    /// A certificate was stored in the partition (object: the new certificate's id).
    public static let certificateCreate = AuditOperation("certificate.create")
    /// A stored certificate was deleted (object: the certificate's id).
    public static let certificateDelete = AuditOperation("certificate.delete")

    // MARK: Key use

    /// A crypto user signed with a key, directly or by an approved request (one record per use;
    /// object: the key id; a refused use is recorded with its error code as the result).
    public static let keySign = AuditOperation("key.sign")
    /// A crypto user verified a signature with a key (one record per use; object: the key id).
    public static let keyVerify = AuditOperation("key.verify")
    /// A crypto user encrypted with a key (one record per use; object: the key id).
    public static let keyEncrypt = AuditOperation("key.encrypt")
    /// A crypto user decrypted with a key, directly or by an approved request (one record per use;
    /// object: the key id).
    public static let keyDecrypt = AuditOperation("key.decrypt")
    /// A crypto user computed a MAC with a key, directly or by an approved request (one record per
    /// use; object: the key id).
    public static let keyMAC = AuditOperation("key.mac")
    /// A crypto user verified a MAC with a key (one record per use; object: the key id).
    public static let keyVerifyMAC = AuditOperation("key.verify_mac")
    /// A crypto user agreed a secret with a private key and a peer's public key (one record per
    /// use; object: the private key's id).
    public static let keyDerive = AuditOperation("key.derive")
    /// A crypto user encapsulated a shared secret to a public key (one record per use; object: the key id).
    public static let keyEncapsulate = AuditOperation("key.encapsulate")
    /// A crypto user decapsulated a shared secret with a private key (one record per use; object: the key id).
    public static let keyDecapsulate = AuditOperation("key.decapsulate")
    /// A key unwrapped a wrapped key being imported (one record per use; object: the wrapping key's id).
    public static let keyUnwrap = AuditOperation("key.unwrap")
    /// A crypto user exported a key wrapped under another key (object: the exported key's id).
    public static let keyExportWrapped = AuditOperation("key.export_wrapped")
    /// A crypto user exported a key's plaintext (object: the exported key's id).
    public static let keyExportPlaintext = AuditOperation("key.export_plaintext")
    /// Random bytes were generated for a session (one record per call; object: `-`).
    public static let randomGenerate = AuditOperation("random.generate")

    // MARK: Approvers

    /// The security officer bound a token issuer to the partition (object: the binding's name).
    public static let issuerBind = AuditOperation("issuer.bind")
    /// The security officer unbound a token issuer (object: the binding's name).
    public static let issuerUnbind = AuditOperation("issuer.unbind")
    /// The security officer registered an approver's public key (object: the approver's name).
    public static let approverRegister = AuditOperation("approver.register")
    /// The security officer removed an approver (object: the approver's name).
    public static let approverRemove = AuditOperation("approver.remove")

    // MARK: Requests

    /// A request to run an operation on a governed key was submitted, by a call to submit it or by
    /// a direct call on the key (object: the request id).
    public static let requestSubmit = AuditOperation("request.submit")
    /// An approver handed in its approval of a request (object: `<request id>:<approver>`); a
    /// refused approval is recorded with the error code as the result (object: the request id).
    public static let requestApprove = AuditOperation("request.approve")
    /// An approver handed in its rejection of a request (object: `<request id>:<approver>`); a
    /// refused rejection is recorded with the error code as the result (object: the request id).
    public static let requestReject = AuditOperation("request.reject")
    /// The approvals a request's rule needs are in, but its timelock has not passed: it runs once it
    /// has (object: the request id). A request whose timelock has passed runs at once, without this record.
    public static let requestGrant = AuditOperation("request.grant")
    /// Enough rejections are in that the request's rule can no longer be met: it will not run
    /// (object: the request id).
    public static let requestDeny = AuditOperation("request.deny")
    /// A request's timeout passed before its rule was met (object: the request id).
    public static let requestExpire = AuditOperation("request.expire")
    /// An approved request ran, after the record of the key use or change it made; a request the
    /// key refused is recorded with the error code as the result (object: the request id).
    public static let requestExecute = AuditOperation("request.execute")

    // MARK: Backup

    /// The operator wrote a backup file (cluster level; object: the file name).
    public static let backupCreate = AuditOperation("backup.create")
    /// A backup schedule wrote a backup file on the node's own authority, as the user `scheduler`
    /// (cluster level; object: the file name).
    public static let backupCreateScheduled = AuditOperation("backup.create_scheduled")

    // MARK: Catalogue

    /// Every operation, in the order above.
    public static let allCases: [AuditOperation] = [
        .clusterInit,
        .partitionCreate, .partitionUpdate,
        .userAdd, .userRemove,
        .sessionOpen, .sessionClose,
        .keyGenerate, .keyGenerateSession, .keyImport, .keyImportSession,
        .keyStoreDerived, .keyStoreDerivedSession, .keyStoreEncapsulated, .keyStoreEncapsulatedSession,
        .keyStoreDecapsulated, .keyStoreDecapsulatedSession,
        .keyUpdate, .keySetPolicy, .keyRotate, .keyBlock, .keyUnblock, .keyDestroy, .keyRestore, .keyPurge,
        .certificateCreate, .certificateDelete,
        .keySign, .keyVerify, .keyEncrypt, .keyDecrypt, .keyMAC, .keyVerifyMAC, .keyDerive, .keyEncapsulate,
        .keyDecapsulate, .keyUnwrap, .keyExportWrapped, .keyExportPlaintext, .randomGenerate,
        .issuerBind, .issuerUnbind, .approverRegister, .approverRemove,
        .requestSubmit, .requestApprove, .requestReject, .requestGrant, .requestDeny, .requestExpire, .requestExecute,
        .backupCreate, .backupCreateScheduled,
    ]

    private static let names: Set<String> = Set(allCases.map(\.rawValue))
}
