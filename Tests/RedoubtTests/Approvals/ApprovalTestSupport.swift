import Foundation
import Redoubt
@testable import RedoubtTesting
import Testing

/// A fixture with registered approvers (each with its own private key, as an approver would keep
/// offline) and shorthands for policies, requests and signed decisions.
struct ApprovalKit: Sendable {
    let f: HSMFixture
    let hsm: any HSM
    /// Approver names to their offline private keys: Ed25519, P-256 and ML-DSA-65 all appear.
    let keys: [String: PrivateKey]

    static let algorithms: [String: KeyAlgorithm] = [
        "ann": .ed25519, "bob": .p256, "cat": .mldsa65, "dan": .ed25519, "eve": .p256, "april": .ed25519,
    ]

    static func make(_ f: HSMFixture, _ hsm: any HSM) async throws -> ApprovalKit {
        var keys: [String: PrivateKey] = [:]
        for (name, algorithm) in algorithms.sorted(by: { $0.key < $1.key }) {
            let key = try PrivateKey.generate(algorithm)
            keys[name] = key
            let registered = try await hsm.registerApprover(f.alpha.officer.token, name: name, publicKey: key.publicKey)
            #expect(registered.name == name)
        }
        return ApprovalKit(f: f, hsm: hsm, keys: keys)
    }

    /// Runs `body` over a LocalHSM on `clock` with registered approvers.
    static func with(_ clock: TestClock, _ body: (ApprovalKit) async throws -> Void) async throws {
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            try await body(try await make(f, hsm))
        }
    }

    var officer: SessionToken { f.alpha.officer.token }
    /// The HSM as the LocalHSM it is in the suites that look at its store.
    var local: LocalHSM { get throws { try #require(hsm as? LocalHSM) } }
    var user: SessionToken { f.alpha.user.token }

    /// One token of one group.
    static func rule(_ approvers: [String], quorum: Int, timelock: TimeInterval = 0, timeout: TimeInterval = 3600) -> ApprovalRule {
        ApprovalRule(tokens: [ApprovalToken(groups: [ApproverGroup(approvers: approvers, quorum: quorum)], timelock: timelock, timeout: timeout)])
    }

    /// An Ed25519 signing key governed by `policy`, made by the officer.
    func governedSigner(_ policy: KeyPolicy) async throws -> KeyInfo {
        try await hsm.generateKey(officer, spec: KeySpec(algorithm: .ed25519, label: "governed", policy: policy))
    }

    /// The crypto user asks to sign `message`.
    func submitSign(_ key: KeyInfo, _ data: Data = message) async throws -> ApprovalRequest {
        try await hsm.submitRequest(user, key: key.id, operation: .sign(input: .message(data), scheme: .ed25519))
    }

    /// `name`'s signature of the request's challenge, made offline with its own key.
    func signature(_ name: String, _ request: ApprovalRequest, _ decision: ApprovalChallenge.Decision = .approve) throws -> Data {
        let key = try #require(keys[name])
        let scheme = try #require(Approver.scheme(for: key.algorithm))
        return try SigningKey(key).signature(for: .message(request.challenge(decision).bytes), scheme: scheme)
    }

    /// Hands in `name`'s approval (through the officer's session: the signature is what counts).
    @discardableResult
    func approve(_ name: String, _ request: ApprovalRequest) async throws -> ApprovalRequest {
        try await hsm.approveRequest(officer, id: request.id, approver: name, signature: try signature(name, request))
    }

    /// Hands in `name`'s rejection.
    @discardableResult
    func reject(_ name: String, _ request: ApprovalRequest) async throws -> ApprovalRequest {
        try await hsm.rejectRequest(officer, id: request.id, approver: name, signature: try signature(name, request, .reject))
    }

    /// The request as its requester sees it.
    func fetch(_ request: ApprovalRequest, as session: SessionToken? = nil) async throws -> ApprovalRequest {
        try await hsm.getRequest(session ?? user, id: request.id)
    }

    /// Audit records of alpha with this operation and object.
    func audited(_ operation: AuditOperation, _ object: String) async throws -> [AuditRecord] {
        try await hsm.auditRecords(f.alpha.auditor.token, from: 1, limit: 1000).filter {
            $0.operation == operation.rawValue && $0.object == object
        }
    }

    /// Checks that an executed sign request's result is a valid signature of `data` by `key`.
    func expectSigned(
        _ request: ApprovalRequest, by key: KeyInfo, _ data: Data = message,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(request.status == .executed, sourceLocation: sourceLocation)
        let result = try #require(request.result, sourceLocation: sourceLocation)
        let publicKey = try #require(key.publicKey, sourceLocation: sourceLocation)
        #expect(try VerifyingKey(publicKey).isValidSignature(result.data, for: .message(data), scheme: .ed25519), sourceLocation: sourceLocation)
    }
}
