import Foundation
import RedoubtStore

/// Token issuer bindings (kind `token-issuer`, id = the binding's name): stored in the partition,
/// read from the store at every JWT sign-in (so a binding reaches every node at once), audited as
/// `issuer.bind` and `issuer.unbind`.
extension LocalHSM {
    func issuerKey(_ partition: String, _ name: String) -> ObjectKey {
        ObjectKey(partition: partition, kind: ObjectKind.tokenIssuer, id: name)
    }

    /// Every binding of `partition` (at most ``TokenIssuer/maximumPerPartition``).
    func loadTokenIssuers(_ partition: String) async throws -> [TokenIssuer] {
        let page = try await Self.storeCall {
            try await store.list(partition: partition, kind: ObjectKind.tokenIssuer, label: nil, after: nil, limit: 500)
        }
        return try page.map { try RecordCoding.decode(TokenIssuerRecord.self, $0.data).issuer }
    }

    public func bindTokenIssuer(_ session: SessionToken, issuer: TokenIssuer) async throws -> TokenIssuer {
        let caller = try await authorize(session, [.securityOfficer], "binding token issuers")
        let (partition, _) = try await partitionRecord(caller.partition)
        guard !partition.settings.readOnly else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }
        try issuer.validate()
        if case .inline(let json) = issuer.keys {
            do {
                _ = try TokenKeySet(json: Data(json.utf8))
            } catch {
                throw HSMError.invalid("issuer.jwks: \(error)")
            }
        }
        let existing = try await loadTokenIssuers(caller.partition)
        guard !existing.contains(where: { $0.name == issuer.name }) else {
            throw HSMError(.alreadyExists, "a token issuer named '\(issuer.name)' is already bound")
        }
        // A token names its issuer; one binding per issuer says how its tokens are judged.
        if let same = existing.first(where: { $0.issuer == issuer.issuer }) {
            throw HSMError(.alreadyExists, "issuer \(issuer.issuer) is already bound, as '\(same.name)'; unbind it first")
        }
        guard existing.count < TokenIssuer.maximumPerPartition else {
            throw HSMError(.resourceExhausted, "partition '\(partition.id)' already trusts \(TokenIssuer.maximumPerPartition) token issuers; unbind one first")
        }
        let record = TokenIssuerRecord(issuer: issuer, createdAt: now, createdBy: caller.user)
        try await commitManaged(
            [.insert(issuerKey(caller.partition, issuer.name), label: issuer.name, data: try RecordCoding.encode(record))],
            audit: caller, .issuerBind, object: issuer.name)
        return issuer
    }

    public func listTokenIssuers(_ session: SessionToken) async throws -> [TokenIssuer] {
        let caller = try await authorize(session, [.securityOfficer, .auditor], "listing token issuers")
        return try await loadTokenIssuers(caller.partition)
    }

    public func unbindTokenIssuer(_ session: SessionToken, name: String) async throws {
        let caller = try await authorize(session, [.securityOfficer], "unbinding token issuers")
        let (partition, _) = try await partitionRecord(caller.partition)
        guard !partition.settings.readOnly else { throw HSMError.precondition("partition '\(partition.id)' is read-only") }
        guard Approver.isValidName(name),
            let object = try await Self.storeCall({ try await store.get(issuerKey(caller.partition, name)) })
        else {
            throw HSMError.notFound("no token issuer '\(name.prefix(64))'")
        }
        try await commitManaged(
            [.delete(issuerKey(caller.partition, name), expectedRevision: object.revision)],
            audit: caller, .issuerUnbind, object: name)
    }
}

/// A binding as stored.
struct TokenIssuerRecord: Codable, Sendable {
    var issuer: TokenIssuer
    var createdAt: Date
    var createdBy: String
}
