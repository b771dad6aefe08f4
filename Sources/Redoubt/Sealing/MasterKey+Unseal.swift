import Crypto
import Foundation

extension MasterKey {
    /// Unseals the master key with the passphrase set up at creation.
    ///
    /// - Throws: ``SealingError/Code/authenticationFailure`` ("wrong passphrase
    ///   or damaged envelope") and nothing more specific; ``SealingError/Code/invalidArgument``
    ///   if the envelope has no passphrase slot; ``SealingError/Code/malformedEnvelope``
    ///   or ``SealingError/Code/unsupportedVersion`` for an envelope that fails its checks.
    public static func unseal(envelope: MasterKeyEnvelope, passphrase: String) throws -> MasterKey {
        try envelope.validate()
        guard let slot = envelope.passphrase else {
            throw SealingError.invalidArgument(
                "this cluster has no passphrase set up: unseal it with its shares\(envelope.dev ? " or its development key file" : "")")
        }
        guard passphrase.utf8.count <= maximumPassphraseByteCount else { throw SealingError.wrongPassphrase }
        let kek = try derivePassphraseKey(passphrase, salt: slot.salt, scrypt: slot.scrypt)
        var plain: Data
        do {
            plain = try kek.decrypt(slot.sealedKey, scheme: .aesGCM, aad: masterAAD(keyID: envelope.keyID))
        } catch {
            throw SealingError.wrongPassphrase
        }
        defer { Bytes.zeroize(&plain) }
        return try MasterKey(material: SecretBytes(plain), envelope: envelope, failure: .wrongPassphrase)
    }

    /// Unseals the master key from at least M distinct shares (key ceremony).
    ///
    /// Every share is checked before any is combined: it must carry this
    /// cluster's key id and threshold, and its bytes must match the envelope's
    /// check value for its index, so a damaged or altered share is named. The
    /// same share given twice counts once.
    ///
    /// - Throws: ``SealingError/Code/wrongCluster`` for a share of another
    ///   cluster; ``SealingError/Code/invalidShare`` for a share that does not
    ///   match; ``SealingError/Code/insufficientShares`` with fewer than M
    ///   distinct valid shares; ``SealingError/Code/invalidArgument`` if the
    ///   envelope has no share configuration.
    public static func unseal(envelope: MasterKeyEnvelope, shares: [MasterKeyShare]) throws -> MasterKey {
        try envelope.validate()
        guard let config = envelope.shares else {
            throw SealingError.invalidArgument(
                "this cluster has no key shares set up: unseal it with its passphrase\(envelope.dev ? " or its development key file" : "")")
        }
        var distinct: [UInt8: MasterKeyShare] = [:]
        for share in shares {
            guard share.keyID == envelope.keyID else {
                throw SealingError.wrongCluster("share \(share.index) belongs to master key \(share.keyID), not to this cluster's key \(envelope.keyID)")
            }
            guard share.threshold == config.threshold else {
                throw SealingError.invalidShare(
                    "share \(share.index) says \(share.threshold) shares unseal, but this cluster needs \(config.threshold): the share is damaged or altered")
            }
            guard share.index >= 1, Int(share.index) <= config.count else {
                throw SealingError.invalidShare("share index \(share.index) is out of range: this cluster has shares 1 to \(config.count)")
            }
            guard constantTimeEqual(share.checkValue, config.checkValues[Int(share.index) - 1]) else {
                throw SealingError.invalidShare("share \(share.index) does not match this cluster's check value: it is damaged or altered")
            }
            distinct[share.index] = share
        }
        guard distinct.count >= config.threshold else {
            throw SealingError(.insufficientShares, "\(config.threshold) distinct shares are needed to unseal, got \(distinct.count)")
        }
        let chosen = distinct.keys.sorted().prefix(config.threshold).compactMap { distinct[$0] }
        let material = try Shamir.combine(chosen.map { (index: $0.index, bytes: $0.bytes) })
        let failure = SealingError(.authenticationFailure, "the shares do not rebuild this cluster's master key: the envelope is damaged")
        return try MasterKey(material: material, envelope: envelope, failure: failure)
    }
}
