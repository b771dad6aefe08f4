import Foundation

/// An ``HSM`` that runs operations on governed keys as requests approved by M-of-N approvers.
///
/// A key whose ``KeyPolicy`` has a non-empty rule for an operation refuses the direct call
/// (FAILED_PRECONDITION); the caller submits it with ``submitRequest(_:key:operation:)`` instead
/// and gets a ``ApprovalRequest`` in status ``ApprovalStatus/pending``. Approvers fetch the
/// request, sign its ``ApprovalRequest/approveChallenge`` offline and hand in the signature;
/// once a token of the rule is satisfied and its timelock has passed the operation runs, exactly
/// once, and the requester fetches the result with ``getRequest(_:id:)``.
///
/// ```swift
/// let request = try await hsm.submitRequest(user, key: key.id, operation: .sign(input: .message(data), scheme: .ed25519))
/// // … each approver signs request.approveChallenge with its own key, offline …
/// _ = try await hsm.approveRequest(approverSession, id: request.id, approver: "ann", signature: signature)
/// let done = try await hsm.getRequest(user, id: request.id)   // .executed, with done.result
/// ```
///
/// Transitions that depend only on time (a timelock passing, a timeout expiring) are made
/// lazily by the next call that reads or decides on the request.
public protocol ApprovalHSM: HSM {
    /// Registers an approver of the session's partition (security officer): a name and an
    /// Ed25519, P-256 or ML-DSA-65 public key.
    func registerApprover(_ session: SessionToken, name: String, publicKey: PublicKey) async throws -> Approver
    /// Lists the partition's approvers (security officer, auditor).
    func listApprovers(_ session: SessionToken) async throws -> [Approver]
    /// Removes an approver that no key policy names (security officer).
    func removeApprover(_ session: SessionToken, name: String) async throws

    /// Submits an operation on a key as a request. If the key's rule for it is empty, the
    /// operation runs at once and the request comes back executed.
    func submitRequest(_ session: SessionToken, key: String, operation: ApprovalOperation) async throws -> ApprovalRequest
    /// Reads a request: the requester (with the result), the security officer and auditors, and
    /// approvers its rule names.
    func getRequest(_ session: SessionToken, id: String) async throws -> ApprovalRequest
    /// Lists requests visible to the session, ordered by id.
    func listRequests(_ session: SessionToken, filter: ApprovalRequestFilter) async throws -> [ApprovalRequest]
    /// Hands in `approver`'s signature of the request's approve challenge.
    func approveRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest
    /// Hands in `approver`'s signature of the request's reject challenge.
    func rejectRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest
}
