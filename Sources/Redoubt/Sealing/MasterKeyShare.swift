import Crypto
import Foundation
import RedoubtCore

/// One custodian's share of the master key, for M-of-N unseal.
///
/// Its text form is what a custodian keeps (printed, or in a password manager):
///
/// ```
/// redoubt-share-1-<key id hex>-<index>-<M>-<base64url bytes>-<checksum hex>
/// ```
///
/// where the checksum is the first 4 bytes of SHA-256 of everything before it,
/// so a mistyped or truncated share is refused when parsed. ``description``
/// never shows the share bytes.
///
/// ```swift
/// let text = share.textRepresentation            // hand to the custodian
/// let back = try MasterKeyShare(textRepresentation: typedIn)
/// let master = try MasterKey.unseal(envelope: envelope, shares: [back, other])
/// ```
public struct MasterKeyShare: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The id of the master key this share belongs to.
    public let keyID: String
    /// The share's x-coordinate, 1…N.
    public let index: UInt8
    /// How many shares unseal (M).
    public let threshold: Int
    /// The share bytes (as long as the master key).
    public let bytes: SecretBytes

    static let prefix = "redoubt-share-1-"

    init(keyID: String, index: UInt8, threshold: Int, bytes: SecretBytes) {
        self.keyID = keyID
        self.index = index
        self.threshold = threshold
        self.bytes = bytes
    }

    /// SHA-256 of the share bytes, as stored in the envelope.
    var checkValue: Data {
        bytes.withUnsafeBytes { Data(SHA256.hash(data: $0)) }
    }

    /// The text a custodian keeps. It contains the share bytes: treat it as a secret.
    public var textRepresentation: String {
        var body = Self.prefix + "\(keyID)-\(index)-\(threshold)-"
        var raw = bytes.exportedBytes()
        defer { Bytes.zeroize(&raw) }
        body += Bytes.base64URL(raw)
        return body + "-" + Self.checksum(body)
    }

    /// Parses the text form, refusing anything malformed or corrupted.
    ///
    /// Surrounding whitespace is ignored. The checksum catches a mistyped
    /// character; the envelope's check value (at unseal) catches the rest.
    /// - Throws: ``SealingError/Code/invalidShare`` saying what is wrong.
    public init(textRepresentation text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count <= 512 else {
            throw SealingError.invalidShare("share text is too long to be a Redoubt share")
        }
        guard trimmed.hasPrefix(Self.prefix) else {
            throw SealingError.invalidShare("share text must start with \"\(Self.prefix)\"")
        }
        guard let lastDash = trimmed.lastIndex(of: "-") else {
            throw SealingError.invalidShare("share text has no checksum")
        }
        let body = String(trimmed[..<lastDash])
        let checksum = trimmed[trimmed.index(after: lastDash)...]
        guard Bytes.isLowercaseHex(String(checksum), byteCount: 4) else {
            throw SealingError.invalidShare("share text must end with an 8-digit lowercase hex checksum")
        }
        guard Self.checksum(body) == checksum else {
            throw SealingError.invalidShare("share text is corrupted: its checksum does not match (a character was mistyped, lost or changed)")
        }
        // key id, index, threshold, then base64url bytes (which may themselves contain "-").
        let fields = body.dropFirst(Self.prefix.count).split(separator: "-", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count == 4 else {
            throw SealingError.invalidShare("share text must have a key id, an index, a threshold and the share bytes")
        }
        let keyID = String(fields[0])
        guard Bytes.isLowercaseHex(keyID, byteCount: MasterKey.keyIDByteCount) else {
            throw SealingError.invalidShare("the share's key id must be 32 lowercase hex digits")
        }
        guard let index = UInt8(fields[1]), index >= 1, Int(index) <= MasterKey.maximumShareCount else {
            throw SealingError.invalidShare("the share index must be a number from 1 to \(MasterKey.maximumShareCount)")
        }
        guard let threshold = Int(fields[2]), threshold >= 2, threshold <= MasterKey.maximumShareCount else {
            throw SealingError.invalidShare("the share threshold must be a number from 2 to \(MasterKey.maximumShareCount)")
        }
        guard var raw = Bytes.fromBase64URL(fields[3]), raw.count == 32 else {
            throw SealingError.invalidShare("the share bytes must be 32 bytes in base64url")
        }
        defer { Bytes.zeroize(&raw) }
        self.init(keyID: keyID, index: index, threshold: threshold, bytes: SecretBytes(raw))
    }

    /// The first 4 bytes of SHA-256(`body`) as lowercase hex.
    static func checksum(_ body: String) -> String {
        Hex.encode(SHA256.hash(data: Data(body.utf8)).prefix(4))
    }

    /// `MasterKeyShare(key: <key id>, <index> of M needed, <redacted>)`.
    public var description: String { "MasterKeyShare(key: \(keyID), share \(index), \(threshold) needed, <redacted>)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// Key id, index and threshold only: `dump` and debuggers never reach the share bytes.
    public var customMirror: Mirror {
        Mirror(self, children: ["keyID": keyID, "index": index, "threshold": threshold], displayStyle: .struct)
    }
}
