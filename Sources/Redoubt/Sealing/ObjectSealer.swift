import Foundation
import RedoubtStore

/// The identity a sealed blob is bound to: it must be given again to open it.
///
/// Encoded canonically (each text field as a UInt32 big-endian length and its
/// UTF-8 bytes, then the version as Int64 big-endian) into the AES-GCM
/// associated data, so a blob copied onto another object, version or
/// partition does not open.
public struct SealIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The partition id.
    public var partition: String
    /// The object kind, for example `"key"`.
    public var kind: String
    /// The object id within partition and kind.
    public var objectID: String
    /// The object version the blob was sealed for (0 or more).
    public var version: Int

    /// Creates an identity.
    public init(partition: String, kind: String, objectID: String, version: Int) {
        self.partition = partition
        self.kind = kind
        self.objectID = objectID
        self.version = version
    }

    /// The identity of the stored object at `key`, at `version`.
    public init(_ key: ObjectKey, version: Int) {
        self.init(partition: key.partition, kind: key.kind, objectID: key.id, version: version)
    }

    /// `partition/kind/id@version`.
    public var description: String { "\(partition)/\(kind)/\(objectID)@\(version)" }

    /// The canonical encoding used as associated data.
    func encoded() throws -> Data {
        for (name, field) in [("partition", partition), ("kind", kind), ("object id", objectID)] {
            guard field.utf8.count <= Self.maximumFieldByteCount else {
                throw SealingError.invalidArgument("the seal identity's \(name) is longer than \(Self.maximumFieldByteCount) bytes")
            }
        }
        guard version >= 0 else {
            throw SealingError.invalidArgument("the seal identity's version must not be negative, got \(version)")
        }
        var out = Data()
        Bytes.appendLengthPrefixed(partition, to: &out)
        Bytes.appendLengthPrefixed(kind, to: &out)
        Bytes.appendLengthPrefixed(objectID, to: &out)
        Bytes.append(Int64(version), to: &out)
        return out
    }

    /// The longest partition, kind or object id accepted, in UTF-8 bytes.
    public static let maximumFieldByteCount = 1 << 16
}

/// Seals and opens objects of one partition under its partition key.
///
/// AES-256-GCM with a fresh random nonce per call. A blob is
/// `"RS1" ‖ version (0x01) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`; the associated
/// data is the blob header followed by the canonical ``SealIdentity``.
///
/// ```swift
/// let sealer = ObjectSealer(partitionKey)
/// let identity = SealIdentity(partition: "tenant-a", kind: "key", objectID: "k1", version: 1)
/// let blob = try sealer.seal(keyMaterial, identity: identity)          // store this
/// let material = try sealer.open(blob, identity: identity)             // SecretBytes
/// ```
public struct ObjectSealer: Sendable, CustomStringConvertible, CustomReflectable {
    /// The partition key.
    let key: SecretKey

    static let magic: [UInt8] = Array("RS1".utf8)
    static let formatVersion: UInt8 = 1
    static let header: [UInt8] = magic + [formatVersion]
    /// Header (4) + nonce (12) + tag (16).
    static let overheadByteCount = 32

    /// `ObjectSealer(<redacted>)`.
    public var description: String { "ObjectSealer(<redacted>)" }
    /// No children: `dump` and debuggers never reach the key bytes.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// A sealer for the partition whose key is `partitionKey`.
    public init(_ partitionKey: PartitionKey) {
        self.key = partitionKey.key
    }

    /// Seals secret key material (up to 64 MiB) for the object `identity`.
    public func seal(_ plaintext: SecretBytes, identity: SealIdentity) throws -> Data {
        try plaintext.withUnsafeBytes { try sealBytes($0, identity: identity) }
    }

    /// Seals a confidential payload that is not key material (up to 64 MiB), in the same format.
    public func seal(_ payload: Data, identity: SealIdentity) throws -> Data {
        try payload.withUnsafeBytes { try sealBytes($0, identity: identity) }
    }

    /// Opens a blob sealed from ``SecretBytes`` for the same identity.
    ///
    /// - Throws: ``SealingError/Code/malformedBlob`` or ``SealingError/Code/unsupportedVersion``
    ///   when the bytes are not a sealed blob; ``SealingError/Code/authenticationFailure``
    ///   for a wrong key, a different identity or any altered byte (not said which).
    public func open(_ blob: some DataProtocol, identity: SealIdentity) throws -> SecretBytes {
        var plain = try openBytes(blob, identity: identity)
        defer { Bytes.zeroize(&plain) }
        return SecretBytes(plain)
    }

    /// Opens a blob sealed from `Data`; same checks and errors as ``open(_:identity:)``.
    public func openData(_ blob: some DataProtocol, identity: SealIdentity) throws -> Data {
        try openBytes(blob, identity: identity)
    }

    private func sealBytes(_ plaintext: UnsafeRawBufferPointer, identity: SealIdentity) throws -> Data {
        guard plaintext.count <= SecretKey.maximumMessageCount else {
            throw SealingError.invalidArgument("a sealed object holds at most \(SecretKey.maximumMessageCount) bytes, got \(plaintext.count)")
        }
        var aad = Data(Self.header)
        aad.append(try identity.encoded())
        var blob = Data(Self.header)
        blob.append(try sealingCall { try key.encrypt(plaintext, scheme: .aesGCM, aad: aad) })
        return blob
    }

    private func openBytes(_ blob: some DataProtocol, identity: SealIdentity) throws -> Data {
        let bytes = Data(blob)
        guard bytes.count >= Self.overheadByteCount, bytes.starts(with: Self.magic) else {
            throw SealingError.malformedBlob("not a sealed Redoubt object (missing the RS1 header or too short)")
        }
        let version = bytes[bytes.startIndex + 3]
        guard version == Self.formatVersion else {
            throw SealingError(
                .unsupportedVersion, "sealed object format \(version) is not supported (this build reads \(Self.formatVersion)); upgrade Redoubt")
        }
        guard bytes.count <= SecretKey.maximumMessageCount + Self.overheadByteCount else {
            throw SealingError.malformedBlob("a sealed object is at most \(SecretKey.maximumMessageCount + Self.overheadByteCount) bytes")
        }
        var aad = Data(Self.header)
        aad.append(try identity.encoded())
        do {
            return try key.decrypt(bytes.dropFirst(Self.header.count), scheme: .aesGCM, aad: aad)
        } catch {
            throw SealingError.sealedObjectFailure
        }
    }
}
