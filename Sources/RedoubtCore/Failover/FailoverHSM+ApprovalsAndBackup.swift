import Foundation

// Token issuers, approvals and backups through the router. Reads are retried elsewhere; bindings,
// submissions and decisions are attempted once, since a lost answer to a decision that was recorded would make
// a retry fail ("already decided"). A backup goes to one node and is never retried: its file is
// written where that node runs.

extension FailoverHSM {
    public func registerApprover(_ session: SessionToken, name: String, publicKey: PublicKey) async throws -> Approver {
        try await route("registerApprover", .once, session: session) { try await $0.registerApprover(session, name: name, publicKey: publicKey) }
    }

    public func listApprovers(_ session: SessionToken) async throws -> [Approver] {
        try await route("listApprovers", .safe, session: session) { try await $0.listApprovers(session) }
    }

    public func removeApprover(_ session: SessionToken, name: String) async throws {
        try await route("removeApprover", .once, session: session) { try await $0.removeApprover(session, name: name) }
    }

    public func bindTokenIssuer(_ session: SessionToken, issuer: TokenIssuer) async throws -> TokenIssuer {
        try await route("bindTokenIssuer", .once, session: session) { try await $0.bindTokenIssuer(session, issuer: issuer) }
    }

    public func listTokenIssuers(_ session: SessionToken) async throws -> [TokenIssuer] {
        try await route("listTokenIssuers", .safe, session: session) { try await $0.listTokenIssuers(session) }
    }

    public func unbindTokenIssuer(_ session: SessionToken, name: String) async throws {
        try await route("unbindTokenIssuer", .once, session: session) { try await $0.unbindTokenIssuer(session, name: name) }
    }

    public func submitRequest(_ session: SessionToken, key: String, operation: ApprovalOperation) async throws -> ApprovalRequest {
        try await route("submitRequest", .once, session: session) { try await $0.submitRequest(session, key: key, operation: operation) }
    }

    public func getRequest(_ session: SessionToken, id: String) async throws -> ApprovalRequest {
        // May commit a time-driven transition, which the store's revision check makes happen once.
        try await route("getRequest", .safe, session: session) { try await $0.getRequest(session, id: id) }
    }

    public func listRequests(_ session: SessionToken, filter: ApprovalRequestFilter) async throws -> [ApprovalRequest] {
        try await route("listRequests", .safe, session: session) { try await $0.listRequests(session, filter: filter) }
    }

    public func approveRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest {
        try await route("approveRequest", .once, session: session) {
            try await $0.approveRequest(session, id: id, approver: approver, signature: signature)
        }
    }

    public func rejectRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest {
        try await route("rejectRequest", .once, session: session) {
            try await $0.rejectRequest(session, id: id, approver: approver, signature: signature)
        }
    }

    // MARK: Backup

    public func createBackup(
        _ session: SessionToken, path: String, partition: String?, overwrite: Bool,
        progress: @escaping @Sendable (BackupProgress) -> Void
    ) async throws -> BackupReport {
        try await route("createBackup", .once, session: session) {
            try await $0.createBackup(session, path: path, partition: partition, overwrite: overwrite, progress: progress)
        }
    }
}
