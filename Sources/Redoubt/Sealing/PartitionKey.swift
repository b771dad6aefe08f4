import Foundation

/// A partition's AES-256 key: it seals every object of one partition.
///
/// Stored only wrapped by the master key (``MasterKey/wrap(_:partitionID:)``),
/// bound to its partition id. The bytes never print.
///
/// ```swift
/// let partitionKey = try PartitionKey.generate()
/// let wrapped = try master.wrap(partitionKey, partitionID: "tenant-a")   // store this
/// let sealer = ObjectSealer(try master.unwrap(wrapped, partitionID: "tenant-a"))
/// ```
public struct PartitionKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The AES-256 key.
    let key: SecretKey

    /// Wraps an existing AES-256 key.
    /// - Throws: ``SealingError/Code/invalidArgument`` if `key` is not AES-256.
    public init(_ key: SecretKey) throws {
        guard key.algorithm == .aes256 else {
            throw SealingError.invalidArgument("a partition key must be AES-256, got \(key.algorithm)")
        }
        self.key = key
    }

    /// A fresh random partition key from the system CSPRNG.
    public static func generate() throws -> PartitionKey {
        try PartitionKey(try sealingCall { try SecretKey.generate(.aes256) })
    }

    /// `PartitionKey(<redacted>)`.
    public var description: String { "PartitionKey(<redacted>)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// No children: `dump` and debuggers never reach the key bytes.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

extension MasterKey {
    /// Wraps `partitionKey` for storage, bound to `partitionID`.
    ///
    /// AES-256-GCM under the master key with AAD
    /// `"redoubt/partition-key/v1" ‖ 0x00 ‖ partitionID`: the output
    /// (`nonce ‖ ciphertext ‖ tag`, 60 bytes) unwraps only for the same partition.
    public func wrap(_ partitionKey: PartitionKey, partitionID: String) throws -> Data {
        let aad = Self.partitionAAD(partitionID)
        return try sealingCall {
            try partitionKey.key.material.withUnsafeBytes { try key.encrypt($0, scheme: .aesGCM, aad: aad) }
        }
    }

    /// Unwraps what ``wrap(_:partitionID:)`` produced for the same partition.
    ///
    /// - Throws: ``SealingError/Code/malformedBlob`` if `wrapped` has the wrong
    ///   length; ``SealingError/Code/authenticationFailure`` for a wrong master
    ///   key, another partition's wrapped key, or damaged bytes (not said which).
    public func unwrap(_ wrapped: some DataProtocol, partitionID: String) throws -> PartitionKey {
        guard wrapped.count == Self.sealedKeyByteCount else {
            throw SealingError.malformedBlob("a wrapped partition key is \(Self.sealedKeyByteCount) bytes, got \(wrapped.count)")
        }
        let failure = SealingError(.authenticationFailure, "the partition key does not unwrap: wrong master key, wrong partition, or damaged data")
        var plain: Data
        do {
            plain = try key.decrypt(wrapped, scheme: .aesGCM, aad: Self.partitionAAD(partitionID))
        } catch {
            throw failure
        }
        defer { Bytes.zeroize(&plain) }
        guard plain.count == 32 else { throw failure }
        return try PartitionKey(try sealingCall { try SecretKey(algorithm: .aes256, material: SecretBytes(plain)) })
    }

    static func partitionAAD(_ partitionID: String) -> Data {
        var aad = Data("redoubt/partition-key/v1".utf8)
        aad.append(0)
        aad.append(contentsOf: partitionID.utf8)
        return aad
    }
}
