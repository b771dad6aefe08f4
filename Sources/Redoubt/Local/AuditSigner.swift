import Crypto
import Foundation
import RedoubtCore
import RedoubtCrypto
import RedoubtStore

/// The audit log's keys, derived from the master key: an HMAC key that authenticates every
/// record and an Ed25519 key that signs checkpoints of each chain's head. Whoever can write the
/// store but does not hold the master key can neither alter, add nor re-sign records (see
/// `docs/audit-checkpoints.md`).
struct AuditSigner: Sendable {
    /// libcrypto's prepared HMAC (pooled contexts): a record MAC costs one HMAC, no key setup.
    private let recordKey: SecretKey
    private let signingKey: Curve25519.Signing.PrivateKey

    /// The checkpoint signing key's public half (32 bytes).
    var publicKey: Data { signingKey.publicKey.rawRepresentation }

    /// Derives both keys. (32 bytes of HMAC-SHA256 always make a generic secret and an Ed25519
    /// seed; an engine refusal would be an internal error, reported rather than trapped.)
    init(master: MasterKey) throws {
        let material = SecretBytes(master.key.mac(Data("redoubt/audit-record/v1".utf8), hash: .sha256))
        let seed = master.key.mac(Data(AuditCheckpoint.domain.utf8), hash: .sha256)
        do {
            recordKey = try SecretKey(algorithm: .genericSecret, material: material)
            signingKey = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        } catch {
            throw HSMError(.internalError, "the audit keys cannot be derived from the master key")
        }
    }

    // MARK: Record MACs

    /// `,"mac":"` + 64 hex digits + `"}`: the last field of every signed record.
    private static let macPrefix = Array(",\"mac\":\"".utf8)
    private static let macSuffixCount = macPrefix.count + 64 + 2

    /// HMAC-SHA256 over UInt32(partition byte count) ‖ partition ‖ the record without its MAC field.
    private func mac(partition: String, unsigned payload: UnsafeRawBufferPointer) -> Data {
        var input: [UInt8] = []
        input.reserveCapacity(4 + partition.utf8.count + payload.count)
        withUnsafeBytes(of: UInt32(partition.utf8.count).bigEndian) { input.append(contentsOf: $0) }
        input.append(contentsOf: partition.utf8)
        input.append(contentsOf: payload)
        return recordKey.mac(input, hash: .sha256)
    }

    /// The record with its MAC as the last JSON field. `payload` is a JSON object (ends in `}`).
    func signed(_ payload: Data, partition: String) -> Data {
        signed([UInt8](payload), partition: partition)
    }

    /// ``signed(_:partition:)`` of a record built as bytes (the queued key-use records): the MAC
    /// field is written in place, so the record is copied once, into the `Data` it becomes.
    func signed(_ payload: consuming [UInt8], partition: String) -> Data {
        let tag = payload.withUnsafeBytes { mac(partition: partition, unsigned: $0) }
        let brace = payload.count - 1  // the closing brace comes back after the MAC
        payload.append(contentsOf: repeatElement(0, count: Self.macSuffixCount - 1))
        payload.withUnsafeMutableBufferPointer { _ = Self.writeMACField(tag, into: $0, at: brace) }
        return Data(payload)
    }

    /// Writes `,"mac":"` + the tag in hex + `"}` into `buffer` from `start`; returns where it ends.
    private static func writeMACField(_ tag: Data, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        var at = start
        for byte in macPrefix {
            buffer[at] = byte
            at += 1
        }
        Hex.digits.withUnsafeBufferPointer { hex in
            tag.withUnsafeBytes { tag in
                for byte in tag {
                    buffer[at] = hex[Int(byte >> 4)]
                    buffer[at + 1] = hex[Int(byte & 0xf)]
                    at += 2
                }
            }
        }
        buffer[at] = UInt8(ascii: "\"")
        buffer[at + 1] = UInt8(ascii: "}")
        return at + 2
    }

    /// What a record's MAC field says about it.
    enum RecordMAC: Equatable {
        /// The record carries no MAC field (written before records were signed, or forged).
        case absent
        case valid
        /// The record carries a MAC that does not match its content and partition.
        case invalid
    }

    func check(_ payload: Data, partition: String) -> RecordMAC {
        let bytes = [UInt8](payload)
        guard bytes.count > Self.macSuffixCount,
            Array(bytes[(bytes.count - Self.macSuffixCount)...].prefix(Self.macPrefix.count)) == Self.macPrefix
        else { return .absent }
        let start = bytes.count - Self.macSuffixCount
        let hexStart = start + Self.macPrefix.count
        guard bytes[bytes.count - 2] == UInt8(ascii: "\""), bytes[bytes.count - 1] == UInt8(ascii: "}") else { return .invalid }
        var unsigned = Array(bytes[..<start])
        unsigned.append(UInt8(ascii: "}"))
        let expected = unsigned.withUnsafeBytes { mac(partition: partition, unsigned: $0) }
        // Compared as the lowercase hex the record must carry, in constant time.
        let stated = Data(bytes[hexStart..<(hexStart + 64)])
        return constantTimeEqual(Data(Hex.encode(expected).utf8), stated) ? .valid : .invalid
    }

    // MARK: Checkpoints

    /// A signed checkpoint of `partition`'s chain at `head` (`nil` for an empty chain).
    func checkpoint(partition: String, head: (sequence: Int64, hash: Data)?, signedFrom: Int64, time: Date) throws -> AuditCheckpoint {
        var checkpoint = AuditCheckpoint(
            partition: partition, sequence: head?.sequence ?? 0, hash: head?.hash ?? AuditEntry.genesisHash,
            time: time, signedFrom: signedFrom, publicKey: publicKey, signature: Data())
        checkpoint.signature = try signingKey.signature(for: checkpoint.signedBytes)
        return checkpoint
    }
}
