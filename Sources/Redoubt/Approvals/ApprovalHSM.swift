import Foundation

/// An ``HSM`` that runs operations on governed keys as requests approved by M-of-N approvers.
///
/// A direct sign, decrypt, MAC, block, unblock or update of a key whose ``KeyPolicy`` has a
/// non-empty rule for it does not run: it is submitted as a request, exactly as
/// ``submitRequest(_:key:operation:)`` would, and the call throws
/// ``HSMError/approvalPending(_:)`` carrying that ``ApprovalRequest`` (status
/// ``ApprovalStatus/pending``) in ``HSMError/pendingRequest``. ``submitRequest(_:key:operation:)``
/// does the same explicitly and returns the request. Approvers fetch the
/// request, sign its ``ApprovalRequest/approveChallenge`` offline and hand in the signature;
/// once a token of the rule is satisfied and its timelock has passed the operation runs, exactly
/// once, and the requester fetches the result with ``getRequest(_:id:)``.
///
/// ```swift
/// do {
///     let signature = try await hsm.sign(user, key: key.id, input: .message(data), scheme: .ed25519)
/// } catch let error as HSMError {
///     guard let request = error.pendingRequest else { throw error }   // submitted, PENDING
///     // … each approver signs request.approveChallenge with its own key, offline …
///     _ = try await hsm.approveRequest(approverSession, id: request.id, approver: "ann", signature: annSignature)
///     let done = try await hsm.getRequest(user, id: request.id)   // .executed, with done.result
/// }
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
