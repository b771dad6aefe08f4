import Foundation

/// The exact bytes an approver signs to approve or reject one request.
///
/// The challenge binds the request id, the partition, the key, the operation and the SHA-256 of
/// the operation's data, and the decision, so a signature approves that request only: it cannot
/// be replayed on another request, key or partition, nor turned from a rejection into an approval.
///
/// Encoding (deterministic, domain-separated): the ASCII line `redoubt-approval-v1\n`, then six
/// fields in this order, each a 2-byte big-endian length and its bytes: request id, partition,
/// key id, operation name (``ApprovalOperation/Kind``), the 32-byte digest, and the decision
/// (`approve` or `reject`). Nothing may follow.
///
/// ```swift
/// let challenge = try ApprovalChallenge.parse(request.approveChallenge)
/// let signature = try SigningKey(approverKey).signature(for: .message(challenge.bytes), scheme: .ed25519)
/// ```
public struct ApprovalChallenge: Sendable, Hashable {
    /// What the approver decides.
    public enum Decision: String, Sendable, Hashable, Codable, CaseIterable {
        /// Approves the request.
        case approve
        /// Rejects the request.
        case reject
    }

    /// The request.
    public var requestID: String
    /// The partition of the request.
    public var partition: String
    /// The key the operation uses.
    public var keyID: String
    /// The operation's name.
    public var operation: ApprovalOperation.Kind
    /// SHA-256 of the operation's canonical data (``ApprovalOperation/canonicalData``).
    public var operationDigest: Data
    /// Approve or reject.
    public var decision: Decision

    /// The domain-separation prefix.
    public static let prefix = Data("redoubt-approval-v1\n".utf8)
    /// The longest a challenge can be.
    public static let maximumByteCount = 512

    /// A challenge.
    public init(
        requestID: String, partition: String, keyID: String, operation: ApprovalOperation.Kind,
        operationDigest: Data, decision: Decision
    ) {
        self.requestID = requestID
        self.partition = partition
        self.keyID = keyID
        self.operation = operation
        self.operationDigest = operationDigest
        self.decision = decision
    }

    /// The canonical bytes to sign.
    public var bytes: Data {
        var out = Self.prefix
        for field in [
            Data(requestID.utf8), Data(partition.utf8), Data(keyID.utf8), Data(operation.rawValue.utf8),
            operationDigest, Data(decision.rawValue.utf8),
        ] {
            let n = UInt16(clamping: field.count)
            out.append(contentsOf: [UInt8(n >> 8), UInt8(n & 0xff)])
            out.append(field.prefix(Int(n)))
        }
        return out
    }

    /// Reads challenge bytes strictly: the prefix, exactly six well-formed fields, nothing after.
    /// Throws ``HSMError`` INVALID_ARGUMENT naming what is wrong; never traps.
    public static func parse(_ input: some DataProtocol) throws -> ApprovalChallenge {
        let bytes = [UInt8](input.prefix(maximumByteCount + 1))
        guard bytes.count <= maximumByteCount else { throw bad("is longer than \(maximumByteCount) bytes") }
        guard bytes.count >= prefix.count, bytes[0..<prefix.count].elementsEqual(prefix) else {
            throw bad("does not start with \"redoubt-approval-v1\\n\"")
        }
        var at = prefix.count
        func field(_ name: String) throws -> [UInt8] {
            guard at + 2 <= bytes.count else { throw bad("ends before the \(name)") }
            let n = Int(bytes[at]) << 8 | Int(bytes[at + 1])
            at += 2
            guard at + n <= bytes.count else { throw bad("\(name) runs past the end") }
            defer { at += n }
            return Array(bytes[at..<(at + n)])
        }
        func text(_ name: String) throws -> String {
            let raw = try field(name)
            guard let s = String(validating: raw, as: UTF8.self) else { throw bad("\(name) is not UTF-8") }
            return s
        }
        let requestID = try text("request id")
        guard ApprovalRequest.isRequestID(requestID) else { throw bad("request id is not a request id") }
        let partition = try text("partition")
        guard Approver.isValidName(partition) else { throw bad("partition is not a partition id") }
        let keyID = try text("key id")
        guard KeyIdentifier.isValid(keyID) else { throw bad("key id is not a key id") }
        guard let operation = ApprovalOperation.Kind(rawValue: try text("operation")) else { throw bad("operation is unknown") }
        let digest = try field("digest")
        guard digest.count == 32 else { throw bad("digest is not 32 bytes") }
        guard let decision = Decision(rawValue: try text("decision")) else { throw bad("decision is neither approve nor reject") }
        guard at == bytes.count else { throw bad("has \(bytes.count - at) bytes after the decision") }
        return ApprovalChallenge(
            requestID: requestID, partition: partition, keyID: keyID, operation: operation,
            operationDigest: Data(digest), decision: decision)
    }

    private static func bad(_ what: String) -> HSMError { .invalid("challenge \(what)") }
}
