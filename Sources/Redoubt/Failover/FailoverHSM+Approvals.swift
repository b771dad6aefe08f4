import Foundation

// Approvals through the router: every endpoint must itself be an ``ApprovalHSM`` (LocalHSM and
// RemoteHSM are). Reads are retried elsewhere; submissions and decisions are attempted once, since
// a lost answer to a decision that was recorded would make a retry fail ("already decided").

extension FailoverHSM: ApprovalHSM {
    /// Runs `body` on an endpoint as an ``ApprovalHSM``.
    private func approvals<T: Sendable>(_ operation: StaticString, _ retry: Retry, session: SessionToken,
                                        _ body: @escaping @Sendable (any ApprovalHSM) async throws -> T) async throws -> T {
        try await route(operation, retry, session: session) { hsm in
            guard let approvals = hsm as? any ApprovalHSM else {
                throw HSMError(.failedPrecondition, "this node does not support approvals")
            }
            return try await body(approvals)
        }
    }

    public func registerApprover(_ session: SessionToken, name: String, publicKey: PublicKey) async throws -> Approver {
        try await approvals("registerApprover", .once, session: session) { try await $0.registerApprover(session, name: name, publicKey: publicKey) }
    }

    public func listApprovers(_ session: SessionToken) async throws -> [Approver] {
        try await approvals("listApprovers", .safe, session: session) { try await $0.listApprovers(session) }
    }

    public func removeApprover(_ session: SessionToken, name: String) async throws {
        try await approvals("removeApprover", .once, session: session) { try await $0.removeApprover(session, name: name) }
    }

    public func submitRequest(_ session: SessionToken, key: String, operation: ApprovalOperation) async throws -> ApprovalRequest {
        try await approvals("submitRequest", .once, session: session) { try await $0.submitRequest(session, key: key, operation: operation) }
    }

    public func getRequest(_ session: SessionToken, id: String) async throws -> ApprovalRequest {
        // May commit a time-driven transition, which the store's revision check makes happen once.
        try await approvals("getRequest", .safe, session: session) { try await $0.getRequest(session, id: id) }
    }

    public func listRequests(_ session: SessionToken, filter: ApprovalRequestFilter) async throws -> [ApprovalRequest] {
        try await approvals("listRequests", .safe, session: session) { try await $0.listRequests(session, filter: filter) }
    }

    public func approveRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest {
        try await approvals("approveRequest", .once, session: session) {
            try await $0.approveRequest(session, id: id, approver: approver, signature: signature)
        }
    }

    public func rejectRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest {
        try await approvals("rejectRequest", .once, session: session) {
            try await $0.rejectRequest(session, id: id, approver: approver, signature: signature)
        }
    }
}
