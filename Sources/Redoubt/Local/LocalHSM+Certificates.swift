import Foundation
import RedoubtCore
import RedoubtCrypto
import RedoubtStore

// X.509 certificates stored per partition beside the keys (PKCS#11 CKO_CERTIFICATE), paired with
// keys by application identifier. Certificates are public: stored as given, never sealed.

extension LocalHSM {
    func certificateKey(_ partition: String, _ id: String) -> ObjectKey {
        ObjectKey(partition: partition, kind: ObjectKind.certificate, id: id)
    }

    /// Who may store and delete certificates: the security officer, and crypto users where they may create keys.
    private func certificateWriter(_ session: SessionToken, _ what: String) async throws -> (Caller, PartitionRecord) {
        let caller = try await authorize(session, [.securityOfficer, .cryptoUser], what)
        let (partition, _) = try await partitionRecord(caller.partition)
        if caller.role == .cryptoUser && !partition.settings.cryptoUsersMayCreateKeys {
            throw HSMError.denied("in partition '\(partition.id)' only the security officer stores and deletes certificates")
        }
        guard !partition.settings.readOnly else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }
        return (caller, partition)
    }

    public func createCertificate(_ session: SessionToken, spec: CertificateSpec) async throws -> CertificateInfo {
        let (caller, partition) = try await certificateWriter(session, "storing certificates")
        try HSMArgumentChecks.certificateSpec(spec)
        let fields: CertificateFields
        do { fields = try CertificateFields(der: spec.certificateDER) } catch is CryptoError {
            throw HSMError.invalid("certificate_der is not a DER X.509 certificate")
        }
        let stored = try await Self.storeCall { try await store.count(partition: caller.partition, kind: ObjectKind.certificate) }
        guard stored < partition.settings.maximumObjects else {
            throw HSMError(
                .resourceExhausted, "partition '\(partition.id)' holds its maximum of \(partition.settings.maximumObjects) certificates")
        }
        let record = CertificateRecord(
            id: Identifiers.random("c"), label: spec.label, applicationID: spec.applicationID.isEmpty ? nil : spec.applicationID,
            der: spec.certificateDER, subject: fields.subject, issuer: fields.issuer, serialNumber: fields.serialNumber,
            createdAt: now, createdBy: caller.user)
        try await commitManaged(
            [.insert(certificateKey(caller.partition, record.id), label: record.label, data: try RecordCoding.encode(record))]
                + applicationIDIndexWrites(ObjectKind.certificateApplicationID, caller.partition, record.id, from: nil, to: record.applicationID),
            audit: caller, .certificateCreate, object: record.id)
        return record.info
    }

    public func getCertificate(_ session: SessionToken, id: String) async throws -> CertificateInfo {
        let caller = try await authorize(session, [.securityOfficer, .cryptoUser, .auditor], "reading certificates")
        return try await storedCertificate(caller, id).record.info
    }

    private func storedCertificate(_ caller: Caller, _ id: String) async throws -> (record: CertificateRecord, revision: Int64) {
        guard KeyIdentifier.isValid(id, prefix: "c"), let object = try await Self.storeCall({ try await store.get(certificateKey(caller.partition, id)) })
        else { throw HSMError.notFound("no certificate '\(id)'") }
        return (try RecordCoding.decode(CertificateRecord.self, object.data), object.revision)
    }

    public func listCertificates(_ session: SessionToken, filter: CertificateFilter) async throws -> [CertificateInfo] {
        let caller = try await authorize(session, [.securityOfficer, .cryptoUser, .auditor], "listing certificates")
        try HSMArgumentChecks.certificateList(filter)
        if let applicationID = filter.applicationID, !applicationID.isEmpty {
            return try await indexed(
                ObjectKind.certificateApplicationID, ObjectKind.certificate, caller, applicationID, after: filter.after, limit: filter.limit
            ) {
                let record = try RecordCoding.decode(CertificateRecord.self, $0)
                guard filter.label.map({ record.label == $0 }) ?? true, record.applicationID == applicationID else { return nil }
                return record.info
            }
        }
        let page = try await Self.storeCall {
            try await store.list(
                partition: caller.partition, kind: ObjectKind.certificate, label: filter.label, after: filter.after, limit: filter.limit)
        }
        return try page.map { try RecordCoding.decode(CertificateRecord.self, $0.data).info }
    }

    public func deleteCertificate(_ session: SessionToken, id: String) async throws {
        let (caller, _) = try await certificateWriter(session, "deleting certificates")
        let (record, revision) = try await storedCertificate(caller, id)
        try await commitManaged(
            [.delete(certificateKey(caller.partition, id), expectedRevision: revision)]
                + applicationIDIndexWrites(ObjectKind.certificateApplicationID, caller.partition, id, from: record.applicationID, to: nil),
            audit: caller, .certificateDelete, object: id)
    }
}
