import Crypto
import Foundation
import RedoubtCore
import _CryptoExtras

/// The cluster master key (KEK): a 256-bit AES key that wraps every partition key.
///
/// It is never stored in the clear. ``create(passphrase:shares:dev:scrypt:)``
/// makes one with its ``MasterKeyEnvelope`` (stored) and, for M-of-N unseal,
/// its ``MasterKeyShare``s (handed to custodians); an unseal method rebuilds it
/// at start. The bytes never print.
///
/// ```swift
/// let (master, envelope, shares) = try MasterKey.create(
///     passphrase: "correct horse battery staple", shares: (threshold: 2, count: 3), dev: false)
/// // later, at start:
/// let master = try MasterKey.unseal(envelope: envelope, passphrase: "correct horse battery staple")
/// let wrapped = try master.wrap(try PartitionKey.generate(), partitionID: "tenant-a")
/// ```
public struct MasterKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The AES-256 key.
    let key: SecretKey
    /// The key id: 16 bytes as lowercase hex, also in the envelope, shares and backups.
    public let keyID: String

    static let keyIDByteCount = 16
    static let keyCheckValueByteCount = 8
    static let saltByteCount = 32
    /// Nonce (12) + key (32) + tag (16).
    static let sealedKeyByteCount = 60
    /// The shortest passphrase accepted, in characters.
    public static let minimumPassphraseLength = 12
    /// The longest passphrase accepted, in UTF-8 bytes.
    public static let maximumPassphraseByteCount = 1024
    /// The most shares a master key may be split into.
    public static let maximumShareCount = 16

    init(key: SecretKey, keyID: String) {
        self.key = key
        self.keyID = keyID
    }

    /// Builds a master key from its bytes, checking length and the key-check value.
    init(material: SecretBytes, envelope: MasterKeyEnvelope, failure: SealingError) throws {
        guard material.count == 32, let key = try? SecretKey(algorithm: .aes256, material: material) else { throw failure }
        let candidate = MasterKey(key: key, keyID: envelope.keyID)
        guard constantTimeEqual(candidate.keyCheckValue, envelope.keyCheckValue) else { throw failure }
        self = candidate
    }

    /// The first 8 bytes of HMAC-SHA256(key, "redoubt/kcv/v1").
    var keyCheckValue: Data {
        key.mac(Data("redoubt/kcv/v1".utf8), hash: .sha256).prefix(Self.keyCheckValueByteCount)
    }

    /// Creates a new master key, its envelope, and its shares.
    ///
    /// - Parameters:
    ///   - passphrase: Sets up passphrase unseal: at least 12 characters. The
    ///     text is normalized (Unicode NFC) before derivation, so the same
    ///     passphrase typed on another system still unseals.
    ///   - shares: Sets up M-of-N unseal: 2 ≤ threshold ≤ count ≤ 16.
    ///   - dev: Marks a development cluster, unsealed by a ``DevKeyFile``.
    ///   - scrypt: Cost of the passphrase derivation; keep ``ScryptParameters/defaults`` in production.
    /// - Returns: The key, the envelope to store, and the shares to hand out (empty without `shares`).
    /// - Throws: ``SealingError/Code/invalidArgument`` when no unseal method is
    ///   chosen or a parameter is out of range.
    public static func create(
        passphrase: String?,
        shares: (threshold: Int, count: Int)?,
        dev: Bool,
        scrypt: ScryptParameters = .defaults
    ) throws -> (key: MasterKey, envelope: MasterKeyEnvelope, shares: [MasterKeyShare]) {
        guard passphrase != nil || shares != nil || dev else {
            throw SealingError.invalidArgument("choose at least one unseal method: a passphrase, M-of-N shares, or dev mode")
        }
        if let passphrase { try validateNewPassphrase(passphrase) }
        if let shares { try validateShareCounts(threshold: shares.threshold, count: shares.count, code: .invalidArgument) }
        try scrypt.validate()

        let key = try sealingCall { try SecretKey.generate(.aes256) }
        let keyID = Hex.encode(try sealingCall { try Random.bytes(count: keyIDByteCount) })
        let master = MasterKey(key: key, keyID: keyID)

        var slot: MasterKeyEnvelope.PassphraseSlot?
        if let passphrase {
            let salt = try sealingCall { try Random.bytes(count: saltByteCount) }
            let kek = try derivePassphraseKey(passphrase, salt: salt, scrypt: scrypt)
            let sealed = try sealingCall {
                try key.material.withUnsafeBytes { try kek.encrypt($0, scheme: .aesGCM, aad: masterAAD(keyID: keyID)) }
            }
            slot = .init(scrypt: scrypt, salt: salt, sealedKey: sealed)
        }

        var issued: [MasterKeyShare] = []
        var configuration: MasterKeyEnvelope.ShareConfiguration?
        if let shares {
            let parts = try Shamir.split(key.material, threshold: shares.threshold, count: shares.count)
            issued = parts.map { MasterKeyShare(keyID: keyID, index: $0.index, threshold: shares.threshold, bytes: $0.bytes) }
            configuration = .init(threshold: shares.threshold, count: shares.count, checkValues: issued.map(\.checkValue))
        }

        let envelope = MasterKeyEnvelope(
            keyID: keyID, keyCheckValue: master.keyCheckValue, passphrase: slot, shares: configuration, dev: dev)
        return (master, envelope, issued)
    }

    /// Equal when key id and key bytes are (constant time).
    public static func == (lhs: MasterKey, rhs: MasterKey) -> Bool {
        lhs.keyID == rhs.keyID && lhs.key == rhs.key
    }

    /// `MasterKey(id: <key id>, <redacted>)`.
    public var description: String { "MasterKey(id: \(keyID), <redacted>)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// Only the key id: `dump` and debuggers never reach the key bytes.
    public var customMirror: Mirror { Mirror(self, children: ["keyID": keyID], displayStyle: .struct) }

    // MARK: Helpers

    static func validateNewPassphrase(_ passphrase: String) throws {
        guard passphrase.count >= minimumPassphraseLength else {
            throw SealingError.invalidArgument(
                "the passphrase must be at least \(minimumPassphraseLength) characters long, got \(passphrase.count); use several words")
        }
        guard passphrase.utf8.count <= maximumPassphraseByteCount else {
            throw SealingError.invalidArgument("the passphrase must be at most \(maximumPassphraseByteCount) bytes in UTF-8")
        }
    }

    static func validateShareCounts(threshold: Int, count: Int, code: SealingError.Code) throws {
        guard threshold >= 2 else {
            throw SealingError(code, "the share threshold M must be at least 2, got \(threshold): with M = 1 every share would be the master key itself")
        }
        guard count >= threshold, count <= maximumShareCount else {
            throw SealingError(code, "the share count N must be between the threshold M (\(threshold)) and \(maximumShareCount), got \(count)")
        }
    }

    /// AAD of the passphrase slot: `"redoubt/master/v1" ‖ 0x00 ‖ key id`.
    static func masterAAD(keyID: String) -> Data {
        var aad = Data("redoubt/master/v1".utf8)
        aad.append(0)
        aad.append(contentsOf: keyID.utf8)
        return aad
    }

    /// The AES-256 key scrypt derives from `passphrase` (NFC-normalized UTF-8) and `salt`.
    static func derivePassphraseKey(_ passphrase: String, salt: Data, scrypt: ScryptParameters) throws -> SecretKey {
        var password = Data(passphrase.precomposedStringWithCanonicalMapping.utf8)
        defer { Bytes.zeroize(&password) }
        let derived: SymmetricKey
        do {
            derived = try _CryptoExtras.KDF.Scrypt.deriveKey(
                from: password, salt: salt, outputByteCount: 32, rounds: scrypt.n, blockSize: scrypt.r, parallelism: scrypt.p)
        } catch {
            throw SealingError.internalFailure("scrypt key derivation failed (not enough memory?)")
        }
        return try sealingCall { try SecretKey(algorithm: .aes256, material: SecretBytes(derived)) }
    }
}

/// Runs an engine call whose failure input cannot explain, reporting it as an internal failure.
func sealingCall<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as SealingError {
        throw error
    } catch {
        throw SealingError.internalFailure("the cryptographic engine failed: \(error)")
    }
}
