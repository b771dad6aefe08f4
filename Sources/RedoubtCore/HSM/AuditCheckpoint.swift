import Crypto
import Foundation

/// A signed statement that a partition's audit chain reached ``sequence`` with chain hash ``hash``.
///
/// The HSM signs checkpoints with an Ed25519 key derived from the cluster master key, so someone
/// who can write the store but does not hold the master key cannot make one. A checkpoint anchors
/// the chain: ``HSM/verifyAudit(_:against:)`` fails when the record at ``sequence`` no longer has
/// ``hash`` (a record before it was rewritten, even with every later hash recomputed) or when
/// the chain ends before ``sequence`` (its tail was cut). The HSM keeps its latest checkpoint in
/// the store and advances it as records are written; an auditor exports one with
/// ``HSM/auditCheckpoint(_:)`` and keeps it elsewhere, so even a store rolled back to an older
/// checkpoint is caught when the kept one is handed back.
///
/// ``signedBytes`` is specified in `docs/audit-checkpoints.md`, so a checkpoint can be verified
/// offline (for example with `openssl pkeyutl -verify -rawin`) against a pinned ``publicKey``.
public struct AuditCheckpoint: Sendable, Hashable {
    /// The partition whose chain this is ("" for the operators' log).
    public var partition: String
    /// The chain's length when signed: the sequence of its newest record.
    public var sequence: Int64
    /// The chain hash of the record at ``sequence`` (32 bytes).
    public var hash: Data
    /// When the checkpoint was signed (millisecond precision).
    public var time: Date
    /// The first sequence whose record carries a record MAC; records before it were written by
    /// a version that did not sign records and are covered by the chain and this checkpoint only.
    public var signedFrom: Int64
    /// The Ed25519 public key (32 bytes, raw) the checkpoint is signed with: one per master key.
    public var publicKey: Data
    /// The Ed25519 signature (64 bytes) over ``signedBytes``.
    public var signature: Data

    /// The domain separation text at the start of ``signedBytes``.
    public static let domain = "redoubt/audit-checkpoint/v1"

    /// Creates a checkpoint value (for ``HSM`` implementations, clients and tests).
    public init(
        partition: String, sequence: Int64, hash: Data, time: Date, signedFrom: Int64, publicKey: Data,
        signature: Data
    ) {
        self.partition = partition
        self.sequence = sequence
        self.hash = hash
        self.time = time
        self.signedFrom = signedFrom
        self.publicKey = publicKey
        self.signature = signature
    }

    /// ``time`` in whole milliseconds since 1970, as signed.
    public var timeMilliseconds: Int64 { Int64((time.timeIntervalSince1970 * 1000).rounded()) }

    /// The signed bytes: ``domain`` ‖ 0x00 ‖ UInt32(partition byte count) ‖ partition (UTF-8) ‖
    /// UInt64(sequence) ‖ hash (32 bytes) ‖ Int64(time in ms) ‖ UInt64(signedFrom), integers
    /// big-endian.
    public var signedBytes: Data {
        var out = Data(Self.domain.utf8)
        out.append(0)
        let name = Data(partition.utf8)
        Self.append(UInt32(name.count), to: &out)
        out.append(name)
        Self.append(UInt64(bitPattern: sequence), to: &out)
        out.append(hash)
        Self.append(UInt64(bitPattern: timeMilliseconds), to: &out)
        Self.append(UInt64(bitPattern: signedFrom), to: &out)
        return out
    }

    /// Whether ``signature`` is a valid Ed25519 signature of ``signedBytes`` by ``publicKey``, and,
    /// when `pinned` is given, whether ``publicKey`` is that key. A checkpoint that verifies only
    /// against the key it carries proves nothing: pin the key of the first checkpoint you keep.
    public func isSignatureValid(pinned: Data? = nil) -> Bool {
        if let pinned, pinned != publicKey { return false }
        guard hash.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else {
            return false
        }
        return key.isValidSignature(signature, for: signedBytes)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout Data) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }
}

extension AuditCheckpoint: CustomStringConvertible {
    /// The partition, sequence and hash prefix.
    public var description: String {
        let prefix = hash.prefix(8).map { String(format: "%02x", $0) }.joined()
        return "AuditCheckpoint(\(partition.isEmpty ? "<operators>" : partition)#\(sequence), hash \(prefix)…)"
    }
}
