import Crypto
import Foundation

/// One entry of a partition's hash-chained audit log.
///
/// Sequences start at 1 in every partition and have no gaps. The hash links
/// each entry to the one before it:
///
/// ```
/// hash = SHA-256(previousHash ‖ UInt64(sequence) big-endian ‖ payload)
/// ```
///
/// where the previous hash of sequence 1 is ``genesisHash`` (32 zero bytes).
/// Use ``verifyAuditChain(_:previous:)`` to check a run of entries.
public struct AuditEntry: Sendable, Hashable, Codable {
    /// The partition whose chain this entry belongs to.
    public var partition: String
    /// The position in the chain, from 1.
    public var sequence: Int64
    /// The opaque audit record.
    public var payload: Data
    /// The chain hash of this entry.
    public var hash: Data

    /// Creates an audit entry value (used by backends and by backup restore).
    public init(partition: String, sequence: Int64, payload: Data, hash: Data) {
        self.partition = partition
        self.sequence = sequence
        self.payload = payload
        self.hash = hash
    }

    /// The previous hash of the first entry of every chain: 32 zero bytes.
    public static var genesisHash: Data {
        Data(repeating: 0, count: SHA256.byteCount)
    }

    /// Computes the chain hash of the entry at `sequence` with `payload`,
    /// following the entry whose hash is `previousHash`.
    public static func chainHash(previousHash: Data, sequence: Int64, payload: Data) -> Data {
        var hasher = SHA256()
        hasher.update(data: previousHash)
        withUnsafeBytes(of: UInt64(bitPattern: sequence).bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(data: payload)
        return Data(hasher.finalize())
    }
}

extension AuditEntry {
    /// The entry that appends `payload` to the chain of `partition` whose
    /// latest entry has `head` (`nil` for an empty chain): the one place every
    /// backend numbers and hashes a new entry.
    ///
    /// - Throws: ``StoreError/Code/corrupt`` if the chain already ends at `Int64.max`.
    static func appending(payload: Data, to partition: String, head: (sequence: Int64, hash: Data)?) throws -> AuditEntry {
        var sequence: Int64 = 1
        if let head {
            let (next, overflow) = head.sequence.addingReportingOverflow(1)
            guard !overflow else {
                throw StoreError.corrupt("the audit chain of partition \"\(partition)\" is full")
            }
            sequence = next
        }
        let previousHash = head?.hash ?? genesisHash
        return AuditEntry(
            partition: partition,
            sequence: sequence,
            payload: payload,
            hash: chainHash(previousHash: previousHash, sequence: sequence, payload: payload))
    }

    /// This entry's link, appended after `head` (``appending(payload:to:head:)``'s argument).
    func link(after head: (sequence: Int64, hash: Data)?) -> AuditLink {
        AuditLink(previous: head?.hash ?? Self.genesisHash, hash: hash)
    }
}

extension AuditEntry: CustomStringConvertible {
    /// A description with partition, sequence, payload size and hash prefix; never the payload.
    public var description: String {
        let prefix = hash.prefix(8).map { String(format: "%02x", $0) }.joined()
        return "AuditEntry(\(partition)#\(sequence), \(payload.count) bytes, hash \(prefix)…)"
    }
}

/// The outcome of ``verifyAuditChain(_:previous:)``.
public enum AuditChainVerdict: Sendable, Hashable {
    /// Every entry is in place and its hash matches.
    case valid
    /// The chain is broken at `sequence`: an entry there is missing, out of
    /// order, from another partition, or altered.
    case broken(at: Int64, reason: String)
}

/// Checks that `entries` form an unbroken run of one partition's audit chain.
///
/// `previous` is the entry just before the first one, or `nil` when `entries`
/// start the chain (the first entry must then be sequence 1, chained to
/// ``AuditEntry/genesisHash``). The check detects altered payloads or hashes,
/// dropped entries, reordered entries and entries of another partition. It
/// cannot detect entries removed from the *end* of a chain; compare with a
/// separately kept head (``ObjectStore/auditHead(partition:)``) for that.
///
/// ```swift
/// let page = try await store.audit(partition: "p", from: 1, limit: 100)
/// guard verifyAuditChain(page, previous: nil) == .valid else { … }
/// ```
public func verifyAuditChain(_ entries: [AuditEntry], previous: AuditEntry?) -> AuditChainVerdict {
    var previousHash = previous?.hash ?? AuditEntry.genesisHash
    var expectedSequence: Int64 = 1
    if let previous {
        let (next, overflow) = previous.sequence.addingReportingOverflow(1)
        guard !overflow, previous.sequence >= 1 else {
            return .broken(at: previous.sequence, reason: "previous entry has an invalid sequence")
        }
        expectedSequence = next
    }
    guard let partition = previous?.partition ?? entries.first?.partition else {
        return .valid
    }
    // Set once an entry at Int64.max has verified: no sequence can follow it.
    var sequenceExhausted = false
    for entry in entries {
        guard !sequenceExhausted else {
            return .broken(
                at: expectedSequence,
                reason: "entry \(expectedSequence) is the last possible sequence (Int64.max); nothing can follow it")
        }
        guard entry.partition == partition else {
            return .broken(
                at: expectedSequence,
                reason: "entry \(entry.sequence) belongs to partition \"\(entry.partition)\", expected \"\(partition)\"")
        }
        guard entry.sequence == expectedSequence else {
            let what = entry.sequence > expectedSequence ? "missing" : "out of order"
            return .broken(
                at: expectedSequence,
                reason: "entry \(expectedSequence) is \(what): found sequence \(entry.sequence)")
        }
        let expectedHash = AuditEntry.chainHash(
            previousHash: previousHash, sequence: entry.sequence, payload: entry.payload)
        guard entry.hash == expectedHash else {
            return .broken(at: entry.sequence, reason: "hash of entry \(entry.sequence) does not match its content")
        }
        previousHash = entry.hash
        let (next, overflow) = expectedSequence.addingReportingOverflow(1)
        if overflow {
            sequenceExhausted = true
        } else {
            expectedSequence = next
        }
    }
    return .valid
}
