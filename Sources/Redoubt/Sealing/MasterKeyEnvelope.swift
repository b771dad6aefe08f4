import Foundation

/// Everything needed to unseal the cluster master key, and nothing secret in the clear.
///
/// The model stores the envelope as a cluster-level object. It holds the key
/// id, a key-check value (to tell a right unseal from a wrong one, nothing
/// more), and one or more unseal methods: a passphrase slot (the master key
/// AES-256-GCM-sealed under a scrypt-derived key), a share configuration for
/// M-of-N unseal, and the development flag.
///
/// ```swift
/// let (master, envelope, shares) = try MasterKey.create(passphrase: phrase, shares: (3, 5), dev: false)
/// let stored = try envelope.serialized()                    // JSON, safe to store
/// let loaded = try MasterKeyEnvelope(serialized: stored)
/// let again = try MasterKey.unseal(envelope: loaded, passphrase: phrase)
/// ```
public struct MasterKeyEnvelope: Codable, Sendable, Hashable {
    /// The format version this library writes and reads.
    public static let currentVersion = 1

    /// The envelope's format version.
    public let version: Int
    /// The master key id: 16 random bytes as lowercase hex, shared by every share and backup of this key.
    public let keyID: String
    /// The first 8 bytes of HMAC-SHA256(master key, "redoubt/kcv/v1").
    public let keyCheckValue: Data
    /// The passphrase unseal method, if one was set up.
    public let passphrase: PassphraseSlot?
    /// The M-of-N share unseal method, if one was set up.
    public let shares: ShareConfiguration?
    /// Whether this is a development cluster, unsealed by a local key file (``DevKeyFile``).
    public let dev: Bool

    /// The passphrase unseal method: scrypt parameters, salt, and the sealed master key.
    public struct PassphraseSlot: Codable, Sendable, Hashable {
        /// The scrypt cost parameters used to derive the sealing key.
        public let scrypt: ScryptParameters
        /// A random 32-byte salt.
        public let salt: Data
        /// The master key sealed with AES-256-GCM: `nonce ‖ ciphertext ‖ tag` (60 bytes).
        public let sealedKey: Data
    }

    /// The M-of-N share unseal method.
    public struct ShareConfiguration: Codable, Sendable, Hashable {
        /// How many shares unseal (M).
        public let threshold: Int
        /// How many shares exist (N).
        public let count: Int
        /// SHA-256 of each share's bytes, share 1 first, so a bad share is named.
        public let checkValues: [Data]
    }

    init(keyID: String, keyCheckValue: Data, passphrase: PassphraseSlot?, shares: ShareConfiguration?, dev: Bool) {
        self.version = Self.currentVersion
        self.keyID = keyID
        self.keyCheckValue = keyCheckValue
        self.passphrase = passphrase
        self.shares = shares
        self.dev = dev
    }

    /// The envelope as JSON, for storage.
    public func serialized() throws -> Data {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try encoder.encode(self)
        } catch {
            throw SealingError.internalFailure("cannot encode the master key envelope")
        }
    }

    /// Decodes and checks an envelope produced by ``serialized()``.
    /// - Throws: ``SealingError/Code/malformedEnvelope`` or ``SealingError/Code/unsupportedVersion``.
    public init(serialized data: Data) throws {
        guard data.count <= 1 << 16 else {
            throw SealingError.malformedEnvelope("a master key envelope is at most 64 KiB, got \(data.count) bytes")
        }
        do {
            self = try JSONDecoder().decode(MasterKeyEnvelope.self, from: data)
        } catch {
            throw SealingError.malformedEnvelope("the master key envelope is not valid JSON of the expected shape")
        }
        try validate()
    }

    /// Checks every field; unseal calls this before using the envelope.
    func validate() throws {
        guard version == Self.currentVersion else {
            throw SealingError(
                .unsupportedVersion,
                "master key envelope version \(version) is not supported (this build reads version \(Self.currentVersion)); upgrade Redoubt")
        }
        guard Bytes.isLowercaseHex(keyID, byteCount: MasterKey.keyIDByteCount) else {
            throw SealingError.malformedEnvelope("the envelope's key id must be 32 lowercase hex digits")
        }
        guard keyCheckValue.count == MasterKey.keyCheckValueByteCount else {
            throw SealingError.malformedEnvelope("the envelope's key-check value must be 8 bytes, got \(keyCheckValue.count)")
        }
        guard passphrase != nil || shares != nil || dev else {
            throw SealingError.malformedEnvelope("the envelope has no unseal method (passphrase, shares or dev)")
        }
        if let slot = passphrase {
            do {
                try slot.scrypt.validate()
            } catch let error as SealingError {
                throw SealingError.malformedEnvelope("the envelope's \(error.message)")
            }
            guard slot.salt.count == MasterKey.saltByteCount else {
                throw SealingError.malformedEnvelope("the passphrase salt must be 32 bytes, got \(slot.salt.count)")
            }
            guard slot.sealedKey.count == MasterKey.sealedKeyByteCount else {
                throw SealingError.malformedEnvelope("the sealed master key must be \(MasterKey.sealedKeyByteCount) bytes, got \(slot.sealedKey.count)")
            }
        }
        if let config = shares {
            try MasterKey.validateShareCounts(threshold: config.threshold, count: config.count, code: .malformedEnvelope)
            guard config.checkValues.count == config.count, config.checkValues.allSatisfy({ $0.count == 32 }) else {
                throw SealingError.malformedEnvelope("the envelope must hold one 32-byte check value per share (\(config.count))")
            }
        }
    }
}

/// The cost parameters of scrypt (RFC 7914), stored in the envelope.
///
/// ``defaults`` (N = 2^15, r = 8, p = 1: 32 MiB, about 0.1 s) is for
/// production; tests pass a lower N such as 2^10 to stay fast. Unseal refuses
/// parameters outside the accepted range, so a damaged envelope cannot make it
/// allocate unbounded memory.
public struct ScryptParameters: Codable, Sendable, Hashable {
    /// The CPU/memory cost N: a power of two from 2^10 to 2^20.
    public var n: Int
    /// The block size r: 1 to 32.
    public var r: Int
    /// The parallelism p: 1 to 16.
    public var p: Int

    /// The most memory (128·N·r·p bytes) accepted: 1 GiB.
    public static let maximumMemoryByteCount = 1 << 30

    /// Creates parameters; see the property documentation for ranges.
    public init(n: Int, r: Int = 8, p: Int = 1) {
        self.n = n
        self.r = r
        self.p = p
    }

    /// N = 2^15, r = 8, p = 1.
    public static var defaults: ScryptParameters { ScryptParameters(n: 1 << 15, r: 8, p: 1) }

    func validate() throws {
        guard n >= 1 << 10, n <= 1 << 20, n & (n - 1) == 0 else {
            throw SealingError.invalidArgument("scrypt N must be a power of two from 2^10 to 2^20, got \(n)")
        }
        guard (1...32).contains(r), (1...16).contains(p) else {
            throw SealingError.invalidArgument("scrypt r must be 1 to 32 and p 1 to 16, got r=\(r) p=\(p)")
        }
        guard 128 * n * r * p <= Self.maximumMemoryByteCount else {
            throw SealingError.invalidArgument("scrypt parameters need more than 1 GiB of memory (128·N·r·p)")
        }
    }
}
